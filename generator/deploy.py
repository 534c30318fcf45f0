"""The workflows: `test` (QA), `promote` and `rollback` (release managers).

Each one: take the app's lock, check preconditions, edit the deployment state,
render and commit (and push), run Puppet on the app's hosts and verify the run
reports, then check the routes through NGINX. A failure after the commit of a
promotion or rollback is undone by reverting that commit and running Puppet
again, so live keeps serving what it served before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import git

from generator import __version__, history, http, release_command, releases, routes
from generator import repo as control
from generator.catalog import App, Catalog
from generator.commands.render import render_catalog
from generator.errors import CatalogError, JailgenError
from generator.lock import app_lock
from generator.puppet.report import RunReport
from generator.release_command import CommandResult
from generator.render.replaced import TRAILER
from generator.shared_lock import shared_lock
from generator.state import (
    DeploymentState,
    Slots,
    forget_destroyed,
    no_rollback_target,
    promoted,
    rolled_back,
    with_test_release,
)
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
class Check:
    host: str
    what: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "what": self.what, "ok": self.ok, "detail": self.detail}


@dataclass
class Outcome:
    action: str
    app: str
    ok: bool = False
    step: str | None = None
    message: str = ""
    commit: str | None = None
    reverted_by: str | None = None
    reports: list[RunReport] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    slots: dict[str, Any] = field(default_factory=dict)
    replaced: list[str] = field(default_factory=list)  # hand edits the commit replaced
    release: dict[str, str] = field(default_factory=dict)  # test: the sha and the ref asked for
    release_command: CommandResult | None = None  # promote: on the canary host
    hooks: list[CommandResult] = field(default_factory=list)  # after_promote
    history: str = ""  # whether the evidence was recorded (generator.history)

    def fail(self, step: str, message: str) -> Outcome:
        self.ok, self.step, self.message = False, step, message
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "app": self.app,
            "ok": self.ok,
            "failed_step": self.step,
            "message": self.message,
            "commit": self.commit,
            "reverted_by": self.reverted_by,
            "slots": self.slots,
            "reports": [r.to_json() for r in self.reports],
            "checks": [c.to_json() for c in self.checks],
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "replaced": list(self.replaced),
            "release": dict(self.release),
            "release_command": self.release_command.to_json() if self.release_command else None,
            "hooks": [h.to_json() for h in self.hooks],
            "history": self.history,
        }


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
        return self.repo / ".git" / "jailgen" / "locks"

    def app(self, name: str) -> App:
        if name not in self.catalog.apps:
            known = ", ".join(sorted(self.catalog.apps))
            raise JailgenError(f"no app named {name!r} in {self.catalog.path} (apps: {known})")
        return self.catalog.apps[name]

    # -- workflows ---------------------------------------------------------

    def test(self, app_name: str, ref: str) -> Outcome:
        app = self.app(app_name)
        release = releases.resolve(app, ref)
        revision = release.sha
        outcome = Outcome("test", app_name, release={"sha": revision, "ref": release.ref})
        with self._locked(app_name, f"jailgen test {app_name} {release.describe()}"):
            change = self._with_cleanup(
                lambda s: with_test_release(s, self.catalog, app_name, revision), app
            )
            subject = f"{app_name}: test release {release.describe()}"
            if self._apply(outcome, app, change, subject):
                self._verify(outcome, app)
            self._record(outcome)
        return outcome

    def promote(self, app_name: str) -> Outcome:
        app = self.app(app_name)
        outcome = Outcome("promote", app_name)
        with self._locked(app_name, f"jailgen promote {app_name}"):
            state, _ = read_state(self.repo, self.catalog.site.module)
            slots = state.slots_of(app_name)
            if slots is None or slots.test is None:
                return outcome.fail("precheck", f"{app_name} has no release under test")
            if slots.test == slots.live:
                return outcome.fail("precheck", f"{app_name}: {slots.test} is already live")
            outcome.release = {"sha": state.revision_of(slots.test) or "", "ref": ""}
            started = time.monotonic()
            for host in app.hosts:
                outcome.checks += self._check_routes(state, host, [app_name], "test")
            outcome.timings["precheck"] = time.monotonic() - started
            healthy = all(c.ok for c in outcome.checks)
            if healthy and app.release_command and not self._release_phase(outcome, app, state):
                return outcome
            self._switch(
                outcome,
                app,
                lambda s: promoted(self._unmoved(s, app_name, slots), self.catalog, app_name),
                f"{app_name}: promote {slots.test} to live",
                refusal=f"refusing to promote {slots.test}: its test route is not healthy",
            )
            self._record(outcome)
            if outcome.ok and app.after_promote:
                outcome.hooks = release_command.run_hooks(app, outcome.release["sha"])
            return outcome

    def _release_phase(self, outcome: Outcome, app: App, state: DeploymentState) -> bool:
        """The release command in the jail under test on the canary host, after
        its health check and before anything is committed (see
        generator.release_command; a rollback does not run it)."""
        slots = state.slots_of(app.name)
        host = app.hosts[0]
        jail = state.hosts[host].jails.get(slots.test) if slots and slots.test else None
        if jail is None:
            outcome.fail("release command", f"{host}: no jail under test to run it in")
            return False
        result = release_command.run(self.catalog, host, app, jail)
        outcome.release_command = result
        outcome.timings["release command"] = result.seconds
        if not result.ok:
            outcome.fail(
                "release command",
                f"{result.describe()}; nothing was switched, live is unchanged; its output:\n"
                + result.tail(),
            )
        return result.ok

    def rollback(self, app_name: str, to: str | None = None) -> Outcome:
        """Live back to the newest previous jail it was not rolled back from, or
        to the retained release `to` (a jail name, commit id or ref)."""
        app = self.app(app_name)
        outcome = Outcome("rollback", app_name)
        command = f"jailgen rollback {app_name}" + (f" --to {to}" if to else "")
        with self._locked(app_name, command):
            state, _ = read_state(self.repo, self.catalog.site.module)
            slots = state.slots_of(app_name)
            target = slots.rollback_target if slots is not None else None
            if slots is not None and to is not None:
                try:
                    target = releases.retained_target(app, state, slots, to)
                except releases.NotRetained as exc:
                    return outcome.fail("precheck", str(exc))
            if slots is None or target is None:
                return outcome.fail("precheck", no_rollback_target(app_name, slots))
            outcome.checks += self._probe_jails(state, app, target)
            outcome.release = {"sha": state.revision_of(target) or "", "ref": ""}
            chosen = target
            self._switch(
                outcome,
                app,
                lambda s: rolled_back(
                    self._unmoved(s, app_name, slots), self.catalog, app_name, chosen
                ),
                f"{app_name}: roll back live to {target}",
                refusal=f"refusing to roll back to {target}: it is not healthy",
            )
            self._record(outcome)
            return outcome

    # -- steps -------------------------------------------------------------

    def _record(self, outcome: Outcome) -> None:
        """The evidence, as a git note on the commit (while the lock is held)."""
        outcome.history = history.record(self.repo, outcome, self.push)

    def _unmoved(self, state: DeploymentState, app: str, seen: Slots) -> DeploymentState:
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

    def _probe_jails(self, state: DeploymentState, app: App, jail_name: str) -> list[Check]:
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

    def _switch(
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
        if self._apply(outcome, app, self._with_cleanup(change, app), subject):
            self._verify(outcome, app)
        if not outcome.ok and outcome.commit:
            self._revert(outcome, app)
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
    def _locked(self, app: str, command: str) -> Iterator[None]:
        """The app's lock: on the control repo's origin, where every operator
        sees it, when there is one; and always the clone's own (flock)."""
        with app_lock(self.lock_dir, app, command, wait_s=self.lock_wait_s), ExitStack() as stack:
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
            if self.push:
                # start from what origin holds, so the checks are made on it
                try:
                    control.catch_up(control.open_repo(self.repo), None)
                except git.GitCommandError as exc:
                    raise JailgenError(
                        f"cannot catch up with origin: {exc.stderr.strip()}"
                    ) from exc
            yield

    def _with_cleanup(
        self, change: Callable[[DeploymentState], DeploymentState], app: App
    ) -> Callable[[DeploymentState], DeploymentState]:
        """Also forget jails that the hosts' last runs have destroyed."""
        git_repo = control.open_repo(self.repo)
        converged = self.runner.converged(sorted(self.catalog.hosts), control.head(git_repo))
        return lambda state: change(forget_destroyed(state, converged))

    def _apply(
        self,
        outcome: Outcome,
        app: App,
        change: Callable[[DeploymentState], DeploymentState],
        subject: str,
    ) -> bool:
        try:
            rendered = render_catalog(
                self.catalog, self.repo, commit=True, push=self.push, change=change, subject=subject
            )
        except CatalogError:
            raise  # bad input (hand-edited state): exit 2, nothing written
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
        return self._run_puppet(outcome, app)

    def _run_puppet(self, outcome: Outcome, app: App) -> bool:
        head = control.head(control.open_repo(self.repo))
        started = time.monotonic()
        reports = self.runner.run(self.repo, self.catalog.site.puppet_environment, list(app.hosts))
        outcome.timings["puppet"] = outcome.timings.get("puppet", 0.0) + time.monotonic() - started
        outcome.reports = reports
        for report in reports:
            if not report.ok:
                return not outcome.fail("puppet run", f"{report.host}: {report.summary()}")
            if report.configuration_version != head:
                return not outcome.fail(
                    "puppet run",
                    f"{report.host}: applied configuration {report.configuration_version}, "
                    f"expected commit {head}",
                )
        return True

    def _verify(self, outcome: Outcome, app: App) -> None:
        """Every route of every app on the hosts that ran, not only `app`'s: each
        live and test domain serves the release its slot names, or 503."""
        started = time.monotonic()
        state, _ = read_state(self.repo, self.catalog.site.module)
        for host in app.hosts:
            outcome.checks += self._check_routes(state, host)
        outcome.timings["verify"] = time.monotonic() - started
        failed = [c for c in outcome.checks if not c.ok]
        if failed:
            outcome.fail(
                "route check", "; ".join(f"{c.host}: {c.what}: {c.detail}" for c in failed)
            )
        else:
            outcome.ok = True

    def _check_routes(
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

    def _revert(self, outcome: Outcome, app: App) -> None:
        """Undo our commit and converge again, so live is what it was."""
        assert outcome.commit is not None
        git_repo = control.open_repo(self.repo)
        outcome.reverted_by = control.revert(git_repo, outcome.commit, f"{TRAILER} {__version__}")
        if self.push:
            control.push(git_repo)
        saved = (outcome.step, outcome.message, outcome.reports)
        self._run_puppet(outcome, app)
        outcome.step, outcome.message = saved[0], saved[1]
        outcome.ok = False
        outcome.reports = saved[2] + outcome.reports
