"""Acceptance: real `puppet apply` of the generated module on a FreeBSD 14.1
host, played by the model (tests/freebsd/README.md), through a release's life:
first run, a run that changes nothing, promotions and a rollback, a prune, and
failures. Each test checks one claim against the model's state and call log.

The life is lived once per module (a Puppet run takes seconds); the tests read
what each run did.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from generator import state as slots
from generator.demo_app import make_app_repo
from generator.names import jail_name
from generator.service_addresses import nat_table, service_addresses
from tests.freebsd.conftest import hermetic
from tests.freebsd.fbmodel import jailconf
from tests.freebsd.fbmodel.host import Host, Output
from tests.freebsd.fbmodel.jails import Jails
from tests.freebsd.site import FreeBSDSite, JailConfs, Run, changes

RELEASE = "14.1-RELEASE"
TEMPLATE = f"zroot/jails/templates/{RELEASE}"
NGINX_CONF = "/usr/local/etc/nginx/nginx.conf"
CERTNAME = "jail1.example.net"
PORTS = {"shop": 8000, "status": 9000}

CATALOG = """\
site:
  freebsd_release: {release}
  retention: 1
hosts:
  jail1.example.net: {{os: freebsd}}
apps:
  shop:
    hosts: [jail1.example.net]
    domains: [shop.example.com, www.shop.example.com]
    test_domain: shop.test.example.com
    source: {sources}/shop
    release: {shop}
    run:
      command: [/usr/local/bin/python3.11, app.py]
      port: 8000
      environment: {{SHOP_CURRENCY: EUR}}
    packages: [python311, py311-sqlite3]
    jail: {{allow.raw_sockets: false}}
  status:
    hosts: [jail1.example.net]
    domains: [status.example.com]
    test_domain: status.test.example.com
    source: {sources}/status
    release: {status}
    run:
      command: [/usr/local/bin/node, server.js]
      port: 9000
    jail: {{allow.raw_sockets: true}}
"""


@dataclass
class Life:
    site: FreeBSDSite
    shop: list[str]
    status: list[str]
    runs: dict[str, Run] = field(default_factory=dict)
    nginx: dict[str, str] = field(default_factory=dict)  # nginx.conf after each run
    state: dict[str, dict[str, Any]] = field(default_factory=dict)  # model state after each run
    files: dict[str, list[str]] = field(default_factory=dict)  # jail confs and trees after each run
    rc_conf: dict[str, str] = field(default_factory=dict)  # the host's /etc/rc.conf after each run
    jail_confs: dict[str, JailConfs] = field(default_factory=dict)  # both readers, after each run

    def jail(self, app: str, number: int) -> str:
        return jail_name(app, (self.shop if app == "shop" else self.status)[number])

    @property
    def table(self) -> str:
        """The pf anchor the module loads the NAT rules into."""
        catalog = self.site.catalog()
        return nat_table(catalog.site.module, "freebsd", catalog.hosts[CERTNAME].jails_dir)

    @property
    def anchor(self) -> str:
        """The file the anchor's rules are written to."""
        return f"/usr/local/etc/{self.table}.pf"

    def service(self, app: str, slot: str) -> str:
        """The stable service address NGINX proxies the app's slot to."""
        catalog = self.site.catalog()
        apps = [a.name for a in catalog.apps_on(CERTNAME)]
        return service_addresses(catalog.pool_for(CERTNAME).network, apps)[app][slot]

    def rules(self, step: str) -> list[dict[str, Any]]:
        """The rdr rules of the module's pf anchor after `step`."""
        return list(self.state[step].get("pf", {}).get("anchors", {}).get(self.table, []))

    def backend(self, step: str, app: str, slot: str) -> str | None:
        """Where a new connection for the app's slot goes after `step`: NGINX's
        upstream must name the slot's service address (never a jail), and the pf
        anchor translates that address to a jail (None: no rule, NGINX answers 503)."""
        found = re.search(
            rf"upstream {app}_{slot} {{\n(?:\s*#[^\n]*\n)*\s*server (\S+) max_fails=0;\n",
            self.nginx[step],
        )
        assert found, f"no upstream {app}_{slot} after {step}"
        service = f"{self.service(app, slot)}:{PORTS[app]}"
        assert found[1] == service, f"{app}_{slot} is not proxied to its service address"
        targets = [
            f"{r['target']}:{r['target_port']}"
            for r in self.rules(step)
            if f"{r['to']}:{r['port']}" == service
        ]
        assert len(targets) <= 1, targets
        return targets[0] if targets else None

    def step(
        self,
        name: str,
        change: Callable[[slots.DeploymentState], slots.DeploymentState] | None = None,
    ) -> Run:
        if change is not None:
            self.site.render(change=change, subject=name)
        run = self.site.apply()
        self.runs[name] = run
        self.nginx[name] = (
            self.site.file(NGINX_CONF).read_text() if self.site.file(NGINX_CONF).exists() else ""
        )
        self.state[name] = self.site.state()
        self.rc_conf[name] = self.site.file("/etc/rc.conf").read_text()
        self.jail_confs[name] = self.site.jail_confs()
        self.files[name] = sorted(
            str(p.relative_to(self.site.root))
            for pattern in ("etc/jail.conf.d/*", "usr/local/jails/containers/*")
            for p in self.site.root.glob(pattern)
        )
        return run

    def edit_host(self, edit: Callable[[Host], None]) -> None:
        """Change the host behind Puppet's back, as an operator (or a disk) would."""
        with Host.open(self.site.root) as host:
            edit(host)


def set_pool_full(full: bool) -> Callable[[Host], None]:
    def edit(host: Host) -> None:
        host.state["pools"]["zroot"]["full"] = full

    return edit


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Life]:
    base = tmp_path_factory.mktemp("freebsd")
    with hermetic(base):
        shop = make_app_repo(base / "sources" / "shop", 4)
        status = make_app_repo(base / "sources" / "status", 1)
        site = FreeBSDSite(base).create(
            CATALOG.format(
                release=RELEASE, sources=base / "sources", shop=shop[0], status=status[0]
            )
        )
        life = Life(site, shop, status)
        catalog = site.catalog()

        def test(number: int) -> Callable[[slots.DeploymentState], slots.DeploymentState]:
            return lambda s: slots.with_test_release(s, catalog, "shop", shop[number])

        def promote(s: slots.DeploymentState) -> slots.DeploymentState:
            return slots.promoted(s, catalog, "shop")

        life.step("first")
        life.step("second")
        life.step("promote 0", promote)
        life.step("test 1", test(1))
        life.step("promote 1", promote)
        life.step("rollback", lambda s: slots.rolled_back(s, catalog, "shop"))
        life.step("test 2", test(2))
        life.step("promote 2 and prune 1", promote)
        life.step("after prune")
        life.edit_host(set_pool_full(True))
        life.step("clone fails", test(3))
        life.edit_host(set_pool_full(False))
        life.step("recovered")

        def break_jail(host: Host) -> None:
            name = life.jail("shop", 3)
            if name in host.state["jails"]:
                Jails(host, Output()).remove(name, f"/etc/jail.conf.d/{name}.conf", quiet=True)
            (host.root / f"usr/local/jails/containers/{name}/bin/sh").unlink()

        life.edit_host(break_jail)
        life.step("start fails")
        yield life


def conf_of(life: Life, name: str) -> dict[str, Any]:
    path = life.site.file(f"/etc/jail.conf.d/{name}.conf")
    return dict(jailconf.parse_text(path.read_text(), path.name).parameters(name))


# --- the first run ---


def test_first_run_converges(life: Life) -> None:
    run = life.runs["first"]
    assert run.report.ok, run.describe()
    assert run.report.status == "changed"
    assert run.report.exit_code == 2  # --detailed-exitcodes: changes, no failures


def test_template_dataset_and_snapshot_are_made_once(life: Life) -> None:
    datasets = life.state["first"]["datasets"]
    assert datasets[TEMPLATE]["type"] == "filesystem"
    assert datasets[f"{TEMPLATE}@base"]["type"] == "snapshot"
    template = life.site.file(f"/usr/local/jails/templates/{RELEASE}")
    assert (template / "etc" / "resolv.conf").is_file()
    assert (
        'USERLAND_VERSION="14.1-RELEASE-p6"' in (template / "bin" / "freebsd-version").read_text()
    )
    everything = [argv for run in life.runs.values() for argv in changes(run)]
    made_once = {
        "snapshot": ["zfs", "snapshot", f"{TEMPLATE}@base"],
        "dataset": ["zfs", "create", TEMPLATE],
        "fetch": [
            "fetch",
            "-q",
            "-o",
            f"/usr/local/jails/media/{RELEASE}-base.txz.part",
            f"https://download.freebsd.org/releases/amd64/{RELEASE}/base.txz",
        ],
    }
    for what, argv in made_once.items():
        assert everything.count(argv) == 1, what
    assert [a[0] for a in everything].count("freebsd-update") == 1
    assert [a[0] for a in everything].count("tar") == 1


def test_one_jail_per_release_cloned_from_the_template(life: Life) -> None:
    datasets = life.state["first"]["datasets"]
    jails = [life.jail("shop", 0), life.jail("status", 0)]
    for name in jails:
        assert datasets[f"zroot/jails/containers/{name}"]["origin"] == f"{TEMPLATE}@base"
        assert (
            datasets[f"zroot/jails/containers/{name}"]["mountpoint"]
            == f"/usr/local/jails/containers/{name}"
        )
        assert [
            "zfs",
            "clone",
            "-o",
            f"mountpoint=/usr/local/jails/containers/{name}",
            f"{TEMPLATE}@base",
            f"zroot/jails/containers/{name}",
        ] in changes(life.runs["first"])
    assert sorted(life.state["first"]["jails"]) == sorted(jails)


def test_jail_conf_carries_the_seed_parameters_and_the_address(life: Life) -> None:
    shop, status = life.jail("shop", 0), life.jail("status", 0)
    for name, address in ((shop, "172.16.0.2"), (status, "172.16.0.3")):
        params = conf_of(life, name)
        assert params["exec.start"] == ["/bin/sh /etc/rc"]
        assert params["exec.stop"] == ["/bin/sh /etc/rc.shutdown"]
        assert params["exec.consolelog"] == [f"/var/log/jail_console_{name}.log"]
        assert params["exec.clean"] is True
        assert params["mount.devfs"] is True
        assert params["host.hostname"] == [name]
        assert params["path"] == [f"/usr/local/jails/containers/{name}"]
        assert params["interface"] == ["lo1"]
        assert params["ip4.addr"] == [address]
        running = life.state["first"]["jails"][name]
        assert (running["ip4"], running["hostname"], running["interface"]) == (
            [address],
            name,
            "lo1",
        )
        assert [address, 32] in life.state["first"]["interfaces"]["lo1"]["addresses"]
    assert ["172.16.0.1", 12] in life.state["first"]["interfaces"]["lo1"]["addresses"]
    jail_conf = life.site.file("/etc/jail.conf").read_text()
    assert '.include "/etc/jail.conf.d/*.conf";' in jail_conf


def test_every_jail_conf_written_reads_the_same_by_jail_conf_5(life: Life) -> None:
    """After every run, each jail.conf(5) file on the host is read by an
    independent parser (tests/freebsd/jailconf5.py) without error, to the
    same jails and parameters as the model's jail(8) reads."""
    for step, confs in life.jail_confs.items():
        assert "/etc/jail.conf" in confs.files, step
        assert isinstance(confs.independent, dict), (step, confs.independent)
        assert confs.independent == confs.model, step
        every_file = {n for f in confs.files[:-1] for n in confs.independent[f]}
        assert sorted(confs.independent["/etc/jail.conf"]) == sorted(every_file), step
    assert len(life.jail_confs["first"].files) == 3  # jail.conf and the two jails' files


def test_raw_sockets_only_where_the_catalog_asks(life: Life) -> None:
    shop, status = life.jail("shop", 0), life.jail("status", 0)
    jails = life.state["first"]["jails"]
    assert jails[shop]["params"]["allow.raw_sockets"] is False
    assert jails[status]["params"]["allow.raw_sockets"] is True
    assert "\tallow.raw_sockets;\n" in life.site.file(f"/etc/jail.conf.d/{status}.conf").read_text()
    assert "allow.raw_sockets;" not in life.site.file(f"/etc/jail.conf.d/{shop}.conf").read_text()


def test_the_release_is_provisioned_and_its_service_runs_in_the_jail(life: Life) -> None:
    name = life.jail("shop", 0)
    root = life.site.file(f"/usr/local/jails/containers/{name}")
    head = (root / "usr/local/shop/.git/HEAD").read_text().strip()
    assert head == life.shop[0]
    packages = json.loads((root / "var/db/pkg/fbmodel.json").read_text())
    assert sorted(packages) == ["py311-sqlite3", "python311"]
    assert 'shop_enable="YES"' in (root / "etc/rc.conf").read_text()
    services = life.state["first"]["services"]
    assert "shop" in services[f"/usr/local/jails/containers/{name}"]
    assert "nginx" in services["/"]
    host_rc = life.rc_conf["first"]
    running = " ".join(sorted([name, life.jail("status", 0)]))
    for setting in (
        f'jail_list="{running}"',
        'jail_enable="YES"',
        'jail_parallel_start="YES"',
        'nginx_enable="YES"',
    ):
        assert setting in host_rc


def test_nginx_routes_the_test_domains_to_the_new_jails(life: Life) -> None:
    assert life.backend("first", "shop", "test") == "172.16.0.2:8000"
    assert life.backend("first", "status", "test") == "172.16.0.3:9000"
    # nothing is live yet: no rule behind the live service addresses
    assert life.backend("first", "shop", "live") is None
    assert life.backend("first", "status", "live") is None
    assert sorted((r["to"], r["target"]) for r in life.rules("first")) == sorted(
        [
            (life.service("shop", "test"), "172.16.0.2"),
            (life.service("status", "test"), "172.16.0.3"),
        ]
    )


def boot_settings(rc_conf: str) -> tuple[str, list[str]]:
    values = dict(
        line.split("=", 1) for line in rc_conf.splitlines() if "=" in line and line[0] != "#"
    )
    return values.get("jail_enable", '"NO"').strip('"'), values.get("jail_list", '""').strip(
        '"'
    ).split()


def test_only_the_running_jails_start_at_boot(life: Life) -> None:
    """After every run, rc.d/jail at boot starts exactly the running jails: they
    are jail_list, and jail_enable is YES only while the list is not empty (an
    empty list would start every jail in /etc/jail.conf)."""
    for step, rc_conf in life.rc_conf.items():
        running = sorted(life.state[step]["jails"])
        enable, listed = boot_settings(rc_conf)
        assert listed == running, step
        assert enable == ("YES" if running else "NO"), step


# --- a second run ---


def test_a_second_run_changes_nothing(life: Life) -> None:
    for name in ("second", "after prune"):
        run = life.runs[name]
        assert run.report.ok, run.describe()
        assert (run.report.status, run.report.changed, run.report.exit_code) == (
            "unchanged",
            [],
            0,
        ), name
        assert changes(run) == [], name


# --- promotion and rollback ---


@pytest.mark.parametrize("name", ["promote 0", "promote 1", "rollback"])
def test_promote_and_rollback_touch_only_the_nat_anchor(life: Life, name: str) -> None:
    run = life.runs[name]
    assert run.report.ok, run.describe()
    # The anchor's file, and the exec that loads it; NGINX is neither rewritten nor reloaded.
    assert sorted(run.report.changed) == ["Exec[jails: load nat table]", f"File[{life.anchor}]"]
    assert changes(run) == [["pfctl", "-a", life.table, "-f", life.anchor]]
    before = list(life.runs)[list(life.runs).index(name) - 1]
    previous = life.state[before]
    after = life.state[name]
    assert after["jails"] == previous["jails"]
    assert after["datasets"] == previous["datasets"]
    assert after["services"]["/"]["nginx"] == previous["services"]["/"]["nginx"]
    assert life.nginx[name] == life.nginx[before]
    assert life.rules(name) != life.rules(before)


def test_live_follows_promotion_and_rollback(life: Life) -> None:
    shop0, shop1 = (life.state["test 1"]["jails"][life.jail("shop", n)]["ip4"][0] for n in (0, 1))
    assert shop0 != shop1
    assert life.backend("promote 0", "shop", "live") == f"{shop0}:8000"
    assert life.backend("promote 1", "shop", "live") == f"{shop1}:8000"
    assert life.backend("rollback", "shop", "live") == f"{shop0}:8000"


def test_a_new_test_release_gets_a_new_jail_and_nothing_else_moves(life: Life) -> None:
    run = life.runs["test 1"]
    assert run.report.ok, run.describe()
    name = life.jail("shop", 1)
    made = changes(run)
    assert made[0] == [
        "zfs",
        "clone",
        "-o",
        f"mountpoint=/usr/local/jails/containers/{name}",
        f"{TEMPLATE}@base",
        f"zroot/jails/containers/{name}",
    ]
    assert ["service", "jail", "onestart", name] in made
    assert not [
        a for a in made if a[:2] in (["zfs", "destroy"], ["service", "jail"]) and name not in a
    ]
    # The new jail reaches traffic through the anchor alone: no NGINX reload.
    assert made[-1] == ["pfctl", "-a", life.table, "-f", life.anchor]
    assert not [a for a in made if a[0] == "service" and "nginx" in a]
    address = life.state["test 1"]["jails"][name]["ip4"][0]
    assert life.backend("test 1", "shop", "test") == f"{address}:8000"
    assert life.backend("test 1", "shop", "live") == life.backend("promote 0", "shop", "live")
    assert life.nginx["test 1"] == life.nginx["promote 0"]


# --- prune ---


def test_prune_stops_removes_the_configuration_then_destroys(life: Life) -> None:
    run = life.runs["promote 2 and prune 1"]
    assert run.report.ok, run.describe()
    name = life.jail("shop", 1)
    calls = [c for c in run.calls if "parent" not in c]
    argv = [[c["tool"], *c["args"]] for c in calls]
    kept = sorted([life.jail("shop", 0), life.jail("shop", 2), life.jail("status", 0)])
    unlist = argv.index(["sysrc", f"jail_list={' '.join(kept)}"])
    stop = argv.index(["service", "jail", "onestop", name])
    destroy = argv.index(["zfs", "destroy", f"zroot/jails/containers/{name}"])
    load = argv.index(["pfctl", "-a", life.table, "-f", life.anchor])
    assert load < unlist < stop < destroy  # traffic leaves the jail before it goes
    address = life.state["test 2"]["jails"][name]["ip4"][0]
    assert address not in {r["target"] for r in life.rules("promote 2 and prune 1")}
    assert ["service", "nginx", "reload"] not in argv
    # The stopped jail was dying (jls -d) for a while; destroy waited for it.
    waits = [
        c for c in calls[stop:destroy] if [c["tool"], *c["args"]] == ["jls", "-d", "-q", "name"]
    ]
    assert len(waits) >= 2
    assert name in waits[0]["stdout"] and name not in waits[-1]["stdout"]
    assert name in calls[stop]["before"]["configured"]
    assert name in calls[stop]["before"]["running"]
    assert name not in calls[destroy]["before"]["configured"]  # configuration removed in between
    assert name not in calls[destroy]["before"]["running"]
    after = life.state["promote 2 and prune 1"]
    assert f"zroot/jails/containers/{name}" not in after["datasets"]
    assert not [f for f in life.files["promote 2 and prune 1"] if name in f]
    assert name not in after["jails"]
    kept = {life.jail("shop", 0), life.jail("shop", 2), life.jail("status", 0)}
    assert set(after["jails"]) == kept


# --- failures ---


def test_a_failing_clone_fails_the_run_with_zfs_message_and_leaves_nothing(life: Life) -> None:
    run = life.runs["clone fails"]
    name = life.jail("shop", 3)
    assert not run.report.ok
    assert run.report.exit_code in (4, 6)
    failures = {f.resource: f.message for f in run.report.failed}
    assert f"Jail[{name}]" in failures, run.describe()
    assert (
        f"cannot create 'zroot/jails/containers/{name}': out of space" in failures[f"Jail[{name}]"]
    )
    state = life.state["clone fails"]
    assert f"zroot/jails/containers/{name}" not in state["datasets"]
    assert name not in state["jails"]
    assert life.files["clone fails"] == life.files["after prune"]  # no conf, no tree
    assert life.nginx["clone fails"] == life.nginx["after prune"]  # routes unchanged
    assert life.rules("clone fails") == life.rules("after prune")
    assert [a for a in changes(run) if a[0] != "zfs"] == []


def test_the_next_run_finishes_the_job(life: Life) -> None:
    run = life.runs["recovered"]
    assert run.report.ok, run.describe()
    name = life.jail("shop", 3)
    assert name in life.state["recovered"]["jails"]
    address = life.state["recovered"]["jails"][name]["ip4"][0]
    assert life.backend("recovered", "shop", "test") == f"{address}:8000"


def test_a_jail_that_cannot_start_fails_the_run_with_jail_8s_message(life: Life) -> None:
    run = life.runs["start fails"]
    name = life.jail("shop", 3)
    failures = {f.resource: f.message for f in run.report.failed}
    assert f"jail {name} did not start (service jail said: " in failures.get(f"Jail[{name}]", ""), (
        run.describe()
    )
    assert f"jail: {name}: exec /bin/sh: No such file or directory" in failures[f"Jail[{name}]"]
    assert f"jail: {name}: /bin/sh /etc/rc: failed" in failures[f"Jail[{name}]"]
    assert name not in life.state["start fails"]["jails"]


# Where the module runs each tool from, as its README writes them.
PATHS = {
    "zfs": "/sbin/zfs",
    "jls": "/usr/sbin/jls",
    "service": "/usr/sbin/service",
    "sysrc": "/usr/sbin/sysrc",
    "ifconfig": "/sbin/ifconfig",
    "fetch": "/usr/bin/fetch",
    "tar": "/usr/bin/tar",
    "freebsd-update": "/usr/sbin/freebsd-update",
    "nginx": "/usr/local/sbin/nginx",
    "pfctl": "/sbin/pfctl",
}


def test_the_module_readme_names_every_command_the_runs_made(life: Life) -> None:
    """The README says exactly which commands run: each form the runs used
    (tool, sub-command and leading options) is written there."""
    text = (life.site.control / "site-modules" / "jails" / "README.md").read_text()
    readme = " ".join(text.split())
    missing = set()
    for run in life.runs.values():
        for call in run.calls:
            if "parent" in call or call["tool"] not in PATHS:
                continue
            words = [PATHS[call["tool"]]]
            for arg in call["args"]:
                if any(c in arg for c in "/_.=@0123456789"):
                    break
                words.append(arg)
            if " ".join(words) not in readme:
                missing.add(" ".join(words))
    assert not missing


def test_no_run_wrote_outside_the_sandbox(life: Life) -> None:
    for path in (
        "/etc/jail.conf",
        "/etc/jail.conf.d",
        "/usr/local/jails",
        "/usr/local/etc/nginx",
        "/sbin/zfs",
    ):
        assert not Path(path).exists(), path
