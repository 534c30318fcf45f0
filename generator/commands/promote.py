"""`jailgen promote APP`: the release manager moves live to the jail under test.

Nothing is rebuilt: the test jail's route is checked through NGINX on every
host, the app's release command (if any) runs in it on the canary host, and
only then does the `live` slot move to it, the former live jail becoming the
newest `previous`. A failure after that commit reverts it (see
`Deployer.switch`). Re-running a promotion that was killed after its commit
finishes that one instead.
"""

from __future__ import annotations

import time

from generator import release_command
from generator.catalog import App
from generator.outcome import Outcome
from generator.state import DeploymentState, promoted
from generator.state_store import read_state
from generator.workflow import Deployer


def promote(deployer: Deployer, app_name: str) -> Outcome:
    """Live of `app_name` to its (healthy) test jail, applied and verified."""
    app = deployer.app(app_name)
    outcome = Outcome("promote", app_name)
    with deployer.running(outcome, [app_name], f"jailgen promote {app_name}"):
        state, _ = read_state(deployer.repo, deployer.catalog.site.module)
        slots = state.slots_of(app_name)
        if deployer.unfinished_switch(app, "promote", slots):
            return deployer.converge_hosts(outcome, [app])
        if slots is None or slots.test is None:
            return outcome.fail("precheck", f"{app_name} has no release under test")
        if slots.test == slots.live:
            return outcome.fail("precheck", f"{app_name}: {slots.test} is already live")
        outcome.release = {"sha": state.revision_of(slots.test) or "", "ref": ""}
        started = time.monotonic()
        outcome.doing = "checking the test route"
        for host in app.hosts:
            outcome.checks += deployer.check_routes(state, host, [app_name], "test")
        outcome.timings["precheck"] = time.monotonic() - started
        healthy = all(c.ok for c in outcome.checks)
        if healthy and app.release_command and not _release_phase(deployer, outcome, app, state):
            return outcome
        checked = slots
        deployer.switch(
            outcome,
            app,
            lambda s: promoted(deployer.unmoved(s, app_name, checked), deployer.catalog, app_name),
            f"{app_name}: promote {slots.test} to live",
            refusal=f"refusing to promote {slots.test}: its test route is not healthy",
        )
        deployer.record(outcome)
        if outcome.ok and app.after_promote:
            outcome.hooks = release_command.run_hooks(app, outcome.release["sha"])
        return outcome
    return outcome  # interrupted: the report is in outcome


def _release_phase(deployer: Deployer, outcome: Outcome, app: App, state: DeploymentState) -> bool:
    """The release command in the jail under test on the canary host, after its
    health check and before anything is committed (see generator.release_command;
    a rollback does not run it)."""
    slots = state.slots_of(app.name)
    host = app.hosts[0]
    jail = state.hosts[host].jails.get(slots.test) if slots and slots.test else None
    if jail is None:
        outcome.fail("release command", f"{host}: no jail under test to run it in")
        return False
    result = release_command.run(deployer.catalog, host, app, jail)
    outcome.release_command = result
    outcome.timings["release command"] = result.seconds
    if not result.ok:
        outcome.fail(
            "release command",
            f"{result.describe()}; nothing was switched, live is unchanged; its output:\n"
            + result.tail(),
        )
    return result.ok
