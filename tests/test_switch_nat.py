"""Slot switches happen underneath NGINX: its configuration and workers stay as
they are, client connections stay open, requests in flight finish on the old
jail and every new request reaches the new one. Real Puppet, NGINX, nftables."""

from __future__ import annotations

import http.client
import select
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.commands.promote import promote
from generator.commands.rollback import rollback
from generator.commands.test import put_under_test
from tests.localsite import LocalSite

LIVE = "hello.example.com"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    local = LocalSite(tmp_path / "site").create()
    try:
        yield local
    finally:
        local.stop()
        assert local.processes() == []
        listed = subprocess.run(
            ["nft", "list", "table", "ip", local.nat_table], capture_output=True, check=False
        )
        assert listed.returncode != 0, "the site's NAT table outlived the test"


def nginx_processes(site: LocalSite) -> set[int]:
    """NGINX's master and workers: a reload replaces the workers."""
    master = int((site.nginx_prefix / "nginx.pid").read_text())
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {master, *map(int, children)}


def keepalive(site: LocalSite) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    connection.connect()
    return connection


def ask(connection: http.client.HTTPConnection, path: str = "/") -> str:
    connection.request("GET", path, headers={"Host": LIVE})
    response = connection.getresponse()
    assert response.status == 200
    assert not response.will_close
    return response.read().decode()


def live_with(site: LocalSite, sha: str) -> None:
    deployer = site.deployer()
    assert put_under_test(deployer, "hello", sha).ok
    outcome = promote(deployer, "hello")
    assert outcome.ok, outcome.message


def test_keepalive_connection_gets_the_new_release_on_its_next_request(
    site: LocalSite,
) -> None:
    first, second = site.shas[0], site.shas[1]
    live_with(site, first)
    before = nginx_processes(site)
    config = (site.nginx_prefix / "nginx.conf").read_bytes()

    connection = keepalive(site)
    sock = connection.sock
    assert first in ask(connection)

    live_with(site, second)

    assert second in ask(connection)
    assert connection.sock is sock  # the same client connection, never reopened
    assert nginx_processes(site) == before  # no reload
    assert (site.nginx_prefix / "nginx.conf").read_bytes() == config

    assert rollback(site.deployer(), "hello").ok
    assert first in ask(connection)
    assert connection.sock is sock
    connection.close()


def test_request_in_flight_at_the_switch_completes_from_the_old_release(
    site: LocalSite,
) -> None:
    first, second = site.shas[0], site.shas[1]
    live_with(site, first)
    with socket.create_connection(("127.0.0.1", site.port), timeout=30) as sock:
        sock.sendall(f"GET /slow?seconds=20 HTTP/1.1\r\nHost: {LIVE}\r\n\r\n".encode())
        received = b""
        while b"start\n" not in received:  # the old jail has begun answering
            received += sock.recv(4096)

        live_with(site, second)

        ready, _, _ = select.select([sock], [], [], 0)
        assert ready == [] or b"0\r\n\r\n" not in received, "answered before the switch"
        fresh = keepalive(site)
        assert second in ask(fresh)
        fresh.close()
        while not received.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(4096)
            assert chunk, "connection closed before the answer was complete"
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 ")
    assert first.encode() in received
    assert second.encode() not in received


def test_no_new_request_reaches_the_old_jail_after_a_switch(site: LocalSite) -> None:
    first, second = site.shas[0], site.shas[1]
    live_with(site, first)
    clients = [keepalive(site) for _ in range(8)]
    for _ in range(5):  # enough traffic for NGINX to pool upstream connections, if it did
        for client in clients:
            assert first in ask(client)

    live_with(site, second)

    answers = [ask(client) for _ in range(5) for client in clients]
    assert all(second in answer and first not in answer for answer in answers)
    for client in clients:
        client.close()


def test_an_empty_slot_answers_503_and_its_first_jail_is_reached_at_once(
    site: LocalSite,
) -> None:
    assert put_under_test(site.deployer(), "hello", site.shas[0]).ok  # NGINX runs, live is empty
    connection = keepalive(site)
    connection.request("GET", "/", headers={"Host": LIVE})
    response = connection.getresponse()
    response.read()
    assert response.status == 503
    outcome = promote(site.deployer(), "hello")
    assert outcome.ok, outcome.message
    assert site.shas[0] in ask(connection)
    connection.close()
