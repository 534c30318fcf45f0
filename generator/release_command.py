"""The release phase of a promotion, and the hooks after it.

`release_command` (migrations, for example) runs once per promotion, in the jail
under test on the canary host (the app's first host), after its health check and
before live is switched, while the app's lock is held. It runs as the app runs:
in the release's checkout, as www, with the `run` environment. When it fails,
the promotion stops before anything is committed, and its output is shown.

A rollback does not run it: a rollback must be instant and must not depend on
the older release being able to undo a newer schema, so each release's
migrations have to be backward compatible with the release before it (expand
first, contract in a later release), as with Heroku's release phase.

`after_promote` hooks run on the jailgen machine once a promotion is verified,
with JAILGEN_APP, JAILGEN_RELEASE (the full commit id) and JAILGEN_HOSTS (the
app's hosts, space-separated) in their environment, for notifications; a
failing hook is reported and changes nothing.

Command builders are pure; `run` and `run_hooks` are the only effects.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from generator.catalog import App, Catalog
from generator.puppet.agent import ssh_argv
from generator.state import Jail

FREEBSD_PATH = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"
LINUX_PATH = "/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin"
# The app's user in every jail (a FreeBSD base user; the Linux template's passwd).
USER, UID, GID = "www", 80, 80
# Catalog values are the script's arguments, never part of it.
IN_DIRECTORY = 'cd "$1" || exit 1; shift; exec "$@"'
OUTPUT_LINES = 40
TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class CommandResult:
    where: str  # host, or "this machine" for hooks
    argv: tuple[str, ...]
    exit_code: int | None  # None: it did not finish in time, or could not start
    output: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def tail(self) -> str:
        lines = self.output.rstrip("\n").splitlines()[-OUTPUT_LINES:]
        return "\n".join(lines) if lines else "(no output)"

    def describe(self) -> str:
        status = (
            "succeeded"
            if self.ok
            else ("did not finish" if self.exit_code is None else f"exited {self.exit_code}")
        )
        return f"{self.where}: {list(self.argv)} {status}"

    def to_json(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "argv": list(self.argv),
            "exit_code": self.exit_code,
            "output": self.output,
            "seconds": round(self.seconds, 3),
        }


def checkout(app: App) -> str:
    return f"/usr/local/{app.name}"


def environment(app: App, jail: Jail) -> dict[str, str]:
    """The environment of `run`, as the release sets it for the service."""
    return {
        **dict(app.environment),
        "ADDRESS": jail.address,
        "HOST": jail.address,
        "PORT": str(app.port),
        "JAILGEN_APP": app.name,
        "JAILGEN_JAIL": jail.name,
        "JAILGEN_REVISION": jail.revision,
        "HOME": checkout(app),
    }


def in_jail_argv(catalog: Catalog, host: str, app: App, jail: Jail) -> list[str]:
    """The argv, run on `host`, that runs the release command in `jail`."""
    variables = environment(app, jail)
    if catalog.hosts[host].os == "freebsd":
        assignments = [f"{k}={v}" for k, v in sorted({**variables, "PATH": FREEBSD_PATH}.items())]
        return [
            "/usr/bin/env",
            "-i",
            *assignments,
            "/usr/sbin/jexec",
            "-u",
            USER,
            jail.name,
            "/bin/sh",
            "-c",
            IN_DIRECTORY,
            "jailgen-release",
            checkout(app),
            *app.release_command,
        ]
    path = f"{catalog.hosts[host].jails_dir}/containers/{jail.name}"
    settings = sorted({**variables, "PATH": LINUX_PATH}.items())
    return [
        "/usr/bin/bwrap",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--hostname",
        jail.name,
        "--bind",
        path,
        "/",
        "--ro-bind",
        "/usr",
        "/usr",
        "--bind",
        f"{path}/usr/local",
        "/usr/local",
        "--ro-bind",
        "/etc/alternatives",
        "/etc/alternatives",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--die-with-parent",
        "--clearenv",
        *[arg for key, value in settings for arg in ("--setenv", key, value)],
        "--chdir",
        checkout(app),
        "--",
        "/usr/bin/setpriv",
        f"--reuid={UID}",
        f"--regid={GID}",
        "--clear-groups",
        "--",
        *app.release_command,
    ]


def host_argv(catalog: Catalog, host: str, argv: list[str]) -> list[str]:
    """`argv` on `host`: here in local mode and for agents on this machine,
    else over SSH as the agents are reached."""
    agents = catalog.site.puppet_agents
    if catalog.site.puppet_mode != "agent" or agents is None or agents.transport == "local":
        return argv
    return ssh_argv(host, argv, agents.ssh_config, agents.ssh_user)


def _run(where: str, argv: list[str], env: dict[str, str] | None = None) -> CommandResult:
    started = time.monotonic()
    try:
        result = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout if isinstance(exc.stdout, str) else ""
        return CommandResult(where, tuple(argv), None, output, time.monotonic() - started)
    except OSError as exc:
        return CommandResult(where, tuple(argv), None, str(exc), time.monotonic() - started)
    return CommandResult(
        where, tuple(argv), result.returncode, result.stdout, time.monotonic() - started
    )


def run(catalog: Catalog, host: str, app: App, jail: Jail) -> CommandResult:
    """The release command of `app` in `jail` on `host`."""
    result = _run(host, host_argv(catalog, host, in_jail_argv(catalog, host, app, jail)))
    return CommandResult(host, app.release_command, result.exit_code, result.output, result.seconds)


def hook_environment(app: App, revision: str) -> dict[str, str]:
    return {
        **os.environ,
        "JAILGEN_APP": app.name,
        "JAILGEN_RELEASE": revision,
        "JAILGEN_HOSTS": " ".join(app.hosts),
    }


def run_hooks(app: App, revision: str) -> list[CommandResult]:
    """Each `after_promote` hook, in order, on this machine."""
    env = hook_environment(app, revision)
    return [_run("this machine", list(argv), env) for argv in app.after_promote]
