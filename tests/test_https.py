"""HTTPS with an app's certificate and key from files on the host: HTTP
redirects, each domain presents the certificate for its name (checked by a
verifying TLS client), HSTS, and a promotion under a keep-alive HTTPS client
that never retries drops no request and reloads nothing. A missing
certificate fails the Puppet run naming the file, and NGINX keeps serving.
Real Puppet, NGINX, nftables, TLS."""

from __future__ import annotations

import http.client
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.commands.promote import promote
from generator.commands.test import put_under_test
from generator.http import SniConnection
from tests.localsite import LocalSite, free_port
from tests.test_switch_nat import nginx_processes

DOMAINS = ("hello.example.com", "www.hello.example.com", "hello.test.example.com")


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the app's three domains."""
    cert, key = directory / "hello.pem", directory / "hello.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=hello.example.com", "-keyout", str(key), "-out", str(cert)),
            *("-addext", "subjectAltName=" + ",".join(f"DNS:{d}" for d in DOMAINS)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    cert, key = make_certificate(tmp_path)
    https_port = free_port()
    local = LocalSite(
        tmp_path / "site",
        site_keys=f"  tls: {{https_port: {https_port}, hsts: true}}\n",
        hello_keys=f"    tls: {{cert: {cert}, key: {key}}}\n",
    ).create(commits=2)
    try:
        deployer = local.deployer()
        assert put_under_test(deployer, "hello", local.shas[0]).ok
        outcome = promote(deployer, "hello")
        assert outcome.ok, outcome.message
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def https_port(site: LocalSite) -> int:
    return site.catalog().site.tls.https_port


def https(site: LocalSite, domain: str, cafile: Path | None) -> SniConnection:
    """A connection that verifies the certificate against `cafile` and `domain`."""
    if cafile is None:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=str(cafile))
    connection = SniConnection("127.0.0.1", https_port(site), domain, context, timeout=10)
    connection.connect()
    return connection


def ask(connection: SniConnection, domain: str) -> tuple[int, str, http.client.HTTPResponse]:
    connection.request("GET", "/", headers={"Host": domain})
    response = connection.getresponse()
    body = response.read().decode()
    return response.status, body, response


def test_every_domain_presents_its_certificate_and_http_redirects(
    site: LocalSite, tmp_path: Path
) -> None:
    port = https_port(site)
    for domain in DOMAINS:
        plain = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
        plain.request("GET", "/a?b=c", headers={"Host": domain})
        redirect = plain.getresponse()
        assert redirect.status == 301
        assert redirect.getheader("Location") == f"https://{domain}:{port}/a?b=c"
        plain.close()

        connection = https(site, domain, tmp_path / "hello.pem")  # verified for this name
        status, body, response = ask(connection, domain)
        assert status == 200
        sha = site.shas[0]
        assert sha in body
        assert response.getheader("Strict-Transport-Security") == "max-age=31536000"
        connection.close()

    # a name of no app gets no certificate at all
    with pytest.raises(ssl.SSLError, match=r"UNRECOGNIZED_NAME|unrecognized name"):
        https(site, "nobody.example.com", None)


def promote_under_keepalive_client(site: LocalSite, domain: str, cafile: Path | None) -> int:
    """Promote the second release while one keep-alive HTTPS client sends
    requests on one connection, never reopened and never retried: every answer
    must be a 200, the connection stays, NGINX is not reloaded. The number of
    requests it made."""
    before = nginx_processes(site)
    connection = https(site, domain, cafile)
    sock = connection.sock
    answers: list[str] = []
    failures: list[str] = []
    done = threading.Event()

    def client() -> None:
        # paced below NGINX's keepalive_requests (1000 per connection)
        while not done.wait(0.05):
            try:
                status, body, response = ask(connection, domain)
            except (OSError, http.client.HTTPException) as exc:
                failures.append(repr(exc))
                return
            if status != 200 or response.will_close:
                failures.append(f"{status} {body[:60]!r}")
                return
            answers.append(body)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        deployer = site.deployer()
        assert put_under_test(deployer, "hello", site.shas[1]).ok
        outcome = promote(deployer, "hello")
        assert outcome.ok, outcome.message
        while not answers or site.shas[1] not in answers[-1]:
            assert thread.is_alive(), failures
            threading.Event().wait(0.05)
    finally:
        done.set()
        thread.join(timeout=30)
    assert failures == []
    assert connection.sock is sock
    assert any(site.shas[0] in a for a in answers) and site.shas[1] in answers[-1]
    assert nginx_processes(site) == before  # no reload
    connection.close()
    return len(answers)


def test_a_promotion_over_https_drops_no_request_of_a_keepalive_client(site: LocalSite) -> None:
    assert promote_under_keepalive_client(site, DOMAINS[0], None) > 10


def test_a_missing_certificate_fails_the_run_naming_it_and_https_keeps_working(
    site: LocalSite, tmp_path: Path
) -> None:
    config = (site.nginx_prefix / "nginx.conf").read_bytes()
    missing = tmp_path / "renamed.pem"
    text = site.catalog_path.read_text()
    site.catalog_path.write_text(text.replace(str(tmp_path / "hello.pem"), str(missing)))
    outcome = put_under_test(site.deployer(), "hello", site.shas[1])
    assert not outcome.ok
    assert outcome.step == "puppet run"
    assert f"Exec[jails: {missing} must exist on the host]" in outcome.message
    assert (site.nginx_prefix / "nginx.conf").read_bytes() == config
    connection = https(site, DOMAINS[0], tmp_path / "hello.pem")
    assert ask(connection, DOMAINS[0])[0] == 200
    connection.close()
