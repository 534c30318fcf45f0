"""End to end on this machine: real git, real `puppet apply`, the linux jail
provider (bubblewrap), a private NGINX on 127.0.0.1, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from bench.loadgen import Load
from generator import http
from generator.commands.promote import promote
from generator.commands.rollback import rollback
from generator.commands.test import put_under_test
from generator.lock import LockHeld, app_lock
from tests.conftest import read_only, run_jailgen
from tests.localsite import HOST, LocalSite, first_jail_address


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    local = LocalSite(tmp_path / "site").create()
    try:
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def served(site: LocalSite, domain: str, path: str = "/") -> http.Answer:
    return http.get("127.0.0.1", site.port, path, host=domain)


def jail_dirs(site: LocalSite) -> list[str]:
    return sorted(p.name for p in (site.jails_dir / "containers").iterdir())


def test_qa_test_promote_and_rollback(site: LocalSite) -> None:
    deployer = site.deployer()
    first, second = site.shas[0], site.shas[1]

    outcome = put_under_test(deployer, "hello", first)
    assert outcome.ok, outcome.message
    assert [r.configuration_version for r in outcome.reports] == [outcome.commit]
    assert first in served(site, "hello.test.example.com").body
    assert served(site, "hello.test.example.com", "/up").status == 200
    assert served(site, "hello.example.com").status == 503  # nothing live yet

    outcome = promote(deployer, "hello")
    assert outcome.ok, outcome.message
    for domain in ("hello.example.com", "www.hello.example.com"):
        assert first in served(site, domain).body

    assert put_under_test(deployer, "hello", second).ok
    assert second in served(site, "hello.test.example.com").body
    assert first in served(site, "hello.example.com").body  # QA does not touch live

    outcome = promote(deployer, "hello")
    assert outcome.ok, outcome.message
    assert outcome.slots == {
        "test": f"hello_{second[:12]}",
        "live": f"hello_{second[:12]}",
        "previous": [f"hello_{first[:12]}"],
    }
    assert second in served(site, "hello.example.com").body
    # the former live jail keeps running, ready for rollback
    assert len(site.processes()) == 3  # two jails and NGINX

    outcome = rollback(deployer, "hello")
    assert outcome.ok, outcome.message
    assert first in served(site, "hello.example.com").body
    assert outcome.slots["previous"] == [f"hello_{second[:12]}"]

    log = git.Repo(site.control).git.log("--format=%s", "-6").splitlines()
    assert log[0] == f"hello: roll back live to hello_{first[:12]}"
    assert log[1] == f"hello: promote hello_{second[:12]} to live"


def test_cli_json_and_status(site: LocalSite) -> None:
    common = [
        "--catalog",
        str(site.catalog_path),
        "--repo",
        str(site.control),
        "--workdir",
        str(site.root / "puppet"),
    ]
    result = run_jailgen("test", "hello", site.shas[0][:7], *common, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert payload["slots"]["test"] == f"hello_{site.shas[0][:12]}"
    assert payload["reports"][0]["configuration_version"] == payload["commit"]
    assert {c["what"] for c in payload["checks"]} == {
        "hello test hello.test.example.com",
        "hello live hello.example.com",
        "hello live www.hello.example.com",
    }

    result = run_jailgen("status", "hello", *common, "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[0]["host"] == HOST
    assert rows[0]["converged_commit"] == payload["commit"]
    assert rows[0]["jails"][0]["slot"] == "test"
    assert rows[0]["jails"][0]["health"] == "up"
    assert rows[0]["jails"][0]["address"] == first_jail_address()

    result = run_jailgen("status", *common)
    assert "hello_" + site.shas[0][:12] in result.stdout


def test_retention_destroys_older_jails_through_puppet(tmp_path: Path) -> None:
    site = LocalSite(tmp_path / "site", retention=1).create()
    try:
        deployer = site.deployer()
        for sha in site.shas[:3]:
            assert put_under_test(deployer, "hello", sha).ok
            assert promote(deployer, "hello").ok
        names = [f"hello_{sha[:12]}" for sha in site.shas[:3]]
        # live is the third, previous keeps one: the first jail is gone for good
        assert jail_dirs(site) == sorted(names[1:])
        assert not (site.jails_dir / "run" / f"{names[0]}.json").exists()
        assert len(site.processes()) == 3
        # its address returns to the pool once the destroying run has converged
        assert put_under_test(deployer, "hello", site.shas[3]).ok
        node = (site.control / f"data/nodes/{HOST}.yaml").read_text()
        assert names[0] not in node
    finally:
        site.stop()
    assert site.processes() == []


def test_promote_refuses_an_unhealthy_test_jail(site: LocalSite) -> None:
    deployer = site.deployer(check_timeout_s=3)
    assert put_under_test(deployer, "hello", site.shas[0]).ok
    assert promote(deployer, "hello").ok
    broken = break_next_release(site)
    outcome = put_under_test(deployer, "hello", broken)
    assert not outcome.ok
    assert outcome.step == "route check"
    head = git.Repo(site.control).head.commit.hexsha
    outcome = promote(deployer, "hello")
    assert not outcome.ok
    assert outcome.step == "health check"
    assert "refusing to promote" in outcome.message
    assert git.Repo(site.control).head.commit.hexsha == head  # nothing committed
    assert site.shas[0] in served(site, "hello.example.com").body


def break_next_release(site: LocalSite) -> str:
    """A commit of the app whose health check fails."""
    source = git.Repo(site.base / "sources" / "hello")
    app = Path(source.working_tree_dir or "") / "app.py"
    app.write_text(app.read_text().replace('self.path == "/up"', 'self.path == "/never"'))
    source.index.add(["app.py"])
    return source.index.commit("Break the health check").hexsha


def test_failed_nat_table_change_never_goes_live(site: LocalSite) -> None:
    deployer = site.deployer(check_timeout_s=3)
    assert put_under_test(deployer, "hello", site.shas[0]).ok
    assert promote(deployer, "hello").ok
    assert put_under_test(deployer, "hello", site.shas[1]).ok
    config = (site.nginx_prefix / "nginx.conf").read_text()
    # a switch changes only the NAT table; a table file Puppet cannot write fails the run
    table = site.nginx_prefix / "nat.nft"
    rules = table.read_text()
    table.unlink()
    table.mkdir()
    outcome = promote(deployer, "hello")
    assert not outcome.ok
    assert outcome.step == "puppet run"
    assert "nat.nft" in outcome.message
    assert outcome.reverted_by is not None
    assert (site.nginx_prefix / "nginx.conf").read_text() == config
    assert site.shas[0] in served(site, "hello.example.com").body
    table.rmdir()
    table.write_text(rules)


def test_failed_run_names_the_failing_resource(site: LocalSite) -> None:
    deployer = site.deployer()
    assert put_under_test(deployer, "hello", site.shas[0]).ok
    jail = f"hello_{site.shas[1][:12]}"
    with read_only(site.jails_dir / "containers"):
        outcome = put_under_test(deployer, "hello", site.shas[1])
    assert not outcome.ok
    assert outcome.step == "puppet run"
    failed = outcome.reports[0].failed
    assert [f.resource for f in failed] == [f"Jail[{jail}]"]
    assert "Read-only file system" in failed[0].message
    assert outcome.message.startswith(f"{HOST}: failed: Jail[{jail}]: ")
    assert not (site.jails_dir / "containers" / jail / "etc").exists()


def test_an_unknown_commit_is_refused_before_anything_is_committed(site: LocalSite) -> None:
    head = git.Repo(site.control).head.commit.hexsha
    missing = "0123456789abcdef0123456789abcdef01234567"
    result = run_jailgen(
        "test", "hello", missing, "-c", str(site.catalog_path), "-r", str(site.control)
    )
    assert result.returncode == 2
    assert (
        f"hello: {missing} is not a commit, branch or tag of {site.base / 'sources' / 'hello'}"
        in result.stderr
    )
    assert git.Repo(site.control).head.commit.hexsha == head


def test_lock_refuses_a_second_workflow_and_expires_with_its_holder(
    site: LocalSite,
) -> None:
    deployer = site.deployer()
    with app_lock(deployer.lock_dir, "hello", "jailgen promote hello"):
        with pytest.raises(LockHeld) as info:
            promote(deployer, "hello")
        assert f"pid {os.getpid()} (jailgen promote hello" in str(info.value)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time\n"
                "from pathlib import Path\n"
                "from generator.lock import app_lock\n"
                "with app_lock(Path(sys.argv[1]), 'hello', 'held by a test'):\n"
                "    print('locked', flush=True)\n"
                "    time.sleep(60)\n"
            ),
            str(deployer.lock_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(LockHeld, match="held by a test"):
            put_under_test(deployer, "hello", site.shas[0])
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert put_under_test(deployer, "hello", site.shas[0]).ok


def test_no_request_fails_across_a_promotion_under_load(site: LocalSite) -> None:
    deployer = site.deployer()
    assert put_under_test(deployer, "hello", site.shas[0]).ok
    assert promote(deployer, "hello").ok
    assert put_under_test(deployer, "hello", site.shas[1]).ok
    with Load("127.0.0.1", site.port, "hello.example.com", max_seconds=120) as load:
        time.sleep(1)
        outcome = promote(deployer, "hello")
        time.sleep(1)
    stats = load.stats
    assert outcome.ok, outcome.message
    assert stats.requests > 100
    assert stats.failed == 0, stats.failures
    assert site.shas[1] in served(site, "hello.example.com").body


def test_a_jail_has_its_own_namespaces_and_a_read_only_usr(site: LocalSite) -> None:
    assert put_under_test(site.deployer(), "hello", site.shas[0]).ok
    name = f"hello_{site.shas[0][:12]}"
    runtime = json.loads((site.jails_dir / "run" / f"{name}.json").read_text())
    namespace = runtime["pid_namespace"]
    assert namespace != os.readlink("/proc/self/ns/pid")
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns" / "pid") == namespace:
                    members.append(int(entry.name))
            except OSError:
                continue
    app = [pid for pid in members if b"app.py" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(app) == 1
    inside = ["nsenter", f"--target={app[0]}", "--uts", "--mount"]
    hostname = subprocess.run([*inside, "hostname"], capture_output=True, text=True, check=True)
    assert hostname.stdout.strip() == name
    write = subprocess.run([*inside, "touch", "/usr/jailgen-write-test"], capture_output=True)
    assert write.returncode != 0
    assert not Path("/usr/jailgen-write-test").exists()
    checkout = subprocess.run(
        [*inside, "git", "-C", "/usr/local/hello", "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert checkout.stdout.strip() == site.shas[0]
