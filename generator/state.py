"""Deployment state: which release is in which slot, and which address each jail
holds. It lives in the control repo's Hiera node files; this module reads it and
computes the next state. Pure: reading it from disk is `generator.state_store`."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from generator import names, service_addresses
from generator.catalog import Catalog, Pool
from generator.errors import JailgenError

ENSURES = ("running", "stopped", "absent")


@dataclass(frozen=True)
class Jail:
    """One jail on one host: a release of an app, and the address it holds for life."""

    name: str
    app: str
    revision: str
    address: str
    ensure: str = "running"


@dataclass(frozen=True)
class Slots:
    """Which jail serves the test domain, which serves live, which are kept for rollback."""

    test: str | None = None
    live: str | None = None
    previous: tuple[str, ...] = ()
    # Retained jails that live was rolled back from: never a rollback target
    # again (until promoted anew), so repeated rollbacks walk back in time.
    rolled_back: tuple[str, ...] = ()
    # In maintenance: the message of the page the live domains show (503);
    # None when the live domains are served.
    maintenance: str | None = None

    def referenced(self) -> list[str]:
        return [n for n in (self.test, self.live, *self.previous) if n is not None]

    @property
    def rollback_target(self) -> str | None:
        """The newest retained jail that live was not rolled back from."""
        return next((n for n in self.previous if n not in self.rolled_back), None)

    def retained(self, keep: int) -> Slots:
        """The newest `keep` previous jails, and the rollback target wherever it is."""
        kept = list(self.previous[:keep])
        target = self.rollback_target
        if target is not None and target not in kept:
            kept.append(target)
        return replace(
            self,
            previous=tuple(kept),
            rolled_back=tuple(n for n in self.rolled_back if n in kept),
        )


@dataclass
class HostState:
    certname: str
    jails: dict[str, Jail] = field(default_factory=dict)
    slots: dict[str, Slots] = field(default_factory=dict)


@dataclass
class DeploymentState:
    hosts: dict[str, HostState] = field(default_factory=dict)

    def slots_of(self, app: str) -> Slots | None:
        """An app's slots: the same on each of its hosts; the first host that has them."""
        for certname in sorted(self.hosts):
            slots = self.hosts[certname].slots.get(app)
            if slots is not None:
                return slots
        return None

    def revision_of(self, jail: str) -> str | None:
        for host in self.hosts.values():
            if jail in host.jails:
                return host.jails[jail].revision
        return None


class IpLedger:
    """Addresses of one host's pool. An address is held by its jail as long as the
    jail has an entry (running, stopped, retained, or absent until destroyed), and
    new jails get the lowest free address, so allocation is deterministic and never
    moves an existing jail."""

    def __init__(
        self, certname: str, pool: Pool, jails: Iterable[Jail], app_count: int = 0
    ) -> None:
        self.certname = certname
        self.pool = pool
        self.used = {ipaddress.IPv4Address(j.address) for j in jails}
        self.used.add(pool.host_address)
        # the top of the pool holds the apps' service addresses (NGINX -> NAT)
        self.services = service_addresses.reserved(pool.network, app_count)
        self.used |= self.services
        self._next = int(pool.network.network_address) + 2

    def allocate(self) -> str:
        last = int(self.pool.network.broadcast_address) - 1
        candidate = self._next
        while candidate <= last:
            address = ipaddress.IPv4Address(candidate)
            candidate += 1
            if address not in self.used:
                self.used.add(address)
                self._next = candidate
                return str(address)
        raise JailgenError(
            f"address pool {self.pool.network} of host {self.certname} is exhausted: "
            f"{len(self.used) - 1 - len(self.services)} addresses are held by jails and "
            f"{len(self.services)} by the apps' service addresses (free some by pruning "
            "previous jails or widen site.pools)"
        )


def owned_keys(module: str) -> tuple[str, ...]:
    """The Hiera keys jailgen owns in a node file."""
    return tuple(
        f"{module}::{key}"
        for key in (
            "platform",
            "jails_dir",
            "interface",
            "network",
            "host_address",
            "nginx_listen",
            "nginx_port",
            "nginx_prefix",
            "services",
            "nat_table",
            "apps",
            "jails",
        )
    )


def state_from_node_data(certname: str, module: str, data: Mapping[str, Any]) -> HostState:
    """The state recorded in one node file's data (already parsed)."""
    host = HostState(certname)
    jails = data.get(f"{module}::jails") or {}
    apps = data.get(f"{module}::apps") or {}
    if not isinstance(jails, Mapping) or not isinstance(apps, Mapping):
        raise JailgenError(
            f"data/nodes/{certname}.yaml: {module}::jails and ::apps must be mappings"
        )
    for name, entry in sorted(jails.items()):
        try:
            host.jails[name] = Jail(
                name=str(name),
                app=str(entry["app"]),
                revision=str(entry["revision"]),
                address=str(entry["address"]),
                ensure=str(entry.get("ensure", "running")),
            )
        except (KeyError, TypeError) as exc:
            raise JailgenError(
                f"data/nodes/{certname}.yaml: {module}::jails.{name}: needs app, revision "
                "and address"
            ) from exc
    for app, entry in sorted(apps.items()):
        if not isinstance(entry, Mapping):
            continue
        host.slots[str(app)] = Slots(
            test=entry.get("test") or None,
            live=entry.get("live") or None,
            previous=tuple(entry.get("previous") or ()),
            rolled_back=tuple(entry.get("rolled_back") or ()),
            maintenance=_maintenance_message(entry.get("maintenance")),
        )
    return host


def _maintenance_message(entry: Any) -> str | None:
    if isinstance(entry, Mapping) and isinstance(entry.get("message"), str):
        return str(entry["message"])
    return None


def plan(catalog: Catalog, current: DeploymentState) -> DeploymentState:
    """The next state for the catalog: slots carried over (or bootstrapped from an
    app's `release`), previous jails trimmed to the retention (never dropping the
    rollback target), every referenced jail
    running with an address, unreferenced jails marked absent (keeping their address
    until Puppet has destroyed them)."""
    result = DeploymentState()
    keep = max(catalog.site.retention, 1)  # the last known-good is never pruned
    for certname in sorted(catalog.hosts):
        before = current.hosts.get(certname, HostState(certname))
        host = HostState(certname)
        for app in catalog.apps_on(certname):
            slots = before.slots.get(app.name) or current.slots_of(app.name)
            if slots is None:
                slots = (
                    Slots(test=names.jail_name(app.name, app.release)) if app.release else Slots()
                )
            host.slots[app.name] = slots.retained(keep)
        wanted: dict[str, tuple[str, str]] = {}
        for app_name, slots in host.slots.items():
            app = catalog.apps[app_name]
            for jail_name in slots.referenced():
                revision = (
                    before.jails[jail_name].revision
                    if jail_name in before.jails
                    else current.revision_of(jail_name)
                )
                if (
                    revision is None
                    and app.release
                    and jail_name == names.jail_name(app.name, app.release)
                ):
                    revision = app.release
                if revision is None:
                    raise JailgenError(f"jail {jail_name} of app {app_name} has no known revision")
                wanted[jail_name] = (app_name, revision)
        held = [j for j in before.jails.values() if j.address]
        for jail in held:
            ensure = "running" if jail.name in wanted else "absent"
            host.jails[jail.name] = replace(jail, ensure=ensure)
        ledger = IpLedger(
            certname, catalog.pool_for(certname), held, len(catalog.apps_on(certname))
        )
        for name, (app_name, revision) in sorted(wanted.items()):
            if name not in host.jails:
                host.jails[name] = Jail(name, app_name, revision, ledger.allocate())
        result.hosts[certname] = host
    # hosts no longer in the catalog keep their state untouched
    for certname, host in current.hosts.items():
        result.hosts.setdefault(certname, host)
    return result


# Workflow edits of the state. Each returns a new state; `plan` then allocates
# addresses and marks jails that left every slot as absent.


def _edit_slots(
    state: DeploymentState, hosts: Iterable[str], app: str, slots: Slots
) -> DeploymentState:
    result = DeploymentState(
        {k: replace(v, jails=dict(v.jails), slots=dict(v.slots)) for k, v in state.hosts.items()}
    )
    for certname in hosts:
        host = result.hosts.setdefault(certname, HostState(certname))
        host.slots[app] = slots
    return result


def with_test_release(
    state: DeploymentState, catalog: Catalog, app: str, revision: str
) -> DeploymentState:
    """QA: the release `revision` of `app` goes into the test slot."""
    hosts = catalog.apps[app].hosts
    name = names.jail_name(app, revision)
    slots = state.slots_of(app) or Slots()
    result = _edit_slots(state, hosts, app, replace(slots, test=name))
    for certname in hosts:
        jails = result.hosts[certname].jails
        if name not in jails:
            jails[name] = Jail(name, app, revision, address="")
    return result


def promoted(state: DeploymentState, catalog: Catalog, app: str) -> DeploymentState:
    """Release manager: live moves to the test jail; the former live is kept first
    among the previous jails. A jail promoted anew loses its rolled-back mark."""
    slots = state.slots_of(app)
    if slots is None or slots.test is None:
        raise JailgenError(f"{app} has no release in its test slot to promote")
    if slots.live == slots.test:
        raise JailgenError(f"{app}: {slots.test} is already live")
    previous = tuple(n for n in (slots.live, *slots.previous) if n and n != slots.test)
    marked = tuple(n for n in slots.rolled_back if n in previous)
    new = replace(slots, live=slots.test, previous=previous, rolled_back=marked)
    return _edit_slots(state, catalog.apps[app].hosts, app, new)


def rolled_back(
    state: DeploymentState, catalog: Catalog, app: str, to: str | None = None
) -> DeploymentState:
    """Live moves back to the rollback target (the newest previous jail live was
    not rolled back from), or to the previous jail `to`; the former live becomes
    the newest previous, marked as rolled back from, so the next rollback goes
    further back. Rolling back `to` an older jail rolls back from the newer ones
    it passes over too: they are marked as well."""
    slots = state.slots_of(app)
    target = slots.rollback_target if slots is not None else None
    if slots is not None and to is not None:
        if to not in slots.previous:
            raise JailgenError(f"{app}: {to} is not a retained previous jail")
        target = to
    if slots is None or target is None:
        raise JailgenError(no_rollback_target(app, slots))
    rest = tuple(n for n in slots.previous if n != target)
    previous = tuple(n for n in (slots.live, *rest) if n)
    passed_over = slots.previous[: slots.previous.index(target)]
    marks = {slots.live, *passed_over, *slots.rolled_back}
    new = replace(
        slots,
        live=target,
        previous=previous,
        rolled_back=tuple(n for n in previous if n in marks),
    )
    return _edit_slots(state, catalog.apps[app].hosts, app, new)


def with_maintenance(
    state: DeploymentState, catalog: Catalog, app: str, message: str | None
) -> DeploymentState:
    """The live domains of `app` show the maintenance page with `message`, or
    (None) are served again. The slots stay as they are."""
    slots = state.slots_of(app) or Slots()
    return _edit_slots(state, catalog.apps[app].hosts, app, replace(slots, maintenance=message))


def no_rollback_target(app: str, slots: Slots | None) -> str:
    if slots is None or not slots.previous:
        return f"{app} has no previous release to roll back to"
    return (
        f"{app} has no older release to roll back to: live was already rolled back from "
        f"every retained release ({', '.join(slots.previous)})"
    )


def forget_destroyed(state: DeploymentState, converged: Iterable[str]) -> DeploymentState:
    """Drop absent jails from hosts whose last run applied them (they are gone), so
    their addresses return to the pool."""
    done = set(converged)
    result = DeploymentState()
    for certname, host in state.hosts.items():
        jails = host.jails
        if certname in done:
            jails = {n: j for n, j in jails.items() if j.ensure != "absent"}
        result.hosts[certname] = replace(host, jails=dict(jails), slots=dict(host.slots))
    return result
