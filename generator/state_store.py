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

from generator import yamlio
from generator.errors import CatalogError, JailgenError, Problem
from generator.files import write_atomic
from generator.state import DeploymentState, HostState, Jail, Slots, state_from_node_data
from generator.state_check import check_node_data, locate

CACHE_VERSION = 3


def parse_node_file(path: Path, text: str) -> Mapping[str, Any]:
    try:
        data = yamlio.load_fast(text) or {}
    except Exception as exc:
        raise JailgenError(f"{path}: cannot parse: {exc}") from exc
    if not isinstance(data, Mapping):
        raise JailgenError(f"{path}: expected a mapping of Hiera keys")
    return data


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
    """The state of every node file, and each file's text by repo-relative path."""
    state = DeploymentState()
    texts: dict[str, str] = {}
    nodes = repo / "data" / "nodes"
    if not nodes.is_dir():
        return state, texts
    cache_path = _cache_path(repo)
    cached = _load_cache(cache_path, module)
    fresh: dict[str, Any] = {}
    problems: list[Problem] = []
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
            data = parse_node_file(path, text)
            found = check_node_data(module, data)
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
