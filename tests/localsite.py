"""A real local site for integration tests: a demo app repo with real commits, a
catalog whose Linux host is this machine, a control repo, and the Puppet runner.
Everything lives under one temporary directory; `stop()` ends every process the
site started (jail sandboxes and NGINX), by pid."""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from generator import local_processes
from generator.catalog import Catalog, load_catalog
from generator.commands.init import init_control_repo
from generator.commands.render import render_catalog
from generator.demo_app import make_app_repo
from generator.puppet.local import LocalPuppet, LocalRunner
from generator.service_addresses import nat_table
from generator.workflow import Deployer

HOST = "devbox.example.net"
# The jails' address pool: not the demo's 127.16.0.0/16, whose jails may still
# be running, nor the agent stack's 127.17.N.0/24. Two checkouts testing on one
# machine at once give each its own network (JAILGEN_TEST_NETWORK=127.21.0.0/16)
# so their jails never bind the same address.
NETWORK = ipaddress.IPv4Network(os.environ.get("JAILGEN_TEST_NETWORK", "127.20.0.0/16"))


def first_jail_address() -> str:
    """The address the first jail gets: the pool's host address is .1."""
    return str(NETWORK.network_address + 2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalSite:
    base: Path
    retention: int = 2
    # more apps on the same host, each serving the same source as hello
    others: tuple[str, ...] = ()
    shas: list[str] = field(default_factory=list)
    port: int = 0
    # more catalog text: indented site keys, and keys of the app hello
    site_keys: str = ""
    hello_keys: str = ""

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
    def control(self) -> Path:
        return self.base / "control"

    @property
    def catalog_path(self) -> Path:
        return self.base / "catalog.yaml"

    def create(self, commits: int = 4) -> LocalSite:
        self.shas = make_app_repo(self.base / "sources" / "hello", commits)
        self.port = self.port or free_port()
        self.catalog_path.write_text(
            f"""\
site:
  linux: {{root: {self.root}}}
  pools:
    linux: {{interface: lo, network: {NETWORK}}}
  nginx: {{listen: 127.0.0.1, port: {self.port}}}
  retention: {self.retention}
{self.site_keys}hosts:
  {HOST}: {{os: linux, jails_dir: {self.jails_dir}}}
apps:
  hello:
    hosts: [{HOST}]
    domains: [hello.example.com, www.hello.example.com]
    test_domain: hello.test.example.com
    source: {self.base / "sources" / "hello"}
    run:
      command: [python3, app.py]
      port: 8000
{self.hello_keys}"""
            + "".join(self._other_app(name) for name in self.others)
        )
        init_control_repo(self.control)
        render_catalog(self.catalog(), self.control, commit=True)
        return self

    def _other_app(self, name: str) -> str:
        return f"""\
  {name}:
    hosts: [{HOST}]
    domains: [{name}.example.com]
    test_domain: {name}.test.example.com
    source: {self.base / "sources" / "hello"}
    run:
      command: [python3, app.py]
      port: 8000
"""

    def catalog(self) -> Catalog:
        return load_catalog(self.catalog_path)

    @property
    def puppet(self) -> LocalPuppet:
        return LocalPuppet(self.root / "puppet")

    def deployer(self, **kwargs: object) -> Deployer:
        return Deployer(self.catalog(), self.control, LocalRunner(self.puppet), **kwargs)  # type: ignore[arg-type]

    def processes(self) -> list[local_processes.LocalProcess]:
        return local_processes.running(self.jails_dir, self.nginx_prefix)

    @property
    def nat_table(self) -> str:
        return nat_table("jails", "linux", str(self.jails_dir))

    def stop(self) -> None:
        local_processes.stop(self.processes())
        local_processes.remove_nat_table(self.jails_dir)
