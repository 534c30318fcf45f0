"""The release history: every test, promotion and rollback, with its evidence.

Each workflow's commit carries a git note under `refs/notes/jailgen` with the
verification evidence: the result, the release (commit id and the ref it was
asked for by), the slots, each host's Puppet run (status, configuration version,
run id) and route checks, and the timings. The note is added once the runs are
verified (the evidence cannot exist before the commit is applied) and pushed to
origin right after the commit, so `jailgen history` shows the same from any
clone: it fetches the notes first. Who and when are the commit's author and date.
(generator.commands.history shows it.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import git

from generator import repo as control
from generator.errors import JailgenError

if TYPE_CHECKING:
    from generator.outcome import Outcome

NOTES_REF = "refs/notes/jailgen"
ORIGIN_NOTES = "refs/notes/jailgen-origin"  # origin's notes, fetched before merging
FORMAT = 1
PUSH_ATTEMPTS = 3


@dataclass(frozen=True)
class Entry:
    """One line of the history: a commit of a workflow, and its note."""

    commit: str
    when: str  # the commit's author date, ISO 8601
    author: str
    note: dict[str, Any]

    @property
    def app(self) -> str:
        return str(self.note.get("app", ""))

    @property
    def action(self) -> str:
        return str(self.note.get("action", ""))

    def release(self) -> tuple[str, str]:
        release = self.note.get("release") or {}
        return str(release.get("sha", "")), str(release.get("ref", ""))

    def result(self) -> str:
        if self.note.get("ok"):
            return "verified"
        failed = f"FAILED at {self.note.get('failed_step')}"
        return failed + (" (reverted)" if self.note.get("reverted_by") else "")

    def runs(self) -> list[str]:
        return [
            f"{r['host']}={r.get('job_id') or r.get('run_id') or '-'}"
            for r in self.note.get("reports", [])
        ]

    def to_json(self, ref: str) -> dict[str, Any]:
        sha, _ = self.release()
        return {
            "commit": self.commit,
            "when": self.when,
            "author": self.author,
            "action": self.action,
            "app": self.app,
            "release": {"sha": sha, "sha12": sha[:12], "ref": ref},
            "ok": bool(self.note.get("ok")),
            "result": self.result(),
            "evidence": self.note,
        }


def evidence(outcome: Outcome) -> dict[str, Any]:
    """The note of a workflow's commit."""
    data = outcome.to_json()
    return {
        "format": FORMAT,
        "action": data["action"],
        "app": data["app"],
        "ok": data["ok"],
        "failed_step": data["failed_step"],
        "message": data["message"],
        "release": data["release"],
        "slots": data["slots"],
        "reverted_by": data["reverted_by"],
        "reports": [
            {
                "host": r["host"],
                "status": r["status"],
                "configuration_version": r["configuration_version"],
                "run_id": r.get("run_id"),
                "job_id": r.get("job_id"),
                "duration_s": r["duration_s"],
            }
            for r in data["reports"]
        ],
        "checks": data["checks"],
        "release_command": data["release_command"],
        "timings_s": data["timings_s"],
    }


def _git(repo: git.Repo, *args: str) -> str:
    out: str = repo.git.execute(["git", *control.identity_args(repo), *args])
    return out


def record(path: Path, outcome: Outcome, push: bool) -> str:
    """Add the note of `outcome` to its commit (and push it); what happened."""
    if outcome.commit is None:
        return "no commit, nothing recorded"
    repo = control.open_repo(path)
    text = json.dumps(evidence(outcome), indent=1, sort_keys=True) + "\n"
    try:
        _git(repo, "notes", f"--ref={NOTES_REF}", "add", "-f", "-m", text, outcome.commit)
        if push:
            push_notes(repo)
    except (git.GitCommandError, JailgenError) as exc:
        detail = exc.stderr.strip() if isinstance(exc, git.GitCommandError) else str(exc)
        return f"the evidence was not recorded in {NOTES_REF}: {detail}"
    return f"evidence recorded in {NOTES_REF}" + (" and pushed" if push else "")


def fetch_notes(repo: git.Repo, remote: str = "origin") -> None:
    """Merge origin's notes into ours (notes of different commits never clash;
    for the same commit, ours are kept)."""
    try:
        repo.git.fetch(remote, f"+{NOTES_REF}:{ORIGIN_NOTES}")
    except git.GitCommandError as exc:
        if "couldn't find remote ref" in exc.stderr:
            return  # nobody has pushed notes yet
        raise JailgenError(f"cannot fetch {NOTES_REF} from {remote}: {exc.stderr.strip()}") from exc
    _git(repo, "notes", f"--ref={NOTES_REF}", "merge", "-q", "-s", "ours", ORIGIN_NOTES)


def push_notes(repo: git.Repo, remote: str = "origin") -> None:
    """Push our notes; when another operator pushed theirs first, merge and retry."""
    for _ in range(PUSH_ATTEMPTS):
        try:
            repo.git.push(remote, f"{NOTES_REF}:{NOTES_REF}")
            return
        except git.GitCommandError as exc:
            if "rejected" not in exc.stderr and "fetch first" not in exc.stderr:
                raise
            fetch_notes(repo, remote)
    raise JailgenError(f"{NOTES_REF} was rejected by {remote} {PUSH_ATTEMPTS} times")


def read(path: Path, app: str | None = None) -> list[Entry]:
    """Every recorded workflow on the branch (here and on origin), newest first
    (of `app` only)."""
    repo = control.open_repo(path)
    revisions = ["HEAD"]
    if control.has_origin(repo):
        # what origin holds, without touching the working tree
        branch = control.branch_name(repo)
        tracking = f"refs/remotes/origin/{branch}"
        try:
            repo.git.fetch("origin", f"+refs/heads/{branch}:{tracking}")
        except git.GitCommandError as exc:
            raise JailgenError(f"cannot fetch {branch} from origin: {exc.stderr.strip()}") from exc
        revisions.append(tracking)
        fetch_notes(repo)
    try:
        repo.git.rev_parse("--verify", "--quiet", NOTES_REF)
    except git.GitCommandError:
        return []
    listing = repo.git.log(
        f"--notes={NOTES_REF}", "--format=%x1e%H%x00%aI%x00%an <%ae>%x00%N", *revisions
    )
    entries = []
    for record_text in listing.split("\x1e"):
        fields = record_text.strip("\n").split("\x00")
        if len(fields) != 4 or not fields[3].strip():
            continue
        try:
            note = json.loads(fields[3])
        except json.JSONDecodeError:
            continue  # a note jailgen did not write
        entry = Entry(fields[0], fields[1], fields[2], note)
        if app is None or entry.app == app:
            entries.append(entry)
    return entries
