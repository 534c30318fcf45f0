"""Which committed values of keys jailgen owns a rendering replaces.

A render never replaces a value silently: for every Hiera file it overwrites,
the owned values that change are listed by key path, old and new, and marked as
edited by hand when the file's last change was not made by jailgen (its commits
carry the `Rendered-by: jailgen` trailer) or is not committed at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

from generator import yamlio
from generator.render.control_repo import Rendering
from generator.render.hiera import common_owned_keys
from generator.state import owned_keys

TRAILER = "Rendered-by: jailgen"
_MISSING = object()


@dataclass(frozen=True)
class Replacement:
    path: str
    key: str  # dotted key path, from the top-level Hiera key
    old: Any
    new: Any  # None when the key is removed
    by_hand: bool

    def describe(self) -> str:
        new = "(removed)" if self.new is _MISSING else _show(self.new)
        note = " (edited by hand)" if self.by_hand else ""
        return f"{self.path}: {self.key}: {_show(self.old)} -> {new}{note}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "key": self.key,
            "old": self.old,
            "new": None if self.new is _MISSING else self.new,
            "removed": self.new is _MISSING,
            "by_hand": self.by_hand,
        }


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _keys_for(path: str, module: str) -> tuple[str, ...] | None:
    if path == "data/common.yaml":
        return common_owned_keys(module)
    if path.startswith("data/nodes/") and path.endswith(".yaml"):
        return owned_keys(module)
    return None


def edited_by_hand(repo: Path, path: str, text: str | None) -> bool:
    """Whether the file's text was last changed by someone other than jailgen."""
    try:
        git_repo = git.Repo(repo)
        committed = git_repo.git.show(f"HEAD:{path}")
    except (git.GitCommandError, git.InvalidGitRepositoryError, git.NoSuchPathError):
        return False  # not committed yet: nothing to replace
    if text is not None and committed.rstrip("\n") != text.rstrip("\n"):
        return True
    message: str = git_repo.git.log("-1", "--format=%B", "--", path)
    return TRAILER not in message


def replacements(
    repo: Path, module: str, rendering: Rendering, only_by_hand: bool = False
) -> list[Replacement]:
    """The owned values that `rendering` replaces in files that exist. With
    `only_by_hand`, only files edited by hand are compared (cheap: one git call
    per overwritten Hiera file)."""
    found: list[Replacement] = []
    for change in rendering.pending:
        keys = _keys_for(change.path, module)
        if keys is None or change.action != "overwrite" or change.old is None:
            continue
        by_hand = edited_by_hand(repo, change.path, change.old)
        if only_by_hand and not by_hand:
            continue
        old = _owned(change.old, keys)
        new = _owned(change.new or "", keys)
        for key, value in _flatten(old):
            replaced = _lookup(new, key)
            if replaced != value:
                found.append(Replacement(change.path, ".".join(key), value, replaced, by_hand))
    return found


def _owned(text: str, keys: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = yamlio.load_fast(text) or {}
    except Exception:  # an unparsable file is reported by whoever reads the state
        return {}
    if not isinstance(data, Mapping):
        return {}
    return {k: data[k] for k in keys if k in data}


def _flatten(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            yield from _flatten(value, (*prefix, str(key)))
    elif prefix:
        yield prefix, data


def _lookup(data: Any, key: tuple[str, ...]) -> Any:
    for part in key:
        if not isinstance(data, Mapping) or part not in data:
            return _MISSING
        data = data[part]
    return data
