"""One lock per app, so two promotions (or tests, or rollbacks) of the same app
never interleave.

The lock is an flock(2) on `<dir>/<app>.lock`: the kernel releases it when its
holder exits, however it exits, so a lock left by a killed process is gone at
once. The file names the holder (user, host, pid, command, since when), so a
second caller can say who holds it. Callers wait up to a limit, then refuse.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from generator.errors import JailgenError


@dataclass(frozen=True)
class Holder:
    user: str
    host: str
    pid: int
    command: str
    since: float

    def describe(self) -> str:
        held = int(time.time() - self.since)
        return f"{self.user}@{self.host} pid {self.pid} ({self.command}, for {held} s)"


class LockHeld(JailgenError):
    exit_code = 3


def clone_lock_dir(repo: Path) -> Path:
    """Where the clone at `repo` keeps its lock files."""
    return repo / ".git" / "jailgen" / "locks"


def holders(directory: Path) -> list[tuple[str, Holder]]:
    """Every lock in `directory` held now, by name, with its holder."""
    found = []
    for path in sorted(directory.glob("*.lock")) if directory.is_dir() else []:
        holder = holder_of(directory, path.stem)
        if holder is not None:
            found.append((path.stem, holder))
    return found


def holder_of(directory: Path, app: str) -> Holder | None:
    """Who holds an app's lock now, if anyone."""
    path = directory / f"{app}.lock"
    if not path.exists():
        return None
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            return _parse(handle.read())
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _parse(text: str) -> Holder:
    try:
        return Holder(**json.loads(text))
    except (ValueError, TypeError):
        return Holder("unknown", "unknown", 0, "unknown", time.time())


@contextmanager
def app_lock(directory: Path, app: str, command: str, wait_s: float = 0.0) -> Iterator[int]:
    """Hold `app`'s lock for the block; yields the locked file's descriptor: a
    child process that inherits it holds the lock for as long as it lives."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{app}.lock"
    me = Holder(getpass.getuser(), socket.gethostname(), os.getpid(), command, time.time())
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole block
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = _parse(handle.read())
                    raise LockHeld(f"{app} is locked by {holder.describe()}") from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(asdict(me)))
        handle.flush()
        try:
            yield handle.fileno()
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
