"""pfctl(8) and the pf(4) state it acts on, as far as the module uses them: the
rdr rules of one anchor, replaced as a whole by `pfctl -a ANCHOR -f FILE`, and
the states that keep an established connection on the translation it was made
with (pf.conf(5) TRANSLATION: "the translated address is kept in the state").

Modelled: `-a ANCHOR` with `-f FILE` (`-n` only parses), `-f FILE` of the main
ruleset, `-e` / `-d`, `-s nat` / `-sn` (of an anchor or the main ruleset),
`-s info` / `-si` (its first line), `-s Interfaces -v` / `-sI -v` (the group
`all`, each interface's driver group and each interface, marked `(skip)` where
`set skip` names it, as print_iface does), `-s state` / `-ss`. An anchor's rule
language is pf.conf(5)'s rdr rule:

    rdr [pass] [on IFACE] [inet] proto tcp from any to ADDR port PORT -> ADDR port PORT

The main ruleset (pf.conf) may also hold `set skip on IFACE` (an interface,
or an interface group such as `lo`, which every lo interface belongs to),
translation
anchor hooks (`rdr-anchor "NAME"`, `nat-anchor "NAME"`), filter anchor hooks
(`anchor "NAME"`) and filter rules (`pass ...`, `block ...`, kept as text).
Comments (`#`) and blank lines are skipped. A connection is made with
`connect()` (what a client on the host does): while pf is enabled, it matches
the rdr rules of the main ruleset and of the anchors the main ruleset hooks
with `rdr-anchor`, in order, when it is new (an anchor loaded but not hooked
is never evaluated), and keeps its state afterwards.
"""

from __future__ import annotations

import getopt
import ipaddress
import re
from typing import Any

from .host import Host, Output, ToolError

RDR = re.compile(
    r"rdr(?P<pass> pass)?(?: on (?P<iface>[a-z]+[0-9]+))?(?: inet)? proto tcp from any"
    r" to (?P<to>\S+) port (?:= )?(?P<port>\d+) -> (?P<target>\S+) port (?P<tport>\d+)"
)
HOOK = re.compile(r'(?P<kind>rdr-anchor|nat-anchor|anchor) "(?P<name>[A-Za-z0-9_/*-]+)"(?: all)?')
SKIP = re.compile(r"set skip on (?:\{ ?)?(?P<ifaces>[a-z]+[0-9]*(?:,? [a-z]+[0-9]*)*)(?: ?\})?")
FILTER = re.compile(r"(?:pass|block)(?: .*)?")
NOT_LOADED = "pfctl: Syntax error in config file: pf rules not loaded"


def _pf(host: Host) -> dict[str, Any]:
    pf = host.state.setdefault("pf", {"anchors": {}, "states": []})
    pf.setdefault("enabled", False)
    pf.setdefault("main", [])
    return pf


def parse_main(text: str, source: str) -> list[dict[str, Any]]:
    """The main ruleset of a pf.conf: hooks, skips, rdr rules and filter rules."""
    rules: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"\s+", " ", raw.split("#", 1)[0].strip())
        if not line:
            continue
        if hook := HOOK.fullmatch(line):
            rules.append({"kind": hook["kind"], "name": hook["name"]})
        elif skip := SKIP.fullmatch(line):
            rules.append({"kind": "skip", "interfaces": re.split(r",? ", skip["ifaces"])})
        elif FILTER.fullmatch(line):
            rules.append({"kind": "filter", "text": line})
        elif line.startswith("rdr "):
            try:
                rules.append({"kind": "rdr", **parse(line, source)[0]})
            except ToolError:
                errors.append(f"{source}:{number}: syntax error")
        else:
            errors.append(f"{source}:{number}: syntax error")
    if errors:
        raise ToolError("\n".join([*errors, NOT_LOADED]), 1)
    return rules


def parse(text: str, source: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = RDR.fullmatch(re.sub(r"\s+", " ", line))
        try:
            if match is None:
                raise ValueError
            for key in ("to", "target"):
                ipaddress.IPv4Address(match[key])
            ports = int(match["port"]), int(match["tport"])
            if not all(1 <= p <= 65535 for p in ports):
                raise ValueError
        except ValueError:
            errors.append(f"{source}:{number}: syntax error")
            continue
        rules.append(
            {
                "pass": bool(match["pass"]),
                "interface": match["iface"],
                "to": match["to"],
                "port": ports[0],
                "target": match["target"],
                "target_port": ports[1],
            }
        )
    if errors:
        raise ToolError("\n".join([*errors, NOT_LOADED]), 1)
    return rules


def format_rule(rule: dict[str, Any]) -> str:
    on = f" on {rule['interface']}" if rule["interface"] else ""
    passing = " pass" if rule["pass"] else ""
    return (
        f"rdr{passing}{on} inet proto tcp from any to {rule['to']} port = {rule['port']}"
        f" -> {rule['target']} port {rule['target_port']}"
    )


def _group(interface: str) -> str:
    """The interface group an interface belongs to by its driver (lo1: lo)."""
    return interface.rstrip("0123456789")


def _skipped(pf: dict[str, Any]) -> set[str]:
    return {name for r in pf["main"] if r["kind"] == "skip" for name in r["interfaces"]}


def _translations(pf: dict[str, Any], interface: str) -> list[dict[str, Any]]:
    """The rdr rules a new connection on `interface` meets, in evaluation order:
    the main ruleset's own, and those of each anchor it hooks with rdr-anchor."""
    if not pf["enabled"] or {interface, _group(interface)} & _skipped(pf):
        return []
    rules: list[dict[str, Any]] = []
    for rule in pf["main"]:
        if rule["kind"] == "rdr":
            rules.append(rule)
        elif rule["kind"] == "rdr-anchor":
            rules += pf["anchors"].get(rule["name"], [])
    return [r for r in rules if r["interface"] in (None, interface)]


def translate(host: Host, to: str, port: int, interface: str = "lo1") -> tuple[str, int] | None:
    """Where a new TCP connection to `to:port` whose packets pass `interface`
    would go (a jail network's service addresses route over its cloned
    interface): the target of the first matching rdr rule, or None."""
    rule = next(
        (r for r in _translations(_pf(host), interface) if r["to"] == to and r["port"] == port),
        None,
    )
    return None if rule is None else (rule["target"], rule["target_port"])


def connect(host: Host, source: str, to: str, port: int, interface: str = "lo1") -> tuple[str, int]:
    """A new TCP connection from `source` to `to:port`: translated as
    `translate` says, and kept in a state. Returns where it goes."""
    target = translate(host, to, port, interface) or (to, port)
    _pf(host)["states"].append(
        {"source": source, "to": [to, port], "target": list(target), "open": True}
    )
    return target


def state_target(host: Host, source: str, to: str, port: int) -> tuple[str, int] | None:
    """Where an open connection's packets go: its state's translation."""
    for state in _pf(host)["states"]:
        if state["open"] and state["source"] == source and state["to"] == [to, port]:
            return state["target"][0], state["target"][1]
    return None


def close(host: Host, source: str) -> None:
    for state in _pf(host)["states"]:
        if state["source"] == source:
            state["open"] = False


def _enable(pf: dict[str, Any], out: Output, enable: bool, quiet: bool) -> None:
    """`pfctl -e` / `-d`: DIOCSTART / DIOCSTOP, which refuse a second start or
    stop (pfctl.c: errx "pf already enabled" / "pf not enabled")."""
    if pf["enabled"] == enable:
        raise ToolError("pfctl: pf already enabled" if enable else "pfctl: pf not enabled", 1)
    pf["enabled"] = enable
    if not quiet:
        out.warn("pf enabled" if enable else "pf disabled")


def pfctl(host: Host, out: Output, args: list[str]) -> None:
    try:
        opts, rest = getopt.getopt(args, "a:def:ns:qv")
    except getopt.GetoptError as error:
        raise ToolError(f"pfctl: {error.msg}\nusage: pfctl [-AdeghMmNnOPqRrvz] ...", 1) from None
    if rest:
        raise ToolError(f"pfctl: unknown command '{rest[0]}'", 1)
    options = dict(opts)
    anchor = options.get("-a", "")
    pf = _pf(host)
    if "-e" in options or "-d" in options:
        _enable(pf, out, "-e" in options, "-q" in options)
        return
    if "-f" in options:
        source = options["-f"]
        local = host.path(source) if source.startswith(("/etc", "/usr/local", "/var")) else None
        if local is None:
            raise ToolError(f"fbmodel: pfctl -f {source} outside the model is not modelled", 3)
        if not local.is_file():
            missing = "pfctl: cannot open the main config file!: No such file or directory"
            raise ToolError(f"{missing}\n{NOT_LOADED}", 1)
        if not anchor:
            main = parse_main(local.read_text(), source)
            if "-n" not in options:
                pf["main"] = main  # the main ruleset as a whole; anchors and states stay
            return
        rules = parse(local.read_text(), source)
        if "-n" not in options:
            pf["anchors"][anchor] = rules  # the whole anchor at once; states stay
        return
    show = options.get("-s")
    if show in ("nat", "n"):
        if not anchor:
            for rule in pf["main"]:
                if rule["kind"] in ("rdr-anchor", "nat-anchor"):
                    out.print(f'{rule["kind"]} "{rule["name"]}" all')
                elif rule["kind"] == "rdr":
                    out.print(format_rule(rule))
            return
        if anchor not in pf["anchors"]:
            raise ToolError("pfctl: DIOCGETRULES: Invalid argument", 1)
        for rule in pf["anchors"][anchor]:
            out.print(format_rule(rule))
        return
    if show in ("Interfaces", "I"):
        names = {"all"} | {n for i in host.state["interfaces"] for n in (i, _group(i))}
        for name in sorted(names):
            flag = " (skip)" if "-v" in options and name in _skipped(pf) else ""
            out.print(f"{name}{flag}")
        return
    if show in ("info", "i"):
        status = "Enabled" if pf["enabled"] else "Disabled"
        out.print(f"Status: {status} for 0 days 00:00:00           Debug: Urgent")
        return
    if show in ("state", "s"):
        for state in pf["states"]:
            if state["open"]:
                to, target = state["to"], state["target"]
                out.print(
                    f"all tcp {target[0]}:{target[1]} ({to[0]}:{to[1]}) <- {state['source']}"
                    "       ESTABLISHED:ESTABLISHED"
                )
        return
    raise ToolError(f"fbmodel: pfctl {' '.join(args)} is not modelled", 3)
