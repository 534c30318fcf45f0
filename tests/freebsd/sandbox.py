"""Run a command (`puppet apply`) on this machine as if it were the modelled
FreeBSD host, without touching the machine's own files.

The command runs in a private mount namespace (`unshare --mount`), where:

- `/etc`, `/usr/local` and `/var` are the model root's (its `/etc` also links
  to the machine's own /etc entries that Ruby, Puppet and git need, such as
  ld.so.cache, ssl/ and nsswitch.conf, through a read-only bind of that /etc);
- the model's tools sit in front of the machine's `/usr/sbin` and `/usr/bin`
  (read-only overlays), at their FreeBSD paths: `/sbin/zfs` (Debian's /sbin is
  /usr/sbin), `/usr/sbin/jls`, `/usr/bin/fetch`, ...;
- everything else is read-only, except the test's own directory.

When the command exits, the namespace and its mounts are gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

BIN = Path(__file__).resolve().parent / "bin"

# Where each tool lives on FreeBSD (hier(7)), below /usr on this machine.
SBIN_TOOLS = (
    "zfs",
    "ifconfig",
    "jail",
    "jls",
    "jexec",
    "service",
    "sysrc",
    "pkg",
    "freebsd-update",
    "pfctl",
    "chroot",
)
BIN_TOOLS = ("fetch", "tar", "freebsd-version")
FREEBSD_PATH = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"
# Files of the machine's /etc that must not appear in the host's.
SECRET = {"shadow", "shadow-", "gshadow", "gshadow-", "ssh", "ssl/private"}


def prepare(root: Path) -> None:
    """Make the model root usable as a sandbox (idempotent)."""
    meta = root / ".model"
    host_etc = meta / "host-etc"
    host_etc.mkdir(exist_ok=True)
    for directory, tools in (("sbin", SBIN_TOOLS), ("bin", BIN_TOOLS)):
        layer = meta / "hier" / directory
        layer.mkdir(parents=True, exist_ok=True)
        for tool in tools:
            link = layer / tool
            if not link.is_symlink():
                link.symlink_to(BIN / tool)
    etc = root / "etc"
    (etc / ".fbmodel-root").write_text(f"{root}\n")  # fbmodel.host.ROOT_FILE
    for entry in sorted(Path("/etc").iterdir()):
        link = etc / entry.name
        if entry.name in SECRET or link.exists() or link.is_symlink():
            continue
        target = host_etc / entry.name
        if entry.is_symlink():
            # /etc/os-release -> ../usr/lib/os-release: point where it points.
            resolved = os.path.normpath(os.path.join("/etc", os.readlink(entry)))
            inside = resolved.startswith("/etc/")
            target = host_etc / resolved.removeprefix("/etc/") if inside else Path(resolved)
        link.symlink_to(target)


def mounts(root: Path, writable: Path) -> list[list[str]]:
    """The mount commands that build the namespace, in order."""
    meta = root / ".model"
    return [
        ["mount", "--bind", str(writable), str(writable)],
        ["mount", "--bind", "/etc", str(meta / "host-etc")],
        ["mount", "-o", "remount,bind,ro", str(meta / "host-etc")],
        ["mount", "--bind", str(root / "etc"), "/etc"],
        ["mount", "--bind", str(root / "usr" / "local"), "/usr/local"],
        ["mount", "--bind", str(root / "var"), "/var"],
        [
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={meta / 'hier' / 'sbin'}:/usr/sbin",
            "/usr/sbin",
        ],
        [
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={meta / 'hier' / 'bin'}:/usr/bin",
            "/usr/bin",
        ],
        ["mount", "-o", "remount,bind,ro", "/"],
    ]


def run(
    root: Path,
    writable: Path,
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` on the modelled host `root`; only `writable` (which holds
    `root`) can be written besides the model's own directories."""
    prepare(root)
    environment = {**env, "FREEBSD_MODEL_ROOT": str(root), "PATH": FREEBSD_PATH}
    command = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        sys.executable,
        __file__,
        str(root),
        str(writable),
        "--",
        *argv,
    ]
    return subprocess.run(
        command,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def enter(root: Path, writable: Path, argv: list[str]) -> None:
    """In the new namespace: mount, then become `argv`."""
    for command in mounts(root, writable):
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode:
            sys.stderr.write(f"sandbox: {' '.join(command)}: {result.stderr}")
            sys.exit(125)
    os.chdir(writable)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    separator = sys.argv.index("--")
    enter(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[separator + 1 :])
