"""Where the development stack keeps everything: one state directory, with a
directory per component. Pure: paths only, nothing is created here."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

CLIENT_CERTNAME = "jailgen"  # jailgen's own certificate, for PuppetDB and the admin API
SERVER_CERTNAME = "localhost"  # Puppet Server's (and PuppetDB's) certificate


@dataclass(frozen=True)
class Ports:
    postgres: int
    puppetdb: int
    puppetserver: int
    sshd: int

    def to_json(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Layout:
    root: Path

    # -- PostgreSQL (a cluster of its own, configured outside /etc) --------
    @property
    def pg_conf_root(self) -> Path:
        return self.root / "postgresql" / "etc"

    @property
    def pg_data(self) -> Path:
        return self.root / "postgresql" / "data"

    @property
    def pg_socket_dir(self) -> Path:
        return self.root / "postgresql" / "run"

    # -- Puppet Server ------------------------------------------------------
    @property
    def server(self) -> Path:
        return self.root / "puppetserver"

    @property
    def server_confdir(self) -> Path:
        return self.server / "etc"

    @property
    def server_ssldir(self) -> Path:
        return self.server_confdir / "ssl"

    @property
    def server_cadir(self) -> Path:
        return self.server_confdir / "ca"

    @property
    def server_tk_confdir(self) -> Path:
        return self.server / "conf.d"

    @property
    def codedir(self) -> Path:
        return self.server / "code"

    @property
    def environments(self) -> Path:
        return self.codedir / "environments"

    # -- PuppetDB -----------------------------------------------------------
    @property
    def puppetdb(self) -> Path:
        return self.root / "puppetdb"

    @property
    def puppetdb_confdir(self) -> Path:
        return self.puppetdb / "conf.d"

    @property
    def puppetdb_ssl(self) -> Path:
        return self.puppetdb / "ssl"

    # -- r10k and the control repo's remote --------------------------------
    @property
    def r10k_config(self) -> Path:
        return self.root / "r10k" / "r10k.yaml"

    @property
    def r10k_cache(self) -> Path:
        return self.root / "r10k" / "cache"

    @property
    def control_remote(self) -> Path:
        return self.root / "control.git"

    # -- jailgen's client certificate --------------------------------------
    @property
    def client_ssl(self) -> Path:
        return self.root / "client"

    @property
    def client_cert(self) -> Path:
        return self.client_ssl / f"{CLIENT_CERTNAME}.pem"

    @property
    def client_key(self) -> Path:
        return self.client_ssl / f"{CLIENT_CERTNAME}.key.pem"

    @property
    def ca_cert(self) -> Path:
        return self.client_ssl / "ca.pem"

    # -- agents ---------------------------------------------------------------
    @property
    def agents(self) -> Path:
        return self.root / "agents"

    def agent(self, certname: str) -> Path:
        return self.agents / certname

    # -- sshd -----------------------------------------------------------------
    @property
    def ssh(self) -> Path:
        return self.root / "ssh"

    @property
    def ssh_config(self) -> Path:
        return self.ssh / "ssh_config"

    @property
    def ssh_client_key(self) -> Path:
        return self.ssh / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.ssh / "known_hosts"

    # -- bookkeeping -----------------------------------------------------------
    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def manifest(self) -> Path:
        """What `stack up` started and how to reach it (read by `stack down`)."""
        return self.root / "stack.json"


@dataclass(frozen=True)
class Manifest:
    """The record of a running stack: its ports, agents and processes by pid."""

    root: str
    ports: Ports
    agents: list[str]
    pids: dict[str, int]

    def to_json(self) -> dict[str, object]:
        return {
            "root": self.root,
            "ports": self.ports.to_json(),
            "agents": self.agents,
            "pids": self.pids,
        }

    @classmethod
    def read(cls, path: Path) -> Manifest | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return cls(
            root=str(data["root"]),
            ports=Ports(**data["ports"]),
            agents=[str(a) for a in data["agents"]],
            pids={str(k): int(v) for k, v in data["pids"].items()},
        )
