"""Shared fixtures: hermetic git (no $HOME), the fixture catalog rendered into a
fresh control repo."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_CATALOG = ROOT / "fixtures" / "catalog.yaml"
JAILGEN = str(Path(os.sys.executable).parent / "jailgen")  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _hermetic_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real $HOME or the user's git config."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = jailgen tests\n\temail = tests@jailgen.invalid\n"
        "[init]\n\tdefaultBranch = production\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


def run_jailgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [JAILGEN, *args], cwd=cwd or ROOT, capture_output=True, text=True, check=False
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (except .git), by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture
def control_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "control"
    result = run_jailgen("init", str(repo))
    assert result.returncode == 0, result.stderr
    return repo


@pytest.fixture(scope="session")
def rendered_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fixture catalog rendered into a fresh control repo (shared, read-only)."""
    from generator import repo as control
    from generator.commands.render import render

    path = tmp_path_factory.mktemp("rendered") / "control"
    control.init(path)
    render(FIXTURE_CATALOG, path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """The directory stays, but nothing can be written in it, even by root."""
    subprocess.run(["mount", "--bind", str(directory), str(directory)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(directory)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(directory)], check=True)
