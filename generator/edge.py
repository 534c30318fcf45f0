"""The public edge of an app in the catalog: who may reach its test domain
(`test_access`), what its live domains show in maintenance (`maintenance`),
and the certificate its domains are served with over HTTPS (`tls`).

`test_access` and `maintenance` have a site default (`site.test_access`,
`site.maintenance`) that an app's own key replaces as a whole; `site.tls` holds
the HTTPS port and HSTS. The values reach NGINX configuration and Puppet
code, so networks are parsed as CIDR and file paths are checked against a
strict pattern: nothing can inject a directive.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from generator.catalog import _Reader

# An absolute file path of safe characters, no `.` or `..` component, no
# trailing slash: it is written into nginx.conf and Puppet code as it is.
FILE_PATH = re.compile(r"^(?:/(?!\.\.?(?:/|$))[A-Za-z0-9_.+@-]+)+$")
# A maintenance message: one line of printable text (it is HTML-escaped into the page).
MESSAGE = re.compile(r"^[^\x00-\x1f\x7f]{1,300}$")
DEFAULT_MESSAGE = "This site is down for maintenance. Please come back soon."
DEFAULT_RETRY_AFTER = 600


@dataclass(frozen=True)
class TestAccess:
    """Who may reach a test domain: clients from `networks`, or with a password
    from the htpasswd file `htpasswd` on the host; everyone else gets 403 (401
    when there is a password file)."""

    networks: tuple[str, ...] = ()
    htpasswd: str | None = None

    def to_hiera(self) -> dict[str, Any]:
        data: dict[str, Any] = {"networks": list(self.networks)}
        if self.htpasswd is not None:
            data["htpasswd"] = self.htpasswd
        return data


@dataclass(frozen=True)
class MaintenancePage:
    """What the live domains answer in maintenance: 503, `Retry-After:
    retry_after` and a page with `message` (unless `jailgen maintenance
    --message` gives another)."""

    message: str = DEFAULT_MESSAGE
    retry_after: int = DEFAULT_RETRY_AFTER


@dataclass(frozen=True)
class AppTls:
    """How an app's live domains and test domain get their certificates for
    HTTPS: files on its hosts (`cert`, full chain, and `key`), or (`acme`)
    obtained and renewed by each host from the site's ACME server."""

    cert: str | None = None
    key: str | None = None
    acme: bool = False


@dataclass(frozen=True)
class Acme:
    """The ACME server the hosts get certificates from (http-01, served by
    their NGINX from `webroot`), the account's contact, and optionally a CA
    bundle to trust for the server's own HTTPS (a private ACME server)."""

    directory: str
    email: str
    webroot: str | None = None
    ca_bundle: str | None = None


@dataclass(frozen=True)
class SiteTls:
    """HTTPS on every host: the port, HSTS, and the ACME server."""

    https_port: int = 443
    hsts: bool = False
    acme: Acme | None = None


ACME_DIRECTORY = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def check_network(value: str) -> str | None:
    expected = "an IPv4 network in CIDR form with no host bits set, like 192.0.2.0/24"
    if "/" not in value:
        return expected
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return expected
    return None


def check_file_path(value: str) -> str | None:
    if FILE_PATH.match(value):
        return None
    return "an absolute file path of A-Z a-z 0-9 _ . + @ - with no '.' or '..' component"


MESSAGE_EXPECTED = "one line of 1 to 300 printable characters"


def check_message(value: str) -> str | None:
    return None if MESSAGE.match(value) else MESSAGE_EXPECTED


def read_test_access(r: _Reader, node: yaml.Node, path: str) -> TestAccess | None:
    entries = r.mapping(node, path)
    if entries is None:
        return None
    before = len(r.problems)
    r.keys(node, entries, path, required=(), optional=("networks", "htpasswd"))
    if not entries:
        r.error(
            node,
            path,
            "is empty (expected networks, htpasswd or both; networks: [0.0.0.0/0] "
            "opens the test domain to everyone)",
        )
    networks: list[str] | None = []
    if "networks" in entries:
        networks = r.sequence(entries["networks"][1], f"{path}.networks", _string(r, check_network))
        if networks is not None and not networks:
            r.error(
                entries["networks"][1],
                f"{path}.networks",
                "is empty (expected at least one network, or leave the key out)",
            )
    htpasswd = None
    if "htpasswd" in entries:
        htpasswd = r.string(entries["htpasswd"][1], f"{path}.htpasswd", check_file_path)
    if len(r.problems) > before or networks is None:
        return None
    return TestAccess(tuple(dict.fromkeys(networks)), htpasswd)


def read_maintenance(r: _Reader, node: yaml.Node, path: str) -> MaintenancePage | None:
    entries = r.mapping(node, path)
    if entries is None:
        return None
    before = len(r.problems)
    r.keys(node, entries, path, required=(), optional=("message", "retry_after"))
    values: dict[str, Any] = {}
    if "message" in entries:
        values["message"] = r.string(entries["message"][1], f"{path}.message", check_message)
    if "retry_after" in entries:
        values["retry_after"] = r.integer(
            entries["retry_after"][1], f"{path}.retry_after", 1, 86400
        )
    if len(r.problems) > before:
        return None
    return MaintenancePage(**values)


def _string(r: _Reader, check: Callable[[str], str | None]) -> Callable[[yaml.Node, str], Any]:
    return lambda node, path: r.string(node, path, check)


def read_app_tls(r: _Reader, node: yaml.Node, path: str) -> AppTls | None:
    entries = r.mapping(node, path)
    if entries is None:
        return None
    before = len(r.problems)
    if "acme" in entries:
        for key, (key_node, _) in entries.items():
            if key != "acme":
                r.error(
                    key_node,
                    f"{path}.{key}",
                    "cannot be combined with acme (expected acme: true alone, or cert and key)",
                )
        acme = entries["acme"][1]
        if not (isinstance(acme, yaml.ScalarNode) and acme.value == "true"):
            r.error(acme, f"{path}.acme", "must be true (expected acme: true, or cert and key)")
        return None if len(r.problems) > before else AppTls(acme=True)
    r.keys(node, entries, path, required=("cert", "key"), optional=("acme",))
    values = {
        key: r.string(entries[key][1], f"{path}.{key}", check_file_path)
        for key in ("cert", "key")
        if key in entries
    }
    if len(r.problems) > before:
        return None
    return AppTls(cert=values["cert"], key=values["key"])


def check_acme_configured(
    r: _Reader, site: SiteTls, app: str, fields: dict[str, tuple[yaml.Node, yaml.Node]]
) -> None:
    """An app with `tls: {acme: true}` needs the site's ACME server."""
    if site.acme is not None or "tls" not in fields:
        return
    tls = fields["tls"][1]
    acme = next(
        (v for k, v in getattr(tls, "value", []) if getattr(k, "value", "") == "acme"), None
    )
    if acme is not None:
        r.error(
            acme,
            f"apps.{app}.tls.acme",
            "needs site.tls.acme (expected its directory and email)",
        )


def read_site_tls(r: _Reader, node: yaml.Node, path: str) -> SiteTls | None:
    entries = r.mapping(node, path)
    if entries is None:
        return None
    before = len(r.problems)
    r.keys(node, entries, path, required=(), optional=("https_port", "hsts", "acme"))
    values: dict[str, Any] = {}
    if "https_port" in entries:
        values["https_port"] = r.integer(entries["https_port"][1], f"{path}.https_port", 1, 65535)
    if "hsts" in entries:
        hsts = entries["hsts"][1]
        if not (isinstance(hsts, yaml.ScalarNode) and hsts.tag == "tag:yaml.org,2002:bool"):
            from generator.catalog import _kind  # the catalog imports this module

            r.error(hsts, f"{path}.hsts", f"is {_kind(hsts)} (expected true or false)")
        else:
            values["hsts"] = r.scalar(hsts)
    if "acme" in entries:
        values["acme"] = _read_acme(r, entries["acme"][1], f"{path}.acme")
    if len(r.problems) > before:
        return None
    return SiteTls(**values)


def _read_acme(r: _Reader, node: yaml.Node, path: str) -> Acme | None:
    entries = r.mapping(node, path)
    if entries is None:
        return None
    r.keys(node, entries, path, required=("directory", "email"), optional=("webroot", "ca_bundle"))
    checks: dict[str, Callable[[str], str | None]] = {
        "directory": lambda v: None if ACME_DIRECTORY.match(v) else "an https:// URL",
        "email": lambda v: None if EMAIL.match(v) else "an email address",
        "webroot": check_file_path,
        "ca_bundle": check_file_path,
    }
    values = {
        key: r.string(entries[key][1], f"{path}.{key}", check)
        for key, check in checks.items()
        if key in entries
    }
    if any(v is None for v in values.values()) or not {"directory", "email"} <= set(values):
        return None
    return Acme(**values)  # type: ignore[arg-type]
