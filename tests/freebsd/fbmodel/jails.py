"""jail(8), jls(8), jexec(8) and rc.d/jail.

`jail -c` follows jail(8)'s order of start commands (jail.c `startcommands`):
add the addresses to `interface` (ifconfig ... alias), mount devfs under the
jail's path, create the jail (its path must be a directory), then run
exec.start inside it. The first step that fails prints jail(8)'s message,
undoes the steps before it and exits 1. `exec.start = "/bin/sh /etc/rc"`
starts the jail's enabled rc.d services; `exec.stop = "/bin/sh /etc/rc.shutdown"`
stops them.

rc.d/jail is FreeBSD 14's libexec/rc/rc.d/jail: `service jail start NAME`
uses /etc/jail.NAME.conf, /etc/jail.conf.d/NAME.conf or $jail_conf, prints
"Starting jails: NAME." and, like the real script, exits 0 even when the jail
could not start (it prints ` cannot start jail  "NAME": ` and jail(8)'s
output instead); callers check with `jls -j NAME`.
"""

from __future__ import annotations

import getopt
import ipaddress
import time
from typing import Any

from . import jailconf, net
from .host import Host, Output, ToolError, call
from .rc import Rc, Script, checkyesno

# jail(8) PARAMETERS: the kernel's jail parameters (what jls can show) ...
KERNEL_PARAMETERS = {
    "jid",
    "name",
    "path",
    "ip4.addr",
    "ip4.saddrsel",
    "ip4",
    "ip6.addr",
    "ip6.saddrsel",
    "ip6",
    "vnet",
    "host.hostname",
    "host",
    "host.domainname",
    "host.hostuuid",
    "host.hostid",
    "securelevel",
    "devfs_ruleset",
    "children.max",
    "children.cur",
    "enforce_statfs",
    "persist",
    "dying",
    "parent",
    "osrelease",
    "osreldate",
    "cpuset.id",
    "linux",
    "linux.osname",
    "linux.osrelease",
    "linux.oss_version",
    "sysvmsg",
    "sysvsem",
    "sysvshm",
    "zfs.mount_snapshot",
}
KERNEL_BOOLEANS = {
    "persist",
    "dying",
    "ip4.saddrsel",
    "ip6.saddrsel",
    "allow.set_hostname",
    "allow.sysvipc",
    "allow.raw_sockets",
    "allow.chflags",
    "allow.mount",
    "allow.mount.devfs",
    "allow.mount.fdescfs",
    "allow.mount.fusefs",
    "allow.mount.linprocfs",
    "allow.mount.linsysfs",
    "allow.mount.nullfs",
    "allow.mount.procfs",
    "allow.mount.tmpfs",
    "allow.mount.zfs",
    "allow.quotas",
    "allow.socket_af",
    "allow.mlock",
    "allow.reserved_ports",
    "allow.read_msgbuf",
    "allow.unprivileged_proc_debug",
    "allow.suser",
    "allow.nfsd",
    "allow.extattr",
    "allow.adjtime",
    "allow.settime",
    "allow.routing",
    "allow.vmm",
}
# ... and jail(8)'s own pseudo-parameters, which the kernel never sees.
PSEUDO_PARAMETERS = {
    "exec.prepare",
    "exec.prestart",
    "exec.created",
    "exec.start",
    "command",
    "exec.poststart",
    "exec.prestop",
    "exec.stop",
    "exec.poststop",
    "exec.release",
    "exec.clean",
    "exec.jail_user",
    "exec.system_jail_user",
    "exec.system_user",
    "exec.timeout",
    "exec.consolelog",
    "exec.fib",
    "stop.timeout",
    "interface",
    "vnet.interface",
    "ip_hostname",
    "mount",
    "mount.fstab",
    "mount.devfs",
    "mount.fdescfs",
    "mount.procfs",
    "allow.dying",
    "depend",
    "zfs.dataset",
}
PSEUDO_BOOLEANS = {
    "exec.clean",
    "exec.system_jail_user",
    "ip_hostname",
    "mount.devfs",
    "mount.fdescfs",
    "mount.procfs",
    "allow.dying",
}
DEFAULTS = {"enforce_statfs": "2", "securelevel": "-1", "children.max": "0", "devfs_ruleset": "4"}


def negated(name: str) -> str | None:
    """`allow.noraw_sockets` is `allow.raw_sockets` set to false (jail(8))."""
    head, _, last = name.rpartition(".")
    if last.startswith("no"):
        positive = f"{head}.{last[2:]}" if head else last[2:]
        if positive in KERNEL_BOOLEANS or positive in PSEUDO_BOOLEANS:
            return positive
    return None


def bool_value(name: str, value: list[str] | bool) -> bool:
    if value is True:
        return True
    text = ",".join(value) if isinstance(value, list) else str(value)
    # libjail jailparam_import and config.c check_intparams: "true", "false"
    # (any case) or an integer; "yes" and "on" are rc.conf's words, not jail(8)'s.
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    try:
        return int(text, 10) != 0
    except ValueError:
        raise ToolError(f'{name}: unknown boolean value "{text}"') from None


def normalize(name: str, params: dict[str, list[str] | bool]) -> dict[str, Any]:
    """Check every parameter the way jail(8) does before it starts a jail, and
    type the values: booleans, and lists of strings for the rest."""
    result: dict[str, Any] = {}
    for key, value in params.items():
        positive = negated(key)
        if positive is not None:
            result[positive] = not bool_value(key, value)
            continue
        if key in KERNEL_BOOLEANS or key in PSEUDO_BOOLEANS:
            try:
                result[key] = bool_value(key, value)
            except ToolError as error:
                raise ToolError(f"jail: {name}: {error.message}") from None
        elif key in KERNEL_PARAMETERS or key in PSEUDO_PARAMETERS:
            result[key] = [] if value is True else list(value)
            check_value(name, key, result[key])
        else:
            # libjail's jailparam_init(3): "unknown parameter: %s".
            raise ToolError(f"jail: {name}: unknown parameter: {key}")
    return result


INTEGERS = {
    "jid",
    "securelevel",
    "devfs_ruleset",
    "children.max",
    "enforce_statfs",
    "osreldate",
    "host.hostid",
    "linux.oss_version",
    "exec.fib",
    "exec.timeout",
    "stop.timeout",
}


def check_value(name: str, key: str, values: list[str]) -> None:
    """libjail's conversions: integers (\"non-integer value\") and IPv4
    addresses (\"not an IPv4 address\"), each message prefixed by jail(8)."""
    if key in INTEGERS:
        for value in values:
            try:
                int(value, 10)
            except ValueError:
                raise ToolError(f'jail: {name}: {key}: non-integer value "{value}"') from None
    if key == "ip4.addr":
        for entry in values:
            address = entry.rpartition("|")[2].partition("/")[0]
            try:
                ipaddress.IPv4Address(address)
            except ValueError:
                raise ToolError(f"jail: {name}: ip4.addr: not an IPv4 address: {address}") from None


def first(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list) and value:
        return str(value[0])
    return None


class Jails:
    def __init__(self, host: Host, out: Output) -> None:
        self.host = host
        self.out = out
        self.running: dict[str, dict[str, Any]] = host.state["jails"]

    # --- jail(8) ---

    def usage(self) -> ToolError:
        return ToolError(
            "usage: jail [-dhilqv] [-J jid_file] [-u username] [-U username]\n"
            "            -[cmr] param=value ... [command=command ...]\n"
            "       jail [-dqv] [-f file] -[cmr] [jail]\n"
            "       jail [-qv] [-f file] -[rR] ['*' | jail ...]\n"
            "       jail [-dhilqv] [-J jid_file] [-u username] [-U username]\n"
            "            [-n jailname] [-s securelevel]\n"
            "            path hostname [ip[,...]] command ...",
            1,
        )

    def jail(self, args: list[str]) -> None:
        try:
            opts, names = getopt.getopt(args, "cdf:hiJ:lmn:p:qrRs:u:U:v")
        except getopt.GetoptError:
            raise self.usage() from None
        flags = {flag for flag, _ in opts}
        conf_file = dict(opts).get("-f", "/etc/jail.conf")
        quiet = "-q" in flags or "-i" in flags
        operations = flags & {"-c", "-m", "-r", "-R"}
        if not operations:
            raise self.usage()
        if (
            "-m" in flags
            or any("=" in n for n in names)
            or flags & {"-n", "-s", "-u", "-U", "-h", "-l", "-J"}
        ):
            raise ToolError(
                "fbmodel: jail(8) with parameters on the command line is not modelled", 3
            )
        if flags & {"-r", "-R"}:
            if not names:
                raise self.usage()
            failed = False
            for name in names:
                try:
                    self.remove(name, None if "-R" in flags else conf_file, quiet)
                except ToolError as error:
                    self.out.warn(error.message)
                    failed = True
            if failed:
                raise ToolError("", 1)
            return
        config = self.config(conf_file)
        targets = names or list(config.order)
        for name in targets:
            self.create(name, config, "-i" in flags, quiet)

    def config(self, conf_file: str) -> jailconf.Config:
        try:
            return jailconf.parse_file(self.host, conf_file)
        except ToolError as error:
            raise ToolError(f"jail: {error.message}") from None

    def create(self, name: str, config: jailconf.Config, print_jid: bool, quiet: bool) -> None:
        # jail(8) -c: the jail must be in the configuration and not running
        # (state.c start_state "not found", jail.c "already exists").
        if name not in config.jails:
            raise ToolError(f'jail: "{name}" not found')
        if name in self.running:
            raise ToolError(f'jail: "{name}" already exists')
        params = normalize(name, config.parameters(name))
        path = first(params, "path") or "/"
        undo: list[tuple[str, Any]] = []
        try:
            self.add_addresses(name, params, undo)
            if params.get("mount.devfs"):
                devpath = f"{path.rstrip('/')}/dev"
                if not self.host.path(devpath).is_dir():
                    raise ToolError(
                        f"jail: {name}: mount.devfs: {devpath}: No such file or directory"
                    )
                undo.append(("devfs", devpath))
            # jail(8) create_jail: "Check the jail's path, with a better error
            # message than jail_set gives."
            local = self.host.path(path)
            if not local.exists():
                raise ToolError(f"jail: {name}: path {path}: No such file or directory")
            if not local.is_dir():
                raise ToolError(f"jail: {name}: path {path}: Not a directory")
            jid = int(self.host.state["next_jid"])
            self.host.state["next_jid"] = jid + 1
            record = {
                "jid": jid,
                "path": path,
                "hostname": first(params, "host.hostname") or "",
                "ip4": [self.address_of(a) for a in params.get("ip4.addr", [])],
                "interface": first(params, "interface"),
                "params": params,
                "devfs": bool(params.get("mount.devfs")),
            }
            self.running[name] = record
            undo.append(("jail", name))
            self.exec_in_jail(name, params, "exec.start")
        except ToolError:
            self.undo(undo)
            raise
        if print_jid:
            self.out.print(str(jid))
        elif not quiet:
            self.out.print(f"{name}: created")

    def address_of(self, entry: str) -> str:
        return entry.split("|", 1)[-1].split("/", 1)[0]

    def add_addresses(self, name: str, params: dict[str, Any], undo: list[tuple[str, Any]]) -> None:
        interface = first(params, "interface")
        for entry in params.get("ip4.addr", []):
            iface, _, address = entry.rpartition("|")
            iface = iface or interface or ""
            if not iface:
                continue  # no interface: the address is only the jail's restriction
            addr, _, mask = address.partition("/")
            # command.c IP__IP4_IFADDR: ifconfig IF inet ADDR netmask 255.255.255.255 alias
            argv = [iface, "inet", addr, "netmask", "255.255.255.255", "alias"]
            if mask:
                argv = [iface, "inet", address, "alias"]
            status, _, err = call(
                self.host,
                "ifconfig",
                argv,
                lambda out, a=argv: net.main(self.host, out, a),
                parent="jail",
            )
            if status:
                self.out.err.write(err)
                raise ToolError(f"jail: {name}: /sbin/ifconfig {' '.join(argv)}: failed")
            undo.append(("address", (iface, addr)))

    def exec_in_jail(self, name: str, params: dict[str, Any], which: str) -> None:
        record = self.running[name]
        path = str(record["path"])
        lines: list[str] = []
        for command in params.get(which, []):
            words = command.split()
            if (
                words[:1] == ["/bin/sh"]
                and len(words) == 2
                and words[1] in ("/etc/rc", "/etc/rc.shutdown")
            ):
                shell = self.host.path(path.rstrip("/") + "/bin/sh")
                if not shell.is_file():
                    self.out.warn(f"jail: {name}: exec /bin/sh: No such file or directory")
                    raise ToolError(f"jail: {name}: {command}: failed")
                rc = Rc(self.host, Output(), path)
                if words[1] == "/etc/rc":
                    lines += [f"Starting {s}." for s in rc.boot()]
                else:
                    lines += [f"Stopping {s}." for s in rc.shutdown()]
            else:
                lines.append(f"fbmodel: {which} {command!r} is not modelled")
        console = first(params, "exec.consolelog")
        if console is not None and params.get(which):
            log = self.host.path(console)
            if not log.parent.is_dir():
                raise ToolError(f"jail: {name}: open {console}: No such file or directory")
            with log.open("a") as handle:
                handle.writelines(line + "\n" for line in lines)

    def undo(self, steps: list[tuple[str, Any]]) -> None:
        for kind, what in reversed(steps):
            if kind == "jail":
                self.running.pop(what, None)
            elif kind == "address":
                iface, addr = what
                record = self.host.state["interfaces"].get(iface)
                if record:
                    record["addresses"] = [a for a in record["addresses"] if a[0] != addr]

    def remove(self, name: str, conf_file: str | None, quiet: bool) -> None:
        config = None
        if conf_file is not None and self.host.path(conf_file).is_file():
            config = self.config(conf_file)
        in_config = config is not None and name in config.jails
        if name not in self.running:
            if quiet:
                raise ToolError("")
            raise ToolError(f'jail: "{name}" not found')
        record = self.running[name]
        params = (
            normalize(name, config.parameters(name))
            if config is not None and in_config
            else record["params"]
        )
        if conf_file is not None:
            self.exec_in_jail(name, params, "exec.stop")
        del self.running[name]
        # The jail is gone from `jls` but stays dying (`jls -d`), its root
        # still busy, until what holds it goes away (jail(8) "dying").
        linger = float(self.host.state.get("dying_seconds", 0.0))
        if linger > 0:
            self.host.state.setdefault("dying", []).append(
                {
                    "name": name,
                    "jid": record["jid"],
                    "path": record["path"],
                    "hostname": record["hostname"],
                    "until": time.time() + linger,
                }
            )
        if conf_file is not None:
            for entry in record["ip4"]:
                iface = record.get("interface")
                interface = self.host.state["interfaces"].get(iface) if iface else None
                if interface is not None:
                    interface["addresses"] = [a for a in interface["addresses"] if a[0] != entry]
        Rc(self.host, Output(), str(record["path"])).services.clear()
        if not quiet:
            self.out.print(f"{name}: removed")

    # --- jls(8) ---

    def value(self, name: str, record: dict[str, Any], param: str) -> str | bool:
        params = record["params"]
        if param == "jid":
            return str(record["jid"])
        if param == "name":
            return name
        if param == "path":
            return str(record["path"])
        if param == "host.hostname":
            return str(record["hostname"])
        if param == "ip4.addr":
            return ",".join(record["ip4"])
        if param == "dying":
            return bool(record.get("dying", False))
        if param == "osrelease":
            return userland_version(self.host, str(record["path"])).rsplit("-p", 1)[0]
        if param in KERNEL_BOOLEANS:
            return bool(params.get(param, False))
        if param in params:
            value = params[param]
            return value if isinstance(value, bool) else ",".join(value)
        if param in DEFAULTS:
            return DEFAULTS[param]
        if param in KERNEL_PARAMETERS:
            return ""
        raise ToolError(f"jls: unknown parameter: {param}")

    def jls(self, args: list[str]) -> None:
        try:
            opts, params = getopt.getopt(args, "adj:hNnqsv")
        except getopt.GetoptError:
            raise ToolError("jls: usage: jls [-dhNnqv] [-j jail] [param ...]") from None
        flags = {flag for flag, _ in opts}
        selector = dict(opts).get("-j")
        for param in params:
            if param not in KERNEL_PARAMETERS and param not in KERNEL_BOOLEANS:
                # Pseudo-parameters (interface, exec.*, mount.*) are jail(8)'s, not the kernel's.
                raise ToolError(f"jls: unknown parameter: {param}")
        jails = list(self.running.items())
        if "-d" in flags:
            jails += [(str(d["name"]), self.dying_record(d)) for d in self.host.state["dying"]]
        jails.sort(key=lambda item: int(item[1]["jid"]))
        if selector is not None:
            jails = [(n, r) for n, r in jails if n == selector or str(r["jid"]) == selector]
            if not jails:
                # jls(8) -j: libjail's "jail "NAME" not found", exit 1.
                what = f'"{selector}"' if not selector.isdigit() else selector
                raise ToolError(f"jls: jail {what} not found")
        if not params:
            self.default_listing(jails, "-N" in flags)
            return
        if "-h" in flags:
            self.out.print(" ".join(params))
        for name, record in jails:
            words = []
            for param in params:
                value = self.value(name, record, param)
                if isinstance(value, bool):
                    if "-n" in flags or "-s" in flags:
                        words.append(param if value else noname(param))
                    else:
                        words.append("true" if value else "false")
                    continue
                text = quoted(value) if ("-q" in flags or "-s" in flags) else value
                if not value and not ("-n" in flags or "-s" in flags):
                    text = '""' if "-q" in flags else "-"
                words.append(f"{param}={text}" if ("-n" in flags or "-s" in flags) else text)
            self.out.print(" ".join(words))

    def dying_record(self, dying: dict[str, Any]) -> dict[str, Any]:
        return {
            "jid": dying["jid"],
            "path": dying["path"],
            "hostname": dying["hostname"],
            "ip4": [],
            "params": {},
            "dying": True,
        }

    def default_listing(self, jails: list[tuple[str, dict[str, Any]]], by_name: bool) -> None:
        if by_name:
            self.out.print(f" {'JID':<15} {'IP Address':<15} {'Hostname':<29} Path")
        else:
            self.out.print(f"{'JID':>6}  IP Address{'':6}Hostname{'':22}Path")
        for name, record in jails:
            address = record["ip4"][0] if record["ip4"] else ""
            lead = f" {name:<15} " if by_name else f"{record['jid']:>6}  "
            hostname, path = str(record["hostname"])[:29], str(record["path"])[:74]
            self.out.print(f"{lead}{address[:15]:<15} {hostname:<29} {path}")

    # --- jexec(8) ---

    def jexec(self, args: list[str], run_tool: Any) -> None:
        try:
            opts, rest = getopt.getopt(args, "d:lnu:U:")
        except getopt.GetoptError:
            raise ToolError(
                "usage: jexec [-l] [-d working-directory] [-u username | -U username] jail\n"
                "\t[command ...]"
            ) from None
        del opts
        if not rest:
            raise ToolError(
                "usage: jexec [-l] [-d working-directory] [-u username | -U username] jail\n"
                "\t[command ...]"
            )
        selector, command = rest[0], rest[1:]
        found = [n for n, r in self.running.items() if n == selector or str(r["jid"]) == selector]
        if not found:
            # jexec(8): the jail is looked up with jail_getid(3).
            raise ToolError(f'jexec: jail "{selector}" not found')
        if not command:
            raise ToolError("fbmodel: an interactive shell in a jail is not modelled", 3)
        run_tool(found[0], command)


def noname(param: str) -> str:
    head, _, last = param.rpartition(".")
    return f"{head}.no{last}" if head else f"no{last}"


def quoted(value: str) -> str:
    if not value:
        return '""'
    if "'" in value or " " in value or "\t" in value:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if '"' in value:
        return "'" + value.replace("\\", "\\\\") + "'"
    return value


def userland_version(host: Host, root: str) -> str:
    script = host.path(root.rstrip("/") + "/bin/freebsd-version")
    if script.is_file():
        for line in script.read_text().splitlines():
            if line.startswith("USERLAND_VERSION="):
                return line.split("=", 1)[1].strip('"')
    return ""


# --- rc.d/jail ---


def jail_rc(rc: Rc, script: Script, argument: str, names: list[str]) -> int:
    host, out = rc.host, rc.out
    values = rc.conf.values(service="jail")
    if not names:
        names = values.get("jail_list", "").split() or ["_ALL"]
    if argument == "status":
        return call_jls(host, out, ["-N"])
    if argument == "restart":
        jail_stop(rc, values, names)
        return jail_start(rc, values, names)
    if argument == "start":
        return jail_start(rc, values, names)
    if argument == "stop":
        return jail_stop(rc, values, names)
    return 0


def call_jls(host: Host, out: Output, args: list[str]) -> int:
    status, stdout, stderr = call(
        host, "jls", args, lambda o: Jails(host, o).jls(args), parent="rc.d/jail"
    )
    out.out.write(stdout)
    out.err.write(stderr)
    return status


def conf_for(rc: Rc, values: dict[str, str], name: str) -> str | None:
    """parse_options: /etc/jail.NAME.conf, /etc/jail.conf.d/NAME.conf or $jail_conf."""
    for candidate in (
        f"/etc/jail.{name}.conf",
        f"/etc/jail.conf.d/{name}.conf",
        values.get("jail_conf", ""),
    ):
        if candidate and rc.host.path(candidate).is_file():
            return candidate
    rc.out.warn(
        f"/etc/rc.d/jail: WARNING: Invalid configuration for {name} "
        f"(no jail.conf, no hostname, or no path).  Jail {name} was ignored."
    )
    return None


def run_jail(rc: Rc, args: list[str]) -> tuple[int, str]:
    status, stdout, stderr = call(
        rc.host, "jail", args, lambda o: Jails(rc.host, o).jail(args), parent="rc.d/jail"
    )
    return status, stdout + stderr


def jail_start(rc: Rc, values: dict[str, str], names: list[str]) -> int:
    out = rc.out
    out.print("Starting jails:", end="")
    if names == ["_ALL"]:
        args = ["-f", values.get("jail_conf", "/etc/jail.conf"), "-c"]
        if not checkyesno(values.get("jail_parallel_start")):
            args.append("-p1")
        status, output = run_jail(rc, args)
        if status == 0:
            for name, record in sorted(rc.host.state["jails"].items(), key=lambda i: i[1]["jid"]):
                out.print(f" {name}", end="")
                rc.host.path(f"/var/run/jail_{name}.id").write_text(f"{record['jid']}\n")
        else:
            out.print(output, end="")
        out.print(".")
        return 0
    for raw in names:
        name = raw.replace("/", "_").replace(".", "_")
        conf = conf_for(rc, values, name)
        if conf is None:
            continue
        status, output = run_jail(rc, ["-i", "-f", conf, "-c", name])
        if status == 0:
            out.print(f" {name}", end="")
            jid = rc.host.state["jails"][name]["jid"]
            rc.host.path(f"/var/run/jail_{name}.id").write_text(f"{jid}\n")
        else:
            out.print(f' cannot start jail  "{name}": ')
            out.print(output, end="")
    out.print(".")
    return 0


def jail_stop(rc: Rc, values: dict[str, str], names: list[str]) -> int:
    out = rc.out
    out.print("Stopping jails:", end="")
    if names == ["_ALL"]:
        names = [n for n, _ in sorted(rc.host.state["jails"].items(), key=lambda i: i[1]["jid"])]
        if checkyesno(values.get("jail_reverse_stop")):
            names.reverse()
    elif checkyesno(values.get("jail_reverse_stop")):
        names = list(reversed(names))
    for raw in names:
        name = raw.replace("/", "_").replace(".", "_")
        conf = conf_for(rc, values, name)
        if conf is None:
            continue
        if name not in rc.host.state["jails"]:
            continue
        out.print(f" {name}", end="")
        _, output = run_jail(rc, ["-q", "-f", conf, "-r", name])
        if name in rc.host.state["jails"]:
            out.print(output, end="")
        else:
            rc.host.path(f"/var/run/jail_{name}.id").unlink(missing_ok=True)
    out.print(".")
    return 0
