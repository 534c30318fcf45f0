"""Hiera data: data/common.yaml and one data/nodes/<certname>.yaml per host."""

from __future__ import annotations

from typing import Any

from generator.catalog import App, Catalog
from generator.edge import Acme
from generator.service_addresses import nat_table, service_addresses
from generator.state import DeploymentState, Slots, owned_keys


def common_data(catalog: Catalog) -> dict[str, Any]:
    site, m = catalog.site, catalog.site.module
    return {
        f"{m}::freebsd_release": site.freebsd_release,
        f"{m}::nginx_listen": site.nginx_listen,
        f"{m}::nginx_port": site.nginx_port,
        f"{m}::nginx_https_port": site.tls.https_port,
        f"{m}::nginx_hsts": site.tls.hsts,
        f"{m}::acme": _acme_data(site.tls.acme),
        f"{m}::zfs_root": site.zfs_root,
    }


def common_owned_keys(module: str) -> tuple[str, ...]:
    return tuple(
        f"{module}::{k}"
        for k in (
            "freebsd_release",
            "nginx_listen",
            "nginx_port",
            "nginx_https_port",
            "nginx_hsts",
            "acme",
            "zfs_root",
        )
    )


def _acme_data(acme: Acme | None) -> dict[str, str] | None:
    if acme is None:
        return None
    data = {"directory": acme.directory, "email": acme.email}
    if acme.webroot is not None:
        data["webroot"] = acme.webroot
    if acme.ca_bundle is not None:
        data["ca_bundle"] = acme.ca_bundle
    return data


def _app_data(app: App, slots: Slots) -> dict[str, Any]:
    data: dict[str, Any] = {
        "domains": list(app.domains),
        "test_domain": app.test_domain,
        "source": app.source,
        "command": list(app.command),
        "port": app.port,
        "environment": dict(app.environment),
        "health": app.health,
        "packages": list(app.packages),
        "jail_params": dict(app.jail_params),
    }
    if app.build:
        data["build"] = [list(argv) for argv in app.build]
    if app.test_access is not None:
        data["test_access"] = app.test_access.to_hiera()
    if app.tls is not None:
        data["tls"] = {"acme": True} if app.tls.acme else {"cert": app.tls.cert, "key": app.tls.key}
    # an empty slot is left out rather than written as null
    if slots.test:
        data["test"] = slots.test
    if slots.live:
        data["live"] = slots.live
    data["previous"] = list(slots.previous)
    if slots.rolled_back:
        data["rolled_back"] = list(slots.rolled_back)
    if slots.maintenance is not None:
        data["maintenance"] = {
            "message": slots.maintenance,
            "retry_after": app.maintenance.retry_after,
        }
    return data


def node_data(catalog: Catalog, state: DeploymentState, certname: str) -> dict[str, Any]:
    """The owned keys of one host's node file, in a fixed order."""
    m = catalog.site.module
    host = catalog.hosts[certname]
    pool = catalog.pool_for(certname)
    host_state = state.hosts[certname]
    data: dict[str, Any] = {
        f"{m}::platform": host.os,
        f"{m}::jails_dir": host.jails_dir,
        f"{m}::interface": pool.interface,
        f"{m}::network": str(pool.network),
        f"{m}::host_address": str(pool.host_address),
    }
    if host.nginx_listen is not None:
        data[f"{m}::nginx_listen"] = host.nginx_listen
    if host.nginx_port is not None:
        data[f"{m}::nginx_port"] = host.nginx_port
    if host.nginx_prefix is not None:
        data[f"{m}::nginx_prefix"] = host.nginx_prefix
    elif host.os == "linux":
        data[f"{m}::nginx_prefix"] = f"{catalog.site.linux_root}/nginx"
    apps = catalog.apps_on(certname)
    data[f"{m}::services"] = service_addresses(pool.network, [app.name for app in apps])
    data[f"{m}::nat_table"] = nat_table(m, host.os, host.jails_dir)
    data[f"{m}::apps"] = {
        app.name: _app_data(app, host_state.slots.get(app.name, Slots())) for app in apps
    }
    data[f"{m}::jails"] = {
        name: {
            "ensure": jail.ensure,
            "app": jail.app,
            "revision": jail.revision,
            "address": jail.address,
        }
        for name, jail in sorted(host_state.jails.items())
    }
    return data


__all__ = ["common_data", "common_owned_keys", "node_data", "owned_keys"]
