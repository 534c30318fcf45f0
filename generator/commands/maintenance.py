"""`jailgen maintenance APP on|off`: the live domains answer 503 with a page,
or are served again.

Maintenance is deployment state like the slots (`maintenance` of the app in
each of its hosts' node files), changed the way `test` changes a slot: with
the app's lock, committed (and pushed), applied by Puppet and verified through
NGINX. It changes NGINX's configuration (the live server blocks), so turning
it on or off reloads NGINX; promotions during maintenance still go through the
NAT table only. The test domain is untouched, and the health path of the live
domains still reaches the live jail, so QA can check a release and it can be
promoted while customers see the page.
"""

from __future__ import annotations

from generator import edge
from generator.errors import JailgenError
from generator.outcome import Outcome
from generator.state import with_maintenance
from generator.workflow import Deployer


def maintenance(deployer: Deployer, app_name: str, on: bool, message: str | None) -> Outcome:
    """Turn maintenance of `app_name` on (with `message`, else the catalog's)
    or off, and verify every route of its hosts."""
    app = deployer.app(app_name)
    if message is not None and not on:
        raise JailgenError("--message only goes with `on`")
    if message is not None and edge.check_message(message) is not None:
        raise JailgenError(f"--message {message!r}: expected {edge.MESSAGE_EXPECTED}")
    text = (message or app.maintenance.message) if on else None
    switch = "on" if on else "off"
    outcome = Outcome(f"maintenance {switch}", app_name)
    # The workflow steps are those of the other commands: lock, render and
    # commit, run Puppet, verify the routes (which expect the page on live in
    # maintenance), record the evidence; a signal stops it as it stops them.
    with deployer.running(outcome, [app_name], f"jailgen maintenance {app_name} {switch}"):
        deployer.change(
            outcome,
            app,
            lambda state: with_maintenance(state, deployer.catalog, app_name, text),
            f"{app_name}: maintenance {switch}",
        )
        deployer.record(outcome)
    outcome.slots["maintenance"] = text
    return outcome
