"""The modelled FreeBSD host: one state directory, named by FREEBSD_MODEL_ROOT.

The directory is the host's file system for the paths FreeBSD tools own
(`/etc`, `/usr/local`, `/var`): the FreeBSD path `/etc/jail.conf` is the file
`$FREEBSD_MODEL_ROOT/etc/jail.conf`. Everything that is not a file on a real
host (datasets, running jails, interface addresses) is kept in
`.model/state.json`, read and written under an exclusive lock so that calls
never interleave. Every call is appended to `.model/calls.jsonl`.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT_VARIABLE = "FREEBSD_MODEL_ROOT"

# FreeBSD paths that live in the model root; anything else is the machine's own
# file system (a test's temporary directory, the host's /usr/bin, ...).
OWNED_PREFIXES = ("/etc", "/usr/local", "/var")

# The release the modelled host runs, and the patch level freebsd-update brings
# every release of the model's mirror to.
HOST_RELEASE = "14.1-RELEASE"
HOST_PATCH = "p5"
LATEST_PATCH = {
    "13.3-RELEASE": "p3",
    "13.4-RELEASE": "p1",
    "14.1-RELEASE": "p6",
    "14.2-RELEASE": "p1",
}


class ToolError(Exception):
    """A tool's failure: what it prints on stderr and its exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Output:
    out: io.StringIO = field(default_factory=io.StringIO)
    err: io.StringIO = field(default_factory=io.StringIO)

    def print(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")


def empty_state() -> dict[str, Any]:
    return {
        "pools": {},
        "datasets": {},
        "jails": {},
        "next_jid": 1,
        "interfaces": {},
        "services": {},
        "next_pid": 1000,
        # Removed jails that are still dying (jls -d), and how long a removed
        # jail stays dying: until its sockets leave TIME_WAIT on a real host.
        "dying": [],
        "dying_seconds": 0.0,
    }


class Host:
    """One modelled host. Use `Host.open()` inside a tool; `Host(root)` to read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.meta = root / ".model"
        self.state: dict[str, Any] = empty_state()

    # --- paths ---

    def path(self, freebsd_path: str) -> Path:
        """Where a FreeBSD absolute path lives on this machine."""
        if freebsd_path.startswith("/") and any(
            freebsd_path == p or freebsd_path.startswith(p + "/") for p in OWNED_PREFIXES
        ):
            return self.root / freebsd_path.lstrip("/")
        if freebsd_path == "/":
            return self.root
        return Path(freebsd_path)

    def freebsd_path(self, local: Path) -> str:
        """The FreeBSD path of a file in the model root (inverse of `path`)."""
        try:
            return "/" + str(local.relative_to(self.root))
        except ValueError:
            return str(local)

    # --- state ---

    @property
    def state_file(self) -> Path:
        return self.meta / "state.json"

    def load(self) -> Host:
        if self.state_file.is_file():
            self.state = json.loads(self.state_file.read_text())
            now = time.time()
            self.state["dying"] = [j for j in self.state.get("dying", []) if j["until"] > now]
        return self

    def save(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.state_file)

    @classmethod
    @contextlib.contextmanager
    def open(cls, root: Path | None = None) -> Iterator[Host]:
        """The host named by FREEBSD_MODEL_ROOT, locked for the whole call."""
        if root is None:
            value = os.environ.get(ROOT_VARIABLE) or _root_in_sandbox()
            if not value:
                raise ToolError(f"{ROOT_VARIABLE} is not set: no FreeBSD host to act on", 70)
            root = Path(value)
        host = cls(root)
        if not host.state_file.is_file():
            raise ToolError(f"{root}: not a FreeBSD model root (run fbmodel.init first)", 70)
        with (host.meta / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            host.load()
            yield host
            host.save()

    # --- the call log ---

    def context(self) -> dict[str, Any]:
        """What the call log records of the host at each call: configured and
        running jails, so tests can check the order of effects."""
        conf_dir = self.path("/etc/jail.conf.d")
        configured = sorted(p.stem for p in conf_dir.glob("*.conf")) if conf_dir.is_dir() else []
        return {"configured": configured, "running": sorted(self.state["jails"])}

    def log(self, entry: dict[str, Any]) -> None:
        entry = {"time": round(time.time(), 3), **entry}
        with (self.meta / "calls.jsonl").open("a") as log:
            log.write(json.dumps(entry, sort_keys=True) + "\n")

    def allocate_pid(self) -> int:
        pid = int(self.state["next_pid"])
        self.state["next_pid"] = pid + 1
        return pid


# In the sandbox, the model root's /etc names the root: a tool run with a
# cleared environment (as chroot(8) is by jail_build) still finds its host.
ROOT_FILE = "/etc/.fbmodel-root"


def _root_in_sandbox() -> str | None:
    try:
        return Path(ROOT_FILE).read_text().strip() or None
    except OSError:
        return None


def read_calls(root: Path) -> list[dict[str, Any]]:
    """Every call logged so far, in the order they started."""
    log = root / ".model" / "calls.jsonl"
    if not log.is_file():
        return []
    calls = [json.loads(line) for line in log.read_text().splitlines() if line]
    return sorted(calls, key=lambda c: int(c["seq"]))


def read_state(root: Path) -> dict[str, Any]:
    return Host(root).load().state


def call(
    host: Host, tool: str, args: list[str], run: Callable[[Output], None], parent: str | None = None
) -> tuple[int, str, str]:
    """Run one tool against `host`, log the call, and return its exit status,
    stdout and stderr (a failing tool's message goes to stderr)."""
    out = Output()
    before = host.context()
    seq = int(host.state.get("calls", 0)) + 1
    host.state["calls"] = seq
    status = 0
    try:
        run(out)
    except ToolError as error:
        status = error.status
        if error.message:
            out.warn(error.message)
    entry: dict[str, Any] = {
        "seq": seq,
        "tool": tool,
        "args": args,
        "status": status,
        "stdout": out.out.getvalue(),
        "stderr": out.err.getvalue(),
        "before": before,
    }
    if parent is not None:
        entry["parent"] = parent
    host.log(entry)
    return status, out.out.getvalue(), out.err.getvalue()
