"""HTTPS with certificates from a real ACME server: pebble on loopback. The
host's certbot gets one certificate per route over http-01, answered by the
site's own NGINX; until NGINX uses it the app is served over HTTP (and checks
say so), then HTTP redirects except for the challenge path, each domain
presents a certificate for its name issued by pebble, and a promotion under a
keep-alive HTTPS client drops no request. Real Puppet, NGINX, certbot, TLS."""

from __future__ import annotations

import http.client
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.commands.promote import promote
from generator.commands.test import put_under_test
from tests.acme_server import Pebble
from tests.conftest import run_jailgen
from tests.localsite import HOST, LocalSite, free_port
from tests.test_https import DOMAINS, ask, https, promote_under_keepalive_client


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[LocalSite, Pebble]]:
    http_port = free_port()
    pebble = Pebble(tmp_path / "pebble", http_port).start()
    # NGINX's workers serve the challenge tokens: outside pytest's private tree
    webroot = Path(tempfile.mkdtemp(prefix="jailgen-acme-"))
    webroot.chmod(0o755)
    local = LocalSite(
        tmp_path / "site",
        port=http_port,
        site_keys=(
            f"  tls:\n    https_port: {free_port()}\n    acme:\n"
            f"      directory: {pebble.directory}\n      email: ops@example.com\n"
            f"      webroot: {webroot}\n      ca_bundle: {pebble.ca_bundle}\n"
        ),
        hello_keys="    tls: {acme: true}\n",
    )
    try:
        local.create(commits=2)
        yield local, pebble
    finally:
        local.stop()
        pebble.stop()
        for path in sorted(webroot.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        webroot.rmdir()
        assert local.processes() == []


def get_http(local: LocalSite, domain: str, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", local.port, timeout=10)
    connection.request("GET", path, headers={"Host": domain})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_certificates_from_pebble_serve_every_domain_over_https(
    site: tuple[LocalSite, Pebble], tmp_path: Path
) -> None:
    local, pebble = site
    outcome = put_under_test(local.deployer(), "hello", local.shas[0])
    assert outcome.ok, outcome.message
    # the certificates were obtained in this run; NGINX uses them from the next
    live = local.nginx_prefix / "acme" / "live"
    assert sorted(p.name for p in live.iterdir() if p.is_dir()) == ["hello_live", "hello_test"]
    test_check = next(c for c in outcome.checks if "hello.test.example.com" in c.what)
    assert "(over HTTP: no ACME certificate in use yet; " in test_check.detail
    assert get_http(local, DOMAINS[2], "/").status == 200
    status = run_jailgen(
        *("status", "hello", "-c", str(local.catalog_path), "-r", str(local.control)),
        *("--workdir", str(local.root / "puppet")),
    )
    assert status.returncode == 0, status.stdout
    assert (
        f"HTTP hello test hello.test.example.com on {HOST}: no ACME certificate in use yet"
    ) in status.stdout

    outcome = promote(local.deployer(), "hello")
    assert outcome.ok, outcome.message
    assert all("over HTTP" not in c.detail for c in outcome.checks)

    root = tmp_path / "pebble-root.pem"
    root.write_text(pebble.root())
    for domain in DOMAINS:
        connection = https(local, domain, root)  # verified: pebble issued it, for this name
        status, _, _ = ask(connection, domain)
        assert status == 200
        cert = connection.sock.getpeercert()
        assert ("DNS", domain) in cert["subjectAltName"]
        assert "Pebble" in str(cert["issuer"])
        connection.close()
        redirect = get_http(local, domain, "/x")
        assert redirect.status == 301
        assert redirect.getheader("Location", "").startswith(f"https://{domain}:")
        # the challenge path is answered over HTTP, never redirected
        assert get_http(local, domain, "/.well-known/acme-challenge/none").status == 404

    assert promote_under_keepalive_client(local, DOMAINS[0], root) > 10
    with pytest.raises(ssl.SSLError):
        https(local, "nobody.example.com", root)
