"""Everything the command line prints: outcomes, status tables, render
results, as text or as JSON. The commands return data; this is the one place
that turns it into lines."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

from generator.commands.render import RenderOutcome
from generator.commands.status import AppHostStatus
from generator.outcome import Outcome


def as_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def finish(result: Outcome, json_output: bool) -> None:
    """A deploy command's outcome; exits with its status when it failed."""
    if json_output:
        as_json(result.to_json())
    else:
        outcome_text(result)
    if not result.ok:
        sys.exit(result.exit_code)


def outcome_text(outcome: Outcome) -> None:
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


def status_tables(rows: list[AppHostStatus]) -> None:
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


def render_result(result: RenderOutcome, check: bool, remote: str, json_output: bool) -> None:
    """What `jailgen render` wrote (or, with --check, would write)."""
    if json_output:
        as_json(
            {
                "changes": [{"path": c.path, "action": c.action} for c in result.changes],
                "replaced": [r.to_json() for r in result.replaced],
                "commit": result.commit,
                "pushed": result.pushed,
                "check": check,
            }
        )
        return
    verb = "would " if check else ""
    for change in result.changes:
        click.echo(f"{verb}{change.action} {change.path}")
    for replaced in result.replaced:
        click.echo(f"{verb}replace {replaced.describe()}")
    if not result.changes:
        click.echo("nothing to change")
    if result.commit:
        click.echo(f"committed {result.commit}")
    if result.pushed:
        click.echo(f"pushed to {remote}")
