"""Commands that overlap: two apps at once in one clone, and two clones of one
origin. Real git, `puppet apply`, NGINX and HTTP."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from generator import http
from generator.commands.promote import promote
from generator.commands.render import render_catalog
from generator.commands.test import put_under_test
from generator.puppet.local import LocalRunner
from generator.puppet.report import RunReport
from generator.state import Slots, with_test_release
from generator.state_store import read_state
from generator.workflow import Deployer, StateMoved
from tests.conftest import JAILGEN, git
from tests.localsite import HOST, LocalSite
from tests.test_shared_lock import two_clones


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    local = LocalSite(tmp_path / "site", others=("other",)).create(commits=3)
    try:
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def served(site: LocalSite, domain: str) -> str:
    return http.get("127.0.0.1", site.port, "/", host=domain).body


def node_data(repo: Path) -> dict[str, object]:
    data = yaml.safe_load((repo / f"data/nodes/{HOST}.yaml").read_text())
    assert isinstance(data, dict)
    return data


def assert_one_jail_per_address(repo: Path) -> None:
    jails = node_data(repo)["jails::jails"]
    assert isinstance(jails, dict)
    addresses = [j["address"] for j in jails.values()]
    assert len(addresses) == len(set(addresses)), jails


def test_two_apps_tested_at_once_in_one_clone_both_land(site: LocalSite) -> None:
    common = ["-c", str(site.catalog_path), "-r", str(site.control)]
    common += ["--workdir", str(site.root / "puppet")]
    runs = [
        subprocess.Popen(
            [JAILGEN, "test", app, sha, *common],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for app, sha in (("hello", site.shas[0]), ("other", site.shas[1]))
    ]
    try:
        results = [(p.wait(timeout=600), *p.communicate()) for p in runs]
    finally:
        for p in runs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for code, out, err in results:
        assert code == 0, (out, err)
    apps = node_data(site.control)["jails::apps"]
    assert isinstance(apps, dict)
    assert apps["hello"]["test"] == f"hello_{site.shas[0][:12]}"
    assert apps["other"]["test"] == f"other_{site.shas[1][:12]}"
    assert site.shas[0] in served(site, "hello.test.example.com")
    assert site.shas[1] in served(site, "other.test.example.com")
    assert_one_jail_per_address(site.control)
    assert git(site.control, "status", "--porcelain").strip() == ""


def test_a_stale_clone_starts_from_what_origin_holds(site: LocalSite) -> None:
    first, second = two_clones(site)
    catalog = site.catalog()
    ahead = Deployer(catalog, second, LocalRunner(site.puppet), push=True)
    stale = Deployer(catalog, first, LocalRunner(site.puppet), push=True)
    assert put_under_test(ahead, "hello", site.shas[0]).ok
    assert promote(ahead, "hello").ok
    outcome = put_under_test(stale, "hello", site.shas[1])  # this clone never saw the promotion
    assert outcome.ok, outcome.message
    origin = site.base / "origin.git"
    head = git(origin, "rev-parse", "production").strip()
    assert head == outcome.commit
    state, _ = read_state(first, catalog.site.module)
    slots = state.slots_of("hello")
    assert slots is not None
    assert (slots.live, slots.test) == (f"hello_{site.shas[0][:12]}", f"hello_{site.shas[1][:12]}")
    assert site.shas[0] in served(site, "hello.example.com")
    assert site.shas[1] in served(site, "hello.test.example.com")
    assert_one_jail_per_address(first)


def test_a_switch_whose_slots_moved_meanwhile_stops_and_names_who_moved_them(
    site: LocalSite,
) -> None:
    deployer = site.deployer()
    assert put_under_test(deployer, "hello", site.shas[0]).ok
    state, _ = read_state(site.control, "jails")
    checked = Slots(test=f"hello_{site.shas[1][:12]}", live=None)
    with pytest.raises(StateMoved) as info:
        deployer.unmoved(state, "hello", checked)
    message = str(info.value)
    assert f"test hello_{site.shas[0][:12]}" in message
    assert f"checked test hello_{site.shas[1][:12]}" in message
    assert f"hello: test release {site.shas[0][:12]}" in message  # the commit that moved them
    assert info.value.exit_code == 1
    same = state.slots_of("hello")
    assert same is not None and deployer.unmoved(state, "hello", same) is state


@dataclass
class AnotherCommitLands:
    """A runner before whose runs another command's commit lands: on top of ours
    (`on_top`), or an unrelated one that the hosts report running."""

    site: LocalSite
    on_top: bool

    def run(self, repo: Path, environment: str, hosts: list[str]) -> list[RunReport]:
        catalog = self.site.catalog()
        if self.on_top:
            render_catalog(
                catalog,
                repo,
                commit=True,
                change=lambda s: with_test_release(s, catalog, "other", self.site.shas[1]),
                subject="other: test release by another command",
            )
        reports = LocalRunner(self.site.puppet).run(repo, environment, hosts)
        if not self.on_top:
            tree = git(repo, "mktree").strip()
            unrelated = git(repo, "commit-tree", tree, "-m", "unrelated").strip()
            for report in reports:
                report.configuration_version = unrelated
        return reports

    def converged(self, hosts: list[str], commit: str | None) -> list[str]:
        return LocalRunner(self.site.puppet).converged(hosts, commit)


def test_verification_accepts_a_later_commit_that_contains_its_own(site: LocalSite) -> None:
    deployer = Deployer(site.catalog(), site.control, AnotherCommitLands(site, on_top=True))
    outcome = put_under_test(deployer, "hello", site.shas[0])
    assert outcome.ok, outcome.message
    head = git(site.control, "rev-parse", "HEAD").strip()
    assert head != outcome.commit
    assert [r.configuration_version for r in outcome.reports] == [head]
    assert git(site.control, "log", "-1", "--format=%s").strip() == (
        "other: test release by another command"
    )
    assert site.shas[0] in served(site, "hello.test.example.com")
    assert site.shas[1] in served(site, "other.test.example.com")


def test_verification_refuses_a_run_of_an_unrelated_commit(site: LocalSite) -> None:
    deployer = Deployer(site.catalog(), site.control, AnotherCommitLands(site, on_top=False))
    outcome = put_under_test(deployer, "hello", site.shas[0])
    assert not outcome.ok
    assert outcome.step == "puppet run"
    unrelated = outcome.reports[0].configuration_version
    assert outcome.message == (
        f"{HOST}: applied configuration {unrelated}, expected commit {outcome.commit}"
    )
