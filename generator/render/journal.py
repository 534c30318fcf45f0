"""What a committing render is about to write, kept until it has committed.

A command killed between writing the rendered files and committing them leaves
them as uncommitted edits, which the next command would refuse as hand edits.
Before writing, the render records each file's new content (its SHA-256) in
`.git/jailgen/uncommitted.json`; after the commit it removes the record. The
next command finds the record and discards exactly those files when each one
still holds what was recorded (a file edited since then is a hand edit, and is
refused as before), then renders again from HEAD.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import git

from generator import files
from generator import repo as control


def journal_path(repo: Path) -> Path:
    return repo / ".git" / "jailgen" / "uncommitted.json"


def _digest(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def record(repo: Path, changes: list[files.Change]) -> None:
    """Before writing `changes`: what each written or deleted file will hold."""
    entries = {c.path: _digest(c.new) for c in changes if c.action != "identical"}
    path = journal_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, json.dumps(entries, indent=1, sort_keys=True))


def clear(repo: Path) -> None:
    journal_path(repo).unlink(missing_ok=True)


def left_over(repo: Path) -> dict[str, str | None]:
    """The files an interrupted render wrote and did not commit, if any."""
    try:
        data = json.loads(journal_path(repo).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}


def discard_left_over(repo: Path, git_repo: git.Repo, dirty: list[str]) -> list[str]:
    """Restore from HEAD the dirty files that hold exactly what an interrupted
    render wrote; the dirty files left (hand edits)."""
    written = left_over(repo)
    ours = []
    for rel in dirty:
        target = repo / rel
        now = target.read_text(encoding="utf-8") if target.is_file() else None
        if rel in written and _digest(now) == written[rel]:
            ours.append(rel)
    in_head = (
        set(git_repo.git.ls_tree("--name-only", "HEAD", "--", *ours).splitlines())
        if ours
        else set()
    )
    for rel in ours:
        if rel in in_head:
            git_repo.git.checkout("HEAD", "--", rel)
        else:
            git_repo.git.rm("--cached", "-q", "--ignore-unmatch", "--", rel)
            (repo / rel).unlink(missing_ok=True)
    if set(ours) == set(dirty):
        clear(repo)
    return control.dirty_paths(git_repo, dirty) if ours else dirty
