"""rc.conf(5) variables, sysrc(8), service(8) and the rc.subr(8) contract of
rc.d scripts, on the host and inside jails.

An rc.d script is recognised by its `name=` and `rcvar=` lines, as rc.subr
knows it. Running state is the model's (a pid per service and root); nothing
is executed, but the rules are rc.subr's: a service that is not enabled
cannot be started without the `one` prefix ("Cannot 'start' nginx. Set
nginx_enable to YES in /etc/rc.conf or use 'onestart' instead of 'start'."),
stopping one that does not run fails, and so on.
"""

from __future__ import annotations

import getopt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .host import Host, Output, ToolError

ASSIGNMENT = re.compile(r"\A\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)\Z")
# `: ${x_user:=www}` or `: "${x_user:=www}"`: a default an rc.d script gives
# a variable that rc.conf may set.
DEFAULT = re.compile(r'\A\s*:\s+"?\$\{([A-Za-z_][A-Za-z0-9_]*):?=([^}"]*)\}"?\s*\Z')
YES = ("yes", "true", "on", "1")

DEFAULTS = """\
# Defaults of the rc.conf(5) variables the model uses (a subset of FreeBSD 14's
# /etc/defaults/rc.conf). Override them in /etc/rc.conf, not here.
rc_conf_files="/etc/rc.conf /etc/rc.conf.local"
local_startup="/usr/local/etc/rc.d"
hostname=""
cloned_interfaces=""
ifconfig_lo0="inet 127.0.0.1"
jail_enable="NO"
jail_conf="/etc/jail.conf"
jail_parallel_start="NO"
jail_list=""
jail_reverse_stop="NO"
newsyslog_enable="YES"
syslogd_enable="YES"
sendmail_enable="NONE"
"""


def checkyesno(value: str | None) -> bool:
    return (value or "").strip().lower() in YES


def unquote(raw: str, variables: dict[str, str]) -> str:
    """The value of the right-hand side of an sh assignment, as sh(1) would
    produce it for the simple forms rc.conf uses."""
    value, i = [], 0
    raw = raw.strip()
    while i < len(raw):
        char = raw[i]
        if char == "'":
            end = raw.index("'", i + 1) if "'" in raw[i + 1 :] else len(raw)
            value.append(raw[i + 1 : end])
            i = end + 1
        elif char == '"':
            j, chunk = i + 1, []
            while j < len(raw) and raw[j] != '"':
                if raw[j] == "\\" and j + 1 < len(raw):
                    chunk.append(raw[j + 1])
                    j += 2
                    continue
                chunk.append(raw[j])
                j += 1
            value.append(expand("".join(chunk), variables))
            i = j + 1
        elif char == "#" or char.isspace():
            break
        else:
            j = i
            while j < len(raw) and not raw[j].isspace() and raw[j] not in "\"'#":
                j += 1
            value.append(expand(raw[i:j], variables))
            i = j
    return "".join(value)


def expand(text: str, variables: dict[str, str]) -> str:
    return re.sub(
        r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
        lambda m: variables.get(m.group(1) or m.group(2), ""),
        text,
    )


def read_assignments(path: Path, variables: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    if not path.is_file():
        return found
    for line in path.read_text().splitlines():
        match = ASSIGNMENT.match(line)
        if match:
            value = unquote(match.group(2), {**variables, **found})
            found[match.group(1)] = value
    return found


@dataclass
class RcConf:
    """The rc.conf(5) files of one root: `/` on the host or a jail's path."""

    host: Host
    root: str = "/"

    def local(self, freebsd_path: str) -> Path:
        base = "" if self.root == "/" else self.root.rstrip("/")
        return self.host.path(base + freebsd_path)

    def defaults(self) -> dict[str, str]:
        return read_assignments(self.local("/etc/defaults/rc.conf"), {})

    def files(self) -> list[str]:
        listed = self.defaults().get("rc_conf_files", "/etc/rc.conf /etc/rc.conf.local")
        return listed.split()

    def values(self, files: list[Path] | None = None, service: str | None = None) -> dict[str, str]:
        variables = self.defaults()
        paths = files if files is not None else [self.local(f) for f in self.files()]
        if service is not None and files is None:
            paths += [
                self.local(f"/etc/rc.conf.d/{service}"),
                self.local(f"/usr/local/etc/rc.conf.d/{service}"),
            ]
        for path in paths:
            variables.update(read_assignments(path, variables))
        return variables

    def set(self, name: str, value: str, files: list[Path] | None = None) -> str:
        """Set `name` as sysrc(8) does: in the last file that has it, or
        appended to the first; returns the previous value."""
        paths = files if files is not None else [self.local(f) for f in self.files()]
        old = self.values(files).get(name, "")
        line = f'{name}="{value}"'
        for path in reversed(paths):
            if not path.is_file():
                continue
            lines = path.read_text().splitlines()
            hits = [
                i
                for i, text in enumerate(lines)
                if (m := ASSIGNMENT.match(text)) and m.group(1) == name
            ]
            if hits:
                lines[hits[-1]] = line
                path.write_text("\n".join(lines) + "\n")
                return old
        target = paths[0]
        if not target.parent.is_dir():
            raise ToolError(f"sysrc: {self.host.freebsd_path(target)}: No such file or directory")
        existing = target.read_text() if target.is_file() else ""
        if existing and not existing.endswith("\n"):
            existing += "\n"
        target.write_text(existing + line + "\n")
        return old

    def remove(self, name: str, files: list[Path] | None = None) -> bool:
        paths = files if files is not None else [self.local(f) for f in self.files()]
        removed = False
        for path in paths:
            if not path.is_file():
                continue
            lines = path.read_text().splitlines()
            kept = [t for t in lines if not ((m := ASSIGNMENT.match(t)) and m.group(1) == name)]
            if len(kept) != len(lines):
                path.write_text("".join(k + "\n" for k in kept))
                removed = True
        return removed


def jail_root(host: Host, jail: str) -> str:
    record = host.state["jails"].get(jail)
    if record is None:
        raise ToolError(f'jexec: jail "{jail}" not found')
    return str(record["path"])


# --- sysrc(8) ---


def sysrc(host: Host, out: Output, args: list[str], root: str = "/") -> None:
    try:
        opts, names = getopt.getopt(args, "aAcdDeEf:Fhij:lLnNqR:s:vxX")
    except getopt.GetoptError as error:
        raise ToolError(
            f"sysrc: illegal option -- {error.opt}\n"
            "Usage: sysrc [OPTIONS] {name[[+|-]=value] ... | -a | -A | -l | -L [name ...]}\n"
            "Try `sysrc --help' for more information.",
            1,
        ) from None
    flags = {flag for flag, _ in opts}
    files = [value for flag, value in opts if flag == "-f"]
    for flag, value in opts:
        if flag == "-j":
            root = jail_root(host, value)
        elif flag == "-R":
            root = value
    conf = RcConf(host, root)
    paths = [conf.local(f) if root != "/" else host.path(f) for f in files] if files else None
    if not names:
        raise ToolError(
            "Usage: sysrc [OPTIONS] {name[[+|-]=value] ... | -a | -A | -l | -L [name ...]}", 1
        )
    status = 0
    for word in names:
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(\+=|-=|=)(.*)", word, re.S)
        if match is None:
            name = word
            values = conf.values(paths)
            if "-x" in flags:
                conf.remove(name, paths)
                continue
            if name not in values:
                if "-c" in flags or "-i" in flags:
                    status = 1
                    continue
                out.warn(f"sysrc: unknown variable '{name}'")
                status = 1
                continue
            if "-c" in flags:
                continue
            if "-n" in flags:
                out.print(values[name])
            elif "-e" in flags:
                out.print(f'{name}="{values[name]}"')
            else:
                out.print(f"{name}: {values[name]}")
            continue
        name, operator, value = match.groups()
        current = conf.values(paths).get(name, "")
        new = combine(current, operator, value)
        if "-c" in flags:
            # sysrc(8) -c: for assignments, success if no change is required.
            if new != current or name not in conf.values(paths):
                status = 1
            continue
        old = conf.set(name, new, paths)
        if "-q" not in flags:
            out.print(f"{name}: {old} -> {new}")
    if status:
        raise ToolError("", status)


def combine(current: str, operator: str, value: str) -> str:
    if operator == "=":
        return value
    # sysrc(8) APPENDING VALUES / SUBTRACTING VALUES: the first character is the
    # separator unless it is alphanumeric (then whitespace).
    separator = " " if not value or value[0].isalnum() else value[0]
    items = [i for i in (current.split() if separator == " " else current.split(separator)) if i]
    given = [i for i in (value.split() if separator == " " else value.split(separator)) if i]
    if operator == "+=":
        items += [i for i in given if i not in items]
    else:
        items = [i for i in items if i not in given]
    return (" " if separator == " " else separator).join(items)


# --- rc.d scripts ---


@dataclass(frozen=True)
class Script:
    path: str  # FreeBSD path, relative to the root it runs in
    name: str
    rcvar: str
    command: str
    pidfile: str
    extra_commands: tuple[str, ...]
    start_cmd: str = ""
    defaults: tuple[tuple[str, str], ...] = ()


def read_script(local: Path, freebsd_path: str) -> Script | None:
    if not local.is_file():
        return None
    text = local.read_text(errors="replace")
    fields: dict[str, str] = {}
    defaults: list[tuple[str, str]] = []
    for line in text.splitlines():
        match = ASSIGNMENT.match(line)
        if match and match.group(1) in (
            "name",
            "rcvar",
            "command",
            "pidfile",
            "extra_commands",
            "start_cmd",
        ):
            fields[match.group(1)] = unquote(match.group(2), fields)
        default = DEFAULT.match(line)
        if default:
            defaults.append((default.group(1), default.group(2)))
    if "name" not in fields:
        return None
    name = fields["name"]
    return Script(
        path=freebsd_path,
        name=name,
        rcvar=fields.get("rcvar", ""),
        command=fields.get("command", ""),
        pidfile=fields.get("pidfile", f"/var/run/{name}.pid"),
        extra_commands=tuple(fields.get("extra_commands", "").split()),
        start_cmd=fields.get("start_cmd", ""),
        defaults=tuple(defaults),
    )


class Rc:
    """rc.subr(8) for the scripts of one root."""

    def __init__(self, host: Host, out: Output, root: str = "/") -> None:
        self.host = host
        self.out = out
        self.root = root
        self.conf = RcConf(host, root)
        self.services: dict[str, Any] = host.state["services"].setdefault(root, {})
        # Hooks for scripts with commands of their own (rc.d/jail, nginx).
        self.handlers: dict[str, Callable[[Rc, Script, str, list[str]], int]] = {}
        self.prechecks: dict[str, Callable[[Rc, Script, str], bool]] = {}

    def local(self, path: str) -> Path:
        return self.conf.local(path)

    def find(self, name: str) -> Script | None:
        dirs = [
            "/etc/rc.d",
            *self.conf.values().get("local_startup", "/usr/local/etc/rc.d").split(),
        ]
        for directory in dirs:
            script = read_script(self.local(f"{directory}/{name}"), f"{directory}/{name}")
            if script is not None:
                return script
        return None

    def scripts(self) -> list[Script]:
        found = []
        dirs = [
            "/etc/rc.d",
            *self.conf.values().get("local_startup", "/usr/local/etc/rc.d").split(),
        ]
        for directory in dirs:
            local = self.local(directory)
            if local.is_dir():
                for entry in sorted(local.iterdir()):
                    script = read_script(entry, f"{directory}/{entry.name}")
                    if script is not None:
                        found.append(script)
        return found

    def variable(self, script: Script, name: str) -> str:
        """A variable as the script sees it: rc.conf, else the script's default."""
        value = self.conf.values(service=script.name).get(name)
        if value:
            return value
        return dict(script.defaults).get(name, "")

    def pid(self, script: Script) -> int | None:
        record = self.services.get(script.name)
        return int(record["pid"]) if record else None

    def run(self, script: Script, argument: str, extra: list[str]) -> int:
        """run_rc_command: returns the exit status."""
        prefix = ""
        for candidate in ("fast", "force", "one", "quiet"):
            if argument.startswith(candidate) and argument != candidate:
                prefix, argument = candidate, argument[len(candidate) :]
                break
        known = (
            "start",
            "stop",
            "restart",
            "rcvar",
            "enable",
            "disable",
            "enabled",
            "status",
            "reload",
            "describe",
            "extracommands",
            "poll",
            *script.extra_commands,
        )
        if argument not in known:
            self.out.warn(
                f"{script.path}: unknown directive '{argument}'.\n"
                f"Usage: {script.path} [fast|force|one|quiet]({'|'.join(known)})"
            )
            return 1
        values = self.conf.values(service=script.name)
        pid = self.pid(script)
        if argument == "enabled":
            return 0 if checkyesno(values.get(script.rcvar)) else 1
        if argument == "rcvar":
            # rc.subr: scripts default their rcvar to NO (`: ${x_enable:="NO"}`).
            value = values.get(script.rcvar) or "NO"
            self.out.print(f'# {script.name}\n#\n{script.rcvar}="{value}"\n#   (default: "")\n')
            return 0
        if argument in ("enable", "disable"):
            setting = "YES" if argument == "enable" else "NO"
            self.conf.set(script.rcvar, setting)
            self.out.print(f"{script.name} {argument}d in {self.conf.files()[0]}")
            return 0
        needs_rcvar = argument not in ("rcvar", "stop", "status", "describe") or (
            argument == "stop" and pid is None
        )
        enabled = checkyesno(values.get(script.rcvar))
        if script.rcvar and needs_rcvar and prefix not in ("one", "force") and not enabled:
            # rc.subr(8): a service that is not enabled needs the "one" prefix.
            if prefix != "quiet":
                self.out.print(
                    f"Cannot '{argument}' {script.name}. Set {script.rcvar} to YES in "
                    f"/etc/rc.conf or use 'one{argument}' instead of '{argument}'."
                )
            return 0
        if script.name in self.handlers:
            return self.handlers[script.name](self, script, argument, extra)
        return self.default(script, argument, pid)

    def default(self, script: Script, argument: str, pid: int | None) -> int:
        name = script.name
        if argument == "status":
            if pid is None:
                self.out.print(f"{name} is not running.")
                return 1
            self.out.print(f"{name} is running as pid {pid}.")
            return 0
        if argument == "start":
            if pid is not None:
                self.out.warn(f"{name} already running?  (pid={pid}).")
                return 1
            return 0 if self.start(script) else 1
        if argument == "stop":
            if pid is None:
                self.out.warn(f"{name} not running? (check {script.pidfile}).")
                return 1
            return 0 if self.stop(script) else 1
        if argument == "restart":
            if pid is not None and not self.stop(script):
                return 1
            return 0 if self.start(script) else 1
        if argument == "reload":
            if pid is None:
                self.out.warn(f"{name} not running? (check {script.pidfile}).")
                return 1
            check = self.prechecks.get(name)
            if check is not None and not check(self, script, argument):
                return 1
            self.services[name]["reloads"] = int(self.services[name].get("reloads", 0)) + 1
            return 0
        if argument == "describe":
            return 0
        if argument in script.extra_commands:
            check = self.prechecks.get(name)
            return 0 if check is None or check(self, script, argument) else 1
        return 0

    def start(self, script: Script) -> bool:
        if script.command and not self.local(script.command).exists():
            self.out.warn(f"{script.path}: WARNING: run_rc_command: cannot run {script.command}")
            return False
        check = self.prechecks.get(script.name)
        if check is not None and not check(self, script, "start"):
            self.out.warn(f"{script.path}: WARNING: failed precmd routine for {script.name}")
            return False
        pid = self.host.allocate_pid()
        self.out.print(f"Starting {script.name}.")
        # rc.subr(8): the default start runs `command` as ${name}_user (su -m);
        # a script's own start_cmd runs as root, so what it starts (such as the
        # daemon(8) supervisor, which drops privileges for its child only) is
        # root's.
        user = self.variable(script, f"{script.name}_user")
        owner = "root" if script.start_cmd or not user else user
        self.services[script.name] = {"pid": pid, "reloads": 0, "owner": owner}
        pidfile = self.local(script.pidfile)
        if pidfile.parent.is_dir():
            pidfile.write_text(f"{pid}\n")
        return True

    def stop(self, script: Script) -> bool:
        """rc.subr's default stop: kill(1) the pid, as ${name}_user when that
        is set (`su -m USER -c 'sh -c "kill -TERM PID"'`), then wait for it."""
        record = self.services[script.name]
        pid = record["pid"]
        self.out.print(f"Stopping {script.name}.")
        user = self.variable(script, f"{script.name}_user")
        if user and user != "root" and record.get("owner", "root") != user:
            self.out.warn(f"kill: {pid}: Operation not permitted")
            return False
        self.services.pop(script.name)
        self.out.print(f"Waiting for PIDS: {pid}.")
        self.local(script.pidfile).unlink(missing_ok=True)
        return True

    def boot(self) -> list[str]:
        """What /etc/rc does in a jail: start every enabled service."""
        started = []
        for script in self.scripts():
            if script.name in self.services or not script.rcvar:
                continue
            if checkyesno(self.conf.values(service=script.name).get(script.rcvar)) and self.start(
                script
            ):
                started.append(script.name)
        return started

    def shutdown(self) -> list[str]:
        stopped = []
        for name in sorted(self.services):
            script = self.find(name)
            if script is None or not self.stop(script):
                # What rc.shutdown could not stop, jail(8) kills when it
                # removes the jail.
                self.services.pop(name)
            stopped.append(name)
        return stopped


def service(host: Host, out: Output, args: list[str], setup: Callable[[Rc], None]) -> None:
    usage = (
        "usage: service [-j <jail name or id>] -e\n"
        "       service [-j <jail name or id>] -R\n"
        "       service [-j <jail name or id>] [-v] -l | -r\n"
        "       service [-j <jail name or id>] [-v] [-E var=value] <rc.d script> start|stop|etc.\n"
        "       service -h"
    )
    try:
        opts, rest = getopt.getopt(args, "eE:hj:lrRv")
    except getopt.GetoptError:
        raise ToolError(usage, 1) from None
    root = "/"
    flags = {flag for flag, _ in opts}
    for flag, value in opts:
        if flag == "-j":
            root = jail_root(host, value)
    rc = Rc(host, out, root)
    setup(rc)
    if "-h" in flags:
        out.warn(usage)
        return
    if "-l" in flags:
        for script in sorted({s.path.rsplit("/", 1)[1] for s in rc.scripts()}):
            out.print(script)
        return
    if "-e" in flags:
        for script in rc.scripts():
            if script.rcvar and checkyesno(rc.conf.values(service=script.name).get(script.rcvar)):
                out.print(script.path)
        return
    if len(rest) < 2:
        raise ToolError(usage, 1)
    name, argument, extra = rest[0], rest[1], rest[2:]
    script = rc.find(name)
    if script is None:
        local_startup = rc.conf.values().get("local_startup", "/usr/local/etc/rc.d")
        raise ToolError(
            f"{name} does not exist in /etc/rc.d or the local startup\n"
            f"directories ({local_startup}), or is not executable",
            1,
        )
    status = rc.run(script, argument, extra)
    if status:
        raise ToolError("", status)


def rc_subr(host: Host, out: Output, args: list[str], setup: Callable[[Rc], None]) -> None:
    """A script that sourced the model's /etc/rc.subr and called run_rc_command."""
    if not args:
        raise ToolError("run_rc_command: no script", 1)
    path, rest = args[0], args[1:]
    script = read_script(host.path(path), path)
    if script is None:
        raise ToolError(f"{path}: not an rc.d script (no name=)", 1)
    rc = Rc(host, out, "/")
    setup(rc)
    if not rest:
        raise ToolError(
            f"Usage: {path} [fast|force|one|quiet](start|stop|restart|rcvar|enable|disable|status)",
            1,
        )
    status = rc.run(script, rest[0], rest[1:])
    if status:
        raise ToolError("", status)
