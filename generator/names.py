"""What a valid name, domain, path or value looks like.

Everything that reaches NGINX config, jail.conf, Puppet code or a command line
passes one of these checks first, so nothing from the catalog can inject into them.
Each check returns None when the value is good, else what was expected.
"""

from __future__ import annotations

import ipaddress
import re

APP_NAME = re.compile(r"^[a-z][a-z0-9]{0,29}$")
MODULE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SHA = re.compile(r"^[0-9a-f]{40}$")
JAIL_NAME = re.compile(r"^[a-z][a-z0-9]{0,29}_[0-9a-f]{12}$")
HOSTNAME_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ZFS_DATASET = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]*(?:/[A-Za-z0-9][A-Za-z0-9_.:-]*)*$")
ABS_PATH = re.compile(r"^/(?:[A-Za-z0-9._+-]+/?)*$")
URL_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ARG = re.compile(r"^[A-Za-z0-9_./:=@%+,-]+$")
ENV_VALUE = re.compile(r"^[A-Za-z0-9_./:=@%+, -]*$")
FREEBSD_RELEASE = re.compile(r"^[0-9]+\.[0-9]+-(?:RELEASE|STABLE|CURRENT|BETA[0-9]*|RC[0-9]*)$")
INTERFACE = re.compile(r"^[a-z]+[0-9]*$")
GIT_SOURCE = re.compile(
    r"^(?:(?:https?|ssh|git|file)://[A-Za-z0-9._~:/@%+-]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:"
    r"[A-Za-z0-9._~/+-]+|/[A-Za-z0-9._~/+-]*)$"
)


def jail_name(app: str, sha: str) -> str:
    """The jail of a release: `<app>_<sha12>`, a valid jail, ZFS and host name."""
    return f"{app}_{sha[:12]}"


def check_hostname(value: str) -> str | None:
    if len(value) > 253:
        return "a hostname of at most 253 characters"
    labels = value.split(".")
    if all(HOSTNAME_LABEL.fullmatch(label) for label in labels):
        return None
    return "a lowercase hostname: labels of a-z, 0-9 and inner '-', separated by '.'"


def check_domain(value: str) -> str | None:
    if len(value) <= 253 and "." in value and HOSTNAME.fullmatch(value):
        return None  # the common case, in one match
    problem = check_hostname(value)
    if problem:
        return problem
    if "." not in value:
        return "a fully qualified domain name with at least one '.'"
    return None


def check_network(value: str) -> str | None:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return "an IPv4 network in CIDR form with no host bits set, like 172.16.0.0/12"
    if net.prefixlen > 30:
        return "a network of /30 or larger"
    return None


def check_ipv4(value: str) -> str | None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return "an IPv4 address like 127.0.0.1"
    return None


HOSTNAME = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)
ENDPOINT = re.compile(r"^(?P<host>[a-z0-9.-]+):(?P<port>[0-9]{1,5})$")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def check_endpoint(value: str) -> str | None:
    expected = "host:port, like puppetdb.example.net:8081"
    match = ENDPOINT.fullmatch(value)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        return expected
    host = match["host"]
    if check_hostname(host) and check_ipv4(host):
        return expected
    return None


def check_freebsd_release(value: str) -> str | None:
    # The jails' /etc/jail.conf uses `.include` (FreeBSD 14.0 and later; older
    # jail(8) reads it as a parameter and starts no jail), and jail parameters
    # are checked against FreeBSD 14's jail(8).
    if not FREEBSD_RELEASE.fullmatch(value):
        return "a FreeBSD release like 14.1-RELEASE"
    if int(value.split(".", 1)[0]) < 14:
        return "FreeBSD 14.0 or newer, like 14.1-RELEASE"
    return None
