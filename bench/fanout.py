"""Fan-out benchmark: promotions across 5, 10 and 20 agents of a real stack.

One stack (PostgreSQL, PuppetDB, Puppet Server, r10k, sshd) with 20 agents on
this machine. For each fleet size a fresh site (control repo, catalog whose hosts
are the first N agents) is deployed: a release goes on the test domain of every
host (the warm-up: templates, jails and NGINX are created), then it is promoted,
and the promotion's trigger-and-verify phase is measured:

- wall_s: from triggering the canary to jailgen's verdict (r10k and the cache
  flush excluded);
- sum_agent_run_s: the agents' own run times (start to end, from their PuppetDB
  reports), added up;
- verdict_lag_s: from the last report PuppetDB received to the verdict.

wall_s against sum_agent_run_s / concurrency says how close the fan-out comes
to ideal parallelism. The last line printed is one JSON object of figures.

    .venv/bin/python bench/fanout.py [--concurrency 4]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.commands.promote import promote  # noqa: E402
from generator.commands.test import put_under_test  # noqa: E402
from generator.stack import Layout, Manifest, StackSettings, down, up  # noqa: E402
from generator.stack.site import APP, AgentSite  # noqa: E402

SIZES = (5, 10, 20)


def fresh_remote(manifest: Manifest) -> None:
    """Each fleet size gets its own control repo history: start the remote anew."""
    layout = Layout(Path(manifest.root))
    shutil.rmtree(layout.control_remote)
    subprocess.run(["git", "init", "-q", "--bare", str(layout.control_remote)], check=True)


def measure(manifest: Manifest, base: Path, size: int, concurrency: int) -> dict[str, float]:
    fleet = dataclasses.replace(manifest, agents=manifest.agents[:size])
    fresh_remote(manifest)
    site = AgentSite(base / f"site{size}", fleet, concurrency=concurrency).create()
    try:
        runner = site.runner()
        deployer = site.deployer(runner)
        started = time.monotonic()
        tested = put_under_test(deployer, APP, site.shas[-1])
        if not tested.ok:
            raise SystemExit(f"warm-up failed: {tested.message}")
        warm_up = time.monotonic() - started
        promoted = promote(deployer, APP)
        if not promoted.ok:
            raise SystemExit(f"promotion failed: {promoted.message}")
        stats = runner.last
        assert stats is not None and stats.verdict_lag_s is not None
        ideal = stats.sum_agent_run_s / min(concurrency, size)
        print(
            f"{size:>2} agents: warm-up {warm_up:.1f} s; promotion: r10k+flush "
            f"{stats.deploy_s:.1f} s, trigger-and-verify {stats.wall_s:.1f} s, agents' runs "
            f"{stats.sum_agent_run_s:.1f} s in all (ideal at concurrency {concurrency}: "
            f"{ideal:.1f} s, ratio {stats.wall_s / ideal:.2f}), verdict lag "
            f"{stats.verdict_lag_s:.2f} s",
            flush=True,
        )
        return {
            "wall_s": round(stats.wall_s, 2),
            "sum_agent_run_s": round(stats.sum_agent_run_s, 2),
            "verdict_lag_s": round(stats.verdict_lag_s, 3),
        }
    finally:
        site.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="jailgen-fanout-", dir="/tmp"))
    root.chmod(0o755)
    home = root / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = jailgen bench\n\temail = bench@jailgen.invalid\n"
        "[init]\n\tdefaultBranch = production\n"
    )
    os.environ.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"))
    agents = tuple(f"agent{n:02d}.bench.test" for n in range(1, max(SIZES) + 1))
    figures: dict[str, list[float]] = {"wall_s": [], "sum_agent_run_s": [], "verdict_lag_s": []}
    try:
        started = time.monotonic()
        manifest = up(StackSettings(root / "stack", agents), print)
        print(f"stack up in {time.monotonic() - started:.0f} s", flush=True)
        for size in SIZES:
            for key, value in measure(manifest, root, size, args.concurrency).items():
                figures[key].append(value)
    finally:
        down(root / "stack")
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"agents": list(SIZES), **figures}))


if __name__ == "__main__":
    main()
