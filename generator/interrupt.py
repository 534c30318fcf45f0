"""SIGTERM and Ctrl-C (SIGINT) during a deploy command.

While `handled_signals()` is active either signal raises `Interrupted` in the
main thread, so every `with` block unwinds: the Puppet child is stopped (see
`generator.puppet.local`), the locks are released, and the command reports what
it was doing before it exits 128 + the signal's number (130 for Ctrl-C, 143 for
SIGTERM). Inside `deferred()` (a commit and its push) the signal waits until the
block ends, so a commit is never left half pushed by a signal.

`pause_at(point)` is the test hook for kill points (commit, push, committed,
puppet, verify): when $JAILGEN_PAUSE_AT names
the point, jailgen writes its pid (and the Puppet child's) as JSON to
$JAILGEN_PAUSE_FILE and waits until that file is removed (once per process).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import ClassVar

from generator.errors import JailgenError

HANDLED = (signal.SIGTERM, signal.SIGINT)


class Interrupted(JailgenError):
    """A deploy command was stopped by a signal."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


class _State:
    active = False  # handled_signals() is in effect
    deferring = False  # inside deferred()
    received: ClassVar[list[int]] = []  # signals held back by deferred()
    paused = False  # pause_at() has paused once


def _handler(signum: int, frame: FrameType | None) -> None:
    if _State.deferring:
        _State.received.append(signum)
        return
    raise Interrupted(signum)


@contextmanager
def handled_signals() -> Iterator[None]:
    """SIGTERM and SIGINT raise `Interrupted` for the block (main thread only)."""
    previous = {s: signal.signal(s, _handler) for s in HANDLED}
    _State.active = True
    try:
        yield
    finally:
        _State.active = False
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """A signal received in the block is raised when the block ends."""
    if not _State.active or _State.deferring:
        yield
        return
    _State.deferring, _State.received = True, []
    try:
        yield
    finally:
        _State.deferring = False
        if _State.received:
            raise Interrupted(_State.received[0])


def pause_at(point: str, child: int | None = None) -> None:
    """The test hook: wait here while $JAILGEN_PAUSE_FILE exists."""
    if os.environ.get("JAILGEN_PAUSE_AT") != point or _State.paused:
        return
    _State.paused = True  # once: the revert's run after a killed run goes on
    path = Path(os.environ["JAILGEN_PAUSE_FILE"])
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(json.dumps({"point": point, "pid": os.getpid(), "child": child}))
    os.replace(tmp, path)
    while path.exists():
        time.sleep(0.05)
