"""Acceptance: a release's build on a FreeBSD 14.1 host (the model), through
real `puppet apply` runs: chroot(8) into the jail's root as www, in the
checkout, with the run environment; a failing build fails the run with sh(1)'s
message and starts nothing; after the catalog is fixed the next run installs
what was missing, builds and starts the service; a further run builds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from generator.demo_app import make_app_repo
from generator.names import jail_name
from tests.freebsd.conftest import hermetic
from tests.freebsd.site import FreeBSDSite, Run

CATALOG = """\
site: {{retention: 1}}
hosts:
  jail1.example.net: {{os: freebsd}}
apps:
  web:
    hosts: [jail1.example.net]
    domains: [web.example.com]
    test_domain: web.test.example.com
    source: {source}
    release: {release}
    run:
      command: [/usr/local/bin/node, server.js]
      port: 3000
      environment: {{NODE_ENV: production}}
    packages: [{packages}]
    build:
      - [/usr/local/bin/npm, ci]
      - [node, --version]
"""


@dataclass
class Life:
    site: FreeBSDSite
    release: str
    runs: dict[str, Run] = field(default_factory=dict)
    executions: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    exists: dict[str, dict[str, bool]] = field(default_factory=dict)  # jail files after each run

    @property
    def jail(self) -> str:
        return jail_name("web", self.release)

    @property
    def root(self) -> Path:
        return self.site.file(f"/usr/local/jails/containers/{self.jail}")

    def step(self, name: str) -> Run:
        run = self.site.apply()
        self.runs[name] = run
        self.executions[name] = list(self.site.state().get("executions", []))
        self.exists[name] = {
            path: (self.root / path).exists()
            for path in ("usr/local/etc/rc.d/web", "var/db/jailgen/web.built")
        }
        return run


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Life]:
    base = tmp_path_factory.mktemp("freebsd-build")
    with hermetic(base):
        (release,) = make_app_repo(base / "sources" / "web", 1)
        text = CATALOG.format(source=base / "sources" / "web", release=release, packages="node20")
        site = FreeBSDSite(base).create(text)
        life = Life(site, release)
        life.step("npm missing")
        site.catalog_path.write_text(text.replace("[node20]", "[node20, npm-node20]"))
        site.render(subject="web: install npm")
        life.step("fixed")
        life.step("again")
        yield life


def test_a_failing_build_fails_the_run_with_the_command_and_its_output(life: Life) -> None:
    report = life.runs["npm missing"].report
    assert not report.ok
    assert [(f.resource, f.message) for f in report.failed] == [
        (
            f"Jail_build[{life.jail}]",
            "change from 'unbuilt' to 'built' failed: build command "
            '["/usr/local/bin/npm","ci"] exited 127; its last output (all of it in '
            "/var/log/web-build.log in the jail):\n"
            "jailgen-build: exec: /usr/local/bin/npm: not found",
        )
    ]


def test_a_failed_build_starts_nothing_and_leaves_no_marker(life: Life) -> None:
    assert life.exists["npm missing"] == {
        "usr/local/etc/rc.d/web": False,
        "var/db/jailgen/web.built": False,
    }
    assert life.executions["npm missing"] == []
    log = (life.root / "var/log/web-build.log").read_text()
    assert log.startswith(f"# jailgen: build of web at {life.release} in {life.jail}, ")


def test_the_build_runs_in_a_chroot_of_the_jail_as_www_in_the_checkout(life: Life) -> None:
    run = life.runs["fixed"]
    assert run.report.ok, run.describe()
    chroots = run.commands("chroot")
    prefix = ["chroot", "-u", "www", "-g", "www", f"/usr/local/jails/containers/{life.jail}"]
    script = [
        "/bin/sh",
        "-c",
        'cd "$1" || exit 1; shift; exec "$@"',
        "jailgen-build",
        "/usr/local/web",
    ]
    assert chroots == [
        [*prefix, *script, "/usr/local/bin/npm", "ci"],
        [*prefix, *script, "node", "--version"],
    ]
    executions = life.executions["fixed"]
    assert [(e["argv"], e["cwd"], e["uid"], e["gid"]) for e in executions] == [
        (["/usr/local/bin/npm", "ci"], "/usr/local/web", 80, 80),
        (["/usr/local/bin/node", "--version"], "/usr/local/web", 80, 80),
    ]
    assert executions[0]["root"] == f"/usr/local/jails/containers/{life.jail}"
    assert executions[0]["environment"] == {
        "ADDRESS": "172.16.0.2",
        "HOME": "/usr/local/web",
        "HOST": "172.16.0.2",
        "JAILGEN_APP": "web",
        "JAILGEN_JAIL": life.jail,
        "JAILGEN_REVISION": life.release,
        "NODE_ENV": "production",
        "PATH": "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin",
        "PORT": "3000",
    }


def test_the_package_is_installed_before_the_build_and_the_service_after(life: Life) -> None:
    calls = [c for c in life.runs["fixed"].calls if "parent" not in c]
    order = [
        i
        for i, c in enumerate(calls)
        if (c["tool"] == "pkg" and "npm-node20" in c["args"] and "install" in c["args"])
        or c["tool"] == "chroot"
        or (c["tool"] == "service" and c["args"][-1:] == ["restart"])
    ]
    tools = [calls[i]["tool"] for i in order]
    assert tools[0] == "pkg" and tools[1:3] == ["chroot", "chroot"], tools
    assert life.exists["fixed"] == {
        "usr/local/etc/rc.d/web": True,
        "var/db/jailgen/web.built": True,
    }
    services = life.site.state()["services"]
    assert "web" in services[f"/usr/local/jails/containers/{life.jail}"]


def test_the_marker_and_log_record_the_build(life: Life) -> None:
    marker = json.loads((life.root / "var/db/jailgen/web.built").read_text())
    assert marker["revision"] == life.release
    assert marker["commands"] == [["/usr/local/bin/npm", "ci"], ["node", "--version"]]
    log = (life.root / "var/log/web-build.log").read_text()
    assert log.endswith('$ ["/usr/local/bin/npm","ci"]\n$ ["node","--version"]\n# jailgen: built\n')
    checkout = life.root / "usr/local/web"
    assert (checkout.stat().st_uid, checkout.stat().st_gid) == (80, 80)


def test_a_built_release_is_not_built_again(life: Life) -> None:
    run = life.runs["again"]
    assert run.report.ok, run.describe()
    assert run.commands("chroot") == []
    assert len(life.executions["again"]) == len(life.executions["fixed"])
