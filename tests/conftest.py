"""Shared fixtures: hermetic git (no $HOME), the fixture catalog rendered into a
fresh control repo."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_CATALOG = ROOT / "fixtures" / "catalog.yaml"
JAILGEN = str(Path(os.sys.executable).parent / "jailgen")  # type: ignore[attr-defined]


def nat_tables_on(network: ipaddress.IPv4Network) -> set[str]:
    """The nftables tables (family ip) whose rules name an address in
    `network`: the kernel is shared, so such a table routes any site using it."""
    listing = subprocess.run(
        ["nft", "list", "ruleset", "ip"], capture_output=True, text=True, check=False
    ).stdout
    found = set()
    for block in re.split(r"^(?=table ip )", listing, flags=re.MULTILINE):
        header = re.match(r"table ip (\S+)", block)
        addresses = re.findall(r"\b\d+\.\d+\.\d+\.\d+\b", block)
        if header and any(ipaddress.IPv4Address(a) in network for a in addresses):
            found.add(header.group(1))
    return found


_checked_network = False


@pytest.fixture(autouse=True)
def _no_nat_table_left_behind() -> Iterator[None]:
    """Every NAT table a test's hosts load is deleted by the test; one found
    before the run (left by a killed run, or by a demo on the same network)
    stops the run, since it would answer for this run's service addresses."""
    from tests.localsite import NETWORK

    global _checked_network
    before = nat_tables_on(NETWORK)
    if not _checked_network:
        _checked_network = True
        if before:
            pytest.exit(
                f"nftables tables {sorted(before)} map addresses in the test network "
                f"{NETWORK}; delete them (nft delete table ip NAME) or set "
                "JAILGEN_TEST_NETWORK to another 127.x.0.0/16",
                returncode=3,
            )
    yield
    leaked = nat_tables_on(NETWORK) - before
    for table in leaked:
        subprocess.run(["nft", "delete", "table", "ip", table], check=False)
    assert not leaked, f"the test left nftables tables {sorted(leaked)} behind"


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
    from generator.commands.init import init_control_repo
    from generator.commands.render import render

    path = tmp_path_factory.mktemp("rendered") / "control"
    init_control_repo(path)
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
