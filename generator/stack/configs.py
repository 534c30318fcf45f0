"""The development stack's configuration files, as text. Pure: every function
returns file contents from the layout and ports; nothing is written here.

Every component gets a private configuration under the state directory (Puppet
Server's and PuppetDB's conf.d, puppet.conf files, a PostgreSQL cluster whose
configuration root is not /etc), and listens on 127.0.0.1 only."""

from __future__ import annotations

import json
from pathlib import Path

from generator.stack.layout import CLIENT_CERTNAME, SERVER_CERTNAME, Layout, Ports

# Debian's packages: read, never edited.
SERVER_SERVICES = Path("/etc/puppet/puppetserver/services.d")
SERVER_DEFAULT_AUTH = Path("/etc/puppet/puppetserver/conf.d/auth.conf")
PUPPETDB_BOOTSTRAP = Path("/etc/puppetdb/bootstrap.cfg")
PUPPETDB_DEFAULT_AUTH = Path("/etc/puppetdb/conf.d/auth.conf")

LOGBACK = """\
<configuration>
    <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
        <encoder>
            <pattern>%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5p [%c{2}] %m%n</pattern>
        </encoder>
    </appender>
    <logger name="org.eclipse.jetty" level="WARN"/>
    <logger name="org.apache.http" level="WARN"/>
    <root level="info">
        <appender-ref ref="STDOUT"/>
    </root>
</configuration>
"""


# Settings of the stack's PostgreSQL cluster (read from its conf.d).
POSTGRESQL_CONF = """\
listen_addresses = '127.0.0.1'
shared_buffers = 64MB
max_connections = 60
# A development stack: speed over durability.
fsync = off
synchronous_commit = off
"""


def server_puppet_conf(layout: Layout, ports: Ports, hostname: str) -> str:
    server = layout.server
    return f"""\
# Puppet Server of the jailgen development stack.
[main]
certname = {SERVER_CERTNAME}
server = {SERVER_CERTNAME}
serverport = {ports.puppetserver}
dns_alt_names = {SERVER_CERTNAME},puppet,{hostname}
ssldir = {layout.server_ssldir}
vardir = {server / "var"}
logdir = {server / "log"}
rundir = {server / "run"}
codedir = {layout.codedir}

[server]
cadir = {layout.server_cadir}
environmentpath = {layout.environments}
# Environments are cached until jailgen flushes the cache after an r10k deploy.
environment_timeout = unlimited
autosign = false
storeconfigs = true
storeconfigs_backend = puppetdb
reports = puppetdb
"""


def server_puppetdb_conf(ports: Ports) -> str:
    return f"""\
[main]
server_urls = https://{SERVER_CERTNAME}:{ports.puppetdb}
soft_write_failure = false
"""


# Facts go to PuppetDB too (catalogs and reports go there through storeconfigs
# and the report processor).
SERVER_ROUTES = """\
---
server:
  facts:
    terminus: puppetdb
    cache: yaml
"""


def server_tk_configs(layout: Layout, ports: Ports, jrubies: int) -> dict[str, str]:
    """Puppet Server's conf.d (trapperkeeper HOCON files), by file name."""
    server = layout.server
    return {
        "global.conf": f"global: {{\n    logging-config: {server / 'logback.xml'}\n}}\n",
        "puppetserver.conf": f"""\
jruby-puppet: {{
    ruby-load-path: [/usr/lib/puppetserver/ruby/vendor_ruby]
    gem-home: {server / "var" / "jruby-gems"}
    gem-path: [${{jruby-puppet.gem-home}}, "/usr/lib/puppetserver/vendored-jruby-gems"]
    server-conf-dir: {layout.server_confdir}
    server-code-dir: {layout.codedir}
    server-var-dir: {server / "var"}
    server-run-dir: {server / "run"}
    server-log-dir: {server / "log"}
    max-active-instances: {jrubies}
}}
http-client: {{
}}
profiler: {{
}}
""",
        "webserver.conf": f"""\
webserver: {{
    client-auth: want
    ssl-host: 127.0.0.1
    ssl-port: {ports.puppetserver}
}}
""",
        "web-routes.conf": _web_routes(),
        "ca.conf": "certificate-authority: {\n}\n",
        "metrics.conf": "metrics: {\n    server-id: localhost\n}\n",
    }


WEB_ROUTES = {
    "puppetlabs.services.ca.certificate-authority-service/certificate-authority-service": (
        "/puppet-ca"
    ),
    "puppetlabs.services.master.master-service/master-service": "/puppet",
    "puppetlabs.services.legacy-routes.legacy-routes-service/legacy-routes-service": "",
    "puppetlabs.services.puppet-admin.puppet-admin-service/puppet-admin-service": (
        "/puppet-admin-api"
    ),
    "puppetlabs.trapperkeeper.services.status.status-service/status-service": "/status",
    "puppetlabs.trapperkeeper.services.metrics.metrics-service/metrics-webservice": "/metrics",
}


def _web_routes() -> str:
    routes = "".join(f'    "{service}": "{path}"\n' for service, path in WEB_ROUTES.items())
    return "web-router-service: {\n" + routes + "}\n"


# jailgen flushes the environment cache after each r10k deploy with its own
# certificate; Debian's auth.conf has no rule for the admin API.
ENVIRONMENT_CACHE_RULE = f"""\
        {{
            match-request: {{
                path: "/puppet-admin-api/v1/environment-cache"
                type: path
                method: delete
            }}
            allow: ["{CLIENT_CERTNAME}"]
            sort-order: 200
            name: "jailgen environment cache flush"
        }},
"""


def server_auth_conf(default_auth: str) -> str:
    """Debian's auth.conf with one rule added in front of the others."""
    marker = "rules: ["
    at = default_auth.index(marker) + len(marker)
    return default_auth[:at] + "\n" + ENVIRONMENT_CACHE_RULE + default_auth[at:].lstrip("\n")


def puppetdb_configs(layout: Layout, ports: Ports, password: str) -> dict[str, str]:
    """PuppetDB's conf.d (ini files), by file name; TLS only, with the
    certificate the Puppet CA issued to the server."""
    ssl = layout.puppetdb_ssl
    return {
        "config.ini": f"""\
[global]
vardir = {layout.puppetdb / "var"}
logging-config = {layout.puppetdb / "logback.xml"}

[command-processing]
threads = 2
""",
        "database.ini": f"""\
[database]
subname = //127.0.0.1:{ports.postgres}/puppetdb
username = puppetdb
password = {password}
""",
        "jetty.ini": f"""\
[jetty]
ssl-host = 127.0.0.1
ssl-port = {ports.puppetdb}
ssl-key = {ssl / "private.pem"}
ssl-cert = {ssl / "public.pem"}
ssl-ca-cert = {ssl / "ca.pem"}
""",
    }


def r10k_yaml(layout: Layout) -> str:
    return json.dumps(
        {
            "cachedir": str(layout.r10k_cache),
            "sources": {
                "control": {
                    "remote": str(layout.control_remote),
                    "basedir": str(layout.environments),
                }
            },
        },
        indent=2,
    )


def agent_puppet_conf(layout: Layout, ports: Ports, certname: str, environment: str) -> str:
    base = layout.agent(certname)
    return f"""\
# Puppet agent {certname} of the jailgen development stack.
[main]
certname = {certname}
server = {SERVER_CERTNAME}
serverport = {ports.puppetserver}
ssldir = {base / "ssl"}
vardir = {base / "var"}
logdir = {base / "log"}
rundir = {base / "run"}
codedir = {base / "code"}

[agent]
environment = {environment}
report = true
usecacheonfailure = false
"""


def sshd_config(layout: Layout, ports: Ports) -> str:
    ssh = layout.ssh
    return f"""\
# sshd of the jailgen development stack: loopback, keys only.
Port {ports.sshd}
ListenAddress 127.0.0.1
HostKey {ssh / "ssh_host_ed25519_key"}
PidFile {ssh / "sshd.pid"}
AuthorizedKeysFile {ssh / "authorized_keys"}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
# The state directory may live under /tmp, which StrictModes refuses.
StrictModes no
# One connection per agent run, many at once.
MaxStartups 100:30:200
MaxSessions 100
"""


def ssh_client_config(layout: Layout, ports: Ports, certnames: list[str]) -> str:
    """How jailgen reaches each agent: every certname is this machine's sshd."""
    ssh = layout.ssh
    hosts = " ".join(sorted(certnames))
    return f"""\
# The agents of the jailgen development stack, all on this machine.
Host {hosts}
    HostName 127.0.0.1
    Port {ports.sshd}
    User root
    IdentityFile {layout.ssh_client_key}
    IdentitiesOnly yes
    UserKnownHostsFile {ssh / "known_hosts"}
    StrictHostKeyChecking yes
    CheckHostIP no
    BatchMode yes
"""


def known_hosts_line(ports: Ports, host_public_key: str) -> str:
    key_type, key = host_public_key.split()[:2]
    return f"[127.0.0.1]:{ports.sshd} {key_type} {key}\n"
