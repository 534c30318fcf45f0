"""Fixtures for the FreeBSD model and the acceptance tests that drive Puppet
against it."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.freebsd.fbmodel.cli import TOOLS
from tests.freebsd.fbmodel.host import Host, call
from tests.freebsd.fbmodel.init import init_host

BIN = Path(__file__).resolve().parent / "bin"


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str


@dataclass(frozen=True)
class Model:
    """A fresh modelled host, and a way to run its tools."""

    root: Path

    def __call__(self, *argv: str) -> Result:
        """Run one tool in this process (fast), exactly as its executable would."""
        tool, args = argv[0], list(argv[1:])
        with Host.open(self.root) as host:
            status, out, err = call(host, tool, args, lambda o: TOOLS[tool](host, o, args))
        return Result(status, out, err)

    def exe(self, *argv: str) -> Result:
        """Run one tool's executable from tests/freebsd/bin."""
        result = subprocess.run(
            [str(BIN / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            check=False,
            env={"FREEBSD_MODEL_ROOT": str(self.root), "PATH": "/usr/bin:/bin"},
        )
        return Result(result.returncode, result.stdout, result.stderr)

    def path(self, freebsd_path: str) -> Path:
        return self.root / freebsd_path.lstrip("/")


@pytest.fixture
def model(tmp_path: Path) -> Model:
    init_host(tmp_path / "host")
    return Model(tmp_path / "host")


@contextlib.contextmanager
def hermetic(base: Path) -> Iterator[None]:
    """What tests/conftest.py's autouse fixture does per test, for fixtures
    that outlive a test: no real $HOME, no user or system git config."""
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = jailgen tests\n\temail = tests@jailgen.invalid\n"
        "[init]\n\tdefaultBranch = production\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "FREEBSD_MODEL_ROOT"):
            patch.delenv(var, raising=False)
        yield
