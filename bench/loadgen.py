"""A load generator that records every request, for switch tests and benchmarks.

Two kinds of client run at once against one NGINX:
- `fresh`: a new TCP connection per request;
- `keepalive`: one persistent HTTP/1.1 connection per thread. When a reused
  connection fails under a request (NGINX closed it: a reload closes the old
  workers' idle keep-alive connections), that is counted as a keep-alive reset and
  the request is retried once on a new connection, as RFC 9112 section 9.3.1
  allows for idempotent requests.

A request "failed" when it never got a 2xx answer: a non-2xx status, a timeout,
an error on a new connection, or a keep-alive request still failing after its one
retry. Loops are bounded in time and in count.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Stats:
    requests: int = 0
    failed: int = 0
    keepalive_resets: int = 0
    samples: list[tuple[float, float]] = field(default_factory=list)  # (start, ms)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, start: float, ok: bool, why: str = "") -> None:
        elapsed_ms = (time.monotonic() - start) * 1000
        with self.lock:
            self.requests += 1
            self.samples.append((start, elapsed_ms))
            if not ok:
                self.failed += 1
                if len(self.failures) < 20:
                    self.failures.append(why)

    def percentile(self, q: float, windows: list[tuple[float, float]], inside: bool) -> float:
        values = [
            ms for start, ms in self.samples if any(a <= start <= b for a, b in windows) == inside
        ]
        if len(values) < 2:
            return values[0] if values else 0.0
        return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


class Load:
    def __init__(
        self,
        address: str,
        port: int,
        host: str,
        fresh_threads: int = 2,
        keepalive_threads: int = 2,
        max_seconds: float = 600.0,
        max_requests_per_thread: int = 2_000_000,
    ) -> None:
        self.address, self.port, self.host = address, port, host
        self.stats = Stats()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._budget = max_requests_per_thread
        self._threads = [
            threading.Thread(target=self._fresh, daemon=True) for _ in range(fresh_threads)
        ] + [
            threading.Thread(target=self._keepalive, daemon=True) for _ in range(keepalive_threads)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> Stats:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        return self.stats

    def _running(self, done: int) -> bool:
        return not self._stop.is_set() and done < self._budget and time.monotonic() < self._deadline

    def _headers(self) -> dict[str, str]:
        return {"Host": self.host}

    def _fresh(self) -> None:
        done = 0
        while self._running(done):
            done += 1
            start = time.monotonic()
            connection = http.client.HTTPConnection(self.address, self.port, timeout=5)
            try:
                connection.request("GET", "/", headers={**self._headers(), "Connection": "close"})
                response = connection.getresponse()
                response.read()
                self.stats.record(start, 200 <= response.status < 300, f"HTTP {response.status}")
            except (OSError, http.client.HTTPException) as exc:
                self.stats.record(start, False, f"fresh: {type(exc).__name__}: {exc}")
            finally:
                connection.close()

    def _keepalive(self) -> None:
        done = 0
        connection = http.client.HTTPConnection(self.address, self.port, timeout=5)
        reused = False
        while self._running(done):
            done += 1
            start = time.monotonic()
            try:
                status = self._get(connection)
                reused = True
                self.stats.record(start, 200 <= status < 300, f"HTTP {status}")
                continue
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                connection = http.client.HTTPConnection(self.address, self.port, timeout=5)
                if not reused:
                    self.stats.record(start, False, f"keepalive new: {type(exc).__name__}")
                    continue
                with self.stats.lock:
                    self.stats.keepalive_resets += 1
            reused = False
            try:  # the one retry on a new connection
                status = self._get(connection)
                reused = True
                self.stats.record(start, 200 <= status < 300, f"HTTP {status}")
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                connection = http.client.HTTPConnection(self.address, self.port, timeout=5)
                self.stats.record(start, False, f"keepalive retry: {type(exc).__name__}: {exc}")
        connection.close()

    def _get(self, connection: http.client.HTTPConnection) -> int:
        connection.request("GET", "/", headers=self._headers())
        response = connection.getresponse()
        response.read()
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
        return response.status
