"""The command line: parse, call the command's one core function
(generator.commands), print (generator.output). User errors become a message on
stderr and exit status 2 here, in one place."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from generator import __version__, output
from generator.commands import demo as demo_flow
from generator.commands.converge import converge as converge_apps
from generator.commands.history import as_json as history_json
from generator.commands.history import history as read_history
from generator.commands.history import lines as history_lines
from generator.commands.init import init_control_repo
from generator.commands.lock import lock_status as held_locks
from generator.commands.lock import unlock as break_lock
from generator.commands.maintenance import maintenance as set_maintenance
from generator.commands.promote import promote as promote_app
from generator.commands.render import render as render_catalog
from generator.commands.rollback import rollback as rollback_app
from generator.commands.schema import schema as catalog_schema
from generator.commands.stack import DEFAULT_DIR, usage
from generator.commands.stack import stack_down as stop_stack
from generator.commands.stack import stack_up as start_stack
from generator.commands.status import status as site_status
from generator.commands.test import put_under_test
from generator.commands.validate import validate as validate_catalog
from generator.errors import CatalogError, JailgenError
from generator.runners import deploying, report_source, runner_for

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., object])


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
    parsed = validate_catalog(catalog)
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
    for rel in init_control_repo(directory):
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
    outcome = render_catalog(
        catalog, repo_path, check=check, commit=commit, push=push, remote=remote
    )
    output.render_result(outcome, check, remote, as_json)
    if show_diff:
        for change in outcome.changes:
            click.echo(change.diff(), nl=False)
    if check and outcome.changes:
        sys.exit(1)


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
    with deploying(catalog_path, repo, workdir, wait, live_view=not as_json) as deployer:
        outcome = put_under_test(deployer, app, ref)
    output.finish(outcome, as_json)


@main.command()
@click.argument("app")
@deploy_options
@click.option("--wait", default=0.0, help="Seconds to wait for the app's lock.")
@user_errors
def promote(
    app: str, catalog_path: Path, repo: Path, workdir: Path | None, as_json: bool, wait: float
) -> None:
    """Release manager: move live to the (healthy) jail under test."""
    with deploying(catalog_path, repo, workdir, wait, live_view=not as_json) as deployer:
        outcome = promote_app(deployer, app)
    output.finish(outcome, as_json)


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
    with deploying(catalog_path, repo, workdir, wait, live_view=not as_json) as deployer:
        outcome = rollback_app(deployer, app, to)
    output.finish(outcome, as_json)


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
    with deploying(catalog_path, repo, workdir, wait, live_view=not as_json) as deployer:
        outcome = set_maintenance(deployer, app, switch == "on", message)
    output.finish(outcome, as_json)


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
    with deploying(catalog_path, repo, workdir, wait, live_view=not as_json) as deployer:
        outcome = converge_apps(deployer, app)
    output.finish(outcome, as_json)


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
    catalog = validate_catalog(catalog_path)
    rows = site_status(catalog, repo, report_source(runner_for(catalog, workdir)), app)
    if as_json:
        output.as_json([r.to_json() for r in rows])
    else:
        output.status_tables(rows)
    if not all(r.ok for r in rows):
        sys.exit(1)


@main.command("history")
@click.argument("app", required=False)
@_repo_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@user_errors
def history_command(app: str | None, repo: Path, as_json: bool) -> None:
    """Every test, promotion and rollback (of APP), newest first, with its evidence."""
    entries = read_history(repo, app)
    if as_json:
        output.as_json(history_json(entries))
        return
    for line in history_lines(entries):
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
    held = held_locks(repo)
    if as_json:
        output.as_json([h.to_json() for h in held])
        return
    for lock in held:
        click.echo(f"{lock.app}: locked ({lock.where}) by {lock.holder}")
    if not held:
        click.echo("no app is locked")


@main.command()
@click.argument("app")
@_repo_option
@click.option("--force", is_flag=True, help="Really break the lock (it is recorded).")
@user_errors
def unlock(app: str, repo: Path, force: bool) -> None:
    """Break APP's lock on the control repo's origin (only with --force)."""
    record = break_lock(repo, app, force)
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
    paths = demo_flow.DemoPaths(base.resolve())
    if stop_only:
        stopped = demo_flow.stop(paths)
        for process in stopped:
            click.echo(f"stopped {process.what} (pid {process.pid})")
        click.echo("nothing was running" if not stopped else "demo stopped")
        return

    def show_history(paths: demo_flow.DemoPaths) -> None:
        click.echo(f"\n$ jailgen history {demo_flow.DEMO_APP} -r {paths.control}")
        for line in history_lines(read_history(paths.control, demo_flow.DEMO_APP)):
            click.echo(line)

    catalog, outcomes = demo_flow.run(base, click.echo, output.outcome_text, show_history)
    if not all(o.ok for o in outcomes):
        sys.exit(1)
    click.echo("\nTry it:")
    for line in demo_flow.describe_urls(catalog):
        click.echo(f"  {line}")
    click.echo("\n$ " + " ".join(demo_flow.status_argv(paths)))
    # the demo runs Puppet only for this machine's hosts; the catalog's others never run
    rows = demo_flow.status_rows(catalog, paths)
    output.status_tables([r for r in rows if r.last_run is not None])
    click.echo("Left running (stop them with `make demo-stop` or `jailgen demo --stop`):")
    for process in demo_flow.left_running(paths):
        click.echo(f"  pid {process.pid}: {process.what}")


@main.group()
def stack() -> None:
    """A development Puppet stack here: PostgreSQL, PuppetDB, Puppet Server, r10k, agents."""


def _stack_dir_option(text: str) -> Callable[[F], F]:
    return click.option(
        "--dir",
        "root",
        default=DEFAULT_DIR,
        show_default=True,
        type=click.Path(path_type=Path),
        help=text,
    )


@stack.command("up")
@_stack_dir_option("State directory (configuration, data, certificates, logs).")
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
    manifest = start_stack(
        root, certnames, count, environment, (lambda _: None) if as_json else click.echo
    )
    if as_json:
        output.as_json(manifest.to_json())
        return
    for name, pid in sorted(manifest.pids.items()):
        click.echo(f"  {name}: pid {pid}")
    for line in usage(manifest, environment):
        click.echo(line)


@stack.command("down")
@_stack_dir_option("State directory of the stack.")
@user_errors
def stack_down(root: Path) -> None:
    """Stop every server of the stack, by the pids `stack up` recorded."""
    stopped = stop_stack(root, click.echo)
    click.echo("nothing was running" if not stopped else "stack stopped")
