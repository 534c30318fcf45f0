"""Agent mode against a real stack: PostgreSQL, PuppetDB, Puppet Server, r10k,
an sshd on loopback and four agents on this machine, started by the fixture and
stopped by pid however the tests end.

The flow: QA puts a release on the test domain of every host, it is promoted,
the next release goes on test, and its promotion meets an agent whose NGINX
prefix is read-only. That agent's report names the failing resource, no run
starts once the threshold is passed, the promotion is reverted, and live keeps
serving the former release on every host."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import http
from generator.commands.promote import promote
from generator.commands.test import put_under_test
from generator.puppet.agent import AgentRunner, new_job_id
from generator.puppet.puppetdb import AgentRunReport
from generator.service_addresses import nat_table
from generator.stack import Manifest, StackSettings, down, up
from generator.stack.site import APP, AgentSite
from tests.conftest import read_only, run_jailgen

AGENTS = ("web1.example.net", "web2.example.net", "web3.example.net", "web4.example.net")


@pytest.fixture(scope="module")
def stack() -> Iterator[Manifest]:
    # Puppet Server and PostgreSQL run as their own users: the state directory
    # must be reachable by them, which pytest's private tmp directories are not.
    root = Path(tempfile.mkdtemp(prefix="jailgen-stack-", dir="/tmp"))
    root.chmod(0o755)
    try:
        yield up(StackSettings(root / "state", AGENTS))
    finally:
        down(root / "state")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def site(stack: Manifest) -> Iterator[AgentSite]:
    base = Path(tempfile.mkdtemp(prefix="jailgen-agent-site-", dir="/tmp"))
    home = base / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = jailgen tests\n\temail = tests@jailgen.invalid\n"
        "[init]\n\tdefaultBranch = production\n"
    )
    # one run at a time after the canary, so where the threshold stops is certain
    agent_site = AgentSite(base / "site", stack, concurrency=1, max_failures=0)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOME", str(home))
        env.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        env.setenv("GIT_CONFIG_NOSYSTEM", "1")
        try:
            yield agent_site.create()
        finally:
            agent_site.stop()
            shutil.rmtree(base, ignore_errors=True)
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    for certname in agent_site.hosts:
        assert nat_table("jails", "linux", str(agent_site.jails_dir(certname))) not in tables


def serves(site: AgentSite, host: str, domain: str) -> str:
    listen, port = site.catalog().nginx_for(host)
    return http.get(listen, port, "/", host=domain).body


def test_promotion_across_agents_stops_at_the_threshold_and_live_keeps_serving(
    site: AgentSite,
) -> None:
    hosts, shas = site.hosts, site.shas
    deployer = site.deployer()

    tested = put_under_test(deployer, APP, shas[1])
    assert tested.ok, tested.to_json()
    assert [r.host for r in tested.reports] == hosts  # the canary first
    jail = f"{APP}_{shas[1][:12]}"
    for report in tested.reports:
        assert isinstance(report, AgentRunReport)
        assert report.job_id and report.job_id.startswith(f"jailgen-{tested.commit[:12]}-")
        assert report.status == "changed"
        assert report.configuration_version == tested.commit
        assert f"Jail[{jail}]" in [e.resource for e in report.events]
        assert report.agent_run_s and report.agent_run_s > 0

    promoted = promote(deployer, APP)
    assert promoted.ok, promoted.to_json()
    tested = put_under_test(deployer, APP, shas[2])
    assert tested.ok, tested.to_json()

    failing = hosts[1]
    with read_only(site.nginx_prefix(failing)):
        outcome = promote(deployer, APP)
    assert not outcome.ok
    assert outcome.step == "puppet run"
    # a promotion writes only the NAT table (NGINX's configuration does not change)
    nat_file = f"File[{site.nginx_prefix(failing)}/nat.nft]"
    assert outcome.message.startswith(f"{failing}: failed: {nat_file}: ")
    promotion = {r.host: r for r in outcome.reports[: len(hosts)]}
    assert promotion[hosts[0]].ok  # the canary
    assert promotion[failing].status == "failed"
    assert promotion[failing].exit_code in (4, 6)
    assert [f.resource for f in promotion[failing].failed] == [nat_file]
    assert "Read-only file system" in promotion[failing].failed[0].message
    # the threshold was passed: no further run starts
    assert [promotion[h].status for h in hosts[2:]] == ["not run", "not run"]
    assert outcome.reverted_by is not None
    reverting = outcome.reports[len(hosts) :]
    assert [r.host for r in reverting] == hosts
    assert all(r.ok and r.configuration_version == outcome.reverted_by for r in reverting)

    for host in hosts:
        assert shas[1] in serves(site, host, "hello.example.com"), host
        assert shas[2] in serves(site, host, "hello.test.example.com"), host

    status = run_jailgen("status", "-c", str(site.catalog_path), "-r", str(site.control), "--json")
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)
    assert {r["host"]: r["converged_commit"] for r in rows} == dict.fromkeys(
        hosts, outcome.reverted_by
    )
    assert {r["last_run"] for r in rows} <= {"changed", "unchanged"}


def test_an_agent_busy_with_another_run_is_reported_busy(site: AgentSite, stack: Manifest) -> None:
    host = site.hosts[-1]
    lock = Path(stack.root) / "agents" / host / "var" / "state" / "agent_catalog_run.lock"
    # Puppet honours a lock whose holder is a ruby process with puppet in its arguments.
    holder = subprocess.Popen(["ruby", "-e", "sleep 120", "puppet"])
    try:
        lock.write_text(str(holder.pid))
        runner = site.runner()
        report = runner.run_host(host, new_job_id(None), runner.puppetdb)
    finally:
        holder.kill()
        holder.wait()
        lock.unlink(missing_ok=True)
    assert report.status == "busy"
    assert not report.ok
    assert report.errors == ["another Puppet run is in progress on this host; this run was skipped"]


def test_an_unreachable_host_is_reported_unreachable(site: AgentSite, tmp_path: Path) -> None:
    catalog = site.catalog()
    agents = catalog.site.puppet_agents
    assert agents is not None and agents.ssh_config is not None
    closed_port = 1  # nothing listens on 127.0.0.1:1
    config = tmp_path / "ssh_config"
    config.write_text(
        Path(agents.ssh_config)
        .read_text()
        .replace(f"Port {site.manifest.ports.sshd}", f"Port {closed_port}")
    )
    puppet = catalog.site.puppet.model_copy(update={"ssh_config": str(config)})
    elsewhere = catalog.model_copy(
        update={"site": catalog.site.model_copy(update={"puppet": puppet})}
    )
    runner = AgentRunner(elsewhere)
    reports = runner.fan_out(site.hosts[:2], new_job_id(None))
    assert [r.status for r in reports] == ["unreachable", "not run"]
    assert "Connection refused" in " ".join(reports[0].errors)
