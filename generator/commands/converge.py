"""`jailgen converge [APP]`: finish what a killed or interrupted command left.

Puppet runs on every host of the apps (all, or APP) that has not converged to
HEAD, and every route is checked. A switch of live at HEAD that was never
verified (from this clone) and whose jail now fails its health check is
reverted first, as a failed promotion is.
"""

from __future__ import annotations

from generator.outcome import Outcome
from generator.workflow import Deployer


def converge(deployer: Deployer, app_name: str | None = None) -> Outcome:
    """Every host of the apps converged to HEAD and every route verified."""
    catalog = deployer.catalog
    apps = [deployer.app(app_name)] if app_name else [catalog.apps[n] for n in sorted(catalog.apps)]
    outcome = Outcome("converge", app_name or "all apps")
    names = [a.name for a in apps]
    with deployer.running(outcome, names, f"jailgen converge {outcome.app}"):
        return deployer.converge_hosts(outcome, apps)
    return outcome  # interrupted: the report is in outcome
