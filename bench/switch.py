"""Zero-dropped-request switch benchmark, counted by independent clients.

A real local site (puppet apply, bubblewrap jails, private NGINX, nftables) with
two apps. While Debian's `wrk` loads app `hello` through NGINX (one run with
keep-alive connections, one with `Connection: close`) and a keep-alive POST
client that never retries sends requests one after another, the benchmark
does 10 promote/rollback cycles of `hello` (20 switches), then test deploys of
the second app `other` on the same host, then bare `puppet apply` runs of the
same control repo for comparison. After every verified switch, requests on
new connections check that no new request reaches the old release.

The last line is one JSON object.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.commands.promote import promote  # noqa: E402
from generator.commands.render import render_catalog  # noqa: E402
from generator.commands.rollback import rollback  # noqa: E402
from generator.commands.test import put_under_test  # noqa: E402
from generator.outcome import Outcome  # noqa: E402
from tests.localsite import HOST, LocalSite  # noqa: E402

CYCLES = 10
TEST_DEPLOYS = 4
LIVE = "hello.example.com"


@dataclass
class Client:
    """Keep-alive requests one after another on one connection; a failed request
    is counted and never retried (the connection is opened again for the next)."""

    port: int
    method: str
    stop: threading.Event = field(default_factory=threading.Event)
    samples: list[tuple[float, float, bool]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        body = b"payload=" + b"x" * 56 if self.method == "POST" else None
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                connection.request(self.method, "/", body=body, headers={"Host": LIVE})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
                if not ok:
                    self.failures.append(f"HTTP {response.status}")
            except (OSError, http.client.HTTPException) as exc:
                ok = False
                self.failures.append(f"{type(exc).__name__}: {exc}")
                connection.close()
            self.samples.append((start, (time.monotonic() - start) * 1000, ok))
        connection.close()

    def count(self, windows: list[tuple[float, float]] | None = None) -> tuple[int, int]:
        chosen = [
            ok
            for start, _, ok in self.samples
            if windows is None or any(a <= start <= b for a, b in windows)
        ]
        return len(chosen), chosen.count(False)


def wrk(port: int, close: bool) -> subprocess.Popen[str]:
    argv = ["wrk", "-t", "2", "-c", "16" if not close else "8", "-d", "3600s"]
    argv += ["-H", f"Host: {LIVE}"]
    if close:
        argv += ["-H", "Connection: close"]
    argv.append(f"http://127.0.0.1:{port}/")
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_result(process: subprocess.Popen[str]) -> dict[str, int]:
    process.send_signal(signal.SIGINT)  # wrk stops and prints its summary
    output, _ = process.communicate(timeout=30)
    requests = re.search(r"(\d+) requests in", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if requests is None:
        raise SystemExit(f"wrk printed no summary:\n{output}")
    return {
        "requests": int(requests[1]),
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "non_2xx": int(non_2xx[1]) if non_2xx else 0,
    }


def percentile(
    samples: list[tuple[float, float, bool]], windows: list[tuple[float, float]], inside: bool
) -> float:
    values = [ms for start, ms, _ in samples if any(a <= start <= b for a, b in windows) == inside]
    if len(values) < 2:
        return round(values[0], 2) if values else 0.0
    return round(statistics.quantiles(values, n=100, method="inclusive")[98], 2)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else 0.0


def stale_answers(port: int, sha: str, count: int = 20) -> int:
    """Requests on new connections that were not answered by release `sha`."""
    stale = 0
    for _ in range(count):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/", headers={"Host": LIVE, "Connection": "close"})
            if sha not in connection.getresponse().read().decode():
                stale += 1
        finally:
            connection.close()
    return stale


def add_second_app(site: LocalSite) -> None:
    text = site.catalog_path.read_text()
    source = site.base / "sources" / "hello"
    site.catalog_path.write_text(
        text
        + f"""\
  other:
    hosts: [{HOST}]
    domains: [other.example.com]
    test_domain: other.test.example.com
    source: {source}
    run:
      command: [python3, app.py]
      port: 8000
"""
    )
    render_catalog(site.catalog(), site.control, commit=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jailgen-switch-") as tmp:
        site = LocalSite(Path(tmp) / "site").create()
        try:
            add_second_app(site)
            figures = run(site)
        finally:
            site.stop()
    print(json.dumps(figures))


def run(site: LocalSite) -> dict[str, object]:
    deployer = site.deployer()
    a, b, c = site.shas[:3]
    setup: list[Callable[[], Outcome]] = [
        lambda: put_under_test(deployer, "hello", a),
        lambda: promote(deployer, "hello"),
        lambda: put_under_test(deployer, "hello", b),
        lambda: promote(deployer, "hello"),
        lambda: put_under_test(deployer, "hello", c),
        lambda: put_under_test(deployer, "other", a),
        lambda: promote(deployer, "other"),
    ]
    for step in setup:
        outcome = step()
        if not outcome.ok:
            raise SystemExit(f"setup failed: {outcome.message}")

    switches: list[tuple[float, float]] = []
    deploys: list[tuple[float, float]] = []
    busy: list[tuple[float, float]] = []
    promotes: list[float] = []
    applies: list[float] = []
    stale = 0
    environment = site.catalog().site.puppet_environment
    posts = Client(site.port, "POST")
    watcher = Client(site.port, "GET")
    threads = [threading.Thread(target=c.run, daemon=True) for c in (posts, watcher)]
    keepalive, close = wrk(site.port, close=False), wrk(site.port, close=True)
    try:
        for thread in threads:
            thread.start()
        time.sleep(3)
        for cycle in range(CYCLES):
            for action in (promote, rollback):
                start = time.monotonic()
                outcome = action(deployer, "hello")
                end = time.monotonic()
                switches.append((start, end))
                if not outcome.ok:
                    raise SystemExit(f"cycle {cycle}: {outcome.action} failed: {outcome.message}")
                if outcome.action == "promote":
                    promotes.append(end - start)
                live = str(outcome.slots["live"]).rsplit("_", 1)[1]
                stale += stale_answers(site.port, live)
            print(f"cycle {cycle + 1}: promote {promotes[-1]:.2f} s", flush=True)
        for index in range(TEST_DEPLOYS):
            start = time.monotonic()
            outcome = put_under_test(deployer, "other", site.shas[(index + 1) % len(site.shas)])
            deploys.append((start, time.monotonic()))
            if not outcome.ok:
                raise SystemExit(f"test deploy of other failed: {outcome.message}")
        for _ in range(5):  # a bare apply of the same control repo, for comparison
            start = time.monotonic()
            report = site.puppet.apply(site.control, environment, HOST)
            busy.append((start, time.monotonic()))
            if not report.ok:
                raise SystemExit(f"bare apply failed: {report.summary()}")
            applies.append(report.duration_s)
        time.sleep(2)
    finally:
        posts.stop.set()
        watcher.stop.set()
        for thread in threads:
            thread.join(timeout=30)
        wrk_keepalive, wrk_close = wrk_result(keepalive), wrk_result(close)

    sent, failed = posts.count()
    other_requests, other_errors = watcher.count(deploys)
    if posts.failures or watcher.failures:
        print("failures:", (posts.failures + watcher.failures)[:5])
    samples = posts.samples + watcher.samples
    return {
        "switches": len(switches),
        "wrk_keepalive": wrk_keepalive,
        "wrk_close": wrk_close,
        "posts": {"sent": sent, "failed": failed},
        "other_app_during_test_deploys": {"requests": other_requests, "errors": other_errors},
        "stale_after_switch": stale,
        "p99_ms_steady": percentile(samples, switches + deploys + busy, inside=False),
        "p99_ms_switch": percentile(samples, switches, inside=True),
        "promote_s_median": median(promotes),
        "apply_s_median": median(applies),
    }


if __name__ == "__main__":
    main()
