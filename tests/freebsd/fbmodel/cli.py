"""The model's command line: one entry point for every tool, chosen by the name
it is run as (tests/freebsd/bin/zfs, .../jls, ...). Each call is run against
the host named by FREEBSD_MODEL_ROOT and logged with its arguments."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from . import rc
from .host import Host, Output, ToolError, call

Tool = Callable[[Host, Output, list[str]], None]


def setup(scripts: rc.Rc) -> None:
    """The rc.d scripts with behaviour of their own."""
    from . import jails, nginx

    scripts.handlers["jail"] = jails.jail_rc
    scripts.prechecks["nginx"] = nginx.configtest


def run_in_jail(host: Host, out: Output, jail: str, command: list[str]) -> None:
    """jexec JAIL COMMAND: the model's tools, acting on the jail."""
    from . import dist, net, pkg

    record = host.state["jails"][jail]
    root = str(record["path"])
    name = Path(command[0]).name
    args = command[1:]
    in_jail: dict[str, Callable[[Output], None]] = {
        "sysrc": lambda o: rc.sysrc(host, o, args, root=root),
        "service": lambda o: rc.service(host, o, ["-j", jail, *args], setup),
        "ifconfig": lambda o: net.main(host, o, args, jail=jail),
        "freebsd-version": lambda o: dist.freebsd_version(host, o, args, jail_root=root),
        "pkg": lambda o: pkg.pkg(host, o, args, root=root),
        "hostname": lambda o: o.print(str(record["hostname"])),
    }
    if name not in in_jail:
        dirs = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")
        candidates = [command[0]] if command[0].startswith("/") else [f"{d}/{name}" for d in dirs]
        if any(host.path(root.rstrip("/") + c).exists() for c in candidates):
            raise ToolError(f"fbmodel: running {name} inside a jail is not modelled", 3)
        raise ToolError(f"jexec: execvp: {command[0]}: No such file or directory", 1)
    status, stdout, stderr = call(host, name, args, in_jail[name], parent="jexec")
    out.out.write(stdout)
    out.err.write(stderr)
    if status:
        raise ToolError("", status)


# Each tool imports only what it needs: a Puppet run makes dozens of calls.
def _zfs(host: Host, out: Output, args: list[str]) -> None:
    from . import zfs

    zfs.main(host, out, args)


def _jails(method: str) -> Tool:
    def tool(host: Host, out: Output, args: list[str]) -> None:
        from . import jails

        model = jails.Jails(host, out)
        if method == "jexec":
            model.jexec(args, lambda jail, command: run_in_jail(host, out, jail, command))
        else:
            getattr(model, method)(args)

    return tool


def _module(module: str, function: str) -> Tool:
    def tool(host: Host, out: Output, args: list[str]) -> None:
        getattr(importlib.import_module(f"{__package__}.{module}"), function)(host, out, args)

    return tool


TOOLS: dict[str, Tool] = {
    "zfs": _zfs,
    "jail": _jails("jail"),
    "jls": _jails("jls"),
    "jexec": _jails("jexec"),
    "service": lambda host, out, args: rc.service(host, out, args, setup),
    "rc.subr": lambda host, out, args: rc.rc_subr(host, out, args, setup),
    "sysrc": lambda host, out, args: rc.sysrc(host, out, args),
    "ifconfig": _module("net", "main"),
    "freebsd-version": _module("dist", "freebsd_version"),
    "fetch": _module("dist", "fetch"),
    "tar": _module("dist", "tar"),
    "freebsd-update": _module("dist", "freebsd_update"),
    "pkg": _module("pkg", "pkg"),
    "git": _module("pkg", "git"),
    "nginx": _module("nginx", "nginx"),
    "pfctl": _module("pf", "pfctl"),
    "chroot": _module("chroot", "chroot"),
}


def main(argv: list[str]) -> int:
    tool, args = Path(argv[0]).name, argv[1:]
    if tool not in TOOLS:
        if not args or args[0] not in TOOLS:
            sys.stderr.write(f"fbmodel: unknown tool {tool!r}; known: {' '.join(sorted(TOOLS))}\n")
            return 64
        tool, args = args[0], args[1:]
    try:
        with Host.open() as host:
            status, stdout, stderr = call(
                host, tool, args, lambda out: TOOLS[tool](host, out, args)
            )
    except ToolError as error:
        sys.stderr.write(error.message + "\n")
        return error.status
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    return status
