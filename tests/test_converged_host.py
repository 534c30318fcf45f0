"""Acceptance checks of a converged Linux host, in the manner of serverspec: a
real `puppet apply` of the generated module (tests/localsite.py) puts one
release of hello live and another under test, then the host itself is
inspected: the jail processes (their namespaces, user and environment), the
private NGINX instance, every file the module manages (type, mode, owner,
content) and the kernel NAT table. A second run must change nothing."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import http
from generator.commands.promote import promote
from generator.commands.test import put_under_test
from generator.puppet.report import _ReportLoader
from tests.conftest import ROOT
from tests.localsite import HOST, NETWORK, LocalSite

NAMESPACES = ("pid", "mnt", "uts", "ipc", "net")
LINUX_RC = ROOT / "generator" / "templates" / "module" / "files" / "linux-rc"


@dataclass(frozen=True)
class Converged:
    site: LocalSite
    live: str  # jail names
    test: str
    data: dict[str, Any]  # the host's Hiera data (its node file)

    def jail(self, name: str) -> dict[str, Any]:
        jail: dict[str, Any] = self.data["jails::jails"][name]
        return jail

    def path(self, name: str) -> Path:
        return self.site.jails_dir / "containers" / name


@pytest.fixture
def converged(tmp_path: Path) -> Iterator[Converged]:
    site = LocalSite(tmp_path / "site").create()
    try:
        deployer = site.deployer()
        first, second = site.shas[0], site.shas[1]
        # first live, second under test: two jails, both slots routed
        outcome = put_under_test(deployer, "hello", first)
        assert outcome.ok, outcome.message
        outcome = promote(deployer, "hello")
        assert outcome.ok, outcome.message
        outcome = put_under_test(deployer, "hello", second)
        assert outcome.ok, outcome.message
        node = site.control / "data" / "nodes" / f"{HOST}.yaml"
        yield Converged(
            site, f"hello_{first[:12]}", f"hello_{second[:12]}", yaml.safe_load(node.read_text())
        )
    finally:
        site.stop()
        assert site.processes() == []


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().rstrip("\0").split("\0")


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _namespaces(pid: int | str) -> dict[str, str]:
    return {ns: os.readlink(f"/proc/{pid}/ns/{ns}") for ns in NAMESPACES}


def _group(pgid: int) -> dict[int, list[str]]:
    """Every process of a process group, by pid, with its command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    found[int(entry.name)] = _cmdline(int(entry.name))
            except (ProcessLookupError, FileNotFoundError):
                continue
    return found


def _uids(pid: int) -> list[str]:
    return _status(pid)["Uid"].split()


def test_jails_run_in_their_own_namespaces(converged: Converged) -> None:
    site, host_ns = converged.site, _namespaces("self")
    assert sorted(converged.data["jails::jails"]) == sorted([converged.live, converged.test])
    for name, revision in (
        (converged.live, site.shas[0]),
        (converged.test, site.shas[1]),
    ):
        jail = converged.jail(name)
        assert jail["ensure"] == "running"
        assert jail["revision"] == revision
        runtime = yaml.safe_load((site.jails_dir / "run" / f"{name}.json").read_text())
        sandbox = runtime["pid"]
        # the sandbox leads its own process group, so it outlives the Puppet run
        assert os.getpgid(sandbox) == sandbox
        argv = _cmdline(sandbox)
        assert argv[:6] == [
            "/usr/bin/bwrap",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--hostname",
            name,
        ]
        assert argv[6:9] == ["--bind", str(converged.path(name)), "/"]
        assert argv[-3:] == ["--", "/bin/sh", "/etc/rc"]
        group = _group(sandbox)
        rc = [pid for pid, argv in group.items() if argv == ["/bin/sh", "/etc/rc"]]
        app = [pid for pid, argv in group.items() if argv == ["python3", "app.py"]]
        assert len(rc) == 1 and len(app) == 1, group
        for pid in (rc[0], app[0]):
            ns = _namespaces(pid)
            for kind in ("pid", "mnt", "uts", "ipc"):
                assert ns[kind] != host_ns[kind], f"{name}: pid {pid} shares the {kind} namespace"
            # the jail's address is a loopback address of the host's own network stack
            assert ns["net"] == host_ns["net"]
            assert ns["pid"] == runtime["pid_namespace"]
            # /etc/rc as root, as the sandbox was started; the app as www (uid 80),
            # the user daemon(8) -u runs it as on FreeBSD
            uid = "80" if pid == app[0] else "0"
            assert _uids(pid) == [uid] * 4
            # a pid of the host and one of the jail's own pid namespace
            assert len(_status(pid)["NSpid"].split()) == 2
        hostname = subprocess.run(
            ["nsenter", "-t", str(app[0]), "-u", "hostname"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert hostname == f"{name}\n"
        environ = Path(f"/proc/{app[0]}/environ").read_bytes().decode().split("\0")
        for variable in (f"JAILGEN_JAIL={name}", f"JAILGEN_REVISION={revision}", "PORT=8000"):
            assert variable in environ
        assert f"ADDRESS={jail['address']}" in environ
        assert os.readlink(f"/proc/{app[0]}/cwd") == "/usr/local/hello"
        # the app answers on the jail's own address with its release
        answer = http.probe_jail(jail["address"], 8000, "/")
        assert answer.status == 200 and revision in answer.body, answer.describe()


def test_nginx_instance_serves_the_slots(converged: Converged) -> None:
    site = converged.site
    prefix = site.nginx_prefix
    master = int((prefix / "nginx.pid").read_text())
    assert _cmdline(master) == [
        f"nginx: master process /usr/sbin/nginx -p {prefix} -c {prefix}/nginx.conf"
    ]
    assert _uids(master)[0] == "0"
    workers = [pid for pid, argv in _group(os.getpgid(master)).items() if pid != master]
    assert workers, "no NGINX workers"
    for pid in workers:
        assert _cmdline(pid) == ["nginx: worker process"]
        assert _uids(pid) == ["65534"] * 4  # nobody
    for domain, release in (
        ("hello.example.com", site.shas[0]),
        ("www.hello.example.com", site.shas[0]),
        ("hello.test.example.com", site.shas[1]),
    ):
        answer = http.get("127.0.0.1", site.port, "/", host=domain)
        assert answer.status == 200 and release in answer.body, f"{domain}: {answer.describe()}"
    assert http.get("127.0.0.1", site.port, "/", host="unknown.example.com").status == 404


def _managed_files(site: LocalSite) -> set[str]:
    """The paths of the File resources of the host's last run."""
    report = yaml.load(site.puppet.report_path(HOST).read_text(), Loader=_ReportLoader)
    names = report["resource_statuses"]
    return {name[len("File[") : -1] for name in names if name.startswith("File[")}


def _expect(path: Path, kind: str, mode: int | None = None, content: bytes | None = None) -> None:
    info = path.lstat()
    kinds = {"directory": stat.S_ISDIR, "file": stat.S_ISREG, "link": stat.S_ISLNK}
    assert kinds[kind](info.st_mode), f"{path}: not a {kind}"
    assert info.st_uid == 0, f"{path}: owned by uid {info.st_uid}, not root"
    if mode is not None:
        assert stat.S_IMODE(info.st_mode) == mode, f"{path}: mode {stat.S_IMODE(info.st_mode):o}"
    if content is not None:
        assert path.read_bytes() == content, f"{path}: unexpected content"


def test_every_managed_file(converged: Converged) -> None:
    site = converged.site
    jails, prefix = site.jails_dir, site.nginx_prefix
    base = jails / "templates" / "base"
    directories = [jails, jails / "templates", jails / "containers", jails / "run"]
    directories += [base, *(base / d for d in ("etc", "etc/jailgen", "var", "var/log"))]
    directories += [base / d for d in ("var/run", "usr", "usr/local", "root")]
    directories += [prefix, prefix / "logs", prefix / "tmp"]
    links = {base / name: f"usr/{name}" for name in ("bin", "sbin", "lib", "lib64")}
    releases = [
        converged.path(name) / "etc" / "jailgen" for name in (converged.live, converged.test)
    ]
    files = [
        base / "tmp",
        base / "etc" / "resolv.conf",
        base / "etc" / "localtime",
        base / "etc" / "rc",
        base / "etc" / "passwd",
        base / "etc" / "group",
        prefix / "nginx.conf",
        prefix / "nat.nft",
        *releases,
        *(release / "hello.sh" for release in releases),
    ]
    # the test knows every file the module manages on this host
    expected = {str(p) for p in [*directories, *links, *files]}
    assert _managed_files(site) == expected

    for directory in directories:
        _expect(directory, "directory", 0o755)
    for link, target in links.items():
        _expect(link, "link")
        assert os.readlink(link) == target
    _expect(base / "tmp", "directory", 0o1777)
    _expect(base / "etc" / "resolv.conf", "file", content=Path("/etc/resolv.conf").read_bytes())
    # a copy of the zone file, not the host's link to it
    _expect(base / "etc" / "localtime", "file", content=Path("/etc/localtime").read_bytes())
    _expect(base / "etc" / "rc", "file", 0o755, LINUX_RC.read_bytes())
    # the jail's users, as on a FreeBSD base: builds run as www (uid 80)
    _expect(
        base / "etc" / "passwd",
        "file",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\n"
        b"www:x:80:80:World Wide Web Owner:/nonexistent:/usr/sbin/nologin\n",
    )
    _expect(base / "etc" / "group", "file", 0o644, b"root:x:0:\nwww:x:80:\n")

    services = converged.data["jails::services"]["hello"]
    # the service addresses are the top of the pool, never a jail's
    top = NETWORK.broadcast_address
    assert services == {"live": str(top - 1), "test": str(top - 2)}
    live, test = converged.jail(converged.live), converged.jail(converged.test)
    for name, jail, sha in (
        (converged.live, live, site.shas[0]),
        (converged.test, test, site.shas[1]),
    ):
        release = converged.path(name)
        _expect(release / "etc" / "jailgen", "directory")
        script = (release / "etc" / "jailgen" / "hello.sh").read_text()
        _expect(release / "etc" / "jailgen" / "hello.sh", "file", 0o755)
        assert script.startswith("#!/bin/sh\n")
        assert "\ncd /usr/local/hello || exit 1\n" in script
        assert script.endswith(
            "\nexec /usr/bin/setpriv --reuid=www --regid=www --clear-groups -- \\\n"
            f"\t/usr/bin/env ADDRESS={jail['address']} HOST={jail['address']} "
            f"JAILGEN_APP=hello JAILGEN_JAIL={name} JAILGEN_REVISION={sha} PORT=8000 "
            "python3 app.py\n"
        )
        checkout = release / "usr" / "local" / "hello"
        head = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert head == f"{sha}\n"

    _expect(prefix / "nginx.conf", "file", 0o644)
    nginx_conf = (prefix / "nginx.conf").read_text()
    for slot in ("live", "test"):
        assert (
            f"    upstream hello_{slot} {{\n"
            "        # never marked down: an empty slot's refusals must not outlast the switch\n"
            f"        server {services[slot]}:8000 max_fails=0;\n"
            "    }\n"
        ) in nginx_conf
    assert f"pid {prefix}/nginx.pid;\n" in nginx_conf
    assert nginx_conf.count(f"        listen 127.0.0.1:{site.port}") == 3
    assert "        server_name hello.example.com www.hello.example.com;\n" in nginx_conf
    assert "        server_name hello.test.example.com;\n" in nginx_conf

    _expect(prefix / "nat.nft", "file", 0o644)
    table = site.nat_table
    rules = (
        f"        ip daddr {services['live']} tcp dport 8000 dnat to {live['address']}:8000\n"
        f"        ip daddr {services['test']} tcp dport 8000 dnat to {test['address']}:8000\n"
    )
    assert (
        f"table ip {table}\ndelete table ip {table}\n\ntable ip {table} {{\n"
        "    chain output {\n"
        "        type nat hook output priority -100; policy accept;\n"
        f"{rules}"
        "    }\n}\n"
    ) in (prefix / "nat.nft").read_text()
    loaded = subprocess.run(
        ["nft", "list", "table", "ip", table], capture_output=True, text=True, check=True
    ).stdout
    for rule in rules.splitlines():
        assert rule.strip() in loaded


def test_a_second_run_changes_nothing(converged: Converged) -> None:
    site = converged.site
    before = {p.pid for p in site.processes()}
    argv = site.puppet.apply_argv(
        site.puppet.environment_dir(site.control, "production"), "production", HOST
    )
    assert "--detailed-exitcodes" in argv
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    # 0: the run succeeded and changed nothing (2 would mean changes)
    assert result.returncode == 0, result.stdout + result.stderr
    report = yaml.load(site.puppet.report_path(HOST).read_text(), Loader=_ReportLoader)
    assert report["status"] == "unchanged"
    changed = [n for n, s in report["resource_statuses"].items() if s.get("changed")]
    assert changed == []
    assert {p.pid for p in site.processes()} == before
