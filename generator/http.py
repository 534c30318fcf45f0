"""Active checks over HTTP: through NGINX with a Host header, or straight to a jail."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    error: str | None = None

    def describe(self) -> str:
        return self.error or f"HTTP {self.status}: {self.body.strip()[:80]!r}"


class SniConnection(http.client.HTTPSConnection):
    """HTTPS to an address, naming the domain in SNI (as a browser would), so
    NGINX picks that domain's server block and certificate."""

    def __init__(
        self, address: str, port: int, server_name: str, context: ssl.SSLContext, timeout: float
    ) -> None:
        super().__init__(address, port, timeout=timeout, context=context)
        self.server_name = server_name
        self.tls_context = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self.tls_context.wrap_socket(self.sock, server_hostname=self.server_name)


def unverified_context() -> ssl.SSLContext:
    """Route checks check routing, not trust: the certificate is not verified
    (a test site's may be self-signed)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def get(
    address: str,
    port: int,
    path: str,
    host: str | None = None,
    timeout: float = 5.0,
    tls: bool = False,
) -> Answer:
    connection: http.client.HTTPConnection
    if tls:
        connection = SniConnection(address, port, host or address, unverified_context(), timeout)
    else:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host or address, "Connection": "close"})
        response = connection.getresponse()
        return Answer(response.status, response.read(65536).decode("utf-8", "replace"))
    except (TimeoutError, OSError, ssl.SSLError, http.client.HTTPException) as exc:
        return Answer(0, "", f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()


def is_local_address(address: str) -> bool:
    """Whether an address belongs to this machine (loopback, or configured on one
    of its interfaces, like jail aliases on lo1 on a FreeBSD host). Jails are only
    probed directly when their address is local: other hosts' jails are reached
    through their NGINX."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.is_loopback:
        return True
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address, 0))  # binding never sends a packet
        except OSError:
            return False
    return True


def probe_jail(address: str, port: int, path: str, timeout: float = 5.0) -> Answer:
    """A jail's health path, straight at its address, only when that address is
    on this machine; other hosts' jails are never contacted from here."""
    if not is_local_address(address):
        return Answer(0, "", "not on this machine")
    return get(address, port, path, timeout=timeout)
