"""`jailgen demo`: the whole flow on this machine, end to end.

It makes a git repo of the demo app with a few commits (so releases are real
SHAs), copies the fixture catalog with its Linux paths pointed into the demo
directory, initialises a control repo, renders and commits, asks for a test
jail of one release (QA), promotes it (release manager), and shows the URLs and
`jailgen status`. Everything runs for real: git, `puppet apply`, the linux jail
provider (bubblewrap), a private NGINX on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import git
from ruamel.yaml import YAML

from generator import local_processes, repo
from generator.catalog import Catalog, load_catalog
from generator.commands.render import render_catalog
from generator.deploy import Deployer, Outcome
from generator.errors import JailgenError
from generator.puppet.local import LocalPuppet, LocalRunner

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
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


def make_app_repo(target: Path, commits: int = 3) -> list[str]:
    """A git repo of the demo app with `commits` commits; their SHAs, oldest first."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    app_repo = git.Repo.init(target, initial_branch="main")
    with app_repo.config_writer() as config:
        config.set_value("user", "name", "Demo Developer")
        config.set_value("user", "email", "demo@example.com")
    shutil.copy2(FIXTURES / "demo_app" / "app.py", target / "app.py")
    shas = []
    for number in range(1, commits + 1):
        (target / "VERSION").write_text(f"{number}\n")
        app_repo.index.add(["app.py", "VERSION"])
        shas.append(app_repo.index.commit(f"Release {number}").hexsha)
    return shas


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise JailgenError("no free port on 127.0.0.1")


def write_catalog(paths: DemoPaths, release: str, port: int) -> None:
    """The fixture catalog, with its Linux host's paths moved into the demo."""
    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load((FIXTURES / "catalog.yaml").read_text())
    data["site"]["linux"]["root"] = str(paths.root)
    host = data["hosts"][DEMO_HOST]
    host["jails_dir"] = str(paths.jails_dir)
    host["nginx"]["port"] = port
    host["nginx"]["prefix"] = str(paths.nginx_prefix)
    data["apps"][DEMO_APP]["source"] = str(paths.source)
    data["apps"][DEMO_APP]["release"] = release
    with paths.catalog.open("w") as handle:
        yaml.dump(data, handle)


def stop(paths: DemoPaths) -> list[local_processes.LocalProcess]:
    processes = local_processes.running(paths.jails_dir, paths.nginx_prefix)
    local_processes.stop(processes)
    local_processes.remove_nat_table(paths.jails_dir)
    return processes


def run(base: Path, say: Callable[[str], None]) -> tuple[Catalog, list[Outcome]]:
    paths = DemoPaths(base.resolve())
    for process in stop(paths):
        say(f"stopped {process.what} (pid {process.pid}) left by an earlier demo")
    if paths.base.exists():
        shutil.rmtree(paths.base)
    paths.base.mkdir(parents=True)
    shas = make_app_repo(paths.source)
    say(f"demo app repo {paths.source}: releases {', '.join(s[:12] for s in shas)}")
    write_catalog(paths, shas[0], free_port(8080))
    catalog = load_catalog(paths.catalog)
    repo.init(paths.control)
    rendered = render_catalog(catalog, paths.control, commit=True, subject="Render the catalog")
    say(f"control repo {paths.control}: {len(rendered.changes)} files, commit {rendered.commit}")
    runner = LocalRunner(LocalPuppet(paths.root / "puppet"))
    deployer = Deployer(catalog, paths.control, runner)
    outcomes = [deployer.test(DEMO_APP, shas[-1])]
    if outcomes[-1].ok:
        outcomes.append(deployer.promote(DEMO_APP))
    return catalog, outcomes


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
