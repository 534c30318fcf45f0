"""History: every test, promotion and rollback leaves its evidence as a git note
on its commit, pushed to origin, and `jailgen history` reads the same from a
second clone. Real git, `puppet apply`, NGINX and HTTP."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from generator.commands.promote import promote
from generator.commands.rollback import rollback
from generator.commands.test import put_under_test
from generator.puppet.local import LocalRunner
from generator.workflow import Deployer
from tests.conftest import run_jailgen
from tests.localsite import HOST, LocalSite
from tests.test_local_flow import break_next_release
from tests.test_shared_lock import two_clones


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    local = LocalSite(tmp_path / "site").create(commits=2)
    try:
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def test_history_from_a_second_clone_lists_every_workflow_with_its_evidence(
    site: LocalSite,
) -> None:
    first, second = two_clones(site)
    git.Repo(site.base / "sources" / "hello").create_tag("v1", site.shas[0])
    deployer = Deployer(site.catalog(), first, LocalRunner(site.puppet), push=True)
    deployer.check_timeout_s = 3
    outcomes = [put_under_test(deployer, "hello", "v1"), promote(deployer, "hello")]
    outcomes += [put_under_test(deployer, "hello", site.shas[1][:7]), promote(deployer, "hello")]
    outcomes += [rollback(deployer, "hello")]
    broken = break_next_release(site)
    outcomes += [put_under_test(deployer, "hello", broken)]
    assert [o.ok for o in outcomes] == [True, True, True, True, True, False]
    assert outcomes[0].history == "evidence recorded in refs/notes/jailgen and pushed"
    remote = subprocess.run(
        ["git", "ls-remote", str(site.base / "origin.git"), "refs/notes/jailgen"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert remote.endswith("\trefs/notes/jailgen\n")

    result = run_jailgen("history", "hello", "-r", str(second), "--json")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    one, two = site.shas[0], site.shas[1]
    assert [
        (e["action"], e["release"]["sha"], e["release"]["ref"], e["result"]) for e in entries
    ] == [
        ("test", broken, "", "FAILED at route check"),
        ("rollback", one, "v1", "verified"),
        ("promote", two, "", "verified"),
        ("test", two, "", "verified"),
        ("promote", one, "v1", "verified"),
        ("test", one, "v1", "verified"),
    ]
    assert [e["commit"] for e in entries] == [o.commit for o in reversed(outcomes)]
    author = git.Repo(first).head.commit.author
    assert {e["author"] for e in entries} == {f"{author.name} <{author.email}>"}
    promoted = entries[4]["evidence"]
    assert promoted["slots"]["live"] == f"hello_{one[:12]}"
    (report,) = promoted["reports"]
    assert report["host"] == HOST and report["status"] == "changed"
    assert report["configuration_version"] == entries[4]["commit"]
    assert re.fullmatch(r"[0-9a-f-]{36}", report["run_id"])
    assert {c["what"] for c in promoted["checks"]} == {
        "hello test hello.test.example.com",
        "hello live hello.example.com",
        "hello live www.hello.example.com",
    }
    assert all(c["ok"] for c in promoted["checks"])
    assert set(promoted["timings_s"]) >= {"render", "commit", "puppet", "verify"}
    failed = entries[0]["evidence"]
    assert failed["failed_step"] == "route check" and not failed["ok"]

    result = run_jailgen("history", "-r", str(second))
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert len(rows) == 6
    assert re.fullmatch(
        rf"\S+T\S+  promote  hello        {one[:12]} \(v1\)\s+verified\s+"
        rf"{re.escape(author.name)} <{re.escape(author.email)}>  runs: {HOST}=[0-9a-f-]{{36}}",
        rows[4],
    ), rows[4]
    assert "FAILED at route check" in rows[0]
    # an app with no history, and a clone without notes, list nothing
    assert run_jailgen("history", "other", "-r", str(second)).stdout == ""
