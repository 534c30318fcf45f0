"""Every file jailgen writes goes through here: compared with what is on disk,
reported as create / overwrite / identical / delete, and written atomically."""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

EXECUTABLE_SUFFIXES = (".sh",)


@dataclass(frozen=True)
class Change:
    path: str  # relative to the repo root, with '/'
    action: str  # create | overwrite | delete | identical
    old: str | None
    new: str | None

    def diff(self) -> str:
        old = (self.old or "").splitlines(keepends=True)
        new = (self.new or "").splitlines(keepends=True)
        return "".join(
            difflib.unified_diff(
                old,
                new,
                fromfile=f"a/{self.path}" if self.old is not None else "/dev/null",
                tofile=f"b/{self.path}" if self.new is not None else "/dev/null",
            )
        )


def compare(root: Path, files: dict[str, str], known: dict[str, str] | None = None) -> list[Change]:
    """What writing `files` under `root` would do. `known` holds texts already read."""
    changes = []
    for rel in sorted(files):
        new = files[rel]
        old = known.get(rel) if known and rel in known else _read(root / rel)
        if old is None:
            changes.append(Change(rel, "create", None, new))
        elif old == new:
            changes.append(Change(rel, "identical", old, new))
        else:
            changes.append(Change(rel, "overwrite", old, new))
    return changes


def deletions(root: Path, owned_dir: str, keep: set[str]) -> list[Change]:
    """Files under a directory jailgen owns entirely that it no longer renders."""
    base = root / owned_dir
    if not base.is_dir():
        return []
    found = []
    for path in sorted(base.rglob("*")):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            if rel not in keep:
                found.append(Change(rel, "delete", path.read_text(encoding="utf-8"), None))
    return found


def apply(root: Path, changes: list[Change]) -> list[Change]:
    """Carry out the changes; return the ones that touched the disk."""
    done = []
    for change in changes:
        target = root / change.path
        if change.action == "delete":
            target.unlink()
            _prune_empty_dirs(target.parent, root)
        elif change.action in ("create", "overwrite"):
            assert change.new is not None
            write_atomic(target, change.new, executable=change.path.endswith(EXECUTABLE_SUFFIXES))
        else:
            continue
        done.append(change)
    return done


def write_atomic(target: Path, text: str, executable: bool = False) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, 0o755 if executable else 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _prune_empty_dirs(directory: Path, root: Path) -> None:
    while directory != root and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent
