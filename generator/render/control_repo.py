"""Catalog + deployment state -> every file jailgen owns in a control repo."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import __version__, files, yamlio
from generator.catalog import Catalog
from generator.gcpause import paused_gc
from generator.render import hiera
from generator.render.templates import render_folder
from generator.state import DeploymentState, owned_keys, plan, read_state

StateChange = Callable[[DeploymentState], DeploymentState]

PROFILE_PATH = "site-modules/profile/manifests/jails.pp"


@dataclass(frozen=True)
class Rendering:
    changes: list[files.Change]
    state: DeploymentState  # the state rendered
    before: DeploymentState  # the state the control repo held

    @property
    def pending(self) -> list[files.Change]:
        return [c for c in self.changes if c.action != "identical"]


def module_dir(catalog: Catalog) -> str:
    return f"site-modules/{catalog.site.module}"


def owned_paths(catalog: Catalog) -> list[str]:
    """Paths (files or directories) whose content jailgen owns."""
    return ["data/common.yaml", "data/nodes", module_dir(catalog), PROFILE_PATH]


def render_module(catalog: Catalog) -> dict[str, str]:
    context: dict[str, object] = {
        "module": catalog.site.module,
        "hosts": [{"certname": h.certname, "os": h.os} for _, h in sorted(catalog.hosts.items())],
        "version": __version__,
    }
    prefix = module_dir(catalog)
    rendered = {f"{prefix}/{rel}": text for rel, text in render_folder("module", context).items()}
    rendered[PROFILE_PATH] = render_folder("profile", context)["jails.pp"]
    return rendered


def _hiera_text(
    existing: tuple[str, Any] | None, owned: dict[str, Any], keys: tuple[str, ...]
) -> str:
    canonical = yamlio.emit(owned)
    if existing is None:
        return canonical
    text, data = existing
    if text == canonical:
        return text
    # a file holding only jailgen's data, as jailgen wrote it, is simply rewritten
    if isinstance(data, Mapping) and set(data) <= set(keys) and yamlio.emit(data) == text:
        return canonical
    return yamlio.merge(text, owned, keys)


def render_repo(catalog: Catalog, repo: Path, change: StateChange | None = None) -> Rendering:
    """Compare what the control repo holds with what the catalog (and `change`, a
    workflow's edit of the deployment state) asks for; nothing is written here."""
    with paused_gc():
        return _render_repo(catalog, repo, change)


def _render_repo(catalog: Catalog, repo: Path, change: StateChange | None) -> Rendering:
    before, node_files = read_state(repo, catalog.site.module)
    current = change(before) if change is not None else before
    state = plan(catalog, current)
    module = catalog.site.module
    out: dict[str, str] = {}
    known: dict[str, str] = {}

    common_path = repo / "data" / "common.yaml"
    common_existing = None
    if common_path.is_file():
        text = common_path.read_text(encoding="utf-8")
        common_existing = (text, yamlio.load_fast(text))
        known["data/common.yaml"] = text
    out["data/common.yaml"] = _hiera_text(
        common_existing, hiera.common_data(catalog), hiera.common_owned_keys(module)
    )
    keys = owned_keys(module)
    for certname in sorted(catalog.hosts):
        rel = f"data/nodes/{certname}.yaml"
        existing = node_files.get(rel)
        if existing is not None:
            known[rel] = existing[0]
        out[rel] = _hiera_text(existing, hiera.node_data(catalog, state, certname), keys)
    out.update(render_module(catalog))
    changes = files.compare(repo, out, known)
    changes += files.deletions(repo, module_dir(catalog), set(out))
    return Rendering(changes, state, before)
