"""What a killed or interrupted command left to do, read from git and the hosts'
last runs: the commit HEAD holds, the hosts that have not converged to it, and
whether HEAD is a switch of live (a promotion or a rollback) of some app.

`jailgen status` names them; `jailgen converge` and a re-run finish them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import git

from generator import files, names
from generator.render.replaced import TRAILER

# The subjects jailgen gives the commits that move live (commands.promote, .rollback).
_PROMOTE = re.compile(r"^(?P<app>[a-z][a-z0-9]*): promote (?P<jail>\S+) to live$")
_ROLLBACK = re.compile(r"^(?P<app>[a-z][a-z0-9]*): roll back live to (?P<jail>\S+)$")


@dataclass(frozen=True)
class Switch:
    """A commit that moved an app's live slot to `jail`."""

    app: str
    jail: str
    commit: str
    subject: str


def subject_of(git_repo: git.Repo, commit: str) -> str:
    summary = git_repo.commit(commit).summary
    return summary if isinstance(summary, str) else summary.decode("utf-8", "replace")


def switch_at(git_repo: git.Repo, commit: str) -> Switch | None:
    """The switch that `commit` is, if it is one jailgen made."""
    message = git_repo.commit(commit).message
    text = message if isinstance(message, str) else message.decode("utf-8", "replace")
    if TRAILER not in text:
        return None
    subject = subject_of(git_repo, commit)
    found = _PROMOTE.match(subject) or _ROLLBACK.match(subject)
    if found is None or not names.JAIL_NAME.match(found["jail"]):
        return None
    return Switch(found["app"], found["jail"], commit, subject)


def contains(git_repo: git.Repo, later: str | None, commit: str) -> bool:
    """Whether `later` is `commit` or a descendant of it (its history holds it)."""
    if later is None:
        return False
    if later == commit:
        return True
    try:
        git_repo.git.merge_base("--is-ancestor", commit, later)
    except git.GitCommandError:
        return False
    return True


def describe(git_repo: git.Repo, commit: str, hosts: list[str], app: str | None) -> str:
    """The line `status` and an interrupted command print for what is pending."""
    where = f" {app}" if app else ""
    return (
        f"commit {commit[:12]} ({subject_of(git_repo, commit)}) is not converged on "
        f"{', '.join(hosts)}; `jailgen converge{where}` (or the same command again) finishes it"
    )


# The commits whose routes this clone has verified, newest last (a bounded list).
VERIFIED = Path(".git") / "jailgen" / "verified"
KEEP_VERIFIED = 200


def record_verified(repo: Path, commits: list[str]) -> None:
    path = repo / VERIFIED
    known = path.read_text().split() if path.is_file() else []
    known = [c for c in known if c not in commits] + commits
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, "\n".join(known[-KEEP_VERIFIED:]) + "\n")


def was_verified(repo: Path, commit: str) -> bool:
    path = repo / VERIFIED
    return path.is_file() and commit in path.read_text().split()
