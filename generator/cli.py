"""The command line: parse, call one core function, print. User errors become a
message on stderr and exit status 2 here, in one place."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from rich import box
from rich.console import Console
from rich.table import Table

from generator import __version__, history
from generator import repo as control
from generator.catalog import Catalog, load_catalog
from generator.catalog import json_schema as catalog_schema
from generator.commands import render as render_cmd
from generator.deploy import Deployer, Outcome
from generator.errors import CatalogError, JailgenError
from generator.interrupt import handled_signals
from generator.puppet.agent import AgentRunner, Progress
from generator.puppet.live import live_runs
from generator.puppet.local import LocalPuppet, LocalRunner
from generator.status import AppHostStatus, ReportSource, status

P = ParamSpec("P")
R = TypeVar("R")


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CatalogError as exc:
            click.echo(str(exc), err=True)
            click.echo(f"{len(exc.problems)} problem(s) found; nothing was written", err=True)
            sys.exit(exc.exit_code)
        except JailgenError as exc:
            click.echo(f"jailgen: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


@click.group()
@click.version_option(__version__, prog_name="jailgen")
def main() -> None:
    """Catalog of web apps -> Hiera data and a Puppet module for jails behind NGINX."""


@main.command()
@click.argument("catalog", type=click.Path(path_type=Path))
@user_errors
def validate(catalog: Path) -> None:
    """Check a catalog; print every problem with FILE:LINE:COL."""
    parsed = load_catalog(catalog)
    click.echo(f"{catalog}: ok ({len(parsed.apps)} apps on {len(parsed.hosts)} hosts)")


@main.command()
def schema() -> None:
    """Print the catalog's JSON Schema (also in schema/catalog.schema.json)."""
    click.echo(catalog_schema(), nl=False)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@user_errors
def init(directory: Path) -> None:
    """Create a control repo skeleton (git, branch production) in DIRECTORY."""
    result = control.init(directory)
    for rel in result.created:
        click.echo(f"create {rel}")
    click.echo(f"control repo ready at {directory}")


@main.command()
@click.argument("catalog", type=click.Path(path_type=Path))
@click.option(
    "--repo",
    "repo_path",
    required=True,
    type=click.Path(path_type=Path),
    help="The control repo to write into.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when something would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the unified diff of the changes.")
@click.option("--commit", is_flag=True, help="Commit the changes to the control repo.")
@click.option(
    "--push", is_flag=True, help="Commit and push; on rejection fetch, rebase, re-render."
)
@click.option("--remote", default="origin", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@user_errors
def render(
    catalog: Path,
    repo_path: Path,
    check: bool,
    show_diff: bool,
    commit: bool,
    push: bool,
    remote: str,
    as_json: bool,
) -> None:
    """Write the Hiera data and the generated Puppet module into the control repo."""
    outcome = render_cmd.render(
        catalog, repo_path, check=check, commit=commit, push=push, remote=remote
    )
    if as_json:
        payload: dict[str, Any] = {
            "changes": [{"path": c.path, "action": c.action} for c in outcome.changes],
            "replaced": [r.to_json() for r in outcome.replaced],
            "commit": outcome.commit,
            "pushed": outcome.pushed,
            "check": check,
        }
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        verb = "would " if check else ""
        for change in outcome.changes:
            click.echo(f"{verb}{change.action} {change.path}")
        for replaced in outcome.replaced:
            click.echo(f"{verb}replace {replaced.describe()}")
        if not outcome.changes:
            click.echo("nothing to change")
        if outcome.commit:
            click.echo(f"committed {outcome.commit}")
        if outcome.pushed:
            click.echo(f"pushed to {remote}")
    if show_diff:
        for change in outcome.changes:
            click.echo(change.diff(), nl=False)
    if check and outcome.changes:
        sys.exit(1)


@contextmanager
def _deploying(
    catalog_path: Path, repo: Path, workdir: Path | None, wait: float, as_json: bool
) -> Iterator[Deployer]:
    """A Deployer for the catalog's Puppet mode; in agent mode, with a live view
    of the hosts' runs on stderr (not with --json)."""
    catalog = load_catalog(catalog_path)
    git_repo = control.open_repo(repo)
    push = any(r.name == "origin" for r in git_repo.remotes)
    with handled_signals():  # SIGTERM, Ctrl-C: stop Puppet, report, release the locks
        if catalog.site.puppet_mode == "agent" and not as_json:
            with live_runs() as view:
                runner = runner_for(catalog, workdir, progress=view.update)
                yield Deployer(catalog, repo, runner, push=push, lock_wait_s=wait)
            return
        yield Deployer(catalog, repo, runner_for(catalog, workdir), push=push, lock_wait_s=wait)


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


_repo_option = click.option(
    "-r",
    "--repo",
    "repo",
    envvar="JAILGEN_REPO",
    required=True,
    type=click.Path(path_type=Path),
    help="The control repo (or $JAILGEN_REPO).",
)


def deploy_options(func: Callable[P, R]) -> Callable[P, R]:
    options = [
        click.option(
            "-c",
            "--catalog",
            "catalog_path",
            envvar="JAILGEN_CATALOG",
            default="catalog.yaml",
            show_default=True,
            type=click.Path(path_type=Path),
            help="The catalog (or $JAILGEN_CATALOG).",
        ),
        _repo_option,
        click.option(
            "--workdir",
            envvar="JAILGEN_WORKDIR",
            type=click.Path(path_type=Path),
            help="Where local Puppet keeps its state (default <site.linux.root>/puppet).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _print_outcome(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(outcome.to_json(), indent=2, sort_keys=True))
    else:
        _print_outcome_text(outcome)
    if not outcome.ok:
        sys.exit(outcome.exit_code)


def _print_outcome_text(outcome: Outcome) -> None:
    verdict = "ok" if outcome.ok else f"FAILED at {outcome.step}"
    click.echo(f"{outcome.action} {outcome.app}: {verdict}")
    if outcome.release.get("sha"):
        ref = outcome.release.get("ref")
        click.echo(f"  release  {outcome.release['sha']}" + (f" ({ref})" if ref else ""))
    if outcome.commit:
        click.echo(f"  commit   {outcome.commit}")
    for key in ("test", "live"):
        if outcome.slots.get(key):
            click.echo(f"  {key:<8} {outcome.slots[key]}")
    if outcome.slots.get("previous"):
        click.echo(f"  previous {', '.join(outcome.slots['previous'])}")
    if outcome.slots.get("maintenance"):
        click.echo(f"  maintenance: {outcome.slots['maintenance']}")
    for replaced in outcome.replaced:
        click.echo(f"  replaced {replaced}")
    if outcome.release_command is not None:
        click.echo(f"  release command {outcome.release_command.describe()}")
    for hook in outcome.hooks:
        click.echo(f"  hook     {hook.describe()}")
        if not hook.ok:
            click.echo("           " + hook.tail().replace("\n", "\n           "))
    for report in outcome.reports:
        click.echo(f"  puppet   {report.host}: {report.summary()}")
    for check in outcome.checks:
        mark = "ok  " if check.ok else "FAIL"
        click.echo(f"  {mark}     {check.host}: {check.what}: {check.detail}")
    if outcome.reverted_by:
        click.echo(f"  reverted by {outcome.reverted_by}: live serves what it served before")
    if outcome.history:
        click.echo(f"  history  {outcome.history}")
    if outcome.pending:
        click.echo(f"  pending  {', '.join(outcome.pending)}")
    if not outcome.ok:
        click.echo(f"jailgen: {outcome.action} failed: {outcome.message}", err=True)


@main.command("test")
@click.argument("app")
@click.argument("ref")
@deploy_options
@click.option("--wait", default=0.0, help="Seconds to wait for the app's lock.")
@user_errors
def test_command(
    app: str,
    ref: str,
    catalog_path: Path,
    repo: Path,
    workdir: Path | None,
    as_json: bool,
    wait: float,
) -> None:
    """QA: put release REF of APP on its test domain.

    REF is a full or short commit id, a branch or a tag of the app's source."""
    with _deploying(catalog_path, repo, workdir, wait, as_json) as deployer:
        outcome = deployer.test(app, ref)
    _print_outcome(outcome, as_json)


@main.command()
@click.argument("app")
@deploy_options
@click.option("--wait", default=0.0, help="Seconds to wait for the app's lock.")
@user_errors
def promote(
    app: str, catalog_path: Path, repo: Path, workdir: Path | None, as_json: bool, wait: float
) -> None:
    """Release manager: move live to the (healthy) jail under test."""
    with _deploying(catalog_path, repo, workdir, wait, as_json) as deployer:
        outcome = deployer.promote(app)
    _print_outcome(outcome, as_json)


@main.command()
@click.argument("app")
@deploy_options
@click.option("--wait", default=0.0, help="Seconds to wait for the app's lock.")
@click.option(
    "--to",
    "to",
    metavar="RELEASE",
    help="A retained release: its jail name, (short) commit id, branch or tag.",
)
@user_errors
def rollback(
    app: str,
    catalog_path: Path,
    repo: Path,
    workdir: Path | None,
    as_json: bool,
    wait: float,
    to: str | None,
) -> None:
    """Move live back to the newest previous jail (or --to any retained one),
    once it is found healthy."""
    with _deploying(catalog_path, repo, workdir, wait, as_json) as deployer:
        outcome = deployer.rollback(app, to)
    _print_outcome(outcome, as_json)


@main.command("maintenance")
@click.argument("app")
@click.argument("switch", type=click.Choice(["on", "off"]))
@click.option("--message", help="The page's message (default: the catalog's maintenance.message).")
@deploy_options
@click.option("--wait", default=0.0, help="Seconds to wait for the app's lock.")
@user_errors
def maintenance_command(
    app: str,
    switch: str,
    message: str | None,
    catalog_path: Path,
    repo: Path,
    workdir: Path | None,
    as_json: bool,
    wait: float,
) -> None:
    """Live domains of APP answer 503 with a maintenance page (on), or are served again (off)."""
    from generator.maintenance import maintenance

    with _deploying(catalog_path, repo, workdir, wait, as_json) as deployer:
        outcome = maintenance(deployer, app, switch == "on", message)
    _print_outcome(outcome, as_json)


@main.command()
@click.argument("app", required=False)
@deploy_options
@click.option("--wait", default=0.0, help="Seconds to wait for the apps' locks.")
@user_errors
def converge(
    app: str | None,
    catalog_path: Path,
    repo: Path,
    workdir: Path | None,
    as_json: bool,
    wait: float,
) -> None:
    """Finish what a killed command left: run Puppet where HEAD is not applied, check
    every route; a never-verified switch to a jail now unhealthy is reverted."""
    with _deploying(catalog_path, repo, workdir, wait, as_json) as deployer:
        outcome = deployer.converge(app)
    _print_outcome(outcome, as_json)


@main.command("status")
@click.argument("app", required=False)
@deploy_options
@user_errors
def status_command(
    app: str | None, catalog_path: Path, repo: Path, workdir: Path | None, as_json: bool
) -> None:
    """What each domain serves, against the slots in Hiera; exit 1 on any disagreement.

    Per app and host: the test, live and previous jails and their health, the
    release NGINX serves on each domain, the commit the host last converged to,
    and every problem (a route serving another release, a pending commit, a
    failed run, an unhealthy jail).
    """
    catalog = load_catalog(catalog_path)
    rows = status(catalog, repo, report_source(runner_for(catalog, workdir)), app)
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], indent=2, sort_keys=True))
    else:
        _print_status(rows)
    if not all(r.ok for r in rows):
        sys.exit(1)


@main.command("history")
@click.argument("app", required=False)
@_repo_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@user_errors
def history_command(app: str | None, repo: Path, as_json: bool) -> None:
    """Every test, promotion and rollback (of APP), newest first, with its evidence."""
    entries = history.read(repo, app)
    if as_json:
        click.echo(json.dumps(history.as_json(entries), indent=2, sort_keys=True))
        return
    for line in history.lines(entries):
        click.echo(line)


@main.group()
def lock() -> None:
    """The per-app locks (on the control repo's origin, and this clone's own)."""


@lock.command("status")
@_repo_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@user_errors
def lock_status(repo: Path, as_json: bool) -> None:
    """Who holds which app's lock, since when, until when."""
    from generator import lock as local_lock
    from generator import shared_lock

    git_repo = control.open_repo(repo)
    rows: list[dict[str, Any]] = []
    if any(r.name == "origin" for r in git_repo.remotes):
        for app, (sha, record) in sorted(shared_lock.remote_locks(repo).items()):
            rows.append({"app": app, "where": "origin", "lock": sha, "holder": record.describe()})
    lock_dir = repo / ".git" / "jailgen" / "locks"
    for path in sorted(lock_dir.glob("*.lock")) if lock_dir.is_dir() else []:
        holder = local_lock.holder_of(lock_dir, path.stem)
        if holder is not None:
            rows.append(
                {"app": path.stem, "where": "this clone", "lock": None, "holder": holder.describe()}
            )
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    for row in rows:
        click.echo(f"{row['app']}: locked ({row['where']}) by {row['holder']}")
    if not rows:
        click.echo("no app is locked")


@main.command()
@click.argument("app")
@_repo_option
@click.option("--force", is_flag=True, help="Really break the lock (it is recorded).")
@user_errors
def unlock(app: str, repo: Path, force: bool) -> None:
    """Break APP's lock on the control repo's origin (only with --force)."""
    from generator import shared_lock

    if not force:
        raise JailgenError(
            f"breaking {app}'s lock lets a second command run beside its holder's; "
            "check `jailgen lock status` and repeat with --force"
        )
    record = shared_lock.break_lock(repo, app)
    if record is None:
        click.echo(f"{app} is not locked on origin")
        return
    click.echo(f"broke {app}'s lock held by {record.describe()} (recorded on origin)")


@main.command()
@click.option(
    "--dir",
    "base",
    default="demo",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where the demo keeps everything.",
)
@click.option("--stop", "stop_only", is_flag=True, help="Stop what an earlier demo left running.")
@user_errors
def demo(base: Path, stop_only: bool) -> None:
    """Run the whole flow here: control repo, test jail, promotion, status."""
    from generator import demo as demo_flow

    paths = demo_flow.DemoPaths(base.resolve())
    if stop_only:
        stopped = demo_flow.stop(paths)
        for process in stopped:
            click.echo(f"stopped {process.what} (pid {process.pid})")
        click.echo("nothing was running" if not stopped else "demo stopped")
        return

    def show_history(paths: demo_flow.DemoPaths) -> None:
        click.echo(f"\n$ jailgen history {demo_flow.DEMO_APP} -r {paths.control}")
        for line in history.lines(history.read(paths.control, demo_flow.DEMO_APP)):
            click.echo(line)

    catalog, outcomes = demo_flow.run(base, click.echo, _print_outcome_text, show_history)
    if not all(o.ok for o in outcomes):
        sys.exit(1)
    click.echo("\nTry it:")
    for line in demo_flow.describe_urls(catalog):
        click.echo(f"  {line}")
    click.echo("\n$ " + " ".join(demo_flow.status_argv(paths)))
    rows = status(catalog, paths.control, LocalPuppet(paths.root / "puppet"))
    # the demo runs Puppet only for this machine's hosts; the catalog's others never run
    _print_status([r for r in rows if r.last_run is not None])
    click.echo("Left running (stop them with `make demo-stop` or `jailgen demo --stop`):")
    from generator import local_processes

    for process in local_processes.running(paths.jails_dir, paths.nginx_prefix):
        click.echo(f"  pid {process.pid}: {process.what}")


def _print_status(rows: list[AppHostStatus]) -> None:
    console = Console(width=160)
    jails = Table(box=box.SIMPLE, title="jails (as Hiera names them)", title_justify="left")
    for column in ("app", "host", "slot", "jail", "address", "health", "note", "converged"):
        jails.add_column(column)
    served = Table(box=box.SIMPLE, title="routes (as NGINX serves them)", title_justify="left")
    for column in ("app", "host", "slot", "domain", "expected", "serves", "ok"):
        served.add_column(column)
    for row in rows:
        converged = (row.converged or row.last_run or "never run")[:12]
        if not row.jails:
            jails.add_row(row.app, row.host, "-", "-", "-", "-", "", converged)
        for jail in row.jails:
            jails.add_row(
                row.app,
                row.host,
                jail.slot,
                jail.name,
                jail.address,
                jail.health,
                jail.note,
                converged,
            )
        for route in row.routes:
            expected = route.route.expects
            served.add_row(
                row.app,
                row.host,
                route.route.slot,
                route.route.domain,
                expected,
                route.serves,
                "yes" if route.ok else "NO",
            )
    console.print(jails)
    if served.row_count:
        console.print(served)
    for row in rows:
        for route in row.routes:
            if route.route.acme and "(over HTTP: " in route.detail:
                console.print(
                    f"HTTP {row.app} {route.route.slot} {route.route.domain} on {row.host}: "
                    "no ACME certificate in use yet (NGINX uses it from the run after certbot)",
                    markup=False,
                )
        if row.maintenance is not None:
            console.print(
                f"MAINTENANCE {row.app} on {row.host}: live domains answer 503: {row.maintenance}",
                markup=False,
            )
    problems = [(row, p) for row in rows for p in row.problems]
    for row, problem in problems:
        console.print(f"PROBLEM {row.app} on {row.host}: {problem}", markup=False)
    behind = sorted(
        {row.host for row in rows if any(p.startswith("pending:") for p in row.problems)}
    )
    if behind and rows[0].head:
        console.print(
            f"PENDING commit {rows[0].head[:12]} is not converged on {', '.join(behind)}: "
            "`jailgen converge` (or the interrupted command again) finishes it",
            markup=False,
        )
    if rows and not problems:
        console.print("every route serves what Hiera names; every host has converged")


DEFAULT_STACK_DIR = Path("/var/tmp/jailgen-stack")


@main.group()
def stack() -> None:
    """A development Puppet stack here: PostgreSQL, PuppetDB, Puppet Server, r10k, agents."""


@stack.command("up")
@click.option(
    "--dir",
    "root",
    default=DEFAULT_STACK_DIR,
    show_default=True,
    type=click.Path(path_type=Path),
    help="State directory (configuration, data, certificates, logs).",
)
@click.option("--agents", "count", default=3, show_default=True, help="Agents on this machine.")
@click.option(
    "--certname",
    "certnames",
    multiple=True,
    help="Agent certnames (instead of agent1.jailgen.test ...); repeat for each.",
)
@click.option("--environment", default="production", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@user_errors
def stack_up(
    root: Path, count: int, certnames: tuple[str, ...], environment: str, as_json: bool
) -> None:
    """Start the stack on 127.0.0.1 and print the catalog's site.puppet for it."""
    from generator import stack as dev_stack

    agents = certnames or tuple(f"agent{i}.jailgen.test" for i in range(1, count + 1))
    settings = dev_stack.StackSettings(root, agents, environment)
    manifest = dev_stack.up(settings, (lambda _: None) if as_json else click.echo)
    if as_json:
        click.echo(json.dumps(manifest.to_json(), indent=2, sort_keys=True))
        return
    for name, pid in sorted(manifest.pids.items()):
        click.echo(f"  {name}: pid {pid}")
    layout = dev_stack.Layout(Path(manifest.root))
    click.echo(f"\nPush the control repo to {layout.control_remote} (its origin), and use:\n")
    click.echo("site:")
    click.echo(dev_stack.catalog_puppet_block(manifest, environment), nl=False)
    click.echo(f"\nStop it with: jailgen stack down --dir {manifest.root}")


@stack.command("down")
@click.option(
    "--dir",
    "root",
    default=DEFAULT_STACK_DIR,
    show_default=True,
    type=click.Path(path_type=Path),
    help="State directory of the stack.",
)
@user_errors
def stack_down(root: Path) -> None:
    """Stop every server of the stack, by the pids `stack up` recorded."""
    from generator import stack as dev_stack

    stopped = dev_stack.down(root, click.echo)
    click.echo("nothing was running" if not stopped else "stack stopped")
