"""Catalog + deployment state -> every file jailgen owns in a control repo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import __version__, files, jail_params, yamlio
from generator.catalog import Catalog
from generator.gcpause import paused_gc
from generator.render import hiera
from generator.render.templates import render_folder
from generator.state import DeploymentState, owned_keys, plan
from generator.state_store import parse_node_file, read_state, remember

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


def module_context(module: str, hosts: list[dict[str, str]]) -> dict[str, object]:
    """What the module's templates are rendered with."""
    return {
        "module": module,
        "hosts": hosts,
        "version": __version__,
        "jail_parameters": jail_params.for_templates(),
    }


def render_module(catalog: Catalog) -> dict[str, str]:
    hosts = [{"certname": h.certname, "os": h.os} for _, h in sorted(catalog.hosts.items())]
    context = module_context(catalog.site.module, hosts)
    prefix = module_dir(catalog)
    rendered = {f"{prefix}/{rel}": text for rel, text in render_folder("module", context).items()}
    rendered[PROFILE_PATH] = render_folder("profile", context)["jails.pp"]
    return rendered


def _hiera_text(
    path: Path, existing: str | None, owned: dict[str, Any], keys: tuple[str, ...]
) -> str:
    canonical = yamlio.emit(owned)
    if existing is None or existing == canonical:
        return canonical
    # a file holding only jailgen's data, as jailgen wrote it, is simply rewritten
    data = parse_node_file(path, existing)
    if set(data) <= set(keys) and yamlio.emit(data) == existing:
        return canonical
    return yamlio.merge(existing, owned, keys)


def render_repo(catalog: Catalog, repo: Path, change: StateChange | None = None) -> Rendering:
    """Compare what the control repo holds with what the catalog (and `change`, a
    workflow's edit of the deployment state) asks for; nothing is written here."""
    with paused_gc():
        return _render_repo(catalog, repo, change)


def _render_repo(catalog: Catalog, repo: Path, change: StateChange | None) -> Rendering:
    before, known = read_state(repo, catalog.site.module)
    current = change(before) if change is not None else before
    state = plan(catalog, current)
    module = catalog.site.module
    out: dict[str, str] = {}

    common_path = repo / "data" / "common.yaml"
    if common_path.is_file():
        known["data/common.yaml"] = common_path.read_text(encoding="utf-8")
    out["data/common.yaml"] = _hiera_text(
        common_path,
        known.get("data/common.yaml"),
        hiera.common_data(catalog),
        hiera.common_owned_keys(module),
    )
    keys = owned_keys(module)
    for certname in sorted(catalog.hosts):
        rel = f"data/nodes/{certname}.yaml"
        out[rel] = _hiera_text(
            repo / rel, known.get(rel), hiera.node_data(catalog, state, certname), keys
        )
    out.update(render_module(catalog))
    changes = files.compare(repo, out, known)
    changes += files.deletions(repo, module_dir(catalog), set(out))
    return Rendering(changes, state, before)


def write_rendering(catalog: Catalog, repo: Path, rendering: Rendering) -> list[files.Change]:
    """Write what a rendering changes, and remember the state of the node files
    written, so that the next read of the state need not parse them."""
    done = files.apply(repo, rendering.changes)
    written = {c.path: c.new for c in done if c.new is not None}
    if written:
        remember(repo, catalog.site.module, written, rendering.state)
    return done
