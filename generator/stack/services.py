"""`jailgen stack up|down`: a development Puppet stack on this machine, from
Debian's packages, on 127.0.0.1.

PostgreSQL (a cluster of its own, started with `pg_ctlcluster --foreground`),
PuppetDB with TLS from the Puppet CA, Puppet Server with the PuppetDB terminus
and report processor, r10k deploying environments from a bare control repo on
disk, an sshd with key-based login, and N agents on this machine, each with its
own certname, confdir, vardir and ssldir and a certificate signed by the CA.
Everything lives under one state directory; `down` stops every server by the
pid `up` recorded."""

from __future__ import annotations

import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from generator import names
from generator.errors import JailgenError
from generator.files import write_atomic
from generator.stack import configs, processes
from generator.stack.layout import (
    CLIENT_CERTNAME,
    SERVER_CERTNAME,
    Layout,
    Manifest,
    Ports,
)

PG_VERSION = "15"
PG_CLUSTER = "jailgen"
PG_ISREADY = f"/usr/lib/postgresql/{PG_VERSION}/bin/pg_isready"
# The order `down` stops them in: clients of a server first.
STOP_ORDER = ("sshd", "puppetserver", "puppetdb", "postgresql")
STOP_SIGNALS = {"postgresql": signal.SIGINT}  # PostgreSQL's fast shutdown

REQUIRED = {
    "puppetserver": "/usr/bin/puppetserver",
    "puppetdb": "/usr/sbin/puppetdb",
    "pg_ctlcluster": "/usr/bin/pg_ctlcluster",
    "r10k": "/usr/bin/r10k",
    "sshd": "/usr/sbin/sshd",
    "puppet": "/usr/bin/puppet",
}


@dataclass(frozen=True)
class StackSettings:
    root: Path
    agents: tuple[str, ...]
    environment: str = "production"
    jrubies: int = 2
    start_timeout_s: float = 240.0


Say = Callable[[str], None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def choose_ports() -> Ports:
    chosen: set[int] = set()
    values = []
    for _ in range(4):
        port = free_port()
        while port in chosen:
            port = free_port()
        chosen.add(port)
        values.append(port)
    return Ports(*values)


def running(layout: Layout) -> Manifest | None:
    manifest = Manifest.read(layout.manifest)
    if manifest is None or not any(processes.alive(p) for p in manifest.pids.values()):
        return None
    return manifest


def up(settings: StackSettings, say: Say = lambda _: None) -> Manifest:
    """Start the stack; on any failure, stop what was started and raise."""
    _preflight(settings)
    layout = Layout(settings.root.resolve())
    if running(layout) is not None:
        raise JailgenError(f"a stack is already running in {layout.root} (jailgen stack down)")
    _fresh_root(layout)
    ports = choose_ports()
    pids: dict[str, int] = {}
    manifest = Manifest(str(layout.root), ports, list(settings.agents), pids)
    try:
        _up(layout, ports, settings, pids, say)
    except BaseException:
        _write_manifest(layout, manifest)
        down(layout.root, say)
        raise
    _write_manifest(layout, manifest)
    return manifest


def _up(
    layout: Layout, ports: Ports, settings: StackSettings, pids: dict[str, int], say: Say
) -> None:
    started = time.monotonic()
    password = secrets.token_hex(16)
    pids["postgresql"] = _start_postgres(layout, ports, say)
    _setup_ca(layout, ports, settings.jrubies)
    say(f"Puppet CA ready in {layout.server_cadir}")
    log = layout.logs / "puppetserver.log"
    pids["puppetserver"] = processes.start(
        [
            REQUIRED["puppetserver"],
            "foreground",
            "--config",
            str(layout.server_tk_confdir),
            "--bootstrap-config",
            str(configs.SERVER_SERVICES),
        ],
        log,
    )
    _wait_postgres(layout, ports, pids["postgresql"])
    _create_database(layout, ports, password)
    say(f"PostgreSQL ready on 127.0.0.1:{ports.postgres}")
    _write_puppetdb(layout, ports, password)
    pdb_log = layout.logs / "puppetdb.log"
    pids["puppetdb"] = processes.start(
        [
            REQUIRED["puppetdb"],
            "services",
            "-c",
            str(layout.puppetdb_confdir),
            "-b",
            str(configs.PUPPETDB_BOOTSTRAP),
        ],
        pdb_log,
    )
    pids["sshd"] = _start_sshd(layout, ports, settings.agents)
    _init_remote(layout)
    write_atomic(layout.r10k_config, configs.r10k_yaml(layout) + "\n")
    context = ssl.create_default_context(cafile=str(layout.server_ssldir / "certs" / "ca.pem"))
    context.check_hostname = False  # readiness only; PuppetDB wants a client certificate
    context.load_cert_chain(layout.puppetdb_ssl / "public.pem", layout.puppetdb_ssl / "private.pem")
    processes.wait_until(
        "PuppetDB",
        processes.status_running(ports.puppetdb, context),
        pids["puppetdb"],
        pdb_log,
        settings.start_timeout_s,
    )
    say(f"PuppetDB ready on https://{SERVER_CERTNAME}:{ports.puppetdb} ({_since(started)})")
    processes.wait_until(
        "Puppet Server",
        processes.status_running(ports.puppetserver, context),
        pids["puppetserver"],
        log,
        settings.start_timeout_s,
    )
    say(
        f"Puppet Server ready on https://{SERVER_CERTNAME}:{ports.puppetserver} ({_since(started)})"
    )
    _issue_certificates(layout, ports, settings)
    say(f"{len(settings.agents)} agent(s) with signed certificates in {layout.agents}")


def _since(started: float) -> str:
    return f"{time.monotonic() - started:.0f} s"


def _preflight(settings: StackSettings) -> None:
    missing = [name for name, path in REQUIRED.items() if not Path(path).exists()]
    if missing:
        raise JailgenError(
            f"missing {', '.join(missing)}: run scripts/setup.sh (Debian packages puppetserver, "
            "puppetdb, puppet-terminus-puppetdb, postgresql, r10k, openssh-server)"
        )
    for certname in settings.agents:
        problem = names.check_hostname(certname)
        if problem:
            raise JailgenError(f"agent certname {certname!r} is invalid (expected {problem})")
    if len(set(settings.agents)) != len(settings.agents):
        raise JailgenError("agent certnames must be distinct")


def _fresh_root(layout: Layout) -> None:
    """A new state directory, or an old one whose stack is stopped (replaced).
    Puppet Server and PostgreSQL run as their own users: every parent of the
    state directory must let them through."""
    root = layout.root
    if root.exists():
        if any(root.iterdir()) and not layout.manifest.exists():
            raise JailgenError(f"{root} is not empty and holds no stack: choose another directory")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    root.chmod(0o755)
    for parent in root.parents:
        if parent.stat().st_mode & 0o001 == 0:
            raise JailgenError(
                f"{parent} is not searchable by other users; the puppet and postgres users "
                f"need to reach {root}"
            )
    for directory in (layout.logs, layout.agents, layout.ssh, layout.client_ssl):
        directory.mkdir(parents=True, exist_ok=True)
    layout.ssh.chmod(0o700)
    layout.client_ssl.chmod(0o700)


def _write_manifest(layout: Layout, manifest: Manifest) -> None:
    write_atomic(layout.manifest, json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n")


# -- PostgreSQL -----------------------------------------------------------------


def _pg_env(layout: Layout) -> dict[str, str]:
    # postgresql-common reads cluster configuration from here instead of /etc.
    return {"PG_CLUSTER_CONF_ROOT": str(layout.pg_conf_root)}


def _start_postgres(layout: Layout, ports: Ports, say: Say) -> int:
    layout.pg_conf_root.mkdir(parents=True)
    shutil.chown(layout.pg_conf_root.parent, "postgres", "postgres")
    shutil.chown(layout.pg_conf_root, "postgres", "postgres")
    processes.run(
        [
            "pg_createcluster",
            "--quiet",
            "--start-conf=manual",
            "-d",
            str(layout.pg_data),
            "-s",
            str(layout.pg_socket_dir),
            "-l",
            str(layout.logs / "postgresql.log"),
            "-p",
            str(ports.postgres),
            PG_VERSION,
            PG_CLUSTER,
        ],
        "pg_createcluster",
        env=_pg_env(layout),
    )
    write_atomic(
        layout.pg_conf_root / PG_VERSION / PG_CLUSTER / "conf.d" / "jailgen.conf",
        configs.POSTGRESQL_CONF,
    )
    (layout.logs / "postgresql.log").touch()
    shutil.chown(layout.logs / "postgresql.log", "postgres", "postgres")
    return processes.start(
        ["pg_ctlcluster", "--foreground", PG_VERSION, PG_CLUSTER, "start"],
        layout.logs / "postgresql.out",
        env=_pg_env(layout),
    )


def _wait_postgres(layout: Layout, ports: Ports, pid: int) -> None:
    def ready() -> bool:
        result = subprocess.run(
            [PG_ISREADY, "-q", "-h", "127.0.0.1", "-p", str(ports.postgres)],
            check=False,
        )
        return result.returncode == 0

    processes.wait_until("PostgreSQL", ready, pid, layout.logs / "postgresql.log", 60)


def _create_database(layout: Layout, ports: Ports, password: str) -> None:
    def psql(database: str, sql: str) -> None:
        processes.run(
            [
                *("runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-q"),
                *("-h", str(layout.pg_socket_dir), "-p", str(ports.postgres)),
                *("-d", database, "-c", sql),
            ],
            "psql",
        )

    psql("postgres", f"CREATE ROLE puppetdb LOGIN PASSWORD '{password}'")
    psql("postgres", "CREATE DATABASE puppetdb OWNER puppetdb ENCODING 'UTF8' TEMPLATE template0")
    psql("puppetdb", "CREATE EXTENSION pg_trgm")


# -- Puppet CA, Puppet Server and PuppetDB ------------------------------------------


def _setup_ca(layout: Layout, ports: Ports, jrubies: int) -> None:
    hostname = socket.gethostname()
    conf = layout.server_confdir / "puppet.conf"
    for directory in (layout.server_tk_confdir, layout.environments, layout.server_confdir):
        directory.mkdir(parents=True, exist_ok=True)
    write_atomic(conf, configs.server_puppet_conf(layout, ports, hostname))
    write_atomic(layout.server_confdir / "puppetdb.conf", configs.server_puppetdb_conf(ports))
    write_atomic(layout.server_confdir / "routes.yaml", configs.SERVER_ROUTES)
    write_atomic(layout.server / "logback.xml", configs.LOGBACK)
    for name, text in configs.server_tk_configs(layout, ports, jrubies).items():
        write_atomic(layout.server_tk_confdir / name, text)
    write_atomic(
        layout.server_tk_confdir / "auth.conf",
        configs.server_auth_conf(configs.SERVER_DEFAULT_AUTH.read_text()),
    )
    processes.run(
        [
            REQUIRED["puppetserver"],
            "ca",
            "setup",
            "--config",
            str(conf),
            "--certname",
            SERVER_CERTNAME,
            "--subject-alt-names",
            f"{SERVER_CERTNAME},puppet,{hostname},IP:127.0.0.1",
        ],
        "puppetserver ca setup",
    )
    # Puppet Server runs as the puppet user.
    user, group = pwd.getpwnam("puppet").pw_uid, grp.getgrnam("puppet").gr_gid
    for path in [layout.server, *layout.server.rglob("*")]:
        os.chown(path, user, group, follow_symlinks=False)


def _write_puppetdb(layout: Layout, ports: Ports, password: str) -> None:
    ssl_dir = layout.puppetdb_ssl
    ssl_dir.mkdir(parents=True, exist_ok=True)
    ssl_dir.chmod(0o700)
    server_ssl = layout.server_ssldir
    shutil.copyfile(server_ssl / "certs" / "ca.pem", ssl_dir / "ca.pem")
    shutil.copyfile(server_ssl / "certs" / f"{SERVER_CERTNAME}.pem", ssl_dir / "public.pem")
    shutil.copyfile(server_ssl / "private_keys" / f"{SERVER_CERTNAME}.pem", ssl_dir / "private.pem")
    layout.puppetdb_confdir.mkdir(parents=True, exist_ok=True)
    (layout.puppetdb / "var").mkdir(exist_ok=True)
    write_atomic(layout.puppetdb / "logback.xml", configs.LOGBACK)
    for name, text in configs.puppetdb_configs(layout, ports, password).items():
        write_atomic(layout.puppetdb_confdir / name, text)
    shutil.copyfile(configs.PUPPETDB_DEFAULT_AUTH, layout.puppetdb_confdir / "auth.conf")


def _issue_certificates(layout: Layout, ports: Ports, settings: StackSettings) -> None:
    """One certificate per agent and one for jailgen, signed by the running CA,
    then put where each agent (and jailgen) reads it."""
    certnames = [CLIENT_CERTNAME, *settings.agents]
    processes.run(
        [
            REQUIRED["puppetserver"],
            "ca",
            "generate",
            "--config",
            str(layout.server_confdir / "puppet.conf"),
            "--certname",
            ",".join(certnames),
        ],
        "puppetserver ca generate",
    )
    server_ssl = layout.server_ssldir
    ca = server_ssl / "certs" / "ca.pem"
    shutil.copyfile(ca, layout.ca_cert)
    shutil.copyfile(server_ssl / "certs" / f"{CLIENT_CERTNAME}.pem", layout.client_cert)
    shutil.copyfile(server_ssl / "private_keys" / f"{CLIENT_CERTNAME}.pem", layout.client_key)
    layout.client_key.chmod(0o600)
    for certname in settings.agents:
        base = layout.agent(certname)
        agent_ssl = base / "ssl"
        for sub in ("etc", "var", "log", "run", "code"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("certs", "private_keys", "public_keys"):
            (agent_ssl / sub).mkdir(parents=True, exist_ok=True)
        agent_ssl.chmod(0o771)
        (agent_ssl / "private_keys").chmod(0o750)
        for sub in ("certs", "private_keys", "public_keys"):
            shutil.copyfile(
                server_ssl / sub / f"{certname}.pem", agent_ssl / sub / f"{certname}.pem"
            )
        (agent_ssl / "private_keys" / f"{certname}.pem").chmod(0o640)
        shutil.copyfile(ca, agent_ssl / "certs" / "ca.pem")
        shutil.copyfile(server_ssl / "crl.pem", agent_ssl / "crl.pem")
        write_atomic(
            base / "etc" / "puppet.conf",
            configs.agent_puppet_conf(layout, ports, certname, settings.environment),
        )


# -- sshd and the control repo's remote ---------------------------------------------


def _start_sshd(layout: Layout, ports: Ports, agents: tuple[str, ...]) -> int:
    ssh = layout.ssh
    host_key = ssh / "ssh_host_ed25519_key"
    for key, comment in ((host_key, "jailgen-stack-host"), (layout.ssh_client_key, "jailgen")):
        processes.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
            "ssh-keygen",
        )
    shutil.copyfile(layout.ssh_client_key.with_suffix(".pub"), ssh / "authorized_keys")
    (ssh / "authorized_keys").chmod(0o600)
    host_public = host_key.with_suffix(".pub").read_text()
    write_atomic(layout.known_hosts, configs.known_hosts_line(ports, host_public))
    write_atomic(ssh / "sshd_config", configs.sshd_config(layout, ports))
    write_atomic(layout.ssh_config, configs.ssh_client_config(layout, ports, list(agents)))
    # sshd's privilege separation directory (normally made by its init script).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log = layout.logs / "sshd.log"
    pid = processes.start([REQUIRED["sshd"], "-D", "-e", "-f", str(ssh / "sshd_config")], log)

    def listening() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", ports.sshd), timeout=1):
                return True
        except OSError:
            return False

    processes.wait_until("sshd", listening, pid, log, 20)
    return pid


def _init_remote(layout: Layout) -> None:
    processes.run(
        ["git", "init", "--quiet", "--bare", str(layout.control_remote)],
        "git init --bare",
    )


# -- down --------------------------------------------------------------------------


def down(root: Path, say: Say = lambda _: None) -> list[tuple[str, int]]:
    """Stop every server the stack at `root` started, by its recorded pid."""
    layout = Layout(root.resolve())
    manifest = Manifest.read(layout.manifest)
    if manifest is None:
        return []
    first = [n for n in STOP_ORDER[:-1] if n in manifest.pids]
    first += sorted(set(manifest.pids) - set(STOP_ORDER))
    last = [n for n in STOP_ORDER[-1:] if n in manifest.pids]

    def stop_one(name: str) -> tuple[str, int] | None:
        pid = manifest.pids[name]
        if not processes.alive(pid):
            return None
        processes.stop(pid, sig=STOP_SIGNALS.get(name, signal.SIGTERM))
        say(f"stopped {name} (pid {pid})")
        return (name, pid)

    # The JVMs take a few seconds each to stop: stop them side by side.
    with ThreadPoolExecutor(max_workers=len(first) or 1) as pool:
        stopped = [r for r in pool.map(stop_one, first) if r]
    # PostgreSQL last, once PuppetDB is gone
    stopped += [r for r in map(stop_one, last) if r]
    return stopped


def catalog_puppet_block(manifest: Manifest, environment: str = "production") -> str:
    """The `site.puppet` section of a catalog that drives this stack's agents."""
    layout = Layout(Path(manifest.root))
    return f"""\
  puppet:
    mode: agent
    environment: {environment}
    r10k: {layout.r10k_config}
    server: {SERVER_CERTNAME}:{manifest.ports.puppetserver}
    puppetdb: {SERVER_CERTNAME}:{manifest.ports.puppetdb}
    ssl:
      ca: {layout.ca_cert}
      cert: {layout.client_cert}
      key: {layout.client_key}
    transport: ssh
    ssh_config: {layout.ssh_config}
    agent_dir: {layout.agents}
"""
