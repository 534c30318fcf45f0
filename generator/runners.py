"""Which Puppet runs a deploy command drives, from the catalog's
site.puppet.mode: local `puppet apply` on this machine, or agents through
Puppet Server and PuppetDB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from generator import repo as control
from generator.catalog import Catalog, load_catalog
from generator.commands.status import ReportSource
from generator.interrupt import handled_signals
from generator.puppet.agent import AgentRunner, Progress
from generator.puppet.live import live_runs
from generator.puppet.local import LocalPuppet, LocalRunner
from generator.workflow import Deployer


def runner_for(
    catalog: Catalog, workdir: Path | None, progress: Progress | None = None
) -> LocalRunner | AgentRunner:
    """The Puppet runner of the catalog's site.puppet.mode."""
    if catalog.site.puppet_mode == "agent":
        if progress is None:
            return AgentRunner(catalog)
        return AgentRunner(catalog, progress)
    return LocalRunner(LocalPuppet(workdir or Path(catalog.site.linux_root) / "puppet"))


def report_source(runner: LocalRunner | AgentRunner) -> ReportSource:
    """Where `status` reads each host's last run: local files or PuppetDB."""
    return runner.puppet if isinstance(runner, LocalRunner) else runner


@contextmanager
def deploying(
    catalog_path: Path, repo: Path, workdir: Path | None, wait: float, live_view: bool
) -> Iterator[Deployer]:
    """A Deployer for the catalog's Puppet mode, pushing when the control repo
    has an origin; signals stop it cleanly. In agent mode with `live_view`, the
    hosts' runs are shown as they go, on stderr."""
    catalog = load_catalog(catalog_path)
    push = control.has_origin(control.open_repo(repo))
    with handled_signals():  # SIGTERM, Ctrl-C: stop Puppet, report, release the locks
        if catalog.site.puppet_mode == "agent" and live_view:
            with live_runs() as view:
                runner = runner_for(catalog, workdir, progress=view.update)
                yield Deployer(catalog, repo, runner, push=push, lock_wait_s=wait)
            return
        yield Deployer(catalog, repo, runner_for(catalog, workdir), push=push, lock_wait_s=wait)
