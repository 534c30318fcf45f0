"""`jailgen rollback APP [--to RELEASE]`: live back to a retained jail.

A rollback is a promotion of an older release: the newest `previous` jail that
live was not rolled back from (or the retained release named by --to) is
checked straight at the jail on every host, then the `live` slot moves to it.
Its release command is not run again. A failure after the commit reverts it.
"""

from __future__ import annotations

from generator import releases
from generator.outcome import Outcome
from generator.state import no_rollback_target, rolled_back
from generator.state_store import read_state
from generator.workflow import Deployer


def rollback(deployer: Deployer, app_name: str, to: str | None = None) -> Outcome:
    """Live of `app_name` back to its rollback target, or to the retained release
    `to` (a jail name, commit id or ref), once it is found healthy."""
    app = deployer.app(app_name)
    outcome = Outcome("rollback", app_name)
    command = f"jailgen rollback {app_name}" + (f" --to {to}" if to else "")
    with deployer.running(outcome, [app_name], command):
        state, _ = read_state(deployer.repo, deployer.catalog.site.module)
        slots = state.slots_of(app_name)
        if deployer.unfinished_switch(app, "roll back", slots):
            return deployer.converge_hosts(outcome, [app])
        target = slots.rollback_target if slots is not None else None
        if slots is not None and to is not None:
            try:
                target = releases.retained_target(app, state, slots, to)
            except releases.NotRetained as exc:
                return outcome.fail("precheck", str(exc))
        if slots is None or target is None:
            return outcome.fail("precheck", no_rollback_target(app_name, slots))
        outcome.doing = f"checking {target}"
        outcome.checks += deployer.probe_jails(state, app, target)
        outcome.release = {"sha": state.revision_of(target) or "", "ref": ""}
        checked, chosen = slots, target
        deployer.switch(
            outcome,
            app,
            lambda s: rolled_back(
                deployer.unmoved(s, app_name, checked), deployer.catalog, app_name, chosen
            ),
            f"{app_name}: roll back live to {target}",
            refusal=f"refusing to roll back to {target}: it is not healthy",
        )
        deployer.record(outcome)
        return outcome
    return outcome  # interrupted: the report is in outcome
