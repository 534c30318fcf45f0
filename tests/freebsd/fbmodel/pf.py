"""pfctl(8) and the pf(4) state it acts on, as far as the module uses them: the
rdr rules of one anchor, replaced as a whole by `pfctl -a ANCHOR -f FILE`, and
the states that keep an established connection on the translation it was made
with (pf.conf(5) TRANSLATION: "the translated address is kept in the state").

Modelled: `-a ANCHOR` with `-f FILE` (`-n` only parses), `-s nat` / `-sn`,
`-s state` / `-ss`. The rule language is pf.conf(5)'s rdr rule:

    rdr [pass] [on IFACE] [inet] proto tcp from any to ADDR port PORT -> ADDR port PORT

Comments (`#`) and blank lines are skipped. A connection is made with
`connect()` (what a client on the host does): it matches the anchor's rules
when it is new and keeps its state afterwards.
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
NOT_LOADED = "pfctl: Syntax error in config file: pf rules not loaded"


def _pf(host: Host) -> dict[str, Any]:
    return host.state.setdefault("pf", {"anchors": {}, "states": []})


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


def connect(host: Host, source: str, to: str, port: int) -> tuple[str, int]:
    """A new TCP connection from `source` to `to:port`: translated by the first
    matching rdr rule of any anchor, and kept in a state. Returns where it goes."""
    pf = _pf(host)
    target = (to, port)
    for anchor in sorted(pf["anchors"]):
        rule = next((r for r in pf["anchors"][anchor] if r["to"] == to and r["port"] == port), None)
        if rule is not None:
            target = (rule["target"], rule["target_port"])
            break
    pf["states"].append({"source": source, "to": [to, port], "target": list(target), "open": True})
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


def pfctl(host: Host, out: Output, args: list[str]) -> None:
    try:
        opts, rest = getopt.getopt(args, "a:f:ns:qv")
    except getopt.GetoptError as error:
        raise ToolError(f"pfctl: {error.msg}\nusage: pfctl [-AdeghMmNnOPqRrvz] ...", 1) from None
    if rest:
        raise ToolError(f"pfctl: unknown command '{rest[0]}'", 1)
    options = dict(opts)
    anchor = options.get("-a", "")
    pf = _pf(host)
    if "-f" in options:
        if not anchor:
            raise ToolError("fbmodel: pfctl -f of the main ruleset is not modelled", 3)
        source = options["-f"]
        local = host.path(source) if source.startswith(("/etc", "/usr/local", "/var")) else None
        if local is None:
            raise ToolError(f"fbmodel: pfctl -f {source} outside the model is not modelled", 3)
        if not local.is_file():
            missing = "pfctl: cannot open the main config file!: No such file or directory"
            raise ToolError(f"{missing}\n{NOT_LOADED}", 1)
        rules = parse(local.read_text(), source)
        if "-n" not in options:
            pf["anchors"][anchor] = rules  # the whole anchor at once; states stay
        return
    show = options.get("-s")
    if show in ("nat", "n"):
        if anchor not in pf["anchors"]:
            raise ToolError("pfctl: DIOCGETRULES: Invalid argument", 1)
        for rule in pf["anchors"][anchor]:
            out.print(format_rule(rule))
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
