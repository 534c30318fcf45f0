"""`jailgen demo`: the whole flow on this machine, end to end.

It makes a git repo of the demo shop (a WSGI app, generator.demo_app) with two
releases tagged v1 and v2, copies the fixture catalog with its Linux paths
pointed into the demo directory, initialises a control repo, renders and
commits, then lives a release's life: QA tests v1 (built into a virtual
environment in its jail), the release manager promotes it (its release command
migrates the database), QA tests v2, it is promoted, `jailgen history` is shown,
and live is rolled back to v1. Then the URLs and `jailgen status`. Everything
runs for real: git, `puppet apply`, the linux jail provider (bubblewrap), a
private NGINX on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from generator import http, local_processes
from generator.catalog import Catalog, load_catalog
from generator.commands.init import init_control_repo
from generator.commands.promote import promote
from generator.commands.render import render_catalog
from generator.commands.rollback import rollback
from generator.commands.status import AppHostStatus, status
from generator.commands.test import put_under_test
from generator.demo_app import FIXTURES, make_demo_repo
from generator.errors import JailgenError
from generator.outcome import Outcome
from generator.puppet.local import LocalPuppet, LocalRunner
from generator.workflow import Deployer

DEMO_APP = "hello"
DEMO_HOST = "devbox.example.net"


@dataclass(frozen=True)
class DemoPaths:
    base: Path

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def jails_dir(self) -> Path:
        return self.root / "jails"

    @property
    def nginx_prefix(self) -> Path:
        return self.root / "nginx"

    @property
    def source(self) -> Path:
        return self.base / "sources" / DEMO_APP

    @property
    def catalog(self) -> Path:
        return self.base / "catalog.yaml"

    @property
    def control(self) -> Path:
        return self.base / "control"


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise JailgenError("no free port on 127.0.0.1")


def write_catalog(paths: DemoPaths, port: int) -> None:
    """The fixture catalog, with its Linux host's paths moved into the demo, and
    the demo's app starting with an empty test slot (QA asks for v1)."""
    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load((FIXTURES / "catalog.yaml").read_text())
    data["site"]["linux"]["root"] = str(paths.root)
    host = data["hosts"][DEMO_HOST]
    host["jails_dir"] = str(paths.jails_dir)
    host["nginx"]["port"] = port
    host["nginx"]["prefix"] = str(paths.nginx_prefix)
    # two demos on one machine need two jail networks (127.x.0.0/16)
    if os.environ.get("JAILGEN_DEMO_NETWORK"):
        host["pool"]["network"] = os.environ["JAILGEN_DEMO_NETWORK"]
    data["apps"][DEMO_APP]["source"] = str(paths.source)
    del data["apps"][DEMO_APP]["release"]
    with paths.catalog.open("w") as handle:
        yaml.dump(data, handle)


def stop(paths: DemoPaths) -> list[local_processes.LocalProcess]:
    processes = local_processes.running(paths.jails_dir, paths.nginx_prefix)
    local_processes.stop(processes)
    local_processes.remove_nat_table(paths.jails_dir)
    return processes


def run(
    base: Path,
    say: Callable[[str], None],
    show: Callable[[Outcome], None],
    history: Callable[[DemoPaths], None],
) -> tuple[Catalog, list[Outcome]]:
    """The demo's life; it stops at the first step that fails. `say` prints a
    line, `show` an outcome, `history` the control repo's history."""
    paths = DemoPaths(base.resolve())
    for process in stop(paths):
        say(f"stopped {process.what} (pid {process.pid}) left by an earlier demo")
    if paths.base.exists():
        shutil.rmtree(paths.base)
    paths.base.mkdir(parents=True)
    shas = make_demo_repo(paths.source)
    say(f"demo shop repo {paths.source}: releases v1 {shas[0][:12]}, v2 {shas[1][:12]}")
    write_catalog(paths, free_port(8080))
    catalog = load_catalog(paths.catalog)
    init_control_repo(paths.control)
    rendered = render_catalog(catalog, paths.control, commit=True, subject="Render the catalog")
    say(f"control repo {paths.control}: {len(rendered.changes)} files, commit {rendered.commit}")
    runner = LocalRunner(LocalPuppet(paths.root / "puppet"))
    deployer = Deployer(catalog, paths.control, runner)
    steps: list[tuple[str, Callable[[], Outcome]]] = [
        ("QA tests v1 (built in its jail)", lambda: put_under_test(deployer, DEMO_APP, "v1")),
        ("promote v1 (its release command migrates)", lambda: promote(deployer, DEMO_APP)),
        ("QA tests v2", lambda: put_under_test(deployer, DEMO_APP, "v2")),
        ("promote v2", lambda: promote(deployer, DEMO_APP)),
        ("roll back to v1 (no release command)", lambda: rollback(deployer, DEMO_APP, "v1")),
    ]
    outcomes: list[Outcome] = []
    for title, step in steps:
        if title.startswith("roll back"):
            history(paths)
        say(f"\n== {title}")
        outcomes.append(step())
        show(outcomes[-1])
        if not outcomes[-1].ok:
            break
        for line in served(catalog):
            say(f"  served   {line}")
    return catalog, outcomes


def served(catalog: Catalog) -> list[str]:
    """What the demo's domains answer now, one line each."""
    app = catalog.apps[DEMO_APP]
    listen, port = catalog.nginx_for(DEMO_HOST)
    lines = []
    for domain in (*app.domains, app.test_domain):
        answer = http.get(listen, port, "/", host=domain)
        body = answer.body.strip().replace("\n", " | ")
        lines.append(f"{domain}: " + (body if answer.status == 200 else f"answers {answer.status}"))
    return lines


def describe_urls(catalog: Catalog) -> list[str]:
    app = catalog.apps[DEMO_APP]
    listen, port = catalog.nginx_for(DEMO_HOST)
    lines = []
    for domain in (*app.domains, app.test_domain):
        lines.append(f"curl -H 'Host: {domain}' http://{listen}:{port}/")
    return lines


def status_argv(paths: DemoPaths) -> list[str]:
    """The `jailgen status` command line for the demo's site."""
    return [
        "jailgen",
        "status",
        "--catalog",
        str(paths.catalog),
        "--repo",
        str(paths.control),
        "--workdir",
        str(paths.root / "puppet"),
    ]


def status_rows(catalog: Catalog, paths: DemoPaths) -> list[AppHostStatus]:
    """`jailgen status` of the demo's site."""
    return status(catalog, paths.control, LocalPuppet(paths.root / "puppet"))


def left_running(paths: DemoPaths) -> list[local_processes.LocalProcess]:
    """The demo's jails and NGINX, still running for the user to try."""
    return local_processes.running(paths.jails_dir, paths.nginx_prefix)
