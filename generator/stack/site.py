"""A site whose hosts are the stack's agents: each agent is a Linux host of the
catalog with its own jail directory, address pool (127.17.N.0/24) and private
NGINX (own port and prefix), all on this machine. Used by the integration test
and the fan-out benchmark; `stop()` ends the jail sandboxes and NGINX instances
the agents' runs started, by pid."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator import local_processes, repo
from generator.catalog import Catalog, load_catalog
from generator.commands.init import init_control_repo
from generator.commands.render import render_catalog
from generator.demo_app import make_app_repo
from generator.puppet.agent import AgentRunner, Progress
from generator.stack.layout import Manifest
from generator.stack.services import catalog_puppet_block, free_port
from generator.workflow import Deployer

APP = "hello"


@dataclass
class AgentSite:
    base: Path
    manifest: Manifest
    concurrency: int = 4
    max_failures: int = 0
    transport: str = "ssh"
    shas: list[str] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def hosts(self) -> list[str]:
        return list(self.manifest.agents)

    def host_dir(self, certname: str) -> Path:
        return self.base / "hosts" / certname

    def jails_dir(self, certname: str) -> Path:
        return self.host_dir(certname) / "jails"

    def nginx_prefix(self, certname: str) -> Path:
        return self.host_dir(certname) / "nginx"

    @property
    def control(self) -> Path:
        return self.base / "control"

    @property
    def catalog_path(self) -> Path:
        return self.base / "catalog.yaml"

    def create(self, commits: int = 4) -> AgentSite:
        self.shas = make_app_repo(self.base / "sources" / APP, commits)
        for certname in self.hosts:
            self.host_dir(certname).mkdir(parents=True, exist_ok=True)
            self.ports[certname] = free_port()
        self.catalog_path.write_text(self.catalog_text())
        init_control_repo(self.control)
        git_repo = repo.open_repo(self.control)
        git_repo.create_remote("origin", str(Path(self.manifest.root) / "control.git"))
        render_catalog(self.catalog(), self.control, commit=True, push=True)
        return self

    def catalog_text(self) -> str:
        hosts = "".join(
            f"""\
  {certname}:
    os: linux
    jails_dir: {self.jails_dir(certname)}
    pool: {{interface: lo, network: 127.17.{number}.0/24}}
    nginx: {{port: {self.ports[certname]}, prefix: {self.nginx_prefix(certname)}}}
"""
            for number, certname in enumerate(self.hosts, start=1)
        )
        puppet = catalog_puppet_block(self.manifest).replace(
            "transport: ssh", f"transport: {self.transport}"
        )
        return f"""\
site:
  linux: {{root: {self.base / "root"}}}
{puppet}    concurrency: {self.concurrency}
    max_failures: {self.max_failures}
    report_timeout: 60
hosts:
{hosts}apps:
  {APP}:
    hosts: [{", ".join(self.hosts)}]
    domains: [hello.example.com]
    test_domain: hello.test.example.com
    source: {self.base / "sources" / APP}
    run:
      command: [python3, app.py]
      port: 8000
"""

    def catalog(self) -> Catalog:
        return load_catalog(self.catalog_path)

    def runner(self, progress: Progress | None = None) -> AgentRunner:
        if progress is None:
            return AgentRunner(self.catalog())
        return AgentRunner(self.catalog(), progress)

    def deployer(self, runner: AgentRunner | None = None, **kwargs: object) -> Deployer:
        return Deployer(
            self.catalog(),
            self.control,
            runner or self.runner(),
            push=True,
            **kwargs,  # type: ignore[arg-type]
        )

    def processes(self) -> list[local_processes.LocalProcess]:
        found = []
        for certname in self.hosts:
            found += local_processes.running(self.jails_dir(certname), self.nginx_prefix(certname))
        return found

    def stop(self) -> None:
        local_processes.stop(self.processes())
        for certname in self.hosts:
            local_processes.remove_nat_table(self.jails_dir(certname))
