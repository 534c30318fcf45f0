"""The render benchmark's guarantees, at a size that runs in seconds: an unchanged
re-render writes nothing, and changing one app rewrites only its hosts' files."""

from __future__ import annotations

from pathlib import Path

from bench.render import catalog_text, render_once
from generator.catalog import load_catalog
from generator.commands.init import init_control_repo
from generator.render.control_repo import render_module


def test_noop_and_one_app_renders(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(catalog_text(200, 10))
    control = tmp_path / "control"
    init_control_repo(control)
    _, written, _ = render_once(catalog, control)
    module_files = render_module(load_catalog(catalog))
    assert written == 10 + 1 + len(module_files)  # node files, common.yaml, the module
    _, written, paths = render_once(catalog, control)
    assert (written, paths) == (0, [])
    catalog.write_text(catalog_text(200, 10, changed=42))
    _, written, paths = render_once(catalog, control)
    assert paths == ["data/nodes/host002.example.net.yaml"]
    node = (control / paths[0]).read_text()
    assert "    port: 9000\n" in node
