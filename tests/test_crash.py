"""A promotion killed at each point, its Puppet run killed, SIGTERM and Ctrl-C:
live serves the old or the new, verified release, `status` says what is
pending, and a re-run or `jailgen converge` finishes it. Real git, `puppet
apply`, NGINX and HTTP; the kill points are the JAILGEN_PAUSE_AT test hook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import http
from generator.commands.promote import promote
from generator.commands.test import put_under_test
from tests.conftest import JAILGEN, git, run_jailgen
from tests.localsite import HOST, LocalSite
from tests.test_shared_lock import two_clones


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    """hello: live serves the first release, the second is under test."""
    local = LocalSite(tmp_path / "site").create(commits=2)
    try:
        deployer = local.deployer()
        assert put_under_test(deployer, "hello", local.shas[0]).ok
        assert promote(deployer, "hello").ok
        assert put_under_test(deployer, "hello", local.shas[1]).ok
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def jail(site: LocalSite, i: int) -> str:
    return f"hello_{site.shas[i][:12]}"


def live(site: LocalSite) -> str:
    return http.get("127.0.0.1", site.port, "/", host="hello.example.com").body


def options(site: LocalSite) -> list[str]:
    workdir = str(site.root / "puppet")
    return ["-c", str(site.catalog_path), "-r", str(site.control), "--workdir", workdir]


def jailgen(site: LocalSite, *args: str) -> subprocess.CompletedProcess[str]:
    return run_jailgen(*args, *options(site))


class Paused:
    """`jailgen ARGS` started with JAILGEN_PAUSE_AT=point, once it waits there."""

    def __init__(self, site: LocalSite, point: str, *args: str) -> None:
        self.file = site.base / "paused.json"
        env = dict(os.environ, JAILGEN_PAUSE_AT=point, JAILGEN_PAUSE_FILE=str(self.file))
        self.process = subprocess.Popen(
            [JAILGEN, *args, *options(site)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while not self.file.exists():
            assert self.process.poll() is None, self.process.communicate()
            assert time.monotonic() < deadline, f"jailgen never reached {point}"
            time.sleep(0.05)
        self.at = json.loads(self.file.read_text())
        assert self.at["point"] == point

    def go_on(self) -> None:
        self.file.unlink()

    def finish(self, sig: int | None = None) -> tuple[int, str, str]:
        if sig is not None:
            self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=300)
        return self.process.returncode, out, err


def wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 120
    while Path(f"/proc/{pid}").exists():
        stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}").exists() else ""
        if ") Z" in stat:
            return
        assert time.monotonic() < deadline, f"pid {pid} still running"
        time.sleep(0.1)


def status_text(site: LocalSite) -> tuple[int, str]:
    result = jailgen(site, "status", "hello")
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, " ".join(result.stdout.split())  # rich wraps long lines


def assert_promoted(site: LocalSite) -> None:
    assert site.shas[1] in live(site)
    assert status_text(site)[0] == 0


def test_killed_before_its_commit_nothing_changes_and_a_rerun_promotes(site: LocalSite) -> None:
    head = git(site.control, "rev-parse", "HEAD")
    paused = Paused(site, "commit", "promote", "hello")
    paused.finish(signal.SIGKILL)
    assert git(site.control, "rev-parse", "HEAD") == head  # nothing committed
    assert site.shas[0] in live(site)
    code, text = status_text(site)
    assert code == 1
    assert (
        f"uncommitted: a killed command rendered data/nodes/{HOST}.yaml and did not commit it "
        f"(the slots shown are that render's; HEAD {head[:12]} holds what was committed); "
        "the next command discards it and starts from HEAD"
    ) in text
    rerun = jailgen(site, "promote", "hello")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert git(site.control, "log", "-1", "--format=%s").strip() == (
        f"hello: promote {jail(site, 1)} to live"
    )
    assert_promoted(site)


def test_killed_after_its_commit_status_names_the_commit_and_converge_finishes(
    site: LocalSite,
) -> None:
    paused = Paused(site, "committed", "promote", "hello")
    paused.finish(signal.SIGKILL)
    head = git(site.control, "rev-parse", "HEAD").strip()
    assert site.shas[0] in live(site)  # no host ran the promotion
    code, text = status_text(site)
    assert code == 1
    subject = f"hello: promote {jail(site, 1)} to live"
    assert (
        f"pending: commit {head[:12]} ({subject}) is not applied (the host last converged to"
        in (text)
    )
    assert (
        f"PENDING commit {head[:12]} is not converged on {HOST}: `jailgen converge` "
        "(or the interrupted command again) finishes it"
    ) in text
    done = jailgen(site, "converge", "hello")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("converge hello: ok\n")
    assert_promoted(site)


def test_killed_during_puppet_the_run_finishes_and_a_rerun_verifies(site: LocalSite) -> None:
    paused = Paused(site, "puppet", "promote", "hello")
    assert paused.at["child"] is not None
    paused.finish(signal.SIGKILL)
    wait_gone(paused.at["child"])  # the run outlives jailgen, holding the host's lock
    assert unrecorded_sandboxes(site) == []
    rerun = jailgen(site, "promote", "hello")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.startswith("promote hello: ok\n")
    assert "  puppet " not in rerun.stdout  # the host had run it: only verified
    assert_promoted(site)


def test_jailgen_and_its_puppet_run_killed_status_says_pending_and_converge_finishes(
    site: LocalSite,
) -> None:
    before = git(site.control, "rev-parse", "HEAD").strip()
    paused = Paused(site, "puppet", "promote", "hello")
    os.killpg(paused.at["child"], signal.SIGKILL)
    paused.finish(signal.SIGKILL)
    head = git(site.control, "rev-parse", "HEAD").strip()
    code, text = status_text(site)
    assert code == 1
    assert f"pending: commit {head[:12]} (hello: promote {jail(site, 1)} to live)" in text
    assert f"(the host last converged to {before[:12]};" in text
    assert unrecorded_sandboxes(site) == []
    done = jailgen(site, "converge")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("converge all apps: ok\n")
    assert_promoted(site)


def test_puppet_run_killed_under_jailgen_the_promotion_is_reverted(site: LocalSite) -> None:
    paused = Paused(site, "puppet", "promote", "hello")
    os.killpg(paused.at["child"], signal.SIGKILL)
    paused.go_on()
    code, out, _ = paused.finish()
    assert code == 1
    assert out.startswith("promote hello: FAILED at puppet run\n")
    assert f"  puppet   {HOST}: error: the Puppet run was killed by SIGKILL\n" in out
    assert "  reverted by " in out
    assert site.shas[0] in live(site)
    assert status_text(site)[0] == 0


def test_killed_during_verify_a_rerun_verifies(site: LocalSite) -> None:
    paused = Paused(site, "verify", "promote", "hello")
    paused.finish(signal.SIGKILL)
    assert site.shas[1] in live(site)  # the run had ended: the checked jail is live
    rerun = jailgen(site, "promote", "hello")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_promoted(site)


def test_sigterm_stops_the_puppet_run_reports_and_releases_the_locks(site: LocalSite) -> None:
    paused = Paused(site, "puppet", "promote", "hello")
    child = paused.at["child"]
    code, out, err = paused.finish(signal.SIGTERM)
    assert code == 143
    assert not Path(f"/proc/{child}").exists()  # stopped and waited for
    head = git(site.control, "rev-parse", "HEAD").strip()
    subject = f"hello: promote {jail(site, 1)} to live"
    assert out.startswith("promote hello: FAILED at interrupted\n")
    assert f"  pending  {HOST}\n" in out
    assert err == (
        f"jailgen: promote failed: stopped by SIGTERM while running Puppet on {HOST} for "
        f"{head[:12]}; commit {head[:12]} ({subject}) is not converged on {HOST}; "
        "`jailgen converge hello` (or the same command again) finishes it\n"
    )
    locks = run_jailgen("lock", "status", "-r", str(site.control))
    assert locks.stdout == "no app is locked\n"
    assert status_text(site)[0] == 1
    rerun = jailgen(site, "promote", "hello")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_promoted(site)


def test_ctrl_c_before_the_commit_leaves_nothing_to_do(site: LocalSite) -> None:
    head = git(site.control, "rev-parse", "HEAD")
    paused = Paused(site, "commit", "promote", "hello")
    code, _, err = paused.finish(signal.SIGINT)
    assert code == 130
    assert err == (
        "jailgen: promote failed: stopped by SIGINT while rendering and committing; "
        "nothing was committed; live serves what it served before\n"
    )
    assert git(site.control, "rev-parse", "HEAD") == head
    assert git(site.control, "status", "--porcelain") == ""  # what it wrote is taken back
    assert site.shas[0] in live(site)
    assert status_text(site)[0] == 0


def test_converge_reverts_a_never_verified_switch_to_a_jail_now_unhealthy(
    site: LocalSite,
) -> None:
    paused = Paused(site, "committed", "promote", "hello")
    paused.finish(signal.SIGKILL)
    promotion = git(site.control, "rev-parse", "HEAD").strip()
    stop_app_of(site, jail(site, 1))
    done = jailgen(site, "converge", "hello")
    assert done.returncode == 1
    assert done.stdout.startswith("converge hello: FAILED at health check\n")
    assert (
        f"jailgen: converge failed: hello: promote {jail(site, 1)} to live ({promotion[:12]})"
        in (done.stderr)
    )
    assert "was never verified and" in done.stderr
    assert "  reverted by " in done.stdout
    assert git(site.control, "log", "-1", "--format=%s").strip() == (
        f'Revert "hello: promote {jail(site, 1)} to live"'
    )
    assert site.shas[0] in live(site)


def test_converge_leaves_a_verified_promotion_alone_and_reports_its_broken_route(
    site: LocalSite,
) -> None:
    assert promote(site.deployer(), "hello").ok  # verified from this clone
    head = git(site.control, "rev-parse", "HEAD")
    stop_app_of(site, jail(site, 1))
    done = jailgen(site, "converge", "hello")
    assert done.returncode == 1
    assert done.stdout.startswith("converge hello: FAILED at route check\n")
    assert "reverted by" not in done.stdout
    assert git(site.control, "rev-parse", "HEAD") == head  # a rollback is the operator's call


def test_a_rollback_killed_after_its_commit_is_finished_by_its_rerun_not_repeated(
    site: LocalSite,
) -> None:
    assert promote(site.deployer(), "hello").ok  # live: the second release; previous: the first
    paused = Paused(site, "committed", "rollback", "hello")
    paused.finish(signal.SIGKILL)
    subject = f"hello: roll back live to {jail(site, 0)}"
    assert git(site.control, "log", "-1", "--format=%s").strip() == subject
    assert site.shas[1] in live(site)  # no host ran it yet
    rerun = jailgen(site, "rollback", "hello")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.startswith("rollback hello: ok\n")
    assert git(site.control, "log", "-1", "--format=%s").strip() == subject  # not repeated
    assert site.shas[0] in live(site)
    assert status_text(site)[0] == 0


def test_a_test_killed_during_its_puppet_run_is_finished_by_its_rerun(site: LocalSite) -> None:
    source = site.base / "sources" / "hello"
    (source / "VERSION").write_text("3\n")
    git(source, "commit", "-q", "-am", "Release 3")
    release = git(source, "rev-parse", "HEAD").strip()
    paused = Paused(site, "puppet", "test", "hello", release)
    time.sleep(2)  # into the run: its new jail is being made or started
    os.killpg(paused.at["child"], signal.SIGKILL)
    paused.finish(signal.SIGKILL)
    assert unrecorded_sandboxes(site) == []
    assert status_text(site)[0] == 1
    rerun = jailgen(site, "test", "hello", release)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    test = http.get("127.0.0.1", site.port, "/", host="hello.test.example.com").body
    assert release in test
    assert site.shas[0] in live(site)
    assert status_text(site)[0] == 0


def unrecorded_sandboxes(site: LocalSite) -> list[int]:
    """Sandboxes of the site's jails (outermost bwrap, or a gate in front of one)
    that no runtime file records."""
    recorded = {p.pid for p in site.processes()}

    def cmdline(pid: str) -> list[str]:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            return []

    found = []
    for entry in Path("/proc").iterdir():
        argv = cmdline(entry.name) if entry.name.isdigit() else []
        if str(site.jails_dir / "containers") not in " ".join(argv):
            continue
        if argv[0] not in ("/usr/bin/bwrap", "/bin/sh"):
            continue
        try:
            parent = (entry / "stat").read_text().rsplit(") ", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        if cmdline(parent)[:1] != ["/usr/bin/bwrap"] and int(entry.name) not in recorded:
            found.append(int(entry.name))
    return found


def test_killed_between_commit_and_push_a_rerun_redoes_it_from_origin(site: LocalSite) -> None:
    two_clones(site)  # the control repo now has an origin, and the lock lives there
    origin = site.base / "origin.git"
    before = git(origin, "rev-parse", "production").strip()
    paused = Paused(site, "push", "promote", "hello")
    paused.finish(signal.SIGKILL)
    assert git(origin, "rev-parse", "production").strip() == before  # never pushed
    locks = run_jailgen("lock", "status", "-r", str(site.control))
    assert locks.stdout.startswith("hello: locked (origin) by ")
    assert f"pid {paused.process.pid} (jailgen promote hello, " in locks.stdout
    code, text = status_text(site)
    assert code == 1  # this clone's HEAD holds the unpushed promotion
    assert "pending: commit " in text
    # the dead holder ran here: its lock is taken over at once, its commit dropped
    rerun = jailgen(site, "promote", "hello")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    subjects = git(origin, "log", "--format=%s", f"{before}..production").splitlines()
    assert subjects == [f"hello: promote {jail(site, 1)} to live"]
    assert git(site.control, "rev-parse", "HEAD") == git(origin, "rev-parse", "production")
    assert run_jailgen("lock", "status", "-r", str(site.control)).stdout == "no app is locked\n"
    assert_promoted(site)


def stop_app_of(site: LocalSite, name: str) -> None:
    """Kill the app process inside jail `name`, so its health check fails."""
    runtime = json.loads((site.jails_dir / "run" / f"{name}.json").read_text())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            inside = os.readlink(entry / "ns" / "pid") == runtime["pid_namespace"]
            if inside and b"app.py" in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
                return
        except OSError:
            continue
    raise AssertionError(f"no app process in {name}")
