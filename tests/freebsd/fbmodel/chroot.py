"""chroot(8): `chroot [-d] [-n] [-u user] [-g group] [-G group[,group ...]]
newroot [command [arg ...]]`, as FreeBSD 14's usr.sbin/chroot/chroot.c does it.

chroot.c looks the user and the groups up in the host's databases before it
changes root (so `-u www` is the host's www), changes directory to `newroot`
(failing with `chroot: NEWROOT: No such file or directory`), calls chroot(2),
changes to `/`, sets the groups, gid and uid, and execvp(3)s the command (with
no command, `$SHELL` or /bin/sh -i); every failure is err(3): `chroot: ...`,
exit 1. The environment is passed on as it is.

Inside the new root the model runs what it knows: `/bin/sh -c SCRIPT NAME ARGS`
with the one script the jail_build provider uses (change to `$1`, then exec the
rest; sh(1)'s own messages, prefixed with NAME as sh does for -c), and the
stand-ins the model's pkg installs, which do nothing and exit 0. Each program
run is recorded in the host state (`executions`): root, directory, uid, gid,
argv and environment, so tests can see who ran what where. Anything else is
"not modelled" (exit 3).
"""

from __future__ import annotations

import getopt
import os
from pathlib import Path

from .host import Host, Output, ToolError

USAGE = "usage: chroot [-d] [-n] [-g group] [-G group,group,...] [-u user] newroot [command]"
IN_DIRECTORY = 'cd "$1" || exit 1; shift; exec "$@"'
STAND_IN = "a stand-in installed by the FreeBSD model's pkg"


def _lookup(host: Host, database: str, name: str) -> tuple[int, int]:
    """(id, primary gid) of a name or number in the host's passwd or group file."""
    for line in host.path(f"/etc/{database}").read_text().splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and (fields[0] == name or fields[2] == name):
            gid = int(fields[3]) if database == "passwd" and len(fields) > 3 else int(fields[2])
            return int(fields[2]), gid
    if name.isdigit():
        return int(name), int(name)
    kind = "user" if database == "passwd" else "group"
    raise ToolError(f"chroot: no such {kind} `{name}'", 1)


def chroot(host: Host, out: Output, args: list[str]) -> None:
    try:
        opts, rest = getopt.getopt(args, "dnu:g:G:")
    except getopt.GetoptError as exc:
        raise ToolError(f"chroot: {exc.msg}\n{USAGE}", 1) from exc
    if not rest:
        raise ToolError(USAGE, 1)
    options = dict(opts)
    uid, gid = 0, 0
    if "-g" in options:
        gid = _lookup(host, "group", options["-g"])[0]
    if "-u" in options:
        uid, user_gid = _lookup(host, "passwd", options["-u"])
        if "-g" not in options:
            gid = user_gid
    newroot, command = rest[0], rest[1:]
    root = host.path(newroot)
    if not root.is_dir():
        raise ToolError(f"chroot: {newroot}: No such file or directory", 1)
    if not command:
        raise ToolError("fbmodel: an interactive shell in chroot is not modelled", 3)
    program = _inside(root, command[0])
    if program is None or not os.access(program, os.X_OK):
        raise ToolError(f"chroot: {command[0]}: No such file or directory", 1)
    if command[0] != "/bin/sh" or command[1:3] != ["-c", IN_DIRECTORY] or len(command) < 6:
        _run(host, root, "/", uid, gid, command)
        return
    name, directory, argv = command[3], command[4], command[5:]
    if not _inside(root, directory, directory=True):
        out.warn(f"{name}: cd: {directory}: No such file or directory")
        raise ToolError("", 1)
    found = _find(root, directory, argv[0])
    if found is None:
        out.warn(f"{name}: exec: {argv[0]}: not found")
        raise ToolError("", 127)
    _run(host, root, directory, uid, gid, [found, *argv[1:]])


def _inside(root: Path, path: str, directory: bool = False) -> Path | None:
    local = root / path.lstrip("/")
    if directory:
        return local if local.is_dir() else None
    return local if local.is_file() else None


def _find(root: Path, cwd: str, name: str) -> str | None:
    """execvp(3) inside the new root: a name with a slash is a path (from the
    directory), any other is looked for along PATH."""
    if "/" in name:
        path = name if name.startswith("/") else f"{cwd.rstrip('/')}/{name}"
        return path if _inside(root, path) is not None else None
    for directory in os.environ.get("PATH", "").split(":"):
        if directory and _inside(root, f"{directory.rstrip('/')}/{name}") is not None:
            return f"{directory.rstrip('/')}/{name}"
    return None


def _run(host: Host, root: Path, cwd: str, uid: int, gid: int, argv: list[str]) -> None:
    program = _inside(root, argv[0])
    assert program is not None
    if STAND_IN not in program.read_text(errors="replace"):
        raise ToolError(f"fbmodel: running {argv[0]} in a chroot is not modelled", 3)
    host.state.setdefault("executions", []).append(
        {
            "root": host.freebsd_path(root),
            "cwd": cwd,
            "uid": uid,
            "gid": gid,
            "argv": argv,
            "environment": {
                k: v
                for k, v in sorted(os.environ.items())
                # added to the model's own process by Python's C locale coercion
                if not (k == "LC_CTYPE" and v == "C.UTF-8" and "LANG" not in os.environ)
            },
        }
    )
