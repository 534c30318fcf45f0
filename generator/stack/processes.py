"""Foreground servers started by the stack: each in its own session (so its
process group id is its pid), its output in a log file; stopped by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from generator.errors import JailgenError


def start(argv: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    return process.pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        _reap(pid)
        return False
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop(pid: int, grace_s: float = 30.0, sig: signal.Signals = signal.SIGTERM) -> None:
    """`sig` to the server and every process below it (a wrapper such as
    runuser may put the real server in a session of its own), then KILL
    whatever is left after the grace period."""
    tree = [pid, *descendants(pid)]
    for each_signal in (sig, signal.SIGKILL):
        for member in tree:
            try:
                os.kill(member, each_signal)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            tree = [p for p in tree if alive(p)]
            if not tree:
                return
            time.sleep(0.1)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (children before grandchildren)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    queue = [pid]
    while queue:
        children = parents.get(queue.pop(0), [])
        found.extend(children)
        queue.extend(children)
    return found


def wait_until(what: str, ready: Callable[[], bool], pid: int, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if not alive(pid):
            raise JailgenError(f"{what} exited while starting; see {log}:\n{tail(log)}")
        time.sleep(0.5)
    raise JailgenError(f"{what} was not ready within {timeout_s:.0f} s; see {log}:\n{tail(log)}")


def tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def status_running(port: int, context: ssl.SSLContext) -> Callable[[], bool]:
    """Whether a trapperkeeper service's `/status/v1/simple` answers `running`."""

    def check() -> bool:
        url = f"https://127.0.0.1:{port}/status/v1/simple"
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as answer:
                return bool(answer.read().decode().strip() == "running")
        except (urllib.error.URLError, OSError):
            return False

    return check


def run(argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise JailgenError(
            f"{what} failed (exit {result.returncode}): {' '.join(argv)}\n"
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )
    return result.stdout
