"""Agent mode: Puppet Server, PuppetDB and r10k do the work; jailgen drives them.

After the commit is pushed, `AgentRunner.run` deploys the environment with r10k,
flushes Puppet Server's environment cache (when a server is configured), then
triggers `puppet agent --onetime --no-daemonize --detailed-exitcodes --job-id ID`
on the hosts, over SSH or as a local command: the canary host first, then the
others with bounded concurrency, stopping once the failures pass the catalog's
threshold. Each run is verified by its report in PuppetDB (found by job id,
polled, since PuppetDB stores reports asynchronously): its status, its
`configuration_version` and its resource events. A host that cannot be
reached, or whose agent is busy with another run, is reported as such.
"""

from __future__ import annotations

import http.client
import json
import secrets
import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator import repo as control
from generator.catalog import Catalog, PuppetAgents
from generator.errors import JailgenError
from generator.puppet.puppetdb import AgentRunReport, PuppetDB, to_run_report
from generator.puppet.report import RunReport

# (host, state, detail): queued, running, reporting, then the run's status
Progress = Callable[[str, str, str], None]

# `puppet agent --detailed-exitcodes`: 0 nothing to do, 2 changes, 4 failures,
# 6 changes and failures, 1 the run itself failed.
RAN = (0, 2, 4, 6)
SSH_FAILED = 255
BUSY_MARKER = "already in progress"
DISABLED_MARKER = "administratively disabled"


# -- command lines (pure) --------------------------------------------------------


def agent_argv(
    job_id: str, certname: str, agent_dir: str | None = None, puppet: str = "puppet"
) -> list[str]:
    """One agent run. An agent sharing its machine with others has its own
    confdir, vardir and ssldir under `<agent_dir>/<certname>`."""
    argv = [
        puppet,
        "agent",
        "--onetime",
        "--no-daemonize",
        "--detailed-exitcodes",
        "--job-id",
        job_id,
        "--no-usecacheonfailure",
        "--verbose",  # notices such as "already in progress" are only shown verbose
        "--color=false",
    ]
    if agent_dir is not None:
        base = f"{agent_dir.rstrip('/')}/{certname}"
        argv += [
            f"--certname={certname}",
            f"--confdir={base}/etc",
            f"--vardir={base}/var",
            f"--ssldir={base}/ssl",
            f"--logdir={base}/log",
            f"--rundir={base}/run",
        ]
    return argv


def ssh_argv(
    host: str, remote: list[str], config: str | None = None, user: str | None = None
) -> list[str]:
    """`remote` on `host` over SSH: keys only, host keys checked, no prompts."""
    argv = ["ssh", "-T"]
    if config is not None:
        argv += ["-F", config]
    argv += [
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ConnectTimeout=10",
    ]
    if user is not None:
        argv += ["-l", user]
    return [*argv, host, "--", shlex.join(remote)]


def r10k_argv(config: str, environment: str) -> list[str]:
    return ["r10k", "deploy", "environment", environment, "--config", config]


def new_job_id(commit: str | None) -> str:
    return f"jailgen-{(commit or 'none')[:12]}-{secrets.token_hex(4)}"


# -- the runner ------------------------------------------------------------------


@dataclass
class FanoutStats:
    """Timings of the last run, for the fan-out benchmark."""

    job_id: str
    hosts: int
    deploy_s: float = 0.0
    wall_s: float = 0.0  # trigger and verify: from the first trigger to the verdict
    sum_agent_run_s: float = 0.0
    verdict_lag_s: float | None = None  # from the last report PuppetDB received to the verdict


@dataclass
class AgentRunner:
    catalog: Catalog
    progress: Progress = field(default=lambda _host, _state, _detail: None)
    last: FanoutStats | None = None

    @property
    def settings(self) -> PuppetAgents:
        agents = self.catalog.site.puppet_agents
        if agents is None:
            raise JailgenError(f"{self.catalog.path}: site.puppet.mode is not agent")
        return agents

    @property
    def puppetdb(self) -> PuppetDB:
        s = self.settings
        return PuppetDB.connect(s.puppetdb, s.ssl_ca, s.ssl_cert, s.ssl_key)

    def command(self, host: str, job_id: str) -> list[str]:
        s = self.settings
        remote = agent_argv(job_id, host, s.agent_dir)
        if s.transport == "local":
            return remote
        return ssh_argv(host, remote, s.ssh_config, s.ssh_user)

    # -- the PuppetRunner protocol ----------------------------------------------

    def run(self, repo: Path, environment: str, hosts: list[str]) -> list[RunReport]:
        commit = control.head(control.open_repo(repo))
        job_id = new_job_id(commit)
        stats = FanoutStats(job_id, len(hosts))
        self.last = stats
        started = time.monotonic()
        for host in hosts:
            self.progress(host, "queued", job_id)
        problem = self.deploy(environment, commit)
        stats.deploy_s = time.monotonic() - started
        if problem is not None:
            for host in hosts:
                self.progress(host, "error", problem)
            return [
                AgentRunReport(h, "error", None, -1, errors=[problem], job_id=job_id) for h in hosts
            ]
        triggered = time.monotonic()
        reports = self.fan_out(hosts, job_id)
        stats.wall_s = time.monotonic() - triggered
        stats.sum_agent_run_s = sum(r.agent_run_s or 0.0 for r in reports)
        received = [r.received_at for r in reports if r.received_at is not None]
        if received:
            stats.verdict_lag_s = max(0.0, time.time() - max(received))
        return list(reports)

    def converged(self, hosts: list[str], commit: str | None) -> list[str]:
        puppetdb = self.puppetdb
        done = []
        for certname in hosts:
            latest = puppetdb.latest_report(certname)
            if latest is None:
                continue
            report = to_run_report(latest, 0)
            if report.ok and report.configuration_version == commit:
                done.append(certname)
        return done

    def last_report(self, certname: str) -> RunReport | None:
        latest = self.puppetdb.latest_report(certname)
        return None if latest is None else to_run_report(latest, 0)

    # -- steps ------------------------------------------------------------------

    def deploy(self, environment: str, commit: str | None) -> str | None:
        """r10k, then the environment cache; a problem is returned as a message."""
        s = self.settings
        argv = r10k_argv(s.r10k_config, environment)
        try:
            result = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                check=False,
                timeout=900,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"r10k deploy environment {environment}: {exc}"
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip().splitlines()[-3:]
            return f"r10k deploy environment {environment} failed: {' / '.join(output)}"
        deployed = deployed_signature(Path(s.r10k_config), environment)
        if deployed is not None and commit is not None and deployed != commit:
            return (
                f"r10k deployed {deployed[:12]} to environment {environment}, not the "
                f"commit {commit[:12]}: is it pushed to the remote r10k deploys from?"
            )
        if s.server is not None:
            return self.flush_environment_cache(s.server, environment)
        return None

    def flush_environment_cache(self, server: str, environment: str) -> str | None:
        host, _, port = server.rpartition(":")
        context = self.puppetdb.context  # the same CA and client certificate
        connection = http.client.HTTPSConnection(host, int(port), timeout=30, context=context)
        try:
            path = f"/puppet-admin-api/v1/environment-cache?environment={environment}"
            connection.request("DELETE", path)
            answer = connection.getresponse()
            body = answer.read().decode(errors="replace")
        except (OSError, http.client.HTTPException) as exc:
            return f"flushing Puppet Server's environment cache at {server}: {exc}"
        finally:
            connection.close()
        if answer.status != 204:
            return (
                f"flushing Puppet Server's environment cache at {server}: HTTP {answer.status} "
                f"{body.strip()[:200]}"
            )
        return None

    def fan_out(self, hosts: list[str], job_id: str) -> list[AgentRunReport]:
        """The canary first, then the others `concurrency` at a time; no new run
        starts once the failures are more than `max_failures`."""
        s = self.settings
        puppetdb = self.puppetdb
        results: dict[str, AgentRunReport] = {}
        lock = threading.Lock()

        def failures() -> int:
            with lock:
                return sum(1 for r in results.values() if not r.ok)

        def one(host: str) -> None:
            report = self.run_host(host, job_id, puppetdb)
            with lock:
                results[host] = report

        if hosts:
            one(hosts[0])
        waiting = list(hosts[1:])
        if waiting and failures() <= s.max_failures:
            with ThreadPoolExecutor(max_workers=s.concurrency) as pool:
                running: set[Future[None]] = set()
                while waiting or running:
                    while waiting and len(running) < s.concurrency:
                        if failures() > s.max_failures:
                            break
                        running.add(pool.submit(one, waiting.pop(0)))
                    if not running:
                        break
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()
        passed = failures()
        ran = [results[h] for h in hosts if h in results]
        skipped = []
        for host in hosts:
            if host in results:
                continue
            reason = (
                f"not run: {passed} failed host(s) passed the threshold "
                f"(site.puppet.max_failures: {s.max_failures})"
            )
            self.progress(host, "not run", reason)
            report = AgentRunReport(host, "not run", None, -1, errors=[reason], job_id=job_id)
            skipped.append(report)
        return ran + skipped

    def run_host(self, host: str, job_id: str, puppetdb: PuppetDB) -> AgentRunReport:
        s = self.settings
        started = time.monotonic()
        self.progress(host, "running", "")
        try:
            result = subprocess.run(
                self.command(host, job_id),
                capture_output=True,
                text=True,
                check=False,
                timeout=s.run_timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return self._finish(
                host,
                AgentRunReport(
                    host, "error", None, -1, errors=[f"no answer within {s.run_timeout} s"]
                ),
                job_id,
                started,
            )
        output = f"{result.stdout}\n{result.stderr}"
        early = classify_without_report(host, s.transport, result.returncode, output)
        if early is not None:
            return self._finish(host, early, job_id, started)
        self.progress(host, "reporting", f"exit {result.returncode}")
        # A run that failed outright (exit 1) may have sent no report at all.
        timeout = s.report_timeout if result.returncode in RAN else min(s.report_timeout, 15)
        try:
            found = puppetdb.wait_for_report(host, job_id, timeout)
        except JailgenError as exc:
            found, lines = None, [str(exc)]
        else:
            lines = []
        if found is None:
            lines.append(f"no report for job {job_id} in PuppetDB within {timeout} s")
            lines += error_lines(output)
            report = AgentRunReport(host, "error", None, result.returncode, errors=lines)
            return self._finish(host, report, job_id, started)
        report = to_run_report(found, result.returncode, relevant_to(self.catalog, host))
        if result.returncode not in (0, 2) and report.ok:
            # the exit status and the report disagree: trust the failure
            report.status = "failed"
            report.errors += error_lines(output) or [f"agent exit status {result.returncode}"]
        return self._finish(host, report, job_id, started)

    def _finish(
        self, host: str, report: AgentRunReport, job_id: str, started: float
    ) -> AgentRunReport:
        report.job_id = job_id
        report.duration_s = time.monotonic() - started
        self.progress(host, report.status, report.summary())
        return report


def classify_without_report(
    host: str, transport: str, exit_code: int, output: str
) -> AgentRunReport | None:
    """Runs that never happened: the host was unreachable, or its agent was
    busy with another run or disabled. None when the agent did run."""
    if transport == "ssh" and exit_code == SSH_FAILED:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        return AgentRunReport(host, "unreachable", None, exit_code, errors=lines[-2:] or ["ssh"])
    if BUSY_MARKER in output:
        return AgentRunReport(
            host,
            "busy",
            None,
            exit_code,
            errors=["another Puppet run is in progress on this host; this run was skipped"],
        )
    if DISABLED_MARKER in output:
        return AgentRunReport(
            host, "disabled", None, exit_code, errors=["the Puppet agent is disabled on this host"]
        )
    if exit_code == 127:
        return AgentRunReport(host, "error", None, exit_code, errors=error_lines(output))
    return None


def error_lines(output: str) -> list[str]:
    return [
        line.removeprefix("Error: ").strip()
        for line in output.splitlines()
        if line.startswith("Error: ") and not line.startswith("Error: Facter:")
    ][:5]


def relevant_to(catalog: Catalog, host: str) -> Callable[[dict[str, Any]], bool]:
    """The events shown for a host: its apps' jails (and everything titled by
    a jail name) and its NGINX configuration."""
    prefixes = tuple(f"{app.name}_" for app in catalog.apps_on(host))
    nginx_class = f"{catalog.site.module.capitalize()}::Nginx"

    def relevant(event: dict[str, Any]) -> bool:
        title = str(event.get("resource_title", ""))
        if event.get("containing_class") == nginx_class:
            return True
        return any(p in title for p in prefixes) if prefixes else False

    return relevant


def deployed_signature(r10k_config: Path, environment: str) -> str | None:
    """The commit r10k last deployed to `environment` (its .r10k-deploy.json)."""
    try:
        config = yaml.safe_load(r10k_config.read_text())
    except (OSError, yaml.YAMLError):
        return None
    for source in (config or {}).get("sources", {}).values():
        basedir = source.get("basedir") if isinstance(source, dict) else None
        if not basedir:
            continue
        try:
            data = json.loads((Path(basedir) / environment / ".r10k-deploy.json").read_text())
        except (OSError, ValueError):
            continue
        signature = data.get("signature")
        if isinstance(signature, str):
            return signature
    return None
