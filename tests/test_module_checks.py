"""The generated Puppet module passes the Puppet and Ruby tool chain.

Each test runs one real tool over a control repo rendered from
fixtures/catalog.yaml (the `rendered_repo` fixture) and requires exit status 0
and no warnings; on failure it shows the tool's whole output.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

MODULE = "jails"


def _files(root: Path, suffix: str) -> list[str]:
    found = sorted(str(path) for path in root.rglob(f"*{suffix}") if ".git" not in path.parts)
    assert found, f"no {suffix} files under {root}"
    return found


def _run(argv: Sequence[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    assert shutil.which(argv[0]), f"{argv[0]} is not installed (scripts/setup.sh installs it)"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    return subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    output = f"{result.stdout}{result.stderr}"
    command = shlex.join(result.args)
    assert result.returncode == 0, f"{command} exited with {result.returncode}:\n{output}"
    assert "warning" not in output.lower(), f"{command} printed warnings:\n{output}"


@pytest.fixture
def module_dir(rendered_repo: Path) -> Path:
    path = rendered_repo / "site-modules" / MODULE
    assert (path / "metadata.json").is_file(), f"no module rendered at {path}"
    return path


@pytest.fixture
def puppet_dirs(tmp_path: Path) -> list[str]:
    """Private Puppet directories, so that no check reads or writes the system's."""
    dirs = {name: tmp_path / "puppet" / name for name in ("confdir", "vardir", "codedir", "logdir")}
    for path in dirs.values():
        path.mkdir(parents=True)
    return [arg for name, path in dirs.items() for arg in (f"--{name}", str(path))]


def test_puppet_parser_validate(
    rendered_repo: Path, puppet_dirs: list[str], tmp_path: Path
) -> None:
    manifests = _files(rendered_repo, ".pp")
    result = _run(
        ["puppet", "parser", "validate", *puppet_dirs, *manifests], rendered_repo, tmp_path
    )
    _assert_clean(result)


def test_puppet_epp_validate(module_dir: Path, puppet_dirs: list[str], tmp_path: Path) -> None:
    templates = _files(module_dir, ".epp")
    result = _run(["puppet", "epp", "validate", *puppet_dirs, *templates], module_dir, tmp_path)
    _assert_clean(result)


def test_puppet_lint(rendered_repo: Path, tmp_path: Path) -> None:
    manifests = _files(rendered_repo, ".pp")
    result = _run(["puppet-lint", "--fail-on-warnings", *manifests], rendered_repo, tmp_path)
    _assert_clean(result)
    assert result.stdout == "", f"puppet-lint reported problems:\n{result.stdout}"


def test_ruby_syntax_without_warnings(module_dir: Path, tmp_path: Path) -> None:
    failures = []
    for source in _files(module_dir, ".rb"):
        result = _run(["ruby", "-wc", source], module_dir, tmp_path)
        output = f"{result.stdout}{result.stderr}"
        if result.returncode != 0 or output.strip() != "Syntax OK":
            failures.append(f"{source} (exit {result.returncode}):\n{output}")
    assert not failures, "\n".join(failures)


def test_rspec_puppet(module_dir: Path, tmp_path: Path) -> None:
    result = _run(["rspec", "--no-color"], module_dir, tmp_path)
    _assert_clean(result)
    assert " 0 failures" in result.stdout, result.stdout
