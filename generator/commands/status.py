"""`jailgen status`: what is served, and whether it is what Hiera says.

Per app and host: the jail Hiera names in each slot and its own health, what
NGINX actually serves on each live and test domain (checked through NGINX with
the domain's Host header, as verification does), and the commit the host last
converged to. Every disagreement, pending change or failed check is a problem;
`status` exits 1 while there is any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import git

from generator import http, pending, routes
from generator import repo as control
from generator.catalog import Catalog
from generator.errors import JailgenError
from generator.puppet.report import RunReport
from generator.render import journal
from generator.state import DeploymentState
from generator.state_store import read_state


class ReportSource(Protocol):
    def last_report(self, certname: str) -> RunReport | None: ...


@dataclass(frozen=True)
class JailStatus:
    slot: str
    name: str
    revision: str
    address: str
    ensure: str
    health: str
    note: str = ""  # "rollback target", "rolled back from"

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class AppHostStatus:
    app: str
    host: str
    jails: list[JailStatus]
    converged: str | None
    last_run: str | None
    head: str | None = None
    routes: list[routes.Served] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    maintenance: str | None = None  # the page's message while the app is in maintenance

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "host": self.host,
            "ok": self.ok,
            "jails": [j.to_json() for j in self.jails],
            "routes": [r.to_json() for r in self.routes],
            "converged_commit": self.converged,
            "head": self.head,
            "last_run": self.last_run,
            "problems": list(self.problems),
            "maintenance": self.maintenance,
        }


def status(
    catalog: Catalog,
    repo: Path,
    reports: ReportSource,
    app_name: str | None = None,
    probe: bool = True,
) -> list[AppHostStatus]:
    if app_name is not None and app_name not in catalog.apps:
        raise JailgenError(f"no app named {app_name!r} in {catalog.path}")
    git_repo = open_control_repo(repo)
    head = control.head(git_repo)
    state, _ = read_state(repo, catalog.site.module)
    written = journal.left_over(repo)
    left = control.dirty_paths(git_repo, sorted(written)) if written else []
    uncommitted = (
        [
            f"uncommitted: a killed command rendered {', '.join(left)} and did not commit "
            f"it (the slots shown are that render's; HEAD {(head or '')[:12]} holds what "
            "was committed); the next command discards it and starts from HEAD"
        ]
        if left
        else []
    )
    rows = []
    for certname in sorted(catalog.hosts):
        apps = [a.name for a in catalog.apps_on(certname)]
        if app_name is not None:
            apps = [a for a in apps if a == app_name]
        if not apps:
            continue
        report = reports.last_report(certname)
        behind = _pending(git_repo, head, certname, report)
        served: list[routes.Served] = []
        if probe:
            address, port = catalog.nginx_for(certname)
            known = routes.releases(state, certname)
            wanted = routes.expected(catalog, state, certname, apps)
            served = [routes.probe(address, port, r, known) for r in wanted]
        for name in apps:
            row = _app_row(catalog, state, name, certname, probe)
            row.converged = report.configuration_version if report and report.ok else None
            row.last_run = report.status if report else None
            row.head = head
            row.routes = [s for s in served if s.route.app == name]
            row.problems = (
                uncommitted
                + behind
                + [f"{s.route.slot} {s.route.domain}: {s.detail}" for s in row.routes if not s.ok]
            )
            row.problems += [
                f"{j.slot} {j.name}: health {j.health}"
                for j in row.jails
                if _must_be_healthy(j) and j.health not in ("up", "-")
            ]
            rows.append(row)
    return sorted(rows, key=lambda r: (r.app, catalog.apps[r.app].hosts.index(r.host)))


def open_control_repo(repo: Path) -> git.Repo:
    """The control repo at `repo`; anything else is an error (exit 2), so that a
    mistyped path never looks like an empty site."""
    if not repo.is_dir():
        raise JailgenError(f"{repo}: no such control repo")
    git_repo = control.open_repo(repo)
    if not (repo / "hiera.yaml").is_file() or control.head(git_repo) is None:
        raise JailgenError(
            f"{repo} is not a control repo (no hiera.yaml or no commit; "
            f"run `jailgen init {repo}` first)"
        )
    return git_repo


def _must_be_healthy(jail: JailStatus) -> bool:
    return jail.slot in ("test", "live") or jail.note == "rollback target"


def _app_row(
    catalog: Catalog, state: DeploymentState, name: str, certname: str, probe: bool
) -> AppHostStatus:
    app = catalog.apps[name]
    host_state = state.hosts.get(certname)
    slots = host_state.slots.get(name) if host_state else None
    jails = []
    if slots is not None and host_state is not None:
        named = [("test", slots.test), ("live", slots.live)]
        named += [(f"previous[{i}]", n) for i, n in enumerate(slots.previous)]
        for slot, jail_name in named:
            if jail_name is None:
                continue
            jail = host_state.jails.get(jail_name)
            if jail is None:
                jails.append(JailStatus(slot, jail_name, "", "", "unknown", "-", "not in jails"))
                continue
            health = "-"
            if probe and jail.address:
                answer = http.probe_jail(jail.address, app.port, app.health, timeout=2)
                if answer.error != "not on this machine":
                    health = "up" if answer.status == 200 else answer.describe()
            note = ""
            if slot.startswith("previous"):
                if jail_name == slots.rollback_target:
                    note = "rollback target"
                elif jail_name in slots.rolled_back:
                    note = "rolled back from"
            jails.append(
                JailStatus(slot, jail.name, jail.revision, jail.address, jail.ensure, health, note)
            )
    row = AppHostStatus(name, certname, jails, None, None)
    row.maintenance = slots.maintenance if slots is not None else None
    return row


def _pending(
    git_repo: git.Repo, head: str | None, certname: str, report: RunReport | None
) -> list[str]:
    """Why the host may not run what HEAD holds: no run, a failed run, or commits
    since its last good run that change what it applies. Each names HEAD's commit."""
    if head is None:
        return []
    wanted = f"commit {head[:12]} ({pending.subject_of(git_repo, head)}) is not applied"
    if report is None:
        return [f"pending: {wanted}: the host has never run Puppet"]
    if not report.ok:
        return [f"pending: {wanted}: the last Puppet run {report.status}: {report.summary()}"]
    converged = report.configuration_version
    if converged == head:
        return []
    if converged is None:
        return [f"pending: {wanted}: the last run has no configuration version"]
    try:
        git_repo.git.merge_base("--is-ancestor", converged, head)
    except git.GitCommandError:
        return [f"pending: {wanted}: the host ran {converged[:12]}, which is not in HEAD's history"]
    changed = git_repo.git.diff("--name-only", converged, head).splitlines()
    own = f"data/nodes/{certname}.yaml"
    relevant = [p for p in changed if not p.startswith("data/nodes/") or p == own]
    if relevant:
        return [
            f"pending: {wanted} (the host last converged to {converged[:12]}; "
            f"changed since: {', '.join(relevant[:3])}{' ...' if len(relevant) > 3 else ''})"
        ]
    return []
