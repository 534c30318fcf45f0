"""ifconfig(8): cloned loopback interfaces and their IPv4 addresses.

Covers what the jail set-up uses: `ifconfig lo1 create|destroy`, `ifconfig
lo1 [inet]` (shown as FreeBSD 14 shows it), `ifconfig lo1 inet ADDR[/LEN]
[netmask MASK] [alias|-alias|delete]`, `ifconfig -l`, `ifconfig lo create`.
Errors are ifconfig's own err(3) messages for the ioctl that fails.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from .host import Host, Output, ToolError

CLONABLE = re.compile(r"\A(lo|bridge|epair|tun|vlan)([0-9]+)\Z")
LOOPBACK_OPTIONS = "options=680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>"


def usage() -> ToolError:
    return ToolError(
        "usage: ifconfig [-j jail] [-f type:format] interface address_family\n"
        "                [address [dest_address]] [parameters]\n"
        "       ifconfig [-j jail] interface create\n"
        "       ifconfig [-j jail] -a [-dDkmuv] [-f type:format] [-G groupname]\n"
        "                [-g groupname] [address_family]\n"
        "       ifconfig -C\n"
        "       ifconfig -g groupname\n"
        "       ifconfig [-j jail] -l [-du] [address_family]",
        1,
    )


def parse_address(text: str, netmask: str | None) -> ipaddress.IPv4Interface:
    try:
        if netmask is not None:
            mask = int(netmask, 16) if netmask.startswith("0x") else None
            if mask is not None:
                netmask = str(ipaddress.IPv4Address(mask))
            return ipaddress.IPv4Interface(f"{text}/{netmask}")
        if "/" in text:
            return ipaddress.IPv4Interface(text)
        # ifconfig(8): without a mask, a class-full one is used for the first
        # address; jail(8) and the module always give one.
        return ipaddress.IPv4Interface(f"{text}/32")
    except ValueError:
        raise ToolError(
            "ifconfig: error in parsing address string: "
            "hostname nor servname provided, or not known"
        ) from None


class Ifconfig:
    def __init__(self, host: Host, out: Output, jail: str | None = None) -> None:
        self.host = host
        self.out = out
        self.jail = jail
        self.interfaces: dict[str, dict[str, Any]] = host.state["interfaces"]

    def require(self, name: str) -> dict[str, Any]:
        # ifconfig(8) on an interface that does not exist.
        if name not in self.interfaces:
            raise ToolError(f"ifconfig: interface {name} does not exist")
        return self.interfaces[name]

    def visible(self, name: str) -> list[list[Any]]:
        addresses: list[list[Any]] = self.interfaces[name]["addresses"]
        if self.jail is None:
            return addresses
        jailed = set(self.host.state["jails"][self.jail].get("ip4", []))
        return [a for a in addresses if a[0] in jailed]

    def show(self, name: str, only_inet: bool = False) -> None:
        record = self.interfaces[name]
        addresses = self.visible(name)
        if name.startswith("lo"):
            flags = (
                "8049<UP,LOOPBACK,RUNNING,MULTICAST>"
                if record["up"]
                else "8008<LOOPBACK,MULTICAST>"
            )
            self.out.print(f"{name}: flags={flags} metric 0 mtu 16384")
            self.out.print(f"\t{LOOPBACK_OPTIONS}")
        else:
            flags = "1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP>"
            self.out.print(f"{name}: flags={flags} metric 0 mtu 1500")
            self.out.print(
                "\toptions=4e527bb<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,JUMBO_MTU,VLAN_HWCSUM>"
            )
            if not only_inet:
                self.out.print(f"\tether {record.get('ether', '58:9c:fc:00:00:01')}")
        for address, prefix in addresses:
            mask = int(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)
            line = f"\tinet {address} netmask 0x{mask:08x}"
            if not name.startswith("lo"):
                network = ipaddress.IPv4Interface(f"{address}/{prefix}").network
                line += f" broadcast {network.broadcast_address}"
            self.out.print(line)
        if not only_inet:
            self.out.print(
                "\tgroups: lo" if name.startswith("lo") else "\tmedia: Ethernet autoselect"
            )
            if name.startswith("lo"):
                self.out.print("\tnd6 options=29<PERFORMNUD,IFDISABLED,AUTO_LINKLOCAL>")

    def run(self, args: list[str]) -> None:
        if not args or args == ["-a"]:
            for name in sorted(self.interfaces):
                self.show(name)
            return
        if args[0] == "-l":
            self.out.print(" ".join(sorted(self.interfaces)))
            return
        if args[0].startswith("-"):
            raise usage()
        name, rest = args[0], args[1:]
        if rest == ["create"]:
            self.create(name)
            return
        record = self.require(name)
        if not rest:
            self.show(name)
            return
        if rest == ["inet"]:
            self.show(name, only_inet=True)
            return
        if rest == ["destroy"]:
            if not record.get("cloned"):
                raise ToolError("ifconfig: SIOCIFDESTROY: Invalid argument")
            del self.interfaces[name]
            return
        if rest in (["up"], ["down"]):
            record["up"] = rest[0] == "up"
            return
        if rest[0] != "inet" or len(rest) < 2:
            raise usage()
        self.address(name, record, rest[1:])

    def create(self, name: str) -> None:
        generic = re.fullmatch(r"(lo|bridge|epair|tun|vlan)", name)
        if generic:
            number = 0
            while f"{name}{number}" in self.interfaces:
                number += 1
            name = f"{name}{number}"
            self.out.print(name)
        elif not CLONABLE.match(name):
            raise ToolError(f"ifconfig: SIOCIFCREATE2 ({name}): Invalid argument")
        if name in self.interfaces:
            # ifconfig(8) create: the SIOCIFCREATE2 ioctl fails with EEXIST.
            raise ToolError(f"ifconfig: SIOCIFCREATE2 ({name}): File exists")
        self.interfaces[name] = {"addresses": [], "cloned": True, "up": False}

    def address(self, name: str, record: dict[str, Any], words: list[str]) -> None:
        text, netmask, action = words[0], None, "set"
        i = 1
        while i < len(words):
            word = words[i]
            if word == "netmask" and i + 1 < len(words):
                netmask = words[i + 1]
                i += 2
                continue
            if word in ("alias", "add"):
                action = "alias"
            elif word in ("-alias", "delete", "remove"):
                action = "delete"
            elif word == "up":
                pass
            else:
                raise ToolError(f"ifconfig: {word}: bad value")
            i += 1
        interface = parse_address(text, netmask)
        entry = [str(interface.ip), interface.network.prefixlen]
        present = [a for a in record["addresses"] if a[0] == entry[0]]
        if action == "delete":
            if not present:
                raise ToolError("ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address")
            record["addresses"].remove(present[0])
            return
        if action == "alias" and present:
            raise ToolError("ifconfig: ioctl (SIOCAIFADDR): File exists")
        if action == "set" and record["addresses"]:
            record["addresses"][0] = entry
        elif not present:
            record["addresses"].append(entry)
        record["up"] = True


def main(host: Host, out: Output, args: list[str], jail: str | None = None) -> None:
    Ifconfig(host, out, jail).run(args)
