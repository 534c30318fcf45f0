"""Zero-downtime switch benchmark.

Constant HTTP load through NGINX (new-connection and keep-alive clients, every
request recorded; see bench/loadgen.py) while doing 10 promote/rollback cycles of
a real local site (puppet apply, bubblewrap jails, private NGINX). Also times a
bare `puppet apply` of the same control repo under the same load. Steady-state
latency is taken outside the switches and the bare applies. The last line is one
JSON object.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import Load  # noqa: E402
from tests.localsite import LocalSite  # noqa: E402

CYCLES = 10


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else 0.0


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jailgen-switch-") as tmp:
        site = LocalSite(Path(tmp) / "site").create()
        try:
            figures = run(site)
        finally:
            site.stop()
    print(json.dumps(figures))


def run(site: LocalSite) -> dict[str, object]:
    deployer = site.deployer()
    a, b, c = site.shas[:3]
    for step in (
        lambda: deployer.test("hello", a),
        lambda: deployer.promote("hello"),
        lambda: deployer.test("hello", b),
        lambda: deployer.promote("hello"),
        lambda: deployer.test("hello", c),
    ):
        outcome = step()
        if not outcome.ok:
            raise SystemExit(f"setup failed: {outcome.message}")

    windows: list[tuple[float, float]] = []
    busy: list[tuple[float, float]] = []
    promotes: list[float] = []
    applies: list[float] = []
    splits: dict[str, list[float]] = {"render": [], "commit": [], "puppet": [], "verify": []}
    environment = site.catalog().site.puppet_environment
    with Load("127.0.0.1", site.port, "hello.example.com", max_seconds=900) as load:
        time.sleep(2)
        for cycle in range(CYCLES):
            for action in (deployer.promote, deployer.rollback):
                start = time.monotonic()
                outcome = action("hello")
                end = time.monotonic()
                windows.append((start, end))
                if not outcome.ok:
                    raise SystemExit(f"cycle {cycle}: {outcome.action} failed: {outcome.message}")
                if outcome.action == "promote":
                    promotes.append(end - start)
                    for key in splits:
                        splits[key].append(outcome.timings.get(key, 0.0))
            print(f"cycle {cycle + 1}: promote {promotes[-1]:.2f} s", flush=True)
        # a bare apply of the same control repo, under the same load, for comparison
        for _ in range(5):
            start = time.monotonic()
            report = site.puppet.apply(site.control, environment, "devbox.example.net")
            busy.append((start, time.monotonic()))
            if not report.ok:
                raise SystemExit(f"bare apply failed: {report.summary()}")
            applies.append(report.duration_s)
        time.sleep(2)
    stats = load.stats

    print(f"requests {stats.requests}, failed {stats.failed}, resets {stats.keepalive_resets}")
    if stats.failures:
        print("failures:", stats.failures[:5])
    return {
        "cycles": CYCLES,
        "requests": stats.requests,
        "failed": stats.failed,
        "keepalive_resets": stats.keepalive_resets,
        "p50_ms_steady": round(stats.percentile(50, windows + busy, inside=False), 2),
        "p99_ms_steady": round(stats.percentile(99, windows + busy, inside=False), 2),
        "p99_ms_switch": round(stats.percentile(99, windows, inside=True), 2),
        "promote_s_median": median(promotes),
        "apply_s_median": median(applies),
        "promote_split_s": {key: median(values) for key, values in splits.items()},
    }


if __name__ == "__main__":
    main()
