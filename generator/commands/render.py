"""`jailgen render`: write the Hiera data and the generated module, optionally
commit and push them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import git

from generator import __version__, files
from generator import repo as control
from generator.catalog import Catalog, load_catalog
from generator.errors import JailgenError
from generator.interrupt import Interrupted, deferred, pause_at
from generator.render import journal
from generator.render.control_repo import (
    Rendering,
    StateChange,
    owned_paths,
    render_repo,
    write_rendering,
)
from generator.render.replaced import TRAILER, Replacement, replacements
from generator.state import DeploymentState

MAX_PUSH_ATTEMPTS = 5


@dataclass
class RenderOutcome:
    catalog: Catalog
    changes: list[files.Change] = field(default_factory=list)
    commit: str | None = None
    pushed: bool = False
    push_attempts: int = 0
    state: DeploymentState | None = None
    # owned values this render replaces: all of them for `jailgen render`, those
    # edited by hand for a workflow's render
    replaced: list[Replacement] = field(default_factory=list)
    render_s: float = 0.0
    commit_s: float = 0.0


def describe(before: DeploymentState, after: DeploymentState) -> list[str]:
    """What a state change means, one line per app slot or jail."""
    lines: list[str] = []
    apps = sorted({a for h in (*before.hosts.values(), *after.hosts.values()) for a in h.slots})
    for app in apps:
        old, new = before.slots_of(app), after.slots_of(app)
        for slot in ("test", "live"):
            was = getattr(old, slot) if old else None
            now = getattr(new, slot) if new else None
            if was != now:
                lines.append(f"{app}: {slot} {was or '-'} -> {now or '-'}")
        marked = set(new.rolled_back if new else ()) - set(old.rolled_back if old else ())
        lines += [f"{app}: {name} marked rolled back from" for name in sorted(marked)]
    for certname in sorted(after.hosts):
        old_jails = before.hosts[certname].jails if certname in before.hosts else {}
        for name, jail in sorted(after.hosts[certname].jails.items()):
            previous = old_jails.get(name)
            if previous is None:
                lines.append(f"{certname}: create jail {name} at {jail.address}")
            elif previous.ensure != jail.ensure and jail.ensure == "absent":
                lines.append(f"{certname}: destroy jail {name}")
    return lines


def commit_message(
    subject: str, rendering: Rendering, replaced: list[Replacement] | None = None
) -> str:
    body = describe(rendering.before, rendering.state)
    body += [f"{c.action} {c.path}" for c in rendering.pending]
    body += [f"replace {r.describe()}" for r in replaced or ()]
    return subject + "\n\n" + "\n".join(body) + f"\n\n{TRAILER} {__version__}\n"


def render(
    catalog_path: Path,
    repo_path: Path,
    *,
    check: bool = False,
    commit: bool = False,
    push: bool = False,
    remote: str = "origin",
    change: StateChange | None = None,
    subject: str = "Render the catalog",
) -> RenderOutcome:
    catalog = load_catalog(catalog_path)
    return render_catalog(
        catalog,
        repo_path,
        check=check,
        commit=commit or push,
        push=push,
        remote=remote,
        change=change,
        subject=subject,
    )


def render_catalog(
    catalog: Catalog,
    repo_path: Path,
    *,
    check: bool = False,
    commit: bool = False,
    push: bool = False,
    remote: str = "origin",
    change: StateChange | None = None,
    subject: str = "Render the catalog",
) -> RenderOutcome:
    if not repo_path.is_dir():
        raise JailgenError(f"{repo_path}: no such control repo (run `jailgen init {repo_path}`)")
    outcome = RenderOutcome(catalog)
    git_repo = control.open_repo(repo_path) if commit else None
    if git_repo is not None:
        dirty = control.dirty_paths(git_repo, owned_paths(catalog))
        if dirty:
            dirty = journal.discard_left_over(repo_path, git_repo, dirty)
        if dirty:
            raise JailgenError(
                "refusing to commit: files jailgen owns have uncommitted edits "
                "(commit or discard them first):\n  " + "\n  ".join(dirty)
            )
    started = time.monotonic()
    rendering = _render_into(outcome, catalog, repo_path, change, write=False)
    outcome.replaced = replacements(
        repo_path, catalog.site.module, rendering, only_by_hand=change is not None
    )
    if check:
        return outcome
    if git_repo is None:
        write_rendering(catalog, repo_path, rendering)
        outcome.render_s = time.monotonic() - started
        return outcome
    journal.record(repo_path, rendering.pending)
    try:
        write_rendering(catalog, repo_path, rendering)
        outcome.render_s = time.monotonic() - started
        started = time.monotonic()
        pause_at("commit")
        with deferred():  # a signal waits until the commit is pushed
            _commit(outcome, git_repo, rendering, subject)
            journal.clear(repo_path)
            if push:
                pause_at("push")
                _push(outcome, git_repo, catalog, repo_path, subject, remote, change)
    except Interrupted:
        if outcome.commit is None:  # stopped before its commit: take back what it wrote
            dirty = control.dirty_paths(git_repo, owned_paths(catalog))
            journal.discard_left_over(repo_path, git_repo, dirty)
        raise
    finally:
        outcome.commit_s = time.monotonic() - started
    return outcome


def _render_into(
    outcome: RenderOutcome,
    catalog: Catalog,
    repo_path: Path,
    change: StateChange | None,
    write: bool = True,
) -> Rendering:
    rendering = render_repo(catalog, repo_path, change)
    outcome.changes = rendering.pending
    outcome.state = rendering.state
    if write:
        write_rendering(catalog, repo_path, rendering)
    return rendering


def _commit(outcome: RenderOutcome, git_repo: git.Repo, rendering: Rendering, subject: str) -> None:
    paths = [c.path for c in rendering.pending]
    message = commit_message(subject, rendering, outcome.replaced)
    outcome.commit = control.commit(git_repo, paths, message)


def _push(
    outcome: RenderOutcome,
    git_repo: git.Repo,
    catalog: Catalog,
    repo_path: Path,
    subject: str,
    remote: str,
    change: StateChange | None,
) -> None:
    """Push; on a rejection catch up with the remote, render and commit again."""
    for attempt in range(1, MAX_PUSH_ATTEMPTS + 1):
        outcome.push_attempts = attempt
        try:
            control.push(git_repo, remote)
            outcome.pushed = True
            return
        except control.PushRejected:
            control.catch_up(git_repo, outcome.commit, remote)
            rendering = _render_into(outcome, catalog, repo_path, change, write=False)
            outcome.replaced = replacements(
                repo_path, catalog.site.module, rendering, only_by_hand=change is not None
            )
            journal.record(repo_path, rendering.pending)
            write_rendering(catalog, repo_path, rendering)
            _commit(outcome, git_repo, rendering, subject)
            journal.clear(repo_path)
    raise JailgenError(f"push to {remote} rejected {MAX_PUSH_ATTEMPTS} times; giving up")
