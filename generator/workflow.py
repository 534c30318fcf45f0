"""The steps every deploy command is made of, on one control repo and its hosts.

A command (generator.commands: test, promote, rollback, converge, maintenance)
runs inside `Deployer.running`: the app's locks and the report of a signal. It
checks its preconditions, then `change` edits the deployment state, renders and
commits (and pushes) it, runs Puppet on the app's hosts, verifying each run's
report, and checks every route through NGINX (`verify`). `switch` moves live
once the health checks passed and reverts its commit when anything after it
fails, so live keeps serving what it served before. `record` adds the evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import git

from generator import __version__, history, http, pending, routes
from generator import repo as control
from generator.catalog import App, Catalog
from generator.commands.render import render_catalog
from generator.errors import CatalogError, JailgenError
from generator.interrupt import Interrupted, deferred, pause_at
from generator.lock import app_lock, clone_lock_dir
from generator.outcome import Check, Outcome
from generator.puppet.report import RunReport
from generator.render import journal
from generator.render.control_repo import owned_paths
from generator.render.replaced import TRAILER
from generator.shared_lock import shared_lock
from generator.state import DeploymentState, Slots, forget_destroyed
from generator.state_store import read_state

# The lock of the clone's working tree; not an app name (those have no dot).
CLONE_LOCK = ".worktree"


class StateMoved(JailgenError):
    """Another operator changed what a command was about to change."""

    exit_code = 1


class PuppetRunner(Protocol):
    def run(self, repo: Path, environment: str, hosts: list[str]) -> list[RunReport]: ...

    def converged(self, hosts: list[str], commit: str | None) -> list[str]: ...


@dataclass
class Deployer:
    catalog: Catalog
    repo: Path
    runner: PuppetRunner
    push: bool = False
    lock_wait_s: float = 0.0
    check_timeout_s: float = 20.0

    @property
    def lock_dir(self) -> Path:
        return clone_lock_dir(self.repo)

    def app(self, name: str) -> App:
        if name not in self.catalog.apps:
            known = ", ".join(sorted(self.catalog.apps))
            raise JailgenError(f"no app named {name!r} in {self.catalog.path} (apps: {known})")
        return self.catalog.apps[name]

    @contextmanager
    def running(self, outcome: Outcome, apps: list[str], command: str) -> Iterator[None]:
        """A command on `apps`: their locks held while it runs; a signal stops it
        (the Puppet run is stopped and the locks released on the way out) and
        its report is left in `outcome`, so code after the `with` block runs only
        when it was interrupted."""
        with self._reporting(outcome, apps), self._locked(apps, command):
            yield

    def record(self, outcome: Outcome) -> None:
        """The evidence, as a git note on the commit (while the lock is held)."""
        outcome.history = history.record(self.repo, outcome, self.push)

    @contextmanager
    def _reporting(self, outcome: Outcome, apps: list[str]) -> Iterator[None]:
        """A signal stops the command (the `with` blocks inside have stopped the
        Puppet run and released the locks): say what it was doing and what is
        left, and exit 128 + the signal's number."""
        try:
            yield
        except Interrupted as exc:
            outcome.signal = exc.signum
            git_repo = control.open_repo(self.repo)
            head = control.head(git_repo)
            hosts = sorted({h for a in apps for h in self.catalog.apps[a].hosts})
            done = self.runner.converged(hosts, head)
            outcome.pending = [h for h in hosts if h not in done]
            if outcome.pending and head is not None:
                which = outcome.app if apps == [outcome.app] else None
                left = pending.describe(git_repo, head, outcome.pending, which)
            elif outcome.commit is None:
                left = "nothing was committed; live serves what it served before"
            else:
                left = f"every host has converged to {head}; `jailgen converge` checks the routes"
            outcome.fail("interrupted", f"{exc} while {outcome.doing}; {left}")

    def unfinished_switch(self, app: App, kind: str, slots: Slots | None) -> bool:
        """Whether HEAD is a promotion (or rollback) of `app` to its live jail that
        may not have been verified: some host has not run it, or (a promotion) the
        test jail is live already. A re-run of the killed command finishes that
        one, rather than refuse it or roll back one step further."""
        git_repo = control.open_repo(self.repo)
        head = control.head(git_repo)
        switch = pending.switch_at(git_repo, head) if head else None
        if (
            switch is None
            or switch.app != app.name
            or not switch.subject.startswith(f"{app.name}: {kind} ")
        ):
            return False
        if slots is None or slots.live != switch.jail:
            return False
        if kind == "promote" and slots.test == slots.live:
            return True
        return self.runner.converged(list(app.hosts), head) != list(app.hosts)

    def converge_hosts(self, outcome: Outcome, apps: list[App]) -> Outcome:
        git_repo = control.open_repo(self.repo)
        head = control.head(git_repo)
        assert head is not None
        outcome.commit = head
        switch = pending.switch_at(git_repo, head)
        app_of = {a.name: a for a in apps}
        target = app_of.get(switch.app) if switch else None
        if switch is not None and target is not None and not pending.was_verified(self.repo, head):
            # never route live to a jail that does not answer its health check now
            state, _ = read_state(self.repo, self.catalog.site.module)
            outcome.doing = f"checking {switch.jail}"
            checks = self.probe_jails(state, target, switch.jail)
            if not all(c.ok for c in checks):
                outcome.checks = checks
                outcome.fail(
                    "health check",
                    f"{switch.subject} ({head[:12]}) was never verified and {switch.jail} is not "
                    "healthy: " + "; ".join(f"{c.host}: {c.detail}" for c in checks if not c.ok),
                )
                self.revert(outcome, target)
                after = Outcome(outcome.action, outcome.app)
                self.verify(after, list(target.hosts))
                outcome.checks = after.checks
                if not after.ok:
                    outcome.message += f"; after the revert: {after.message}"
                return outcome
        hosts = [h for h in sorted(self.catalog.hosts) if any(h in a.hosts for a in apps)]
        done = self.runner.converged(hosts, head)
        todo = [h for h in hosts if h not in done]
        if todo and not self.run_puppet(outcome, apps[0], todo):
            return outcome
        self.verify(outcome, hosts)
        return outcome

    def unmoved(self, state: DeploymentState, app: str, seen: Slots) -> DeploymentState:
        """The precondition of a switch: the app's slots are still those the health
        checks were made against. After a rejected push the change is applied to
        the fetched state; if another operator moved the slots meanwhile, the
        switch stops rather than put live on a jail nobody checked."""
        now = state.slots_of(app)
        if now is not None and (now.test, now.live, now.previous) == (
            seen.test,
            seen.live,
            seen.previous,
        ):
            return state
        test, live = (now.test, now.live) if now is not None else (None, None)
        raise StateMoved(
            f"{app}'s slots changed on origin while this command ran (test {test or '-'}, "
            f"live {live or '-'}; this command checked test {seen.test or '-'}, live "
            f"{seen.live or '-'}); last changed by {self._last_change()}. Nothing was switched: "
            "look at `jailgen status` and run the command again"
        )

    def _last_change(self) -> str:
        log: str = control.open_repo(self.repo).git.log(
            "-1", "--format=%an <%ae> in %h (%s)", "--", "data/nodes"
        )
        return log.strip() or "an unknown commit"

    def probe_jails(self, state: DeploymentState, app: App, jail_name: str) -> list[Check]:
        """The health path of `jail_name` on each of the app's hosts, straight at
        the jail (only where its address is on this machine)."""
        checks = []
        for host in app.hosts:
            jail = state.hosts[host].jails.get(jail_name) if host in state.hosts else None
            if jail is None:
                checks.append(Check(host, f"{jail_name} health", False, "no such jail"))
                continue
            answer = http.probe_jail(jail.address, app.port, app.health)
            checks.append(
                Check(host, f"{jail_name} health", answer.status == 200, answer.describe())
            )
        return checks

    def switch(
        self,
        outcome: Outcome,
        app: App,
        change: Callable[[DeploymentState], DeploymentState],
        subject: str,
        refusal: str,
    ) -> Outcome:
        """Move live, once the health checks in `outcome` have passed; a failure
        after the commit is reverted so live serves what it served before."""
        failed = [c for c in outcome.checks if not c.ok]
        if failed:
            return outcome.fail(
                "health check", f"{refusal}: " + "; ".join(f"{c.host}: {c.detail}" for c in failed)
            )
        outcome.checks.clear()
        self.change(outcome, app, change, subject)
        if not outcome.ok and outcome.commit:
            self.revert(outcome, app)
        return outcome

    @property
    def lock_expiry_s(self) -> float:
        """A little over the longest a command can run: its Puppet runs (agent
        mode: the run and report timeouts; local mode: the same default), the
        revert that may follow, and the route checks."""
        agents = self.catalog.site.puppet_agents
        run_s = (agents.run_timeout + agents.report_timeout) if agents else 1800 + 120
        return 2 * run_s + 4 * self.check_timeout_s + 300

    @contextmanager
    def _locked(self, apps: list[str], command: str) -> Iterator[None]:
        """The apps' locks: on the control repo's origin, where every operator
        sees them, when there is one; and always the clone's own (flock)."""
        with ExitStack() as stack:
            for app in sorted(apps):  # in one order, so two commands never deadlock
                stack.enter_context(app_lock(self.lock_dir, app, command, self.lock_wait_s))
                if self.push:
                    stack.enter_context(
                        shared_lock(
                            self.repo, app, command, self.lock_expiry_s, wait_s=self.lock_wait_s
                        )
                    )
            # Commands on other apps share this clone's working tree, its commits
            # and the hosts' Puppet runs: they take turns, waiting a bounded time.
            stack.enter_context(
                app_lock(self.lock_dir, CLONE_LOCK, command, wait_s=self.lock_expiry_s)
            )
            self._discard_interrupted_render()
            if self.push:
                # start from what origin holds, so the checks are made on it
                try:
                    git_repo = control.open_repo(self.repo)
                    control.drop_unpushed(git_repo, TRAILER)
                    control.catch_up(git_repo, None)
                except git.GitCommandError as exc:
                    raise JailgenError(
                        f"cannot catch up with origin: {exc.stderr.strip()}"
                    ) from exc
            yield

    def _sync_with_origin(self) -> bool:
        """Fast-forward to origin's branch when its history holds our HEAD (other
        commands' commits on other apps landed on top); True when HEAD moved."""
        git_repo = control.open_repo(self.repo)
        before = control.head(git_repo)
        branch = control.branch_name(git_repo)
        try:
            git_repo.git.fetch("-q", "origin", branch)
            git_repo.git.merge("--ff-only", "-q", f"origin/{branch}")
        except git.GitCommandError:
            return False
        return control.head(git_repo) != before

    def _discard_interrupted_render(self) -> None:
        """Files a killed command rendered and never committed: discarded (only
        where they still hold exactly what it wrote), so this command starts
        from HEAD."""
        git_repo = control.open_repo(self.repo)
        dirty = control.dirty_paths(git_repo, owned_paths(self.catalog))
        if dirty:
            journal.discard_left_over(self.repo, git_repo, dirty)
        else:
            journal.clear(self.repo)  # killed after its commit: nothing left over

    def _with_cleanup(
        self, change: Callable[[DeploymentState], DeploymentState], app: App
    ) -> Callable[[DeploymentState], DeploymentState]:
        """Also forget jails that the hosts' last runs have destroyed."""
        git_repo = control.open_repo(self.repo)
        converged = self.runner.converged(sorted(self.catalog.hosts), control.head(git_repo))
        return lambda state: change(forget_destroyed(state, converged))

    def change(
        self,
        outcome: Outcome,
        app: App,
        change: Callable[[DeploymentState], DeploymentState],
        subject: str,
    ) -> None:
        """Commit `change` to the state (forgetting destroyed jails too), run
        Puppet on the app's hosts and verify their routes, into `outcome`."""
        if self._apply(outcome, app, self._with_cleanup(change, app), subject):
            self.verify(outcome, list(app.hosts))

    def _apply(
        self,
        outcome: Outcome,
        app: App,
        change: Callable[[DeploymentState], DeploymentState],
        subject: str,
    ) -> bool:
        outcome.doing = "rendering and committing"
        try:
            rendered = render_catalog(
                self.catalog, self.repo, commit=True, push=self.push, change=change, subject=subject
            )
        except (CatalogError, Interrupted):
            raise  # bad input (hand-edited state): exit 2, nothing written; a signal
        except JailgenError as exc:
            outcome.fail("render/commit", str(exc))
            return False
        outcome.timings["render"] = rendered.render_s
        outcome.timings["commit"] = rendered.commit_s
        outcome.commit = rendered.commit
        outcome.replaced = [r.describe() for r in rendered.replaced]
        if rendered.state is not None:
            slots = rendered.state.slots_of(app.name)
            if slots is not None:
                outcome.slots = {
                    "test": slots.test,
                    "live": slots.live,
                    "previous": list(slots.previous),
                }
        return self.run_puppet(outcome, app)

    def run_puppet(self, outcome: Outcome, app: App, hosts: list[str] | None = None) -> bool:
        """Run Puppet on `hosts` (default: the app's); each must report a run of
        HEAD, or of a later commit whose history holds HEAD (another command's
        commit landed on top meanwhile), never of an unrelated commit."""
        hosts = list(app.hosts) if hosts is None else hosts
        git_repo = control.open_repo(self.repo)
        head = control.head(git_repo)
        assert head is not None
        started = time.monotonic()
        outcome.doing = f"running Puppet on {', '.join(hosts)} for {head[:12]}"
        pause_at("committed")
        reports = self.runner.run(self.repo, self.catalog.site.puppet_environment, hosts)
        outcome.timings["puppet"] = outcome.timings.get("puppet", 0.0) + time.monotonic() - started
        outcome.reports = reports
        later = [r for r in reports if r.ok and r.configuration_version != head]
        if later and self.push:
            self._sync_with_origin()  # fetch the later commits the hosts ran
        for report in reports:
            if not report.ok:
                return not outcome.fail("puppet run", f"{report.host}: {report.summary()}")
            if not pending.contains(git_repo, report.configuration_version, head):
                return not outcome.fail(
                    "puppet run",
                    f"{report.host}: applied configuration {report.configuration_version}, "
                    f"expected commit {head}",
                )
        return True

    def verify(self, outcome: Outcome, hosts: list[str]) -> None:
        """Every route of every app on the hosts that ran, not only `app`'s: each
        live and test domain serves the release its slot names, or 503."""
        outcome.doing = "checking the routes"
        pause_at("verify")
        started = time.monotonic()
        for _ in range(3):
            state, _ = read_state(self.repo, self.catalog.site.module)
            checks = [c for host in hosts for c in self.check_routes(state, host)]
            # Another clone's command on another app may have run a later commit
            # on these hosts meanwhile: check again against that commit's state.
            if all(c.ok for c in checks) or not (self.push and self._sync_with_origin()):
                break
        outcome.checks += checks
        outcome.timings["verify"] = time.monotonic() - started
        failed = [c for c in outcome.checks if not c.ok]
        if failed:
            outcome.fail(
                "route check", "; ".join(f"{c.host}: {c.what}: {c.detail}" for c in failed)
            )
        else:
            outcome.ok = True
            head = control.head(control.open_repo(self.repo))
            done = [c for c in (outcome.commit, head) if c]
            pending.record_verified(self.repo, sorted(set(done), key=done.index))

    def check_routes(
        self,
        state: DeploymentState,
        host: str,
        apps: list[str] | None = None,
        slot: str | None = None,
    ) -> list[Check]:
        """Through the host's NGINX with each domain's Host header, retried until
        the check timeout: a reload takes effect as the new workers start."""
        address, port = self.nginx_endpoint(host)
        wanted = [
            r
            for r in routes.expected(self.catalog, state, host, apps)
            if slot is None or r.slot == slot
        ]
        answers = routes.check_all(
            address, port, wanted, routes.releases(state, host), self.check_timeout_s
        )
        return [Check(host, s.route.what, s.ok, s.detail) for s in answers]

    def nginx_endpoint(self, host: str) -> tuple[str, int]:
        return self.catalog.nginx_for(host)

    def revert(self, outcome: Outcome, app: App) -> None:
        """Undo our commit and converge again, so live is what it was."""
        assert outcome.commit is not None
        git_repo = control.open_repo(self.repo)
        outcome.doing = f"reverting {outcome.commit[:12]}"
        with deferred():
            outcome.reverted_by = control.revert(
                git_repo, outcome.commit, f"{TRAILER} {__version__}"
            )
            if self.push:
                control.push(git_repo)
        saved = (outcome.step, outcome.message, outcome.reports)
        self.run_puppet(outcome, app)
        outcome.step, outcome.message = saved[0], saved[1]
        outcome.ok = False
        outcome.reports = saved[2] + outcome.reports
