"""A live view of the agent runs of one fan-out: a table that redraws as hosts
move from queued to running to reported (rich), or one line per change when
the output is not a terminal."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table

STYLES = {
    "changed": "green",
    "unchanged": "green",
    "running": "yellow",
    "reporting": "cyan",
    "queued": "dim",
}


@dataclass
class HostRow:
    state: str = "queued"
    detail: str = ""
    started: float | None = None
    finished: float | None = None


@dataclass
class LiveRuns:
    console: Console
    rows: dict[str, HostRow] = field(default_factory=dict)
    live: Live | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, host: str, state: str, detail: str) -> None:
        with self.lock:
            row = self.rows.setdefault(host, HostRow())
            now = time.monotonic()
            if state == "running":
                row.started, row.finished = now, None
            elif state not in ("queued", "reporting") and row.started is not None:
                row.finished = now
            row.state, row.detail = state, detail
            if self.live is not None:
                self.live.update(self.table())
            elif state != "queued":
                self.console.print(f"{host}: {state}{': ' + detail if detail else ''}")

    def table(self) -> Table:
        table = Table(box=box.SIMPLE, title="Puppet agent runs")
        for column in ("host", "state", "time", "detail"):
            table.add_column(column)
        now = time.monotonic()
        for host, row in self.rows.items():
            elapsed = ""
            if row.started is not None:
                elapsed = f"{(row.finished or now) - row.started:.1f}s"
            style = STYLES.get(row.state, "red")
            table.add_row(host, f"[{style}]{row.state}[/]", elapsed, row.detail[:90])
        return table


@contextmanager
def live_runs(console: Console | None = None) -> Iterator[LiveRuns]:
    console = console or Console(stderr=True)
    view = LiveRuns(console)
    if not console.is_terminal:
        yield view
        return
    with Live(view.table(), console=console, refresh_per_second=4) as live:
        view.live = live
        try:
            yield view
        finally:
            live.update(view.table())
            view.live = None
