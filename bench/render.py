"""Render benchmark: 10,000 apps on 100 hosts.

Phases: full render into a fresh control repo; the same render again (must write
nothing); a render after changing one app (must rewrite only that app's hosts'
files). The last line printed is one JSON object of figures.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.catalog import load_catalog  # noqa: E402
from generator.commands.init import init_control_repo  # noqa: E402
from generator.render.control_repo import render_repo, write_rendering  # noqa: E402

APPS = 10_000
HOSTS = 100


def catalog_text(apps: int, hosts: int, changed: int | None = None) -> str:
    out = [
        "site:",
        "  retention: 2",
        "hosts:",
        *(f"  host{h:03d}.example.net: {{os: freebsd}}" for h in range(hosts)),
        "apps:",
    ]
    for i in range(apps):
        port = 9000 if i == changed else 8000
        out += [
            f"  app{i:05d}:",
            f"    hosts: [host{i % hosts:03d}.example.net]",
            f"    domains: [app{i:05d}.example.com, www.app{i:05d}.example.com]",
            f"    test_domain: app{i:05d}.test.example.com",
            f"    source: https://git.example.com/apps/app{i:05d}.git",
            f"    release: {i:040x}",
            "    run:",
            "      command: [/usr/local/bin/python3.11, -m, app.server]",
            f"      port: {port}",
            "      environment: {LOG_LEVEL: info}",
            "    packages: [python311]",
        ]
    return "\n".join(out) + "\n"


def render_once(catalog_path: Path, control: Path) -> tuple[float, int, list[str]]:
    start = time.perf_counter()
    catalog = load_catalog(catalog_path)
    rendering = render_repo(catalog, control)
    written = write_rendering(catalog, control, rendering)
    return time.perf_counter() - start, len(written), [c.path for c in written]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jailgen-bench-") as tmp:
        base = Path(tmp)
        catalog_path = base / "catalog.yaml"
        catalog_path.write_text(catalog_text(APPS, HOSTS))
        control = base / "control"
        init_control_repo(control)

        full_s, full_files, _ = render_once(catalog_path, control)
        full_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"full render: {full_s:.2f} s, {full_files} files, peak RSS {full_peak_mb:.0f} MB")

        noop_s, noop_files, _ = render_once(catalog_path, control)
        print(f"unchanged re-render: {noop_s:.2f} s, {noop_files} files written")

        changed = 4242
        catalog_path.write_text(catalog_text(APPS, HOSTS, changed=changed))
        one_s, one_files, paths = render_once(catalog_path, control)
        expected = [f"data/nodes/host{changed % HOSTS:03d}.example.net.yaml"]
        print(f"one-app change: {one_s:.2f} s, wrote {paths}")
        if paths != expected:
            raise SystemExit(f"one-app change wrote {paths}, expected {expected}")

    print(
        json.dumps(
            {
                "apps": APPS,
                "hosts": HOSTS,
                "full_s": round(full_s, 3),
                "full_peak_mb": round(full_peak_mb, 1),
                "noop_s": round(noop_s, 3),
                "noop_files_written": noop_files,
                "one_app_s": round(one_s, 3),
                "one_app_files_written": one_files,
            }
        )
    )


if __name__ == "__main__":
    main()
