"""The per-app lock every operator sees: a ref on the control repo's origin.

`refs/jailgen/locks/<app>` names a commit (with the empty tree) whose message is
the holder as JSON: user, host, pid, command, since and expires. Taking the lock
is one `git push --force-with-lease=<ref>:` (the ref must not exist yet), which
the receiving side applies atomically, so of two operators racing on two clones
exactly one gets it. Releasing it deletes the ref only while it still names our
commit. A lock past its expiry (its holder died), or whose holder ran on this
machine and is gone, may be taken over, again by a compare-and-swap push.
`jailgen unlock APP --force` breaks a lock and records who broke whose lock on
`refs/jailgen/lock-breaks/<app>`, a chain of commits.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from generator.errors import JailgenError
from generator.lock import LockHeld

LOCKS = "refs/jailgen/locks"
BREAKS = "refs/jailgen/lock-breaks"
# Fetched copies of the remote's lock refs, for reading their holders.
SEEN = "refs/jailgen/seen-locks"


@dataclass(frozen=True)
class Record:
    user: str
    host: str
    pid: int
    command: str
    since: float
    expires: float

    def describe(self) -> str:
        now = time.time()
        state = (
            f"expires in {int(self.expires - now)} s"
            if self.expires > now
            else f"expired {int(now - self.expires)} s ago"
        )
        return (
            f"{self.user}@{self.host} pid {self.pid} ({self.command}, "
            f"for {int(now - self.since)} s, {state})"
        )

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires

    @property
    def dead_here(self) -> bool:
        """Whether the holder ran on this machine and its process is gone (it was
        killed): its lock need not wait for its expiry."""
        if self.host != socket.gethostname() or self.pid <= 0:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def _git(repo: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.setdefault("GIT_AUTHOR_NAME", getpass.getuser())
    env.setdefault("GIT_AUTHOR_EMAIL", f"{getpass.getuser()}@{socket.gethostname()}")
    env.setdefault("GIT_COMMITTER_NAME", env["GIT_AUTHOR_NAME"])
    env.setdefault("GIT_COMMITTER_EMAIL", env["GIT_AUTHOR_EMAIL"])
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def _record_commit(repo: Path, message: str, parent: str | None = None) -> str:
    tree = _git(repo, "mktree", stdin="").stdout.strip()
    argv = ["commit-tree", tree, "-m", message]
    if parent:
        argv += ["-p", parent]
    result = _git(repo, *argv)
    if result.returncode != 0:
        raise JailgenError(f"cannot record a lock in {repo}: {result.stderr.strip()}")
    return result.stdout.strip()


def remote_locks(repo: Path, remote: str = "origin") -> dict[str, tuple[str, Record]]:
    """Every lock on the remote, by app: (commit, holder)."""
    listed = _git(repo, "ls-remote", remote, f"{LOCKS}/*")
    if listed.returncode != 0:
        raise JailgenError(f"cannot read the locks on {remote}: {listed.stderr.strip()}")
    found: dict[str, tuple[str, Record]] = {}
    for line in listed.stdout.splitlines():
        sha, ref = line.split("\t", 1)
        app = ref.removeprefix(f"{LOCKS}/")
        record = _read(repo, remote, ref, sha)
        if record is not None:
            found[app] = (sha, record)
    return found


def _read(repo: Path, remote: str, ref: str, sha: str) -> Record | None:
    local = ref.replace(LOCKS, SEEN, 1)
    fetched = _git(repo, "fetch", "-q", remote, f"+{ref}:{local}")
    if fetched.returncode != 0:
        return None  # released between the listing and the fetch
    body = _git(repo, "log", "-1", "--format=%B", sha).stdout
    try:
        return Record(**json.loads(body))
    except (ValueError, TypeError):
        return Record("unknown", "unknown", 0, body.strip()[:60] or "unknown", 0.0, 0.0)


def _push_lease(repo: Path, remote: str, ref: str, expect: str, new: str | None) -> bool:
    """Set (or with `new` None, delete) `ref` on the remote only if it is `expect`
    (the empty string: only if it does not exist). True when it was done."""
    refspec = f"{new}:{ref}" if new else f":{ref}"
    result = _git(
        repo, "push", "--porcelain", f"--force-with-lease={ref}:{expect}", remote, refspec
    )
    return result.returncode == 0


def _current(repo: Path, remote: str, app: str) -> tuple[str, Record] | None:
    listed = _git(repo, "ls-remote", remote, f"{LOCKS}/{app}")
    line = listed.stdout.strip()
    if not line:
        return None
    sha = line.split("\t", 1)[0]
    record = _read(repo, remote, f"{LOCKS}/{app}", sha)
    return (sha, record) if record is not None else None


@contextmanager
def shared_lock(
    repo: Path,
    app: str,
    command: str,
    expires_s: float,
    wait_s: float = 0.0,
    remote: str = "origin",
) -> Iterator[Record]:
    """Hold `app`'s lock on the remote for the block; wait up to `wait_s`."""
    now = time.time()
    me = Record(getpass.getuser(), socket.gethostname(), os.getpid(), command, now, now + expires_s)
    mine = _record_commit(repo, json.dumps(asdict(me), sort_keys=True))
    ref = f"{LOCKS}/{app}"
    deadline = time.monotonic() + wait_s
    while True:
        if _push_lease(repo, remote, ref, "", mine):
            break
        held = _current(repo, remote, app)
        if (
            held is not None
            and (held[1].expired or held[1].dead_here)
            and _push_lease(repo, remote, ref, held[0], mine)
        ):
            break  # its holder died: taken over
        if held is not None and time.monotonic() >= deadline:
            raise LockHeld(
                f"{app} is locked on {remote} by {held[1].describe()}; "
                f"`jailgen unlock {app} --force` breaks it"
            )
        if held is None and time.monotonic() >= deadline + 10:
            raise JailgenError(f"cannot take the lock of {app} on {remote}")
        time.sleep(0.3)
    try:
        yield me
    finally:
        _push_lease(repo, remote, ref, mine, None)


def break_lock(repo: Path, app: str, remote: str = "origin") -> Record | None:
    """Delete `app`'s lock on the remote, recording who broke whose lock; the
    holder it had, or None when it was not locked."""
    held = _current(repo, remote, app)
    if held is None:
        return None
    sha, record = held
    breaks = f"{BREAKS}/{app}"
    previous = _git(repo, "ls-remote", remote, breaks).stdout.strip().split("\t", 1)[0] or None
    if previous:
        _git(repo, "fetch", "-q", remote, f"+{breaks}:{breaks}")
    note = {
        "broken_by": f"{getpass.getuser()}@{socket.gethostname()}",
        "at": time.time(),
        "holder": asdict(record),
        "lock": sha,
    }
    entry = _record_commit(repo, json.dumps(note, sort_keys=True), previous)
    if not _push_lease(repo, remote, breaks, previous or "", entry):
        raise JailgenError(f"cannot record the break of {app}'s lock on {remote}; try again")
    if not _push_lease(repo, remote, f"{LOCKS}/{app}", sha, None):
        raise JailgenError(f"{app}'s lock on {remote} changed while breaking it; look again")
    return record


def lock_breaks(repo: Path, app: str, remote: str = "origin") -> list[dict[str, object]]:
    """The recorded breaks of `app`'s lock, newest first."""
    breaks = f"{BREAKS}/{app}"
    if _git(repo, "fetch", "-q", remote, f"+{breaks}:{breaks}").returncode != 0:
        return []
    log = _git(repo, "log", "--format=%B%x00", breaks).stdout
    return [json.loads(entry) for entry in log.split("\x00") if entry.strip()]
