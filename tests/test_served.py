"""What a release manager is told is what NGINX serves: status and verification
check every route of every app on a host, rollback walks back, and render never
replaces a hand edit silently. Real git, `puppet apply`, NGINX and HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import git
import pytest
import yaml

from generator import http
from generator.commands.promote import promote
from generator.commands.render import render_catalog
from generator.commands.rollback import rollback
from generator.commands.test import put_under_test
from generator.errors import CatalogError
from generator.state import promoted
from tests.conftest import run_jailgen
from tests.localsite import HOST, LocalSite


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    local = LocalSite(tmp_path / "site", retention=3, others=("other",)).create(commits=4)
    try:
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def served(site: LocalSite, domain: str) -> http.Answer:
    return http.get("127.0.0.1", site.port, "/", host=domain)


def jail(site: LocalSite, i: int) -> str:
    return f"hello_{site.shas[i][:12]}"


def status_of(site: LocalSite, *args: str) -> tuple[int, list[dict[str, object]]]:
    result = run_jailgen(
        "status",
        *args,
        "-c",
        str(site.catalog_path),
        "-r",
        str(site.control),
        "--workdir",
        str(site.root / "puppet"),
        "--json",
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def commit_by_hand(site: LocalSite, rel: str, text: str, message: str) -> None:
    repo = git.Repo(site.control)
    (site.control / rel).write_text(text)
    repo.index.add([rel])
    repo.index.commit(message)


def test_three_rollbacks_in_a_row_walk_back_to_ever_older_releases(site: LocalSite) -> None:
    deployer = site.deployer()
    for sha in site.shas:
        assert put_under_test(deployer, "hello", sha).ok
        assert promote(deployer, "hello").ok
    assert site.shas[3] in served(site, "hello.example.com").body

    for expected in (2, 1, 0):
        outcome = rollback(deployer, "hello")
        assert outcome.ok, outcome.message
        assert outcome.slots["live"] == jail(site, expected)
        assert site.shas[expected] in served(site, "hello.example.com").body
    # live was rolled back from every retained release: nothing older is left
    outcome = rollback(deployer, "hello")
    assert not outcome.ok and outcome.step == "precheck"
    assert "no older release to roll back to" in outcome.message
    assert site.shas[0] in served(site, "hello.example.com").body

    code, rows = status_of(site, "hello")
    assert code == 0, rows
    slots = [(j["slot"], j["name"], j["note"]) for j in rows[0]["jails"]]  # type: ignore[union-attr]
    assert slots == [
        ("test", jail(site, 3), ""),
        ("live", jail(site, 0), ""),
        ("previous[0]", jail(site, 1), "rolled back from"),
        ("previous[1]", jail(site, 2), "rolled back from"),
        ("previous[2]", jail(site, 3), "rolled back from"),
    ]
    node = (site.control / f"data/nodes/{HOST}.yaml").read_text()
    assert "rolled_back:" in node
    subjects = git.Repo(site.control).git.log("--format=%B", "-1")
    assert f"hello: {jail(site, 1)} marked rolled back from" in subjects

    # promoting QA's release again works as before, and clears its mark
    outcome = promote(deployer, "hello")
    assert outcome.ok, outcome.message
    assert site.shas[3] in served(site, "hello.example.com").body
    outcome = rollback(deployer, "hello")
    assert outcome.ok, outcome.message
    assert outcome.slots["live"] == jail(site, 0)  # the release live had before


def test_a_hijacked_route_of_another_app_fails_the_promotion_and_is_reverted(
    site: LocalSite,
) -> None:
    deployer = site.deployer(check_timeout_s=3)
    assert put_under_test(deployer, "hello", site.shas[0]).ok
    assert promote(deployer, "hello").ok
    assert put_under_test(deployer, "other", site.shas[1]).ok
    assert served(site, "other.example.com").status == 503  # other has nothing live
    assert put_under_test(deployer, "hello", site.shas[2]).ok

    # A hand edit in common.yaml that would deep-merge a live slot into the
    # other app is refused before anything is done...
    common = site.control / "data/common.yaml"
    commit_by_hand(
        site,
        "data/common.yaml",
        common.read_text()
        + "lookup_options:\n  jails::apps:\n    merge: deep\n"
        + f"jails::apps:\n  other:\n    live: {jail(site, 0)}\n",
        "Tune the apps' lookup",
    )
    before = git.Repo(site.control).head.commit.hexsha
    with pytest.raises(CatalogError) as refused:
        promote(deployer, "hello")
    assert [p.path for p in refused.value.problems] == ["lookup_options.jails::apps", "jails::apps"]
    assert git.Repo(site.control).head.commit.hexsha == before
    git.Repo(site.control).git.revert("--no-edit", "HEAD")
    before = git.Repo(site.control).head.commit.hexsha

    # ...but a stray NAT rule on the host, outside anything jailgen writes, still
    # sends the other app's empty live slot to hello's old jail: the promotion's
    # check of every route on the host catches it, and the promotion is reverted.
    services = yaml.safe_load((site.control / f"data/nodes/{HOST}.yaml").read_text())
    other_live = services["jails::services"]["other"]["live"]
    hello_old = services["jails::jails"][jail(site, 0)]["address"]
    stray = "jails_stray_rule"
    rules = (
        f"table ip {stray} {{\n  chain output {{\n"
        "    type nat hook output priority -100; policy accept;\n"
        f"    ip daddr {other_live} tcp dport 8000 dnat to {hello_old}:8000\n  }}\n}}\n"
    )
    subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True)
    try:
        outcome = promote(deployer, "hello")
        assert not outcome.ok
        assert outcome.step == "route check"
        assert f"other live other.example.com: serves {jail(site, 0)}, expected 503" in (
            outcome.message
        )
        assert outcome.reverted_by is not None
        assert git.Repo(site.control).head.commit.hexsha == outcome.reverted_by
        assert git.Repo(site.control).head.commit.parents[0].parents[0].hexsha == before
        assert site.shas[0] in served(site, "hello.example.com").body  # live as before

        code, rows = status_of(site)
        assert code == 1
        other = next(r for r in rows if r["app"] == "other")
        assert other["ok"] is False
        assert any(
            f"live other.example.com: serves {jail(site, 0)}, expected 503" in p
            for p in other["problems"]  # type: ignore[union-attr]
        )
    finally:
        subprocess.run(["nft", "delete", "table", "ip", stray], check=True)


def test_status_tells_what_is_served_after_a_promotion_that_never_ran(site: LocalSite) -> None:
    deployer = site.deployer()
    assert put_under_test(deployer, "hello", site.shas[0]).ok
    assert promote(deployer, "hello").ok
    assert put_under_test(deployer, "hello", site.shas[1]).ok
    code, rows = status_of(site, "hello")
    assert code == 0, rows

    # what a promotion killed after its commit leaves: HEAD says live is the
    # second release, no host has run it, NGINX still serves the first
    catalog = site.catalog()
    render_catalog(
        catalog, site.control, commit=True, change=lambda s: promoted(s, catalog, "hello")
    )
    code, rows = status_of(site, "hello")
    assert code == 1
    row = rows[0]
    assert row["head"] != row["converged_commit"]
    live = [r for r in row["routes"] if r["slot"] == "live"]  # type: ignore[union-attr]
    assert {r["domain"] for r in live} == {"hello.example.com", "www.hello.example.com"}
    for route in live:
        assert route["expected"] == jail(site, 1)
        assert route["serves"] == jail(site, 0)
        assert route["ok"] is False
    problems = row["problems"]
    assert any(str(p).startswith("pending: commit ") for p in problems)  # type: ignore[union-attr]
    assert any(f"serves {jail(site, 0)}, expected {jail(site, 1)}" in p for p in problems)  # type: ignore[union-attr]

    text = run_jailgen(
        "status", "hello", "-c", str(site.catalog_path), "-r", str(site.control),
        "--workdir", str(site.root / "puppet"),
    )  # fmt: skip
    assert text.returncode == 1
    assert "PROBLEM hello on devbox.example.net: pending: commit " in text.stdout

    # converging finishes the promotion: status agrees again
    assert deployer.runner.run(site.control, "production", [HOST])[0].ok
    code, rows = status_of(site, "hello")
    assert code == 0, rows


def test_status_of_a_path_that_is_not_a_control_repo_is_an_error(tmp_path: Path) -> None:
    site = LocalSite(tmp_path / "site")
    site.create(commits=1)
    for path in (tmp_path / "typo", tmp_path):
        result = run_jailgen("status", "-c", str(site.catalog_path), "-r", str(path))
        assert result.returncode == 2, result.stdout
        assert "control repo" in result.stderr


def test_render_lists_the_hand_edits_it_replaces(tmp_path: Path) -> None:
    site = LocalSite(tmp_path / "site").create(commits=1)
    rel = f"data/nodes/{HOST}.yaml"
    text = (site.control / rel).read_text()
    assert "    port: 8000\n" in text
    commit_by_hand(site, rel, text.replace("    port: 8000\n", "    port: 9000\n"), "Port 9000")

    result = run_jailgen("render", str(site.catalog_path), "--repo", str(site.control), "--check")
    assert result.returncode == 1
    assert f"would replace {rel}: jails::apps.hello.port: 9000 -> 8000 (edited by hand)" in (
        result.stdout
    )
    assert (site.control / rel).read_text().count("port: 9000") == 1  # nothing written

    result = run_jailgen(
        "render", str(site.catalog_path), "--repo", str(site.control), "--commit", "--json"
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["replaced"] == [
        {
            "path": rel,
            "key": "jails::apps.hello.port",
            "old": 9000,
            "new": 8000,
            "removed": False,
            "by_hand": True,
        }
    ]
    message = git.Repo(site.control).head.commit.message
    assert f"replace {rel}: jails::apps.hello.port: 9000 -> 8000 (edited by hand)" in message
    # the file jailgen rewrote is its own again: nothing more to replace
    result = run_jailgen("render", str(site.catalog_path), "--repo", str(site.control), "--check")
    assert result.returncode == 0, result.stdout
    assert "replace" not in result.stdout


def test_hand_edited_state_stops_every_command_before_anything_is_done(tmp_path: Path) -> None:
    site = LocalSite(tmp_path / "site").create(commits=1)
    rel = f"data/nodes/{HOST}.yaml"
    text = (site.control / rel).read_text()
    assert "jails::jails: {}\n" in text
    sha = site.shas[0]
    bad = (
        f"jails::jails:\n  hello_{sha[:12]}:\n    app: hello\n    revision: {sha}\n"
        '    address: "127.16.0.5; }"\n'
    )
    commit_by_hand(site, rel, text.replace("jails::jails: {}\n", bad), "Hand edit")
    head = git.Repo(site.control).head.commit.hexsha
    common = ["-c", str(site.catalog_path), "-r", str(site.control)]
    for argv in (
        ["test", "hello", sha, *common],
        ["promote", "hello", *common],
        ["status", *common],
    ):
        result = run_jailgen(*argv)
        assert result.returncode == 2, (argv, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert f"{rel}:" in result.stderr
        assert (
            f"jails::jails.hello_{sha[:12]}.address: invalid value '127.16.0.5; }}' "
            "(expected an IPv4 address" in result.stderr
        )
    assert git.Repo(site.control).head.commit.hexsha == head
    assert site.processes() == []
