"""The deployment state in the Hiera data is checked like the catalog.

Node files may be edited by hand. Before jailgen reads slots, jails and addresses
from one, every value it uses is checked: names, revisions, addresses, ensure
values, slots naming jails the file declares, and no address held twice. Every
data file (common.yaml too) is also checked for hand edits that would make
Puppet see other values of jailgen's keys than the ones jailgen wrote and
verified: a per-node key in common.yaml, or `lookup_options` for one of its keys.
Each problem is reported as `FILE:LINE:COL: key.path: problem (expected ...)`,
all at once, before anything is rendered, committed or run.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping
from typing import Any

import yaml

from generator import edge, names
from generator.errors import Problem
from generator.state import ENSURES

Found = tuple[tuple[str, ...], str]  # key path, "problem (expected ...)"


def _invalid(value: Any, expected: str) -> str:
    return f"invalid value {value!r} (expected {expected})"


def check_node_data(module: str, data: Mapping[str, Any]) -> list[Found]:
    """What is wrong with the state keys of one node file's data."""
    found: list[Found] = []
    jails_key, apps_key = f"{module}::jails", f"{module}::apps"
    jails = data.get(jails_key)
    apps = data.get(apps_key)
    declared: dict[str, str] = {}  # jail name -> app
    if jails is not None and not isinstance(jails, Mapping):
        found.append(((jails_key,), _invalid(jails, "a mapping of jail names to jails")))
    elif jails:
        holders: dict[str, str] = {}
        for name, entry in jails.items():
            found += _check_jail(jails_key, name, entry, declared, holders)
    if apps is not None and not isinstance(apps, Mapping):
        found.append(((apps_key,), _invalid(apps, "a mapping of app names to apps")))
    elif apps:
        for app, entry in apps.items():
            if isinstance(entry, Mapping):
                found += _check_slots(apps_key, str(app), entry, declared)
            else:
                found.append(((apps_key, str(app)), _invalid(entry, "a mapping")))
    return found


def check_lookups(
    data: Mapping[str, Any], owned: Collection[str], node_only: Collection[str], common: bool
) -> list[Found]:
    """Keys of one data file that would change how Puppet looks jailgen's keys up.

    `owned` are the keys jailgen writes, `node_only` those it writes per node
    only; `common` says the file is data/common.yaml."""
    found: list[Found] = []
    if common:
        for key in sorted(str(k) for k in data if str(k) in node_only):
            found.append(
                (
                    (key,),
                    "jailgen writes this key in each node's file (data/nodes/<certname>.yaml); "
                    "in common.yaml it would reach every host (expected no such key here)",
                )
            )
    options = data.get("lookup_options")
    if isinstance(options, Mapping):
        for pattern in sorted(str(k) for k in options):
            if _names_owned(pattern, owned):
                found.append(
                    (
                        ("lookup_options", pattern),
                        "jailgen writes its keys whole and checks what they route; a merge "
                        "strategy would mix in values it never checked "
                        "(expected no lookup_options for jailgen's keys)",
                    )
                )
    return found


def _names_owned(pattern: str, owned: Collection[str]) -> bool:
    """Whether a lookup_options key names one of `owned`: exactly, or, as Hiera
    reads a key that starts with `^`, as a regular expression."""
    if not pattern.startswith("^"):
        return pattern in owned
    try:
        regex = re.compile(pattern)
    except re.error:
        return False
    return any(regex.search(key) for key in owned)


def _check_jail(
    key: str, name: Any, entry: Any, declared: dict[str, str], holders: dict[str, str]
) -> list[Found]:
    path = (key, str(name))
    if not isinstance(name, str) or not names.JAIL_NAME.match(name):
        return [(path, _invalid(name, "a jail name <app>_<12 hex digits>"))]
    if not isinstance(entry, Mapping):
        return [(path, _invalid(entry, "a mapping with app, revision and address"))]
    found: list[Found] = []
    for field in ("app", "revision", "address"):
        if field not in entry:
            found.append((path, f"missing key {field!r} (expected app, revision and address)"))
    app, revision, address = entry.get("app"), entry.get("revision"), entry.get("address")
    if "app" in entry and (app is None or f"{app}_" != name[:-12]):
        found.append(((*path, "app"), _invalid(app, f"the app its name starts with, {name[:-13]}")))
    if "revision" in entry and not (
        isinstance(revision, str) and names.SHA.match(revision) and revision[:12] == name[-12:]
    ):
        found.append(
            ((*path, "revision"), _invalid(revision, f"40 hex digits starting with {name[-12:]}"))
        )
    if "address" in entry:
        found += _check_address(path, address, holders, name)
    ensure = entry.get("ensure", "running")
    if ensure not in ENSURES:
        found.append(((*path, "ensure"), _invalid(ensure, "one of " + ", ".join(ENSURES))))
    if not found:
        declared[name] = str(app)
    return found


def _check_address(
    path: tuple[str, ...], address: Any, holders: dict[str, str], name: str
) -> list[Found]:
    try:
        if not isinstance(address, str):
            raise ValueError(address)
        canonical = str(ipaddress.IPv4Address(address))
    except ValueError:
        return [((*path, "address"), _invalid(address, "an IPv4 address like 172.16.0.2"))]
    if canonical != address:
        return [((*path, "address"), _invalid(address, f"the address written as {canonical}"))]
    if address in holders:
        return [
            (
                (*path, "address"),
                f"address {address} is already held by jail {holders[address]} "
                "(expected one jail per address)",
            )
        ]
    holders[address] = name
    return []


def _check_slots(
    key: str, app: str, entry: Mapping[str, Any], declared: dict[str, str]
) -> list[Found]:
    found: list[Found] = []
    path = (key, app)

    def jail_ref(where: tuple[str, ...], value: Any) -> None:
        if not isinstance(value, str) or not names.JAIL_NAME.match(value):
            found.append((where, _invalid(value, "a jail name <app>_<12 hex digits>")))
        elif value not in declared:
            found.append((where, f"unknown jail {value!r} (expected a jail of {key[:-6]}::jails)"))
        elif declared[value] != app:
            found.append((where, f"jail {value!r} belongs to app {declared[value]!r}, not {app!r}"))

    for slot in ("test", "live"):
        if entry.get(slot) is not None:
            jail_ref((*path, slot), entry[slot])
    for listed in ("previous", "rolled_back"):
        value = entry.get(listed)
        if value is None:
            continue
        if not isinstance(value, list):
            found.append(((*path, listed), _invalid(value, "a list of jail names")))
            continue
        for i, item in enumerate(value):
            jail_ref((*path, listed, str(i)), item)
    maintenance = entry.get("maintenance")
    if maintenance is not None:
        message = maintenance.get("message") if isinstance(maintenance, Mapping) else None
        if not isinstance(message, str) or edge.check_message(message) is not None:
            found.append(
                (
                    (*path, "maintenance"),
                    _invalid(maintenance, "a mapping with a message: " + edge.MESSAGE_EXPECTED),
                )
            )
    marked = entry.get("rolled_back")
    previous = entry.get("previous") or []
    if isinstance(marked, list) and isinstance(previous, list):
        for i, item in enumerate(marked):
            if isinstance(item, str) and item not in previous:
                found.append(
                    ((*path, "rolled_back", str(i)), f"{item!r} is not in previous (expected a "
                     "jail listed in previous)")
                )  # fmt: skip
    return found


def locate(file: str, text: str, found: list[Found]) -> list[Problem]:
    """Problems with the line and column of each key path's node in `text`."""
    try:
        root = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        root = None
    problems = []
    for path, message in found:
        line, column = _position(root, path)
        problems.append(Problem(file, line, column, ".".join(path), message))
    return problems


def _position(root: yaml.Node | None, path: tuple[str, ...]) -> tuple[int, int]:
    node, mark = root, root.start_mark if root is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == part), None)
            if match is None:
                break
            node, mark = match[1], match[1].start_mark
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            mark = node.start_mark
        else:
            break
    if mark is None:
        return 1, 1
    return mark.line + 1, mark.column + 1
