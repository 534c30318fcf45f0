"""The jail(8) parameters of FreeBSD 14, typed, and how a value is written.

One table drives the catalog's checks (`check_name`, `check_value`) and, in
the generated Puppet module, the jail type's checks and how the freebsd
provider writes each value into jail.conf(5): the module's
`puppet_x/jailgen/jail_parameters.rb` is rendered from `TABLE`.

jail(8) knows two classes of parameters: the kernel's (listed by
`sysctl -d security.jail.param`, shown by jls(8)) and its own pseudo-parameters.
A boolean `X` may also be written `noX` (`allow.noraw_sockets`), which is the
same parameter set to false; so a negated name is looked up, and refused,
under its positive name.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Kind(enum.Enum):
    BOOLEAN = "boolean"
    INTEGER = "integer"
    STRING = "string"
    # jailsys parameters (ip6, sysvmsg, linux ...): one of a few words.
    CHOICE = "choice"
    ADDRESS_LIST = "address list"


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    # Why the catalog may not set it; None when it may.
    refused: str | None = None
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()


SET_BY_JAILGEN = "is set by jailgen"
READ_ONLY = "is read-only: the kernel reports it and jail(8) cannot set it"
RUNS_COMMANDS = "runs commands, and jailgen's jails run only /etc/rc"
NETWORK = "changes the jail's network, which jailgen sets: one IPv4 address on the host's stack"
JAILSYS = ("disable", "new", "inherit")

_B, _I, _S, _C, _A = Kind.BOOLEAN, Kind.INTEGER, Kind.STRING, Kind.CHOICE, Kind.ADDRESS_LIST

_ALLOW = [
    "set_hostname",
    "sysvipc",
    "raw_sockets",
    "chflags",
    "mount",
    "mount.devfs",
    "mount.fdescfs",
    "mount.fusefs",
    "mount.linprocfs",
    "mount.linsysfs",
    "mount.nullfs",
    "mount.procfs",
    "mount.tmpfs",
    "mount.zfs",
    "quotas",
    "socket_af",
    "mlock",
    "reserved_ports",
    "read_msgbuf",
    "unprivileged_proc_debug",
    "suser",
    "nfsd",
    "extattr",
    "adjtime",
    "settime",
    "routing",
    "vmm",
]

TABLE: dict[str, Param] = {
    p.name: p
    for p in (
        # Kernel parameters (jail(8) PARAMETERS).
        Param("jid", _I, SET_BY_JAILGEN),
        Param("name", _S, SET_BY_JAILGEN),
        Param("path", _S, SET_BY_JAILGEN),
        Param("ip4.addr", _A, SET_BY_JAILGEN),
        Param("ip4.saddrsel", _B),
        Param("ip4", _C, NETWORK, choices=JAILSYS),
        Param("ip6.addr", _A, NETWORK),
        Param("ip6.saddrsel", _B),
        Param("ip6", _C, choices=JAILSYS),
        Param("vnet", _C, NETWORK, choices=("new", "inherit")),
        Param("host.hostname", _S, SET_BY_JAILGEN),
        Param("host", _C, SET_BY_JAILGEN, choices=("new", "inherit")),
        Param("host.domainname", _S),
        Param("host.hostuuid", _S),
        Param("host.hostid", _I, low=0, high=2**32 - 1),
        Param("securelevel", _I, low=-1, high=3),
        Param("devfs_ruleset", _I, low=0, high=65535),
        Param("children.max", _I, low=0, high=2**31 - 1),
        Param("children.cur", _I, READ_ONLY),
        Param("enforce_statfs", _I, low=0, high=2),
        Param("persist", _B),
        Param("dying", _B, READ_ONLY),
        Param("parent", _I, READ_ONLY),
        Param("cpuset.id", _I, READ_ONLY),
        Param("osrelease", _S),
        Param("osreldate", _I, low=0, high=2**31 - 1),
        *(Param(f"allow.{name}", _B) for name in _ALLOW),
        Param("linux", _C, choices=("new", "inherit")),
        Param("linux.osname", _S),
        Param("linux.osrelease", _S),
        Param("linux.oss_version", _I, low=0, high=2**31 - 1),
        Param("sysvmsg", _C, choices=JAILSYS),
        Param("sysvsem", _C, choices=JAILSYS),
        Param("sysvshm", _C, choices=JAILSYS),
        Param("zfs.mount_snapshot", _I, low=0, high=1),
        # jail(8)'s pseudo-parameters.
        Param("exec.prepare", _S, RUNS_COMMANDS),
        Param("exec.prestart", _S, RUNS_COMMANDS),
        Param("exec.created", _S, RUNS_COMMANDS),
        Param("exec.start", _S, SET_BY_JAILGEN),
        Param("command", _S, RUNS_COMMANDS),
        Param("exec.poststart", _S, RUNS_COMMANDS),
        Param("exec.prestop", _S, RUNS_COMMANDS),
        Param("exec.stop", _S, SET_BY_JAILGEN),
        Param("exec.poststop", _S, RUNS_COMMANDS),
        Param("exec.release", _S, RUNS_COMMANDS),
        Param("exec.clean", _B, SET_BY_JAILGEN),
        Param("exec.jail_user", _S, RUNS_COMMANDS),
        Param("exec.system_jail_user", _B, RUNS_COMMANDS),
        Param("exec.system_user", _S, RUNS_COMMANDS),
        Param("exec.timeout", _I, low=0, high=2**31 - 1),
        Param("exec.consolelog", _S, SET_BY_JAILGEN),
        Param("exec.fib", _I, low=0, high=65535),
        Param("stop.timeout", _I, low=0, high=2**31 - 1),
        Param("interface", _S, SET_BY_JAILGEN),
        Param("vnet.interface", _S, NETWORK),
        Param("ip_hostname", _B, NETWORK),
        Param("mount", _S, RUNS_COMMANDS),
        Param("mount.fstab", _S, RUNS_COMMANDS),
        Param("mount.devfs", _B, SET_BY_JAILGEN),
        Param("mount.fdescfs", _B),
        Param("mount.procfs", _B),
        Param("allow.dying", _B),
        Param("depend", _S),
        Param("zfs.dataset", _S),
    )
}

NAME = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")
# What a string value may hold: nothing jail.conf(5) gives a meaning to inside
# a quoted string (no quote, backslash, `$`, `;`, braces, `#`, space or control).
STRING_VALUE = re.compile(r"^[A-Za-z0-9_./:=@%+,-]*$")

Value = bool | int | str


def positive(name: str) -> str | None:
    """`allow.noraw_sockets` -> `allow.raw_sockets` when that is a boolean (jail(8))."""
    head, dot, last = name.rpartition(".")
    if not last.startswith("no"):
        return None
    param = TABLE.get(f"{head}{dot}{last[2:]}")
    return param.name if param is not None and param.kind is Kind.BOOLEAN else None


def check_name(name: str) -> str | None:
    """None for a name the catalog may set, else the problem (with what is expected)."""
    if not NAME.fullmatch(name) or len(name) > 64:
        return "invalid jail parameter name (expected like allow.raw_sockets)"
    base = positive(name)
    param = TABLE.get(base or name)
    if param is None:
        return "unknown jail parameter (expected a FreeBSD 14 jail(8) parameter)"
    if param.refused is not None:
        return f"{param.refused} (expected another jail(8) parameter)"
    if base is not None:
        return f"is {base} negated (expected {base}: false)"
    return None


def check_value(name: str, value: object) -> str | None:
    """None for a good value of a known, settable parameter, else the problem."""
    param = TABLE[name]
    if param.kind is Kind.BOOLEAN:
        if isinstance(value, bool):
            return None
        return f"{describe(value)} for a boolean parameter (expected true or false)"
    if param.kind is Kind.INTEGER:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"{describe(value)} for an integer parameter (expected an integer)"
        if (
            param.low is not None
            and param.high is not None
            and not param.low <= value <= param.high
        ):
            return f"{value} is out of range (expected {param.low} to {param.high})"
        return None
    if not isinstance(value, str):
        return f"{describe(value)} for a {param.kind.value} parameter (expected a string)"
    if param.kind is Kind.CHOICE and value not in param.choices:
        return f"invalid value {value!r} (expected one of: {', '.join(param.choices)})"
    if not STRING_VALUE.fullmatch(value):
        return f"invalid value {value!r} (expected A-Z a-z 0-9 _ . / : = @ % + , -)"
    return None


def describe(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    return f"string {value!r}" if isinstance(value, str) else "a value"


def for_templates() -> list[dict[str, object]]:
    """The table as plain data, sorted by name, for the module's Ruby copy."""
    return [
        {
            "name": p.name,
            "kind": p.kind.value,
            "refused": p.refused,
            "low": p.low,
            "high": p.high,
            "choices": list(p.choices),
        }
        for _, p in sorted(TABLE.items())
    ]


def json_schema() -> dict[str, object]:
    """The parameters the catalog may set, typed, for editors (the catalog's
    own checks are `check_name` and `check_value`)."""
    properties: dict[str, object] = {}
    for name, p in sorted(TABLE.items()):
        if p.refused is not None:
            continue
        if p.kind is Kind.BOOLEAN:
            properties[name] = {"type": "boolean"}
        elif p.kind is Kind.INTEGER:
            properties[name] = {"type": "integer", "minimum": p.low, "maximum": p.high}
        elif p.kind is Kind.CHOICE:
            properties[name] = {"enum": list(p.choices)}
        else:
            properties[name] = {"type": "string", "pattern": STRING_VALUE.pattern}
    return {"type": "object", "properties": properties, "additionalProperties": False}
