"""The FreeBSD side of the NGINX profile for the fixture catalog: the
configuration Puppet writes to /usr/local/etc/nginx/nginx.conf on each FreeBSD
host, accepted by the real `nginx -t`, and changes applied with `service nginx
reload`.

The fixture's apps come from git servers the model host cannot reach (its git
fails as it would without DNS), so only the NGINX profile is applied
(`--tags jails::nginx`); the routes come from the Hiera data either way.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import state as slots
from generator.service_addresses import nat_table, service_addresses
from tests.conftest import FIXTURE_CATALOG
from tests.freebsd.conftest import hermetic
from tests.freebsd.fbmodel import nginx, pf
from tests.freebsd.fbmodel.host import Host
from tests.freebsd.site import FreeBSDSite, Run, changes

NGINX_CONF = "/usr/local/etc/nginx/nginx.conf"


def make_certificate(cert: Path, key: Path) -> None:
    cert.parent.mkdir(parents=True, exist_ok=True)
    key.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=shop.example.com", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )


PROFILE = "--tags=jails::nginx"


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[FreeBSDSite, Run]]]:
    found = {}
    for certname in ("jail1.example.net", "jail2.example.net"):
        base = tmp_path_factory.mktemp(certname)
        with hermetic(base):
            site = FreeBSDSite(base, certname).create(FIXTURE_CATALOG.read_text())
            # shop's test_access names a password file, which the host must have
            password_file = site.file("/usr/local/etc/nginx/shop-qa.htpasswd")
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text("qa:{PLAIN}qa\n")
            # and its tls a certificate and key, which the real `nginx -t` loads
            make_certificate(
                site.file("/usr/local/etc/ssl/shop.pem"),
                site.file("/usr/local/etc/ssl/private/shop.key"),
            )
            found[certname] = (site, site.apply(PROFILE))
    yield found


def upstream(site: FreeBSDSite, certname: str, name: str) -> str | None:
    """Where pf sends NGINX's connections to the service address of route
    `name` (app_slot), or None when nothing translates them (NGINX answers 503)."""
    catalog = site.catalog()
    app, slot = name.rsplit("_", 1)
    service = service_addresses(
        catalog.pool_for(certname).network, [a.name for a in catalog.apps_on(certname)]
    )[app][slot]
    port = next(a.port for a in catalog.apps_on(certname) if a.name == app)
    # what pf does to NGINX's next connection: only an anchor pf.conf hooks counts
    with Host.open(site.root) as host:
        target = pf.translate(host, service, port)
    return None if target is None else f"{target[0]}:{target[1]}"


def test_the_profile_installs_configures_and_starts_the_packaged_nginx(
    hosts: dict[str, tuple[FreeBSDSite, Run]],
) -> None:
    for certname, (site, run) in hosts.items():
        assert run.report.ok, run.describe()
        catalog = site.catalog()
        table = nat_table(catalog.site.module, "freebsd", catalog.hosts[certname].jails_dir)
        assert sorted(run.report.changed) == [
            "Exec[jails: load nat table]",
            f"File[/usr/local/etc/{table}.pf]",
            f"File[{NGINX_CONF}]",
            "Package[nginx]",
            "Service[nginx]",
        ], certname
        argv = run.commands()
        assert ["pkg", "install", "-qy", "nginx"] in argv
        validations = [a for a in argv if a[:4] == ["nginx", "-t", "-q", "-c"]]
        assert len(validations) == 1 and validations[0][4].startswith(NGINX_CONF)
        assert ["rc.subr", "/usr/local/etc/rc.d/nginx", "onestart"] in argv
        touched = {a[0] for a in changes(run)}
        assert touched == {"pfctl", "pkg", "rc.subr"}, "the profile alone ran"
        assert "nginx" in site.state()["services"]["/"]
        assert 'nginx_enable="YES"' in site.file("/etc/rc.conf").read_text()


def test_freebsd_paths_and_routes_of_the_fixture_catalog(
    hosts: dict[str, tuple[FreeBSDSite, Run]],
) -> None:
    jail1 = hosts["jail1.example.net"][0].file(NGINX_CONF).read_text()
    jail2 = hosts["jail2.example.net"][0].file(NGINX_CONF).read_text()
    for conf in (jail1, jail2):
        assert "pid /var/run/nginx.pid;\n" in conf
        assert "error_log /var/log/nginx/error.log;\n" in conf
        assert "    access_log /var/log/nginx/access.log;\n" in conf
        assert "listen 127.0.0.1:8080 default_server;" in conf
        assert "temp_path" not in conf  # the package's compiled-in paths are used
    one, two = hosts["jail1.example.net"][0], hosts["jail2.example.net"][0]
    assert upstream(one, "jail1.example.net", "blog_test") == "172.16.0.2:3000"
    assert upstream(one, "jail1.example.net", "shop_test") == "172.16.0.3:8000"
    assert upstream(two, "jail2.example.net", "shop_test") == "172.16.0.2:8000"
    # no release yet: nothing behind the service address, NGINX answers 503
    assert upstream(two, "jail2.example.net", "status_test") is None
    assert upstream(one, "jail1.example.net", "shop_live") is None
    assert "location @empty {\n            return 503;" in jail1


def test_the_configuration_passes_the_real_nginx_t(
    hosts: dict[str, tuple[FreeBSDSite, Run]],
) -> None:
    for site, _ in hosts.values():
        host = Host(site.root).load()
        remapped = nginx.remap(site.file(NGINX_CONF).read_text(), host)
        assert f"pid {site.root}/var/run/nginx.pid;" in remapped
        assert f"client_body_temp_path {site.root}/var/tmp/nginx/client_body_temp;" in remapped
        ok, messages = nginx.test_config(host, NGINX_CONF, quiet=False)
        assert ok, messages
        assert messages == (
            f"nginx: the configuration file {NGINX_CONF} syntax is ok\n"
            f"nginx: configuration file {NGINX_CONF} test is successful\n"
        )


def test_a_broken_configuration_fails_nginx_t_with_its_freebsd_path(
    hosts: dict[str, tuple[FreeBSDSite, Run]],
) -> None:
    site = hosts["jail1.example.net"][0]
    broken = site.file("/usr/local/etc/nginx/broken.conf")
    broken.write_text(
        site.file(NGINX_CONF).read_text().replace("sendfile on;", "sendfile on;\n    proxy_pas x;")
    )
    ok, messages = nginx.test_config(
        Host(site.root).load(), "/usr/local/etc/nginx/broken.conf", quiet=True
    )
    broken.unlink()
    assert not ok
    assert (
        'nginx: [emerg] unknown directive "proxy_pas" in /usr/local/etc/nginx/broken.conf:'
        in messages
    )
    assert str(site.root) not in messages


def test_a_promotion_replaces_the_pf_anchor_and_leaves_nginx_alone(
    hosts: dict[str, tuple[FreeBSDSite, Run]],
) -> None:
    site = hosts["jail1.example.net"][0]
    catalog = site.catalog()
    before = site.state()["services"]["/"]["nginx"]
    config = site.file(NGINX_CONF).read_text()
    table = nat_table(catalog.site.module, "freebsd", catalog.hosts["jail1.example.net"].jails_dir)
    service = service_addresses(
        catalog.pool_for("jail1.example.net").network,
        [app.name for app in catalog.apps_on("jail1.example.net")],
    )["shop"]["live"]
    site.render(change=lambda s: slots.promoted(s, catalog, "shop"), subject="promote shop")
    run = site.apply(PROFILE)
    assert run.report.ok, run.describe()
    anchor = f"/usr/local/etc/{table}.pf"
    assert sorted(run.report.changed) == ["Exec[jails: load nat table]", f"File[{anchor}]"]
    assert [a for a in run.commands() if a[0] in ("service", "pfctl")] == [
        # the jailgen_pf fact: pf is enabled and pf.conf hooks the anchor
        ["pfctl", "-s", "info"],
        ["pfctl", "-s", "nat"],
        ["pfctl", "-s", "Interfaces", "-v"],
        ["pfctl", "-n", "-a", table, "-f", run_validate_path(run)],
        ["pfctl", "-a", table, "-f", anchor],
        ["pfctl", "-a", table, "-s", "nat"],
    ]
    after = site.state()["services"]["/"]["nginx"]
    assert after == before  # neither restarted nor reloaded
    assert site.file(NGINX_CONF).read_text() == config
    rules = site.state()["pf"]["anchors"][table]
    assert {(r["to"], r["target"]) for r in rules if r["to"] == service} == {
        (service, "172.16.0.3")
    }


def run_validate_path(run: Run) -> str:
    """The temporary file Puppet's validate_cmd checked the anchor in."""
    return next(a[-1] for a in run.commands() if a[:2] == ["pfctl", "-n"])


def test_nothing_was_written_outside_the_sandbox() -> None:
    assert not Path("/usr/local/etc/nginx").exists()


@pytest.mark.parametrize(
    ("pf_conf", "enabled", "message"),
    [
        (
            'set skip on lo0\nanchor "jails"\npass all\n',
            True,
            "pf.conf does not hook the jails anchor: add the line 'rdr-anchor \"jails\"' to "
            "/etc/pf.conf, then service pf reload",
        ),
        (
            'set skip on lo\nrdr-anchor "jails"\npass all\n',  # lo is the group of lo0 and lo1
            True,
            "pf.conf skips lo, so pf translates nothing on lo1: set skip on lo0 only, "
            "then service pf reload",
        ),
        (
            'set skip on lo0\nrdr-anchor "jails"\npass all\n',
            False,
            "pf is not enabled: the jails anchor routes the slots "
            "(sysrc pf_enable=YES; service pf start)",
        ),
    ],
)
def test_a_host_whose_pf_would_not_route_the_slots_fails_to_compile_and_nothing_changes(
    tmp_path: Path, pf_conf: str, enabled: bool, message: str
) -> None:
    with hermetic(tmp_path):
        site = FreeBSDSite(tmp_path, "jail1.example.net").create(
            FIXTURE_CATALOG.read_text(), pf_conf=pf_conf, pf_enabled=enabled
        )
        run = site.apply(PROFILE)
    assert not run.report.ok
    assert message in run.report.summary(), run.describe()
    assert changes(run) == []
    assert not site.file(NGINX_CONF).exists()


def test_shop_is_served_over_https_for_qa_only_on_its_test_domain(
    hosts: dict[str, tuple[FreeBSDSite, Run]],
) -> None:
    for site, run in hosts.values():
        assert run.report.ok, run.describe()
        conf = site.file(NGINX_CONF).read_text()
        assert (
            "    # shop: test\n    server {\n        listen 127.0.0.1:443 ssl;\n"
            "        server_name shop.test.example.com;\n"
            "        ssl_certificate /usr/local/etc/ssl/shop.pem;\n"
            "        ssl_certificate_key /usr/local/etc/ssl/private/shop.key;\n"
            '        add_header X-Robots-Tag "noindex, nofollow" always;\n\n'
            "        # QA only: the networks listed, or a password from the htpasswd file.\n"
            "        # This host's own 127.0.0.1 is allowed for jailgen's route checks.\n"
            "        satisfy any;\n        allow 127.0.0.1;\n        allow 10.20.0.0/16;\n"
            "        allow 192.0.2.0/24;\n        deny all;\n"
            '        auth_basic "shop test";\n'
            "        auth_basic_user_file /usr/local/etc/nginx/shop-qa.htpasswd;\n"
        ) in conf
        assert "return 301 https://$host$request_uri;" in conf
