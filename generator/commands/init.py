"""`jailgen init DIRECTORY`: a control repo skeleton (git, branch production,
hiera.yaml, the environment's files, the catalog's JSON Schema beside an
example catalog), ready for `jailgen render`."""

from __future__ import annotations

from pathlib import Path

import git

from generator.catalog import json_schema as catalog_schema
from generator.files import write_atomic
from generator.render.templates import render_folder
from generator.repo import DEFAULT_BRANCH, identity_args


def init_control_repo(path: Path, branch: str = DEFAULT_BRANCH) -> list[str]:
    """Create a control repo skeleton at `path`; files that already exist are
    left alone. The files created, relative to `path`."""
    path.mkdir(parents=True, exist_ok=True)
    if not (path / ".git").exists():
        git.Repo.init(path, initial_branch=branch)
    created = []
    files = render_folder("control", {})
    files["catalog.schema.json"] = catalog_schema()  # for catalog.example.yaml's editors
    for rel, text in sorted(files.items()):
        target = path / rel
        if not target.exists():
            write_atomic(target, text, executable=rel.endswith(".sh"))
            created.append(rel)
    repo = git.Repo(path)
    if created:
        repo.git.add("--", *created)
        command = ["git", *identity_args(repo), "commit", "-q", "-m", "Initialise the control repo"]
        git.Git(path).execute([*command, "--", *created])
    return created
