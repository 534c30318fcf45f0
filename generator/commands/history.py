"""`jailgen history [APP]`: every test, promotion and rollback, newest first,
with its evidence (generator.history reads it from the control repo's notes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.history import Entry, read


def history(repo: Path, app: str | None = None) -> list[Entry]:
    """The entries of `app` (or of every app), newest first, fetched from origin."""
    return read(repo, app)


def refs_of(entries: list[Entry]) -> dict[str, str]:
    """The ref each release was asked for by, from its test entries: promotions
    and rollbacks name the release by commit id only."""
    refs: dict[str, str] = {}
    for entry in reversed(entries):  # oldest first: the latest test wins
        sha, ref = entry.release()
        if entry.action == "test" and sha and ref and not sha.startswith(ref.lower()):
            refs[sha] = ref
    return refs


def as_json(entries: list[Entry]) -> list[dict[str, Any]]:
    refs = refs_of(entries)
    return [e.to_json(refs.get(e.release()[0], "")) for e in entries]


def lines(entries: list[Entry]) -> list[str]:
    """The history as text, one line per workflow, newest first."""
    refs = refs_of(entries)
    rows = []
    for e in entries:
        sha, _ = e.release()
        ref = refs.get(sha)
        release = sha[:12] + (f" ({ref})" if ref else "")
        runs = " ".join(e.runs()) or "-"
        rows.append(
            f"{e.when}  {e.action:<8} {e.app:<12} {release:<28} {e.result():<30} "
            f"{e.author}  runs: {runs}"
        )
    return rows
