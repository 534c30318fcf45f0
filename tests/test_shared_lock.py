"""The per-app lock on the control repo's origin, seen by every clone: real git,
a shared bare origin, two clones, processes killed while holding it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.lock import LockHeld, app_lock, clone_lock_dir
from generator.shared_lock import break_lock, lock_breaks, remote_locks, shared_lock
from tests.conftest import git, run_jailgen
from tests.localsite import LocalSite

HOLD = """\
import sys, time
from pathlib import Path
from generator.shared_lock import shared_lock
from generator.lock import LockHeld
try:
    with shared_lock(Path(sys.argv[1]), "hello", sys.argv[2], float(sys.argv[3])):
        print("locked", flush=True)
        time.sleep(float(sys.argv[4]))
except LockHeld as exc:
    print("refused", exc, flush=True)
"""


def two_clones(site: LocalSite) -> tuple[Path, Path]:
    origin = site.base / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(site.control), str(origin)], check=True)
    git(site.control, "remote", "add", "origin", str(origin))
    other = site.base / "other"
    subprocess.run(["git", "clone", "-q", str(origin), str(other)], check=True)
    return site.control, other


@pytest.fixture
def clones(tmp_path: Path) -> tuple[LocalSite, Path, Path]:
    site = LocalSite(tmp_path / "site").create(commits=1)
    first, second = two_clones(site)
    return site, first, second


def hold(repo: Path, command: str, expires_s: float, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(repo), command, str(expires_s), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_lock_taken_in_one_clone_refuses_the_other(clones: tuple[LocalSite, Path, Path]) -> None:
    site, first, second = clones
    with shared_lock(first, "hello", "jailgen promote hello", expires_s=600):
        with (
            pytest.raises(LockHeld, match=r"locked on origin by .*jailgen promote hello"),
            shared_lock(second, "hello", "jailgen test hello", expires_s=600),
        ):
            pass
        # the workflow in the second clone refuses before doing anything (exit 3)
        head = git(second, "rev-parse", "HEAD")
        result = run_jailgen("promote", "hello", "-c", str(site.catalog_path), "-r", str(second))
        assert result.returncode == 3, result.stderr
        assert "jailgen promote hello" in result.stderr
        assert git(second, "rev-parse", "HEAD") == head
        status = run_jailgen("lock", "status", "-r", str(second), "--json")
        assert status.returncode == 0, status.stderr
        rows = json.loads(status.stdout)
        assert [(r["app"], r["where"]) for r in rows] == [("hello", "origin")]
        assert "jailgen promote hello" in rows[0]["holder"]
        # another app is not locked by it
        with shared_lock(second, "other", "jailgen test other", expires_s=600):
            assert sorted(remote_locks(second)) == ["hello", "other"]
    assert remote_locks(second) == {}
    with shared_lock(second, "hello", "jailgen test hello", expires_s=600):
        pass


def test_lock_status_lists_the_clones_own_locks_beside_origins(
    clones: tuple[LocalSite, Path, Path],
) -> None:
    _, first, second = clones
    with (
        shared_lock(first, "hello", "jailgen promote hello", expires_s=600),
        app_lock(clone_lock_dir(second), "other", "jailgen test other"),
    ):
        status = run_jailgen("lock", "status", "-r", str(second), "--json")
        assert status.returncode == 0, status.stderr
        rows = json.loads(status.stdout)
        assert [(r["app"], r["where"]) for r in rows] == [
            ("hello", "origin"),
            ("other", "this clone"),
        ]
        assert rows[1]["lock"] is None and "jailgen test other" in rows[1]["holder"]
        text = run_jailgen("lock", "status", "-r", str(second)).stdout
        assert "other: locked (this clone) by " in text
    # released: the clone's lock file stays, and is no longer listed
    assert run_jailgen("lock", "status", "-r", str(second)).stdout == "no app is locked\n"


def test_of_two_clones_racing_exactly_one_gets_the_lock(
    clones: tuple[LocalSite, Path, Path],
) -> None:
    _, first, second = clones
    for _ in range(3):
        racers = [hold(first, "first", 600, 1.5), hold(second, "second", 600, 1.5)]
        try:
            outputs = [p.communicate(timeout=60)[0] for p in racers]
        finally:
            for p in racers:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        assert sorted(o.split()[0] for o in outputs) == ["locked", "refused"], outputs
        assert remote_locks(first) == {}


def test_a_dead_holders_lock_expires_and_is_taken_over(
    clones: tuple[LocalSite, Path, Path],
) -> None:
    _, first, second = clones
    holder = hold(first, "killed holder", expires_s=2, seconds=60)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert "hello" in remote_locks(second)  # the dead holder's lock is still there
        started = time.monotonic()
        with shared_lock(second, "hello", "after expiry", expires_s=600, wait_s=30):
            assert time.monotonic() - started < 30
            ((_, record),) = remote_locks(first).values()
            assert record.command == "after expiry"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_unlock_needs_force_and_records_who_broke_the_lock(
    clones: tuple[LocalSite, Path, Path],
) -> None:
    _, first, second = clones
    holder = hold(first, "stuck promotion", expires_s=600, seconds=60)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        refused = run_jailgen("unlock", "hello", "-r", str(second))
        assert refused.returncode == 2
        assert "--force" in refused.stderr
        assert "hello" in remote_locks(second)
        broken = run_jailgen("unlock", "hello", "-r", str(second), "--force")
        assert broken.returncode == 0, broken.stderr
        assert "stuck promotion" in broken.stdout
        assert remote_locks(second) == {}
        (entry,) = lock_breaks(first, "hello")
        assert entry["holder"]["command"] == "stuck promotion"  # type: ignore[index]
        assert "@" in str(entry["broken_by"])
        assert break_lock(second, "hello") is None  # nothing left to break
    finally:
        holder.kill()
        holder.wait()
