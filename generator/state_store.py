"""Reading the deployment state from a control repo's node files.

Parsing every node file of a big site takes seconds (10,000 apps: ~150,000 lines
of YAML), and every workflow starts by reading the state. The state of each file
is therefore cached in `.git/jailgen/state-cache.json`, keyed by the file's
SHA-256: a file whose bytes did not change is not parsed again. The cache is
local to the checkout, never committed, and safe to delete.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from generator import yamlio
from generator.errors import CatalogError, Problem
from generator.files import write_atomic
from generator.render.hiera import common_owned_keys
from generator.state import (
    DeploymentState,
    HostState,
    Jail,
    Slots,
    owned_keys,
    state_from_node_data,
)
from generator.state_check import Found, check_lookups, check_node_data, locate

CACHE_VERSION = 3


def parse_node_file(path: Path, text: str) -> Mapping[str, Any]:
    """The Hiera keys of one data file; a file that is not YAML, or not a mapping,
    is a positioned error like a catalog's."""
    try:
        data = yamlio.load_fast(text) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = Problem(str(path), line, column, "", f"YAML syntax error: {exc.problem}")
        raise CatalogError([problem]) from exc
    except yaml.YAMLError as exc:
        raise CatalogError([Problem(str(path), 1, 1, "", f"YAML error: {exc}")]) from exc
    if not isinstance(data, Mapping):
        expected = "invalid value (expected a mapping of Hiera keys)"
        raise CatalogError([Problem(str(path), 1, 1, "", expected)])
    return data


def common_file_problems(repo: Path, module: str) -> list[Problem]:
    """What is wrong with data/common.yaml, as a hand may have left it: not YAML,
    not a mapping, or something that changes how Puppet looks up jailgen's keys."""
    path = repo / "data" / "common.yaml"
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    try:
        data = parse_node_file(path, text)
    except CatalogError as error:
        return error.problems
    return locate(str(path), text, _lookup_problems(module, data, common=True))


def _lookup_problems(module: str, data: Mapping[str, Any], common: bool) -> list[Found]:
    node_only = set(owned_keys(module)) - set(common_owned_keys(module))
    owned = set(owned_keys(module)) | set(common_owned_keys(module))
    return check_lookups(data, owned, node_only, common)


def _cache_path(repo: Path) -> Path | None:
    git_dir = repo / ".git"
    return git_dir / "jailgen" / "state-cache.json" if git_dir.is_dir() else None


def _load_cache(path: Path | None, module: str) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if cache.get("version") != CACHE_VERSION or cache.get("module") != module:
        return {}
    files = cache.get("files")
    return files if isinstance(files, dict) else {}


def _to_cache(host: HostState, digest: str) -> dict[str, Any]:
    return {
        "sha256": digest,
        "jails": {name: asdict(jail) for name, jail in host.jails.items()},
        "slots": {app: asdict(slots) for app, slots in host.slots.items()},
    }


def _from_cache(certname: str, entry: Mapping[str, Any]) -> HostState:
    host = HostState(certname)
    for name, jail in entry["jails"].items():
        host.jails[name] = Jail(**jail)
    for app, slots in entry["slots"].items():
        host.slots[app] = Slots(
            slots["test"],
            slots["live"],
            tuple(slots["previous"]),
            tuple(slots["rolled_back"]),
            slots.get("maintenance"),
        )
    return host


def read_state(repo: Path, module: str) -> tuple[DeploymentState, dict[str, str]]:
    """The state of every node file, and each file's text by repo-relative path.
    Every problem of common.yaml and the node files is raised at once."""
    state = DeploymentState()
    texts: dict[str, str] = {}
    problems = common_file_problems(repo, module)
    nodes = repo / "data" / "nodes"
    if not nodes.is_dir():
        if problems:
            raise CatalogError(problems)
        return state, texts
    cache_path = _cache_path(repo)
    cached = _load_cache(cache_path, module)
    fresh: dict[str, Any] = {}
    for path in sorted(nodes.glob("*.yaml")):
        rel = f"data/nodes/{path.name}"
        certname = path.name[: -len(".yaml")]
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        digest = hashlib.sha256(raw).hexdigest()
        entry = cached.get(rel)
        if isinstance(entry, Mapping) and entry.get("sha256") == digest:
            host = _from_cache(certname, entry)
            fresh[rel] = entry
        else:
            try:
                data = parse_node_file(path, text)
            except CatalogError as error:
                problems += error.problems
                continue
            found = check_node_data(module, data) + _lookup_problems(module, data, common=False)
            if found:
                problems += locate(str(path), text, found)
                continue
            host = state_from_node_data(certname, module, data)
            fresh[rel] = _to_cache(host, digest)
        texts[rel] = text
        state.hosts[certname] = host
    if problems:
        raise CatalogError(problems)  # every problem of every node file, nothing cached
    if cache_path is not None and fresh != cached:
        payload = {"version": CACHE_VERSION, "module": module, "files": fresh}
        write_atomic(cache_path, json.dumps(payload, sort_keys=True))
    return state, texts


def remember(repo: Path, module: str, texts: Mapping[str, str], state: DeploymentState) -> None:
    """Record the state of node files jailgen has just written, so that the next
    read does not parse them again."""
    cache_path = _cache_path(repo)
    if cache_path is None:
        return
    cached = _load_cache(cache_path, module)
    for rel, text in texts.items():
        certname = rel.removeprefix("data/nodes/").removesuffix(".yaml")
        if rel.startswith("data/nodes/") and certname in state.hosts:
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            cached[rel] = _to_cache(state.hosts[certname], digest)
    payload = {"version": CACHE_VERSION, "module": module, "files": cached}
    write_atomic(cache_path, json.dumps(payload, sort_keys=True))
