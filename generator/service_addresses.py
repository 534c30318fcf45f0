"""Stable service addresses: the per-host address NGINX proxies to for each app
and slot. The kernel NAT table (nftables on Linux, a pf anchor on FreeBSD) maps
each one to the jail currently in that slot, so a slot switch changes the NAT
table and never NGINX's configuration.

The addresses are the highest ones of the host's jail pool, two per app in the
order of the app names: live first, then test. Jail addresses are allocated
from the bottom of the pool, so the two ends meet only when the pool is full.
"""

from __future__ import annotations

import hashlib
import ipaddress

SLOTS = ("live", "test")


def service_addresses(network: ipaddress.IPv4Network, apps: list[str]) -> dict[str, dict[str, str]]:
    """Per app and slot, the service address, from the top of `network` down."""
    top = int(network.broadcast_address) - 1
    result: dict[str, dict[str, str]] = {}
    for index, app in enumerate(sorted(apps)):
        result[app] = {
            slot: str(ipaddress.IPv4Address(top - 2 * index - offset))
            for offset, slot in enumerate(SLOTS)
        }
    return result


def reserved(network: ipaddress.IPv4Network, app_count: int) -> set[ipaddress.IPv4Address]:
    """The addresses of `network` that service addresses take for `app_count` apps."""
    top = int(network.broadcast_address) - 1
    return {ipaddress.IPv4Address(top - i) for i in range(2 * app_count)}


def nat_table(module: str, host_os: str, jails_dir: str) -> str:
    """The name of a host's NAT table. On FreeBSD the pf anchor is named after
    the module alone: the operator hooks it into pf.conf by that name. On Linux
    the nftables table's name is also specific to the host's jail tree, so that
    two sites sharing one machine's kernel never replace each other's table."""
    if host_os == "freebsd":
        return module
    digest = hashlib.sha256(jails_dir.encode()).hexdigest()[:10]
    return f"{module}_{digest}"
