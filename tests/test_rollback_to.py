"""`jailgen rollback APP --to RELEASE`: any retained, running release, named by
its jail, a short commit id or a ref; anything else is refused with what is
retained. Real git, `puppet apply`, NGINX and HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from generator import http
from generator.commands.promote import promote
from generator.commands.rollback import rollback
from generator.commands.test import put_under_test
from tests.conftest import run_jailgen
from tests.localsite import LocalSite


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    local = LocalSite(tmp_path / "site", retention=2).create(commits=4)
    try:
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def jail(site: LocalSite, i: int) -> str:
    return f"hello_{site.shas[i][:12]}"


def live_body(site: LocalSite) -> str:
    return http.get("127.0.0.1", site.port, "/", host="hello.example.com").body


def test_rollback_to_any_retained_release(site: LocalSite) -> None:
    deployer = site.deployer()
    for sha in site.shas[:3]:
        assert put_under_test(deployer, "hello", sha).ok
        assert promote(deployer, "hello").ok
    git.Repo(site.base / "sources" / "hello").create_tag("v1", site.shas[0])
    common = ["-c", str(site.catalog_path), "-r", str(site.control)]
    common += ["--workdir", str(site.root / "puppet")]

    # two releases back in one step, named by a tag
    result = run_jailgen("rollback", "hello", "--to", "v1", *common)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"  live     {jail(site, 0)}\n" in result.stdout
    assert site.shas[0] in live_body(site)
    assert git.Repo(site.control).head.commit.summary == f"hello: roll back live to {jail(site, 0)}"

    # a release live was rolled back from may be named again, by a short id
    outcome = rollback(deployer, "hello", site.shas[1][:7])
    assert outcome.ok, outcome.message
    assert outcome.slots["live"] == jail(site, 1)
    assert site.shas[1] in live_body(site)

    head = git.Repo(site.control).head.commit.hexsha
    result = run_jailgen("rollback", "hello", "--to", site.shas[3][:7], *common)
    assert result.returncode == 1
    assert result.stderr == (
        f"jailgen: rollback failed: hello: {site.shas[3][:7]} is not a retained release that "
        f"is running; retained and running: {jail(site, 0)} (rolled back from), "
        f"{jail(site, 2)} (rolled back from)\n"
    )
    result = run_jailgen("rollback", "hello", "--to", jail(site, 1), *common)
    assert result.returncode == 1
    assert result.stderr == (
        f"jailgen: rollback failed: hello: {jail(site, 1)} is live already ({jail(site, 1)})\n"
    )
    result = run_jailgen("rollback", "hello", "--to", "no-such-branch", *common)
    assert result.returncode == 2
    assert result.stderr == (
        "jailgen: hello: no-such-branch is not a commit, branch or tag of "
        f"{site.base / 'sources' / 'hello'}\n"
    )
    assert git.Repo(site.control).head.commit.hexsha == head  # nothing committed
    assert site.shas[1] in live_body(site)

    # without --to: the newest previous jail not rolled back from; there is none
    outcome = rollback(deployer, "hello")
    assert not outcome.ok and outcome.step == "precheck"
    assert "no older release to roll back to" in outcome.message
