"""`jailgen lock status` and `jailgen unlock APP --force`: the per-app locks.

A deploy command holds its apps' locks on the control repo's origin (where
every operator sees them; generator.shared_lock) and in this clone
(generator.lock). `status` lists both; `unlock` breaks one on origin, and the
break itself is recorded there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import repo as control
from generator import shared_lock
from generator.errors import JailgenError
from generator.lock import clone_lock_dir, holders


@dataclass(frozen=True)
class HeldLock:
    app: str
    where: str  # "origin" or "this clone"
    lock: str | None  # the lock's commit on origin
    holder: str

    def to_json(self) -> dict[str, Any]:
        return {"app": self.app, "where": self.where, "lock": self.lock, "holder": self.holder}


def lock_status(repo: Path) -> list[HeldLock]:
    """Every lock held on origin, then every one held in this clone, by app."""
    held: list[HeldLock] = []
    if control.has_origin(control.open_repo(repo)):
        for app, (sha, record) in sorted(shared_lock.remote_locks(repo).items()):
            held.append(HeldLock(app, "origin", sha, record.describe()))
    for app, holder in holders(clone_lock_dir(repo)):
        held.append(HeldLock(app, "this clone", None, holder.describe()))
    return held


def unlock(repo: Path, app: str, force: bool) -> shared_lock.Record | None:
    """Break `app`'s lock on origin (only with `force`); the holder it had, or
    None when it was not locked."""
    if not force:
        raise JailgenError(
            f"breaking {app}'s lock lets a second command run beside its holder's; "
            "check `jailgen lock status` and repeat with --force"
        )
    return shared_lock.break_lock(repo, app)
