"""The public edge of an app in the catalog: who may reach its test domain
(`test_access`), what its live domains show in maintenance (`maintenance`),
and how its domains get certificates for HTTPS (`tls`).

`test_access` and `maintenance` have a site default (`site.test_access`,
`site.maintenance`) that an app's own key replaces as a whole (`Catalog` fills
them in); `site.tls` holds the HTTPS port, HSTS and the ACME server. The values
reach NGINX configuration and Puppet code, so networks are parsed as CIDR and
file paths are checked against a strict pattern: nothing can inject a directive.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema, model_validator
from pydantic.functional_validators import ModelWrapValidatorHandler

from generator import catalog_fields as f
from generator.catalog_fields import Model

# An absolute file path of safe characters, no `.` or `..` component, no
# trailing slash.
FILE_PATH = re.compile(r"^(?:/(?!\.\.?(?:/|$))[A-Za-z0-9_.+@-]+)+$")
# A maintenance message: one line of printable text (it is HTML-escaped into the page).
MESSAGE = re.compile(r"^[^\x00-\x1f\x7f]{1,300}$")
MESSAGE_EXPECTED = "one line of 1 to 300 printable characters"
ACME_DIRECTORY = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def _check_cidr(value: str) -> str | None:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        value = ""
    return (
        None
        if "/" in value
        else "an IPv4 network in CIDR form with no host bits set, like 192.0.2.0/24"
    )


def check_message(value: str) -> str | None:
    """None for a maintenance message jailgen can show, else what was expected."""
    return None if MESSAGE.fullmatch(value) else MESSAGE_EXPECTED


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise f.problem(f"is {f.kind_of_value(value)} (expected true or false)")
    return value


FilePath = Annotated[
    str,
    f.Matching(
        FILE_PATH, "an absolute file path of A-Z a-z 0-9 _ . + @ - with no '.' or '..' component"
    ),
]
Cidr = Annotated[str, f.Checked(_check_cidr, pattern=r"^[0-9.]+/[0-9]+$")]
Message = Annotated[str, f.Matching(MESSAGE, MESSAGE_EXPECTED)]
AcmeDirectory = Annotated[str, f.Matching(ACME_DIRECTORY, "an https:// URL")]
Email = Annotated[str, f.Matching(EMAIL, "an email address")]
Flag = Annotated[bool, PlainValidator(_flag), WithJsonSchema({"type": "boolean"})]


DEFAULT_MESSAGE = "This site is down for maintenance. Please come back soon."


class TestAccess(Model):
    """Who may reach a test domain: clients from `networks`, or with a password
    from the htpasswd file `htpasswd` on the host; everyone else gets 403 (401
    when there is a password file)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    networks: Annotated[
        tuple[Cidr, ...], f.NonEmpty("at least one network, or leave the key out")
    ] = ()
    htpasswd: FilePath | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_empty(cls, data: Any) -> Any:
        if data == {}:
            raise f.problem(
                "is empty (expected networks, htpasswd or both; networks: [0.0.0.0/0] "
                "opens the test domain to everyone)"
            )
        if isinstance(data, dict) and isinstance(data.get("networks"), tuple):
            return {**data, "networks": tuple(dict.fromkeys(data["networks"]))}
        return data

    def __init__(self, *args: Any, **data: Any):  # positional too, as before
        super().__init__(**dict(zip(("networks", "htpasswd"), args, strict=False)), **data)

    def to_hiera(self) -> dict[str, Any]:
        data: dict[str, Any] = {"networks": list(self.networks)}
        if self.htpasswd is not None:
            data["htpasswd"] = self.htpasswd
        return data


class MaintenancePage(Model):
    """What the live domains answer in maintenance: 503, `Retry-After:
    retry_after` and a page with `message` (unless `jailgen maintenance
    --message` gives another)."""

    message: Message = DEFAULT_MESSAGE
    retry_after: Annotated[int, f.Between(1, 86400)] = 600

    def __init__(self, *args: Any, **data: Any):  # positional too, as before
        super().__init__(**dict(zip(("message", "retry_after"), args, strict=False)), **data)


class AppTls(Model):
    """How an app's live domains and test domain get their certificates for
    HTTPS: files on its hosts (`cert`, full chain, and `key`), or (`acme`)
    obtained and renewed by each host from the site's ACME server."""

    cert: FilePath | None = None
    key: FilePath | None = None
    acme: Annotated[bool, WithJsonSchema({"const": True})] = False

    @model_validator(mode="wrap")
    @classmethod
    def _files_or_acme(cls, data: Any, handler: ModelWrapValidatorHandler[AppTls]) -> AppTls:
        if not isinstance(data, dict) or "acme" not in data:
            missing = [k for k in ("cert", "key") if isinstance(data, dict) and k not in data]
            return f.requiring(handler, data, missing)
        found: list[tuple[f.Loc, str]] = [
            (
                (k, "[key]"),
                "cannot be combined with acme (expected acme: true alone, or cert and key)",
            )
            for k in data
            if k != "acme"
        ]
        if data["acme"] != "true":  # as written: `yes` is not `true` here
            found.append((("acme",), "must be true (expected acme: true, or cert and key)"))
        if found:
            raise f.problems(found)
        return handler({"acme": True})


class Acme(Model):
    """The ACME server the hosts get certificates from (http-01, served by
    their NGINX from `webroot`), the account's contact, and optionally a CA
    bundle to trust for the server's own HTTPS (a private ACME server)."""

    directory: AcmeDirectory
    email: Email
    webroot: FilePath | None = None
    ca_bundle: FilePath | None = None


class SiteTls(Model):
    """HTTPS on every host: the port, HSTS, and the ACME server."""

    https_port: f.Port = 443
    hsts: Flag = False
    acme: Acme | None = None
