from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from generator.catalog import AppTls, MaintenancePage, TestAccess, load_catalog, parse_catalog
from generator.errors import CatalogError
from tests.conftest import FIXTURE_CATALOG, run_jailgen

MINIMAL = """\
site: {}
hosts:
  web1.example.net: {os: freebsd}
apps:
  shop:
    hosts: [web1.example.net]
    domains: [shop.example.com]
    test_domain: shop.test.example.com
    source: https://git.example.com/shop.git
    run: {command: [bin/shop], port: 8000}
"""


def test_fixture_catalog_has_three_apps_on_two_hosts_at_least() -> None:
    catalog = load_catalog(FIXTURE_CATALOG)
    assert len(catalog.apps) >= 3
    used_hosts = {h for app in catalog.apps.values() for h in app.hosts}
    assert len(used_hosts) >= 2
    assert {h.os for h in catalog.hosts.values()} == {"freebsd", "linux"}


def test_fixture_catalog_documents_every_key() -> None:
    text = FIXTURE_CATALOG.read_text()
    for key in (
        "module:",
        "freebsd_release:",
        "zfs:",
        "mountpoint:",
        "linux:",
        "pools:",
        "interface:",
        "network:",
        "nginx:",
        "listen:",
        "port:",
        "retention:",
        "puppet:",
        "mode:",
        "environment:",
        "hosts:",
        "os:",
        "jails_dir:",
        "pool:",
        "prefix:",
        "domains:",
        "test_domain:",
        "source:",
        "release:",
        "run:",
        "command:",
        "health:",
        "packages:",
        "jail:",
    ):
        assert key in text, key
    assert text.count("#") > 40


def test_validate_command_accepts_fixture() -> None:
    result = run_jailgen("validate", str(FIXTURE_CATALOG))
    assert result.returncode == 0, result.stderr
    assert "ok (4 apps on 3 hosts)" in result.stdout


def test_defaults() -> None:
    catalog = parse_catalog(MINIMAL, "c.yaml")
    app = catalog.apps["shop"]
    assert app.health == "/up"
    assert app.packages == ()
    assert app.release is None
    assert catalog.site.module == "jails"
    assert catalog.site.retention == 2
    assert catalog.site.puppet_mode == "local"
    assert catalog.pool_for("web1.example.net").network == ipaddress.IPv4Network("172.16.0.0/12")
    assert catalog.hosts["web1.example.net"].jails_dir == "/usr/local/jails"


def test_catalog_objects_are_frozen() -> None:
    catalog = parse_catalog(MINIMAL, "c.yaml")
    with pytest.raises(ValidationError, match="Instance is frozen"):
        catalog.apps["shop"].health = "/health"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("needle", "replacement", "message"),
    [
        ("port: 8000", "port: true", "apps.shop.run.port: is a boolean (expected an integer)"),
        ("[bin/shop]", "[]", "apps.shop.run.command: is empty"),
        ("[shop.example.com]", "[]", "apps.shop.domains: is empty"),
        ("[web1.example.net]", "[web1.example.net, web1.example.net]", "listed twice"),
        ("shop.test.example.com", "localhost", "(expected a fully qualified domain name"),
        ("site: {}", "site: []", "c.yaml:1:7: site: is a list (expected a mapping)"),
        ("site: {}", "site: {retention: -1}", "site.retention: -1 is out of range"),
        (
            "site: {}",
            "site: {pools: {linux: {interface: lo, network: 127.16.0.1/16}}}",
            "site.pools.linux.network: invalid value '127.16.0.1/16'",
        ),
        ("site: {}", "site: {puppet: {mode: ssh}}", "expected one of: local, agent"),
    ],
)
def test_single_problems(needle: str, replacement: str, message: str) -> None:
    with pytest.raises(CatalogError) as info:
        parse_catalog(MINIMAL.replace(needle, replacement, 1), "c.yaml")
    assert message in str(info.value)


def test_empty_catalog() -> None:
    with pytest.raises(CatalogError) as info:
        parse_catalog("", "c.yaml")
    assert str(info.value) == "c.yaml:1:1: empty catalog (expected a mapping)"


def test_environment_values_are_taken_as_written() -> None:
    text = MINIMAL.replace(
        "port: 8000}", "port: 8000, environment: {A: 8080, B: yes, C: hello world}}"
    )
    app = parse_catalog(text, "c.yaml").apps["shop"]
    assert app.environment == (("A", "8080"), ("B", "yes"), ("C", "hello world"))


def problems_of(text: str) -> list[str]:
    with pytest.raises(CatalogError) as info:
        parse_catalog(text, "c.yaml")
    return str(info.value).splitlines()


def test_checks_across_sections_run_beside_an_invalid_app() -> None:
    blog = (
        MINIMAL.split("apps:\n")[1]
        .replace("shop", "blog")
        .replace("port: 8000", "port: 0")
        .replace("blog.example.com", "shop.example.com")
    )
    text = MINIMAL.replace("[web1.example.net]", "[web1.example.net, web9.example.net]") + blog
    assert problems_of(text) == [
        "c.yaml:6:31: apps.shop.hosts[1]: host 'web9.example.net' is not declared "
        "(expected one of the keys of 'hosts')",
        "c.yaml:16:38: apps.blog.run.port: 0 is out of range (expected 1 to 65535)",
    ]


def test_agent_mode_keys_are_missed_beside_other_problems() -> None:
    text = MINIMAL.replace("site: {}", "site: {puppet: {mode: agent, concurrency: 0}}")
    assert problems_of(text) == [
        "c.yaml:1:16: site.puppet: missing required key 'puppetdb' (site.puppet.mode is agent)",
        "c.yaml:1:16: site.puppet: missing required key 'r10k' (site.puppet.mode is agent)",
        "c.yaml:1:16: site.puppet: missing required key 'ssl' (site.puppet.mode is agent)",
        "c.yaml:1:43: site.puppet.concurrency: 0 is out of range (expected 1 to 256)",
    ]


def test_yaml_and_model_problems_are_reported_together() -> None:
    text = MINIMAL.replace("site: {}", "site: {retention: 1, retention: 2, module: X}")
    assert problems_of(text) == [
        "c.yaml:1:22: site.retention: duplicate key 'retention' (first defined at line 1, "
        "column 8)",
        "c.yaml:1:44: site.module: invalid value 'X' (expected a Puppet module name: a-z, "
        "then a-z, 0-9, _)",
    ]


def test_a_host_pool_too_small_points_at_its_network() -> None:
    text = MINIMAL.replace("site: {}", "site: {retention: 100}").replace(
        "{os: freebsd}", "{os: freebsd, pool: {interface: lo1, network: 172.16.0.0/28}}"
    )
    assert problems_of(text) == [
        "c.yaml:3:67: hosts.web1.example.net.pool.network: pool 172.16.0.0/28 has 13 jail "
        "addresses but host 'web1.example.net' needs 102 (expected a larger network: "
        "(test + live + retention) per app)",
    ]


def test_ported_keys_parse_and_an_app_inherits_the_site_edge() -> None:
    text = MINIMAL.replace(
        "site: {}",
        "site:\n  test_access: {networks: [10.0.0.0/8, 10.0.0.0/8]}\n"
        "  maintenance: {retry_after: 60}\n  tls: {https_port: 8443}",
    ) + (
        "    build: [[make, all]]\n    release_command: [bin/migrate]\n"
        "    after_promote: [[bin/notify, --done]]\n    tls: {cert: /etc/shop.pem, key: /etc/k}\n"
    )
    catalog = parse_catalog(text, "c.yaml")
    shop = catalog.apps["shop"]
    assert (shop.build, shop.release_command, shop.after_promote) == (
        (("make", "all"),),
        ("bin/migrate",),
        (("bin/notify", "--done"),),
    )
    assert shop.test_access == TestAccess(networks=("10.0.0.0/8",))
    assert shop.maintenance == MaintenancePage(retry_after=60)
    assert shop.tls == AppTls(cert="/etc/shop.pem", key="/etc/k")
    assert catalog.site.tls.https_port == 8443
    own = text.replace("tls: {cert", "maintenance: {message: Soon.}\n    tls: {cert")
    assert parse_catalog(own, "c.yaml").apps["shop"].maintenance == MaintenancePage("Soon.")


def test_a_trailing_newline_is_not_part_of_a_valid_value() -> None:
    text = MINIMAL.replace("[shop.example.com]", '["shop.example.com\\n"]')
    text = text.replace("[bin/shop]", '["bin/shop\\n"]')
    assert problems_of(text) == [
        "c.yaml:7:15: apps.shop.domains[0]: invalid value 'shop.example.com\\n' (expected a "
        "lowercase hostname: labels of a-z, 0-9 and inner '-', separated by '.')",
        "c.yaml:10:21: apps.shop.run.command[0]: invalid value 'bin/shop\\n' (expected a "
        "command argument of A-Z a-z 0-9 _ . / : = @ % + , -)",
    ]
