"""Masterless Puppet on this machine: `puppet apply` of the control repo."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from generator.interrupt import pause_at
from generator.lock import app_lock
from generator.puppet.report import RunReport, read_report

# How long an interrupted Puppet run has to stop after SIGTERM.
STOP_GRACE_S = 30.0


def run_in_own_group(
    argv: list[str], pass_fds: tuple[int, ...] = (), grace_s: float = STOP_GRACE_S
) -> tuple[int, str]:
    """Run `argv` in its own process group (a Ctrl-C on the terminal reaches
    jailgen only); its exit status and stderr. When jailgen is interrupted, the
    whole group gets SIGTERM, then SIGKILL after `grace_s`, and is waited for."""
    with tempfile.TemporaryFile(mode="w+") as err:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            start_new_session=True,
            pass_fds=pass_fds,
        )
        try:
            pause_at("puppet", child.pid)
            returncode = child.wait()
        except BaseException:
            stop_group(child, grace_s)
            raise
        err.seek(0)
        return returncode, err.read()


def stop_group(child: subprocess.Popen[str], grace_s: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )


@dataclass(frozen=True)
class LocalPuppet:
    """Runs `puppet apply` with its own confdir, vardir and environment path under
    `workdir`, so it never touches the system's Puppet settings."""

    workdir: Path
    puppet: str = "puppet"

    def host_dir(self, certname: str) -> Path:
        return self.workdir / "hosts" / certname

    def report_path(self, certname: str) -> Path:
        return self.host_dir(certname) / "last_run_report.yaml"

    def apply_argv(self, environment_dir: Path, environment: str, certname: str) -> list[str]:
        """The exact command line of one run (pure: no I/O)."""
        base = self.host_dir(certname)
        return [
            self.puppet,
            "apply",
            "--detailed-exitcodes",
            "--color=false",
            f"--certname={certname}",
            f"--environmentpath={environment_dir}",
            f"--environment={environment}",
            f"--confdir={base / 'etc'}",
            f"--vardir={base / 'var'}",
            f"--codedir={base / 'code'}",
            f"--logdir={base / 'log'}",
            f"--rundir={base / 'run'}",
            f"--lastrunreport={self.report_path(certname)}",
            f"--lastrunfile={base / 'last_run_summary.yaml'}",
            str(environment_dir / environment / "manifests" / "site.pp"),
        ]

    def environment_dir(self, repo: Path, environment: str) -> Path:
        """An environment path whose `environment` entry is the control repo."""
        envdir = self.workdir / "environments"
        envdir.mkdir(parents=True, exist_ok=True)
        link = envdir / environment
        target = repo.resolve()
        if link.is_symlink() and Path(os.readlink(link)) == target:
            return envdir
        tmp = envdir / f".{environment}.new"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target)
        os.replace(tmp, link)
        return envdir

    def apply(self, repo: Path, environment: str, certname: str) -> RunReport:
        report = self.report_path(certname)
        report.parent.mkdir(parents=True, exist_ok=True)
        # The run writes its report beside the last one, and jailgen moves it in
        # place when the run ends: a run killed before it writes leaves the last
        # run's report, and one whose jailgen was killed is adopted afterwards.
        fresh = self.fresh_report_path(certname)
        start = time.monotonic()
        # one run per host at a time, whichever clone or command starts it; the
        # run inherits the lock, so a run whose jailgen was killed still holds it
        with app_lock(self.host_dir(certname), "apply", f"puppet apply {certname}", 3600) as fd:
            if fresh.is_file():
                os.replace(fresh, report)
            later = self.later_run(repo, environment, certname)
            if later is not None:
                return later
            envdir = self.environment_dir(repo, environment)
            argv = self.apply_argv(envdir, environment, certname)
            argv = [
                f"--lastrunreport={fresh}" if a == f"--lastrunreport={report}" else a for a in argv
            ]
            returncode, stderr = run_in_own_group(argv, pass_fds=(fd,))
            if fresh.is_file():
                os.replace(fresh, report)
                parsed = read_report(report, returncode, certname, stderr)
            else:
                parsed = read_report(fresh, returncode, certname, stderr)
        parsed.duration_s = time.monotonic() - start
        return parsed

    def later_run(self, repo: Path, environment: str, certname: str) -> RunReport | None:
        """The host's last good run, when it applied a later commit whose history
        holds `repo`'s HEAD (a command in another clone of the same origin ran it
        meanwhile): applying HEAD now would take the host back. The later commit
        is looked up in the clone that last ran, which has it."""
        last = self.last_report(certname)
        ran = last.configuration_version if last is not None and last.ok else None
        head = _git(repo, "rev-parse", "HEAD")
        if last is None or ran is None or head.returncode != 0 or ran == head.stdout.strip():
            return None
        link = self.workdir / "environments" / environment
        ran_in = Path(os.readlink(link)) if link.is_symlink() else repo
        contained = _git(ran_in, "merge-base", "--is-ancestor", head.stdout.strip(), ran)
        return last if contained.returncode == 0 else None

    def fresh_report_path(self, certname: str) -> Path:
        return self.report_path(certname).with_name("last_run_report.new.yaml")

    def last_report(self, certname: str) -> RunReport | None:
        """The report of the host's last run: a run whose jailgen was killed left
        its report beside the last one."""
        found = [
            p for p in (self.fresh_report_path(certname), self.report_path(certname)) if p.is_file()
        ]
        if not found:
            return None
        return read_report(max(found, key=lambda p: p.stat().st_mtime_ns), 0, certname, "")


@dataclass(frozen=True)
class LocalRunner:
    """Local mode: every host of the run is this machine under its own certname,
    applied one after the other (they share the machine's Puppet and NGINX)."""

    puppet: LocalPuppet

    def run(self, repo: Path, environment: str, hosts: list[str]) -> list[RunReport]:
        reports = []
        for certname in hosts:
            report = self.puppet.apply(repo, environment, certname)
            reports.append(report)
            if not report.ok:
                break  # the canary failed: leave the other hosts as they are
        return reports

    def converged(self, hosts: list[str], commit: str | None) -> list[str]:
        done = []
        for certname in hosts:
            report = self.puppet.last_report(certname)
            if report is not None and report.ok and report.configuration_version == commit:
                done.append(certname)
        return done
