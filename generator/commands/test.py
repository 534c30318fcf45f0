"""`jailgen test APP REF`: QA puts a release of an app on its test domain.

REF (a commit id, branch or tag of the app's source) is resolved to a commit;
its jail becomes the app's `test` slot on every host of the app, Puppet builds
and starts it, and every route is checked through NGINX. Live is untouched.
"""

from __future__ import annotations

from generator import releases
from generator.outcome import Outcome
from generator.state import with_test_release
from generator.workflow import Deployer


def put_under_test(deployer: Deployer, app_name: str, ref: str) -> Outcome:
    """Release `ref` of `app_name` in the test slot, applied and verified."""
    app = deployer.app(app_name)
    release = releases.resolve(app, ref)
    revision = release.sha
    outcome = Outcome("test", app_name, release={"sha": revision, "ref": release.ref})
    with deployer.running(outcome, [app_name], f"jailgen test {app_name} {release.describe()}"):
        deployer.change(
            outcome,
            app,
            lambda s: with_test_release(s, deployer.catalog, app_name, revision),
            f"{app_name}: test release {release.describe()}",
        )
        deployer.record(outcome)
    return outcome
