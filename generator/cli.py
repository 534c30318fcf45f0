"""The command line: parse, call one core function, print. User errors become a
message on stderr and exit status 2 here, in one place."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from generator import __version__
from generator import repo as control
from generator.catalog import load_catalog
from generator.commands import render as render_cmd
from generator.errors import CatalogError, JailgenError

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
            "commit": outcome.commit,
            "pushed": outcome.pushed,
            "check": check,
        }
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        verb = "would " if check else ""
        for change in outcome.changes:
            click.echo(f"{verb}{change.action} {change.path}")
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
