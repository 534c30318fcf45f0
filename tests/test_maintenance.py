"""Maintenance mode: the live domains answer 503 with Retry-After and a page of
the (escaped) message, the test domain and the live health path keep working,
a promotion during maintenance still goes through the NAT table only, and
`status` shows it. Real git, `puppet apply`, NGINX and HTTP, through the CLI."""

from __future__ import annotations

import http.client
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from generator.commands.promote import promote
from generator.commands.test import put_under_test
from tests.conftest import run_jailgen
from tests.localsite import HOST, LocalSite
from tests.test_switch_nat import nginx_processes

LIVE = "hello.example.com"
TEST = "hello.test.example.com"
MESSAGE = """Back at 14:00 <b>UTC</b> & "soon" -- it's $host \\ {ok};"""
ESCAPED = (
    "Back at 14:00 &lt;b&gt;UTC&lt;/b&gt; &amp; &quot;soon&quot; -- it&#39;s &#36;host &#92; {ok};"
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    local = LocalSite(
        tmp_path / "site",
        site_keys="  maintenance: {message: Down for a moment., retry_after: 120}\n",
    ).create(commits=2)
    try:
        deployer = local.deployer()
        assert put_under_test(deployer, "hello", local.shas[0]).ok
        assert promote(deployer, "hello").ok
        assert put_under_test(deployer, "hello", local.shas[1]).ok
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def jailgen(site: LocalSite, *args: str) -> subprocess.CompletedProcess[str]:
    return run_jailgen(
        *args,
        "-c",
        str(site.catalog_path),
        "-r",
        str(site.control),
        "--workdir",
        str(site.root / "puppet"),
    )


def get(site: LocalSite, domain: str, path: str = "/") -> tuple[http.client.HTTPResponse, str]:
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    connection.request("GET", path, headers={"Host": domain})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response, body


def test_live_answers_503_with_the_page_while_test_and_health_keep_working(
    site: LocalSite,
) -> None:
    result = jailgen(site, "maintenance", "hello", "on", "--message", MESSAGE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "maintenance on hello: ok" in result.stdout
    assert "maintenance page (503); /up answers 200" in result.stdout

    for domain in (LIVE, "www.hello.example.com"):
        response, body = get(site, domain)
        assert response.status == 503
        assert response.getheader("Retry-After") == "120"
        assert response.getheader("Content-Type") == "text/html; charset=utf-8"
        assert f"<p>{ESCAPED}</p>" in body
        assert get(site, domain, "/up")[0].status == 200
    response, body = get(site, TEST)
    assert response.status == 200 and site.shas[1] in body

    node = (site.control / f"data/nodes/{HOST}.yaml").read_text()
    assert "retry_after: 120" in node
    assert git.Repo(site.control).head.commit.summary == "hello: maintenance on"

    status = jailgen(site, "status", "hello", "--json")
    assert status.returncode == 0, status.stdout
    (row,) = json.loads(status.stdout)
    assert row["maintenance"] == MESSAGE
    assert {r["domain"]: r["expected"] for r in row["routes"]} == {
        LIVE: "maintenance",
        "www.hello.example.com": "maintenance",
        TEST: f"hello_{site.shas[1][:12]}",
    }
    text = jailgen(site, "status", "hello")
    assert f"MAINTENANCE hello on {HOST}: live domains answer 503: {MESSAGE}" in text.stdout

    result = jailgen(site, "maintenance", "hello", "off")
    assert result.returncode == 0, result.stdout + result.stderr
    response, body = get(site, LIVE)
    assert response.status == 200 and site.shas[0] in body
    assert "maintenance" not in (site.control / f"data/nodes/{HOST}.yaml").read_text()


def test_a_promotion_in_maintenance_moves_live_underneath_without_a_reload(
    site: LocalSite,
) -> None:
    assert jailgen(site, "maintenance", "hello", "on").returncode == 0
    assert "Down for a moment." in get(site, LIVE)[1]
    before = nginx_processes(site)
    config = (site.nginx_prefix / "nginx.conf").read_bytes()

    result = jailgen(site, "promote", "hello")
    assert result.returncode == 0, result.stdout + result.stderr

    assert nginx_processes(site) == before
    assert (site.nginx_prefix / "nginx.conf").read_bytes() == config
    assert get(site, LIVE)[0].status == 503  # still in maintenance
    assert jailgen(site, "maintenance", "hello", "off").returncode == 0
    response, body = get(site, LIVE)
    assert response.status == 200 and site.shas[1] in body


def test_a_message_that_is_not_one_printable_line_is_refused(site: LocalSite) -> None:
    head = git.Repo(site.control).head.commit.hexsha
    result = jailgen(site, "maintenance", "hello", "on", "--message", "two\nlines")
    assert result.returncode == 2
    assert result.stderr == (
        "jailgen: --message 'two\\nlines': expected one line of 1 to 300 printable characters\n"
    )
    assert jailgen(site, "maintenance", "hello", "off", "--message", "x").returncode == 2
    assert git.Repo(site.control).head.commit.hexsha == head
