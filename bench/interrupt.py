"""How long `jailgen promote` takes to stop on SIGTERM while its `puppet apply`
runs: the run's process group is stopped and waited for, the locks released,
the report printed. A real local site (puppet apply, bubblewrap, NGINX); each
round tests a new release, starts its promotion, sends SIGTERM one second into
the Puppet run, then re-runs the promotion, which must finish it.

The last line is one JSON object.
"""

from __future__ import annotations

import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.commands.promote import promote  # noqa: E402
from generator.commands.test import put_under_test  # noqa: E402
from tests.localsite import LocalSite  # noqa: E402
from tests.test_crash import Paused, jailgen  # noqa: E402

ROUNDS = 3


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jailgen-interrupt-") as tmp:
        site = LocalSite(Path(tmp) / "site").create(commits=ROUNDS + 1)
        stops, codes, reruns = [], [], []
        try:
            deployer = site.deployer()
            assert put_under_test(deployer, "hello", site.shas[0]).ok
            assert promote(deployer, "hello").ok
            for sha in site.shas[1:]:
                assert put_under_test(deployer, "hello", sha).ok
                paused = Paused(site, "puppet", "promote", "hello")
                paused.go_on()  # let the run go on; the signal lands while Puppet works
                time.sleep(1.0)
                started = time.monotonic()
                code, _, _ = paused.finish(signal.SIGTERM)
                stops.append(time.monotonic() - started)
                codes.append(code)
                reruns.append(jailgen(site, "promote", "hello").returncode)
                print(f"SIGTERM -> exit {code} in {stops[-1]:.2f} s; re-run exit {reruns[-1]}")
        finally:
            site.stop()
    figures = {
        "rounds": ROUNDS,
        "exit_codes": codes,
        "rerun_exit_codes": reruns,
        "stop_s_median": round(statistics.median(stops), 3),
        "stop_s_max": round(max(stops), 3),
    }
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
