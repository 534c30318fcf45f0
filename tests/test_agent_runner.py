"""Agent mode without a stack: command lines, the fan-out's order and threshold,
PuppetDB reports as run reports, the catalog's agent settings, and the stack's
configuration files."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from generator.catalog import PuppetAgents, parse_catalog
from generator.puppet.agent import (
    AgentRunner,
    agent_argv,
    classify_without_report,
    deployed_signature,
    r10k_argv,
    relevant_to,
    ssh_argv,
)
from generator.puppet.puppetdb import AgentRunReport, PuppetDB, to_run_report
from generator.stack import configs
from generator.stack.layout import Layout, Ports

AGENT_CATALOG = """\
site:
  puppet:
    mode: agent
    r10k: /srv/stack/r10k/r10k.yaml
    server: localhost:8140
    puppetdb: localhost:8081
    ssl: {ca: /srv/stack/client/ca.pem, cert: /srv/stack/client/jailgen.pem,
          key: /srv/stack/client/jailgen.key.pem}
    ssh_config: /srv/stack/ssh/ssh_config
    agent_dir: /srv/stack/agents
    concurrency: 2
    max_failures: 1
hosts:
  web1.example.net: {os: linux}
  web2.example.net: {os: linux}
  web3.example.net: {os: linux}
  web4.example.net: {os: linux}
apps:
  hello:
    hosts: [web1.example.net, web2.example.net, web3.example.net, web4.example.net]
    domains: [hello.example.com]
    test_domain: hello.test.example.com
    source: /srv/hello
    run: {command: [python3, app.py], port: 8000}
"""


def test_agent_settings_are_read_with_their_defaults() -> None:
    catalog = parse_catalog(AGENT_CATALOG, "catalog.yaml")
    assert catalog.site.puppet_mode == "agent"
    assert catalog.site.puppet_agents == PuppetAgents(
        r10k_config="/srv/stack/r10k/r10k.yaml",
        puppetdb="localhost:8081",
        ssl_ca="/srv/stack/client/ca.pem",
        ssl_cert="/srv/stack/client/jailgen.pem",
        ssl_key="/srv/stack/client/jailgen.key.pem",
        server="localhost:8140",
        transport="ssh",
        ssh_config="/srv/stack/ssh/ssh_config",
        agent_dir="/srv/stack/agents",
        concurrency=2,
        max_failures=1,
        report_timeout=120,
        run_timeout=1800,
    )


def test_local_mode_has_no_agent_settings() -> None:
    text = AGENT_CATALOG.replace("mode: agent", "mode: local")
    assert parse_catalog(text, "catalog.yaml").site.puppet_agents is None


def test_agent_command_line() -> None:
    assert agent_argv("job-1", "web1.example.net") == [
        "puppet",
        "agent",
        "--onetime",
        "--no-daemonize",
        "--detailed-exitcodes",
        "--job-id",
        "job-1",
        "--no-usecacheonfailure",
        "--verbose",
        "--color=false",
    ]
    assert agent_argv("job-1", "web1.example.net", "/srv/agents/")[-6:] == [
        "--certname=web1.example.net",
        "--confdir=/srv/agents/web1.example.net/etc",
        "--vardir=/srv/agents/web1.example.net/var",
        "--ssldir=/srv/agents/web1.example.net/ssl",
        "--logdir=/srv/agents/web1.example.net/log",
        "--rundir=/srv/agents/web1.example.net/run",
    ]


def test_ssh_command_line_checks_host_keys_and_never_prompts() -> None:
    assert ssh_argv("web1.example.net", ["puppet", "agent", "--job-id", "a b"], "/c", "root") == [
        "ssh",
        "-T",
        "-F",
        "/c",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ConnectTimeout=10",
        "-l",
        "root",
        "web1.example.net",
        "--",
        "puppet agent --job-id 'a b'",
    ]


def test_r10k_command_line() -> None:
    assert r10k_argv("/srv/r10k.yaml", "production") == [
        "r10k",
        "deploy",
        "environment",
        "production",
        "--config",
        "/srv/r10k.yaml",
    ]


@pytest.mark.parametrize(
    ("transport", "exit_code", "output", "status"),
    [
        ("ssh", 255, "ssh: connect to host 127.0.0.1 port 1: Connection refused\n", "unreachable"),
        ("ssh", 1, "Notice: Run of Puppet configuration client already in progress; ", "busy"),
        (
            "local",
            1,
            "Notice: Skipping run of Puppet configuration client; administratively "
            "disabled (Reason: 'maintenance');",
            "disabled",
        ),
        ("local", 127, "sh: 1: puppet: not found\n", "error"),
        ("local", 255, "Error: something\n", None),  # not ssh: the agent ran
        ("ssh", 2, "Notice: Applied catalog in 1.2 seconds\n", None),
    ],
)
def test_runs_that_never_happened(
    transport: str, exit_code: int, output: str, status: str | None
) -> None:
    report = classify_without_report("web1.example.net", transport, exit_code, output)
    assert (report.status if report else None) == status
    assert report is None or not report.ok


def puppetdb_report(certname: str = "web2.example.net") -> dict[str, object]:
    prefix = "/srv/web2/nginx"
    return {
        "certname": certname,
        "status": "failed",
        "configuration_version": "a" * 40,
        "job_id": "job-1",
        "hash": "f00",
        "start_time": "2026-01-01T10:00:00.000Z",
        "end_time": "2026-01-01T10:00:07.500Z",
        "receive_time": "2026-01-01T10:00:08.000Z",
        "resource_events": {
            "href": "/pdb/query/v4/reports/f00/events",
            "data": [
                {
                    "resource_type": "File",
                    "resource_title": f"{prefix}/nginx.conf",
                    "property": "content",
                    "status": "failure",
                    "message": "Read-only file system",
                    "containing_class": "Jails::Nginx",
                },
                {
                    "resource_type": "Jail",
                    "resource_title": "hello_0123456789ab",
                    "property": "ensure",
                    "status": "success",
                    "message": "ensure changed 'absent' to 'running'",
                    "containing_class": "Jails",
                },
                {
                    "resource_type": "File",
                    "resource_title": "/srv/web2/jails/templates",
                    "property": "ensure",
                    "status": "success",
                    "message": "created",
                    "containing_class": "Jails::Template",
                },
            ],
        },
        "logs": {
            "data": [
                {"level": "err", "source": "Facter", "message": "Permission denied"},
                {"level": "err", "message": "Could not write nginx.conf"},
                {"level": "notice", "message": "Applied catalog"},
            ]
        },
    }


def test_a_puppetdb_report_becomes_a_run_report() -> None:
    catalog = parse_catalog(AGENT_CATALOG, "catalog.yaml")
    report = to_run_report(puppetdb_report(), 4, relevant_to(catalog, "web2.example.net"))
    assert not report.ok
    assert report.summary() == "failed: File[/srv/web2/nginx/nginx.conf]: Read-only file system"
    assert report.changed == ["File[/srv/web2/jails/templates]", "Jail[hello_0123456789ab]"]
    assert report.errors == ["Could not write nginx.conf"]
    assert [e.resource for e in report.events] == [
        "File[/srv/web2/nginx/nginx.conf]",
        "Jail[hello_0123456789ab]",
    ]
    assert report.agent_run_s == 7.5
    assert report.job_id == "job-1"
    assert report.to_json()["events"][0] == {
        "resource": "File[/srv/web2/nginx/nginx.conf]",
        "status": "failure",
        "property": "content",
        "message": "Read-only file system",
    }


class ScriptedRunner(AgentRunner):
    """The fan-out's scheduling, with each host's run replaced by a verdict."""

    def __init__(self, catalog_text: str, failing: set[str], seconds: float = 0.05) -> None:
        super().__init__(parse_catalog(catalog_text, "catalog.yaml"))
        self.failing = failing
        self.seconds = seconds
        self.started: list[str] = []
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    @property
    def puppetdb(self) -> PuppetDB:
        return None  # type: ignore[return-value]

    def run_host(self, host: str, job_id: str, puppetdb: PuppetDB) -> AgentRunReport:
        with self.lock:
            self.started.append(host)
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        status = "failed" if host in self.failing else "changed"
        return AgentRunReport(host, status, "a" * 40, 2, job_id=job_id)


HOSTS = ["web1.example.net", "web2.example.net", "web3.example.net", "web4.example.net"]


def test_the_canary_runs_alone_first_then_the_rest_with_bounded_concurrency() -> None:
    runner = ScriptedRunner(AGENT_CATALOG, set())
    reports = runner.fan_out(HOSTS, "job-1")
    assert runner.started[0] == HOSTS[0]
    assert [r.host for r in reports] == HOSTS
    assert runner.most == 2
    assert all(r.ok for r in reports)


def test_a_failing_canary_stops_the_fan_out() -> None:
    text = AGENT_CATALOG.replace("max_failures: 1", "max_failures: 0")
    runner = ScriptedRunner(text, {HOSTS[0]})
    reports = runner.fan_out(HOSTS, "job-1")
    assert runner.started == [HOSTS[0]]
    assert [r.status for r in reports] == ["failed", "not run", "not run", "not run"]
    assert reports[1].errors == [
        "not run: 1 failed host(s) passed the threshold (site.puppet.max_failures: 0)"
    ]


def test_no_run_starts_once_the_failures_pass_the_threshold() -> None:
    text = AGENT_CATALOG.replace("concurrency: 2", "concurrency: 1")
    runner = ScriptedRunner(text, {HOSTS[1], HOSTS[2]})  # max_failures: 1
    reports = runner.fan_out(HOSTS, "job-1")
    assert runner.started == HOSTS[:3]
    assert [r.status for r in reports] == ["changed", "failed", "failed", "not run"]


def test_deployed_signature_is_read_from_r10k(tmp_path: Path) -> None:
    basedir = tmp_path / "environments"
    (basedir / "production").mkdir(parents=True)
    (basedir / "production" / ".r10k-deploy.json").write_text(
        json.dumps({"name": "production", "signature": "b" * 40})
    )
    config = tmp_path / "r10k.yaml"
    config.write_text(json.dumps({"sources": {"control": {"basedir": str(basedir)}}}))
    assert deployed_signature(config, "production") == "b" * 40
    assert deployed_signature(config, "staging") is None


LAYOUT = Layout(Path("/srv/stack"))
PORTS = Ports(postgres=5432, puppetdb=8081, puppetserver=8140, sshd=2222)


def test_the_admin_api_rule_is_added_in_front_of_debians() -> None:
    default = 'authorization: {\n    version: 1\n    rules: [\n        {\n            name: "x"\n'
    text = configs.server_auth_conf(default)
    assert text.index('name: "jailgen environment cache flush"') < text.index('name: "x"')
    assert 'allow: ["jailgen"]' in text


def test_agents_are_reached_through_the_stacks_sshd_with_checked_host_keys() -> None:
    text = configs.ssh_client_config(LAYOUT, PORTS, ["b.example.net", "a.example.net"])
    assert text.splitlines()[1] == "Host a.example.net b.example.net"
    assert "    StrictHostKeyChecking yes" in text.splitlines()
    assert "    HostName 127.0.0.1" in text.splitlines()
    line = configs.known_hosts_line(PORTS, "ssh-ed25519 AAAAC3 jailgen-stack-host\n")
    assert line == "[127.0.0.1]:2222 ssh-ed25519 AAAAC3\n"


def test_each_agent_has_its_own_directories() -> None:
    text = configs.agent_puppet_conf(LAYOUT, PORTS, "web1.example.net", "production")
    for line in (
        "certname = web1.example.net",
        "serverport = 8140",
        "ssldir = /srv/stack/agents/web1.example.net/ssl",
        "vardir = /srv/stack/agents/web1.example.net/var",
        "environment = production",
    ):
        assert line in text.splitlines()


def test_servers_listen_on_loopback_only() -> None:
    assert "ssl-host: 127.0.0.1" in configs.server_tk_configs(LAYOUT, PORTS, 2)["webserver.conf"]
    assert "ssl-host = 127.0.0.1" in configs.puppetdb_configs(LAYOUT, PORTS, "pw")["jetty.ini"]
    assert "ListenAddress 127.0.0.1" in configs.sshd_config(LAYOUT, PORTS)
    assert "listen_addresses = '127.0.0.1'" in configs.POSTGRESQL_CONF
