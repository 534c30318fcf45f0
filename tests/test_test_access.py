"""The test domain is for QA only: clients from the allowed networks, or with a
password from the htpasswd file; everyone else gets 403 (401 when there is a
password file), and search engines are told not to index it. Real Puppet,
NGINX and HTTP, with clients on different loopback source addresses."""

from __future__ import annotations

import base64
import hashlib
import http.client
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.commands.promote import promote
from generator.commands.test import put_under_test
from tests.localsite import LocalSite

QA = "127.0.0.5"  # the allowed network: 127.0.0.5/32
OUTSIDER = "127.0.0.6"


def htpasswd_line(user: str, password: str) -> str:
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    return f"{user}:{{SHA}}{digest}\n"


@pytest.fixture
def password_file() -> Iterator[Path]:
    """Outside pytest's private tmp tree: NGINX's workers must be able to read it."""
    with tempfile.TemporaryDirectory(prefix="jailgen-qa-") as directory:
        Path(directory).chmod(0o755)
        path = Path(directory) / "qa.htpasswd"
        path.write_text(htpasswd_line("qa", "s3cret"))
        path.chmod(0o644)
        yield path


@pytest.fixture
def site(tmp_path: Path, password_file: Path) -> Iterator[LocalSite]:
    local = LocalSite(
        tmp_path / "site",
        others=("other",),
        site_keys=f"  test_access: {{networks: [{QA}/32]}}\n",
        hello_keys=(f"    test_access: {{networks: [{QA}/32], htpasswd: {password_file}}}\n"),
    ).create(commits=1)
    try:
        deployer = local.deployer()
        for app in ("hello", "other"):
            outcome = put_under_test(deployer, app, local.shas[0])
            assert outcome.ok, outcome.message
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def get(
    site: LocalSite, domain: str, source: str, auth: tuple[str, str] | None = None
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(
        "127.0.0.1", site.port, timeout=10, source_address=(source, 0)
    )
    headers = {"Host": domain}
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    connection.request("GET", "/", headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_only_the_allowed_network_reaches_a_test_domain_without_a_password_file(
    site: LocalSite,
) -> None:
    allowed = get(site, "other.test.example.com", QA)
    assert allowed.status == 200
    assert allowed.getheader("X-Robots-Tag") == "noindex, nofollow"
    denied = get(site, "other.test.example.com", OUTSIDER)
    assert denied.status == 403
    assert denied.getheader("X-Robots-Tag") == "noindex, nofollow"
    # a password does not help where there is no password file
    assert get(site, "other.test.example.com", OUTSIDER, ("qa", "s3cret")).status == 403


def test_outside_the_network_a_password_from_the_htpasswd_file_is_needed(
    site: LocalSite,
) -> None:
    assert get(site, "hello.test.example.com", QA).status == 200
    asked = get(site, "hello.test.example.com", OUTSIDER)
    assert asked.status == 401
    assert asked.getheader("WWW-Authenticate") == 'Basic realm="hello test"'
    assert asked.getheader("X-Robots-Tag") == "noindex, nofollow"
    assert get(site, "hello.test.example.com", OUTSIDER, ("qa", "wrong")).status == 401
    passed = get(site, "hello.test.example.com", OUTSIDER, ("qa", "s3cret"))
    assert passed.status == 200
    assert passed.getheader("X-Robots-Tag") == "noindex, nofollow"


def test_live_domains_stay_open_and_indexable(site: LocalSite) -> None:
    assert promote(site.deployer(), "hello").ok
    answer = get(site, "hello.example.com", OUTSIDER)
    assert answer.status == 200
    assert answer.getheader("X-Robots-Tag") is None


def test_a_missing_htpasswd_file_fails_the_run_naming_it_and_nginx_keeps_serving(
    site: LocalSite, password_file: Path
) -> None:
    config = (site.nginx_prefix / "nginx.conf").read_bytes()
    missing = password_file.with_name("gone.htpasswd")
    text = site.catalog_path.read_text()
    site.catalog_path.write_text(text.replace(str(password_file), str(missing)))
    outcome = put_under_test(site.deployer(), "hello", site.shas[0])
    assert not outcome.ok
    assert outcome.step == "puppet run"
    assert f"Exec[jails: {missing} must exist on the host]" in outcome.message
    assert (site.nginx_prefix / "nginx.conf").read_bytes() == config
    assert get(site, "hello.test.example.com", QA).status == 200
