"""What each host's NGINX must serve, and what it does serve.

Every app routed by a host's NGINX has a live route per domain and a test route
for its test domain. Hiera names the jail of each slot: a route serves that
jail's release (`/` names the release's commit and the health path answers 200),
or answers 503 when the slot holds no running jail. A live route of an app in
maintenance answers 503 with the maintenance page on `/`, while its health path
still reaches the live jail. The same expectations drive
the verification after a Puppet run and `jailgen status`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from generator import http
from generator.catalog import Catalog
from generator.state import DeploymentState

# in the page NGINX answers with in maintenance (nginx.conf.epp)
MAINTENANCE_MARK = '<meta name="generator" content="jailgen maintenance">'


@dataclass(frozen=True)
class Route:
    host: str
    app: str
    slot: str  # live | test
    domain: str
    health: str
    jail: str | None  # the running jail the slot names; None: the route answers 503
    revision: str | None
    maintenance: bool = False  # a live route showing the maintenance page
    https_port: int | None = None  # served over HTTPS on this port (HTTP redirects)
    acme: bool = False  # HTTPS once the host has obtained its certificate; HTTP until then

    @property
    def what(self) -> str:
        return f"{self.app} {self.slot} {self.domain}"

    @property
    def expects(self) -> str:
        return "maintenance" if self.maintenance else self.jail or "503"


@dataclass(frozen=True)
class Served:
    """One route as NGINX answered it."""

    route: Route
    ok: bool
    serves: str  # a jail name, "503", "an unknown release" or the error
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.route.app,
            "host": self.route.host,
            "slot": self.route.slot,
            "domain": self.route.domain,
            "expected": self.route.expects,
            "serves": self.serves,
            "ok": self.ok,
            "detail": self.detail,
        }


def expected(
    catalog: Catalog, state: DeploymentState, host: str, apps: Iterable[str] | None = None
) -> list[Route]:
    """The routes of `host`'s NGINX: every app on it (or only `apps`), live then test."""
    wanted = set(apps) if apps is not None else None
    host_state = state.hosts.get(host)
    routes: list[Route] = []
    for app in catalog.apps_on(host):
        if wanted is not None and app.name not in wanted:
            continue
        slots = host_state.slots.get(app.name) if host_state else None
        test_domains = [app.test_domain] if app.test_domain else []
        for slot, domains in (("live", list(app.domains)), ("test", test_domains)):
            name = getattr(slots, slot) if slots is not None else None
            jail = host_state.jails.get(name) if host_state and name else None
            running = jail if jail is not None and jail.ensure == "running" else None
            paused = slot == "live" and slots is not None and slots.maintenance is not None
            for domain in domains:
                routes.append(
                    Route(
                        host,
                        app.name,
                        slot,
                        domain,
                        app.health,
                        running.name if running else None,
                        running.revision if running else None,
                        paused,
                        catalog.site.tls.https_port if app.tls is not None else None,
                        app.tls is not None and app.tls.acme,
                    )
                )
    return routes


def releases(state: DeploymentState, host: str) -> list[tuple[str, str]]:
    """Every jail the host's state knows, as (revision, name), to name what a
    route serves."""
    host_state = state.hosts.get(host)
    if host_state is None:
        return []
    return sorted((j.revision, j.name) for j in host_state.jails.values())


def probe(address: str, port: int, route: Route, known: Sequence[tuple[str, str]]) -> Served:
    """One check of `route` through NGINX at address:port (its HTTPS port for a
    route with TLS), with its Host header (and SNI)."""
    if route.acme:
        # no certificate yet: served over HTTP, as the configuration says
        secure = _get(address, route.https_port or port, route, "/")
        if secure.error is not None:
            served = probe(address, port, replace(route, https_port=None, acme=False), known)
            note = f"{served.detail} (over HTTP: no ACME certificate in use yet; {secure.error})"
            return Served(route, served.ok, served.serves, note)
    if route.https_port is not None:
        port = route.https_port
    root = _get(address, port, route, "/")
    serves = _identify(root, known, route.app)
    if route.maintenance:
        return _probe_maintenance(address, port, route, root, serves)
    if route.revision is None:
        ok = root.status == 503
        detail = "answers 503 (empty slot)" if ok else f"serves {serves}, expected 503"
        return Served(route, ok, serves, detail)
    up = _get(address, port, route, route.health)
    ok = root.status == 200 and route.revision in root.body and up.status == 200
    if ok:
        detail = f"serves {route.jail}, {route.health} answers 200"
    elif root.status == 200 and route.revision in root.body:
        detail = f"serves {route.jail}, but {route.health} -> {up.describe()}"
    else:
        detail = f"serves {serves}, expected {route.jail}"
    return Served(route, ok, serves, detail)


def _get(address: str, port: int, route: Route, path: str) -> http.Answer:
    tls = route.https_port is not None
    return http.get(address, port, path, host=route.domain, timeout=5.0, tls=tls)


def _probe_maintenance(
    address: str, port: int, route: Route, root: http.Answer, serves: str
) -> Served:
    if not (root.status == 503 and MAINTENANCE_MARK in root.body):
        return Served(route, False, serves, f"serves {serves}, expected the maintenance page")
    if route.revision is None:
        return Served(route, True, "maintenance", "maintenance page (503); live slot empty")
    up = _get(address, port, route, route.health)
    if up.status != 200:
        detail = f"maintenance page (503), but {route.health} -> {up.describe()}"
        return Served(route, False, "maintenance", detail)
    detail = f"maintenance page (503); {route.health} answers 200 (live is {route.jail})"
    return Served(route, True, "maintenance", detail)


def _identify(answer: http.Answer, known: Sequence[tuple[str, str]], app: str) -> str:
    if answer.error:
        return answer.error
    if answer.status == 503:
        return "503"
    if answer.status != 200:
        return f"HTTP {answer.status}"
    names = [name for revision, name in known if revision in answer.body]
    # the same release may run in jails of several apps: prefer the route's own
    own = [n for n in names if n.startswith(f"{app}_")]
    if own or names:
        return (own or names)[0]
    return f"an unknown release ({answer.body.strip()[:40]!r})"


def check_all(
    address: str,
    port: int,
    routes: list[Route],
    known: Sequence[tuple[str, str]],
    timeout_s: float,
    interval_s: float = 0.25,
) -> list[Served]:
    """Probe every route, retrying those that fail until `timeout_s` has passed (a
    change takes effect once NGINX and the jails have picked it up)."""
    deadline = time.monotonic() + timeout_s
    results = {r: probe(address, port, r, known) for r in routes}
    while time.monotonic() < deadline and not all(s.ok for s in results.values()):
        time.sleep(interval_s)
        for route, served in results.items():
            if not served.ok:
                results[route] = probe(address, port, route, known)
    return [results[r] for r in routes]
