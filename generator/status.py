"""`jailgen status`: per app and host, the jails in each slot, their addresses and
health, and the commit the host last converged to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from generator import http
from generator.catalog import Catalog
from generator.errors import JailgenError
from generator.puppet.report import RunReport
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

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class AppHostStatus:
    app: str
    host: str
    jails: list[JailStatus]
    converged: str | None
    last_run: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "host": self.host,
            "jails": [j.to_json() for j in self.jails],
            "converged_commit": self.converged,
            "last_run": self.last_run,
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
    state, _ = read_state(repo, catalog.site.module)
    last = {h: reports.last_report(h) for h in sorted(catalog.hosts)}
    rows = []
    for name in sorted(catalog.apps):
        if app_name is not None and name != app_name:
            continue
        app = catalog.apps[name]
        for host in app.hosts:
            host_state = state.hosts.get(host)
            slots = host_state.slots.get(name) if host_state else None
            jails = []
            if slots is not None and host_state is not None:
                named = [("test", slots.test), ("live", slots.live)]
                named += [(f"previous[{i}]", n) for i, n in enumerate(slots.previous)]
                for slot, jail_name in named:
                    if jail_name is None or jail_name not in host_state.jails:
                        continue
                    jail = host_state.jails[jail_name]
                    health = "-"
                    if probe and jail.address:
                        answer = http.probe_jail(jail.address, app.port, app.health, timeout=2)
                        health = "up" if answer.status == 200 else answer.describe()
                    jails.append(
                        JailStatus(
                            slot, jail.name, jail.revision, jail.address, jail.ensure, health
                        )
                    )
            report = last[host]
            rows.append(
                AppHostStatus(
                    name,
                    host,
                    jails,
                    report.configuration_version if report and report.ok else None,
                    report.status if report else None,
                )
            )
    return rows
