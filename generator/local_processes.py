"""The processes a local (Linux) deployment leaves running, found from the files
that started them: jail sandboxes from `<jails_dir>/run/<jail>.json`, NGINX from
`<prefix>/nginx.pid`. Used by `jailgen demo --stop` and by the tests, which stop
exactly what they started, by pid, and delete the NAT table their hosts loaded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from generator.service_addresses import nat_table


@dataclass(frozen=True)
class LocalProcess:
    what: str
    pid: int


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def running(jails_dir: Path, nginx_prefix: Path) -> list[LocalProcess]:
    found = []
    for runtime in sorted((jails_dir / "run").glob("*.json")):
        if runtime.name.endswith(".conf.json"):
            continue
        try:
            data = json.loads(runtime.read_text())
        except (OSError, ValueError):
            continue
        pid = data.get("pid")
        if isinstance(pid, int) and str(data.get("path")) in _cmdline(pid):
            found.append(LocalProcess(f"jail {runtime.stem}", pid))
    pid_file = nginx_prefix / "nginx.pid"
    if pid_file.is_file():
        try:
            pid = int(pid_file.read_text().strip())
        except ValueError:
            pid = 0
        if pid and any("nginx" in part for part in _cmdline(pid)[:1]):
            found.append(LocalProcess("nginx master", pid))
    return found


def stop(processes: list[LocalProcess], grace_s: float = 10.0) -> None:
    """TERM each process group (a jail sandbox is its own group; NGINX's master
    takes its workers down with it), then KILL what is left."""
    for process in processes:
        _signal(process, signal.SIGTERM if process.what.startswith("jail") else signal.SIGQUIT)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(p.pid) for p in processes):
        time.sleep(0.05)
    for process in processes:
        if _alive(process.pid):
            _signal(process, signal.SIGKILL)


def _signal(process: LocalProcess, sig: signal.Signals) -> None:
    try:
        if process.what.startswith("jail"):
            os.killpg(process.pid, sig)
        else:
            os.kill(process.pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def remove_nat_table(jails_dir: Path, module: str = "jails") -> None:
    """Delete the nftables table a host's Puppet run loaded for the jails in
    `jails_dir`, if there is one. Every host on this machine shares the kernel:
    a table left behind keeps mapping its service addresses, and would route
    the next site on the same network to whatever jail now holds them."""
    subprocess.run(
        ["nft", "delete", "table", "ip", nat_table(module, "linux", str(jails_dir))],
        stderr=subprocess.DEVNULL,
        check=False,
    )
