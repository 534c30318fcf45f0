"""A FreeBSD host for acceptance tests: the model root of a fresh FreeBSD 14.1
host, a control repo rendered from a catalog, and real `puppet apply` runs of
that repo on the host (see sandbox.py), with FreeBSD facts.

Everything lives under one temporary directory; every run ends with its
process, and its mount namespace with it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.catalog import Catalog, load_catalog
from generator.commands.init import init_control_repo
from generator.commands.render import RenderOutcome, render_catalog
from generator.puppet.local import LocalPuppet
from generator.puppet.report import RunReport, read_report
from generator.render.control_repo import StateChange
from tests.freebsd import jailconf5, sandbox
from tests.freebsd.fbmodel import jailconf, pf
from tests.freebsd.fbmodel.host import Host, ToolError, call, read_calls, read_state
from tests.freebsd.fbmodel.init import init_host

ENVIRONMENT = "production"

# Facter facts of a FreeBSD 14.1 amd64 host. External facts (the agent's
# facts.d) take precedence over Facter's own, so the Linux machine that runs
# the tests reports these; the jail provider and the package and service
# providers are chosen from them.
FACTS = """\
kernel: FreeBSD
kernelrelease: 14.1-RELEASE-p5
kernelversion: "14.1"
kernelmajversion: "14.1"
operatingsystem: FreeBSD
osfamily: FreeBSD
operatingsystemrelease: 14.1-RELEASE-p5
operatingsystemmajrelease: "14"
hardwaremodel: amd64
architecture: amd64
os:
  name: FreeBSD
  family: FreeBSD
  hardware: amd64
  architecture: amd64
  release:
    full: 14.1-RELEASE-p5
    major: "14"
    minor: "1"
"""


# The same as environment variables: Facter reads these on every lookup, also
# after Puppet has reset it during a run (providers are chosen from them).
FACT_VARIABLES = {
    f"FACTER_{line.split(':', 1)[0]}": line.split(":", 1)[1].strip().strip('"')
    for line in FACTS.splitlines()
    if line and not line.startswith(" ") and line.split(":", 1)[1].strip()
}


# The operator's pf.conf: pf filters nothing on loopback and hooks the jails' NAT anchor.
PF_CONF = 'set skip on lo0\nrdr-anchor "{module}"\nanchor "{module}"\npass all\n'


def read_only(call: dict[str, Any]) -> bool:
    """Calls that only look at the host."""
    tool, args = call["tool"], call["args"]
    checks: dict[str, Callable[[list[str]], bool]] = {
        "zfs": lambda a: a[0] in ("list", "get"),
        "jls": lambda a: True,
        "sysrc": lambda a: "-c" in a or "-n" in a,
        "ifconfig": lambda a: a[1:] in ([], ["inet"]),
        "pkg": lambda a: bool({"query", "info", "version"} & set(a)),
        "rc.subr": lambda a: a[1] in ("onestatus", "status", "rcvar", "enabled"),
        "service": lambda a: a[1] in ("status", "onestatus"),
        "nginx": lambda a: "-t" in a or a == ["-v"],
        "pfctl": lambda a: "-n" in a or any(x.startswith("-s") for x in a),  # parse, show
        "git": lambda a: "rev-parse" in a,
    }
    return tool in checks and checks[tool](args)


def changes(run: Run) -> list[list[str]]:
    """What a run did to the host: its top-level calls that change something."""
    return [[c["tool"], *c["args"]] for c in run.calls if "parent" not in c and not read_only(c)]


@dataclass
class Run:
    """One `puppet apply`: its report, output, and the model calls it made."""

    report: RunReport
    stdout: str
    stderr: str
    calls: list[dict[str, Any]]
    seconds: float

    def commands(self, *tools: str) -> list[list[str]]:
        """The argv (tool name first) of the calls of these tools, in order."""
        return [[c["tool"], *c["args"]] for c in self.calls if not tools or c["tool"] in tools]

    def describe(self) -> str:
        return f"{self.report.summary()}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


@dataclass
class FreeBSDSite:
    base: Path
    certname: str = "jail1.example.net"
    catalog_path: Path = field(init=False)
    runs: list[Run] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.catalog_path = self.base / "catalog.yaml"

    @property
    def root(self) -> Path:
        """The model root: the FreeBSD host's file system and state."""
        return self.base / "host"

    @property
    def control(self) -> Path:
        return self.base / "control"

    @property
    def puppet(self) -> LocalPuppet:
        return LocalPuppet(self.base / "puppet")

    def create(
        self, catalog_text: str, pf_conf: str | None = None, pf_enabled: bool = True
    ) -> FreeBSDSite:
        """A new host, set up as its operator would before jailgen: pf enabled
        with a pf.conf (by default one that hooks the module's NAT anchor)."""
        init_host(self.root, self.certname)
        self.catalog_path.write_text(catalog_text)
        module = self.catalog().site.module
        self.enable_pf(PF_CONF.format(module=module) if pf_conf is None else pf_conf, pf_enabled)
        init_control_repo(self.control)
        self.render()
        return self

    def enable_pf(self, pf_conf: str, enable: bool = True) -> None:
        """`sysrc pf_enable=YES; service pf start`, as rc.d/pf does it: load
        /etc/pf.conf, then `pfctl -e` (which a host with pf not enabled lacks)."""
        self.file("/etc/pf.conf").write_text(pf_conf)
        with Host.open(self.root) as host:
            for args in (["-f", "/etc/pf.conf"], ["-e"])[: 2 if enable else 1]:
                status, _, err = call(host, "pfctl", args, lambda o, a=args: pf.pfctl(host, o, a))
                assert status == 0, err

    def catalog(self) -> Catalog:
        return load_catalog(self.catalog_path)

    def render(
        self, change: StateChange | None = None, subject: str = "Render the catalog"
    ) -> RenderOutcome:
        return render_catalog(
            self.catalog(), self.control, commit=True, change=change, subject=subject
        )

    def apply(self, *extra: str) -> Run:
        puppet = self.puppet
        envdir = puppet.environment_dir(self.control, ENVIRONMENT)
        argv = puppet.apply_argv(envdir, ENVIRONMENT, self.certname)
        # Debian's Puppet keeps these under its own /var, which here is the host's.
        private = puppet.host_dir(self.certname)
        argv[-1:-1] = [f"--ssldir={private / 'ssl'}", f"--publicdir={private / 'public'}", *extra]
        facts = puppet.host_dir(self.certname) / "var" / "facts.d"
        facts.mkdir(parents=True, exist_ok=True)
        (facts / "freebsd.yaml").write_text(FACTS)
        report_path = puppet.report_path(self.certname)
        report_path.unlink(missing_ok=True)
        tmp = self.base / "tmp"
        tmp.mkdir(exist_ok=True)
        env = {
            **os.environ,
            **FACT_VARIABLES,
            "TMPDIR": str(tmp),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        seen = len(read_calls(self.root))
        start = time.monotonic()
        result = sandbox.run(self.root, self.base, argv, env)
        seconds = time.monotonic() - start
        report = read_report(report_path, result.returncode, self.certname, result.stderr)
        run = Run(report, result.stdout, result.stderr, read_calls(self.root)[seen:], seconds)
        self.runs.append(run)
        return run

    # --- the host's state ---

    def state(self) -> dict[str, Any]:
        return read_state(self.root)

    def file(self, freebsd_path: str) -> Path:
        return self.root / freebsd_path.lstrip("/")

    def jail_confs(self) -> JailConfs:
        """Every jail.conf(5) file on the host, read by jailconf5 and by the
        model's own parser, for tests that hold the two to agree."""
        return read_jail_confs(self.root)


# {file: {jail: parameters}}, or the reader's error message
ReadConfs = dict[str, dict[str, dict[str, list[str] | bool]]] | str


@dataclass(frozen=True)
class JailConfs:
    files: list[str]  # FreeBSD paths
    independent: ReadConfs  # tests/freebsd/jailconf5.py
    model: ReadConfs  # the model's parser (fbmodel/jailconf.py)


def read_jail_confs(root: Path) -> JailConfs:
    paths = sorted(root.glob("etc/jail.conf.d/*.conf"))
    if (root / "etc" / "jail.conf").exists():
        paths.append(root / "etc" / "jail.conf")
    files = ["/" + str(p.relative_to(root)) for p in paths]

    independent: ReadConfs
    try:
        configs = {path: jailconf5.parse_root(root, path) for path in files}
        independent = {p: {n: c.resolve(n) for n in c.jails} for p, c in configs.items()}
    except jailconf5.JailConfError as error:
        independent = str(error)
    model: ReadConfs
    try:
        host = Host(root)  # only to read files: no lock, no state written back
        parsed = {path: jailconf.parse_file(host, path) for path in files}
        model = {p: {n: dict(c.parameters(n)) for n in c.order} for p, c in parsed.items()}
    except ToolError as error:
        model = str(error)
    return JailConfs(files, independent, model)
