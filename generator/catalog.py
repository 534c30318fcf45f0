"""The catalog: parsed once, from YAML nodes that keep their positions, into frozen
typed objects. Every problem is collected with FILE:LINE:COL and the key path, and
reported at once."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml

from generator import edge, jail_params, names
from generator.errors import CatalogError, Problem
from generator.gcpause import paused_gc

OPERATING_SYSTEMS = ("freebsd", "linux")
PUPPET_MODES = ("local", "agent")
TRANSPORTS = ("ssh", "local")
ENDPOINT = re.compile(r"^(?P<host>[a-z0-9.-]+):(?P<port>[0-9]{1,5})$")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")

T = TypeVar("T")


@dataclass(frozen=True)
class Pool:
    """The jail address pool of one operating system: a network on an interface.
    Its first address belongs to the host; the rest are for jails."""

    interface: str
    network: ipaddress.IPv4Network

    @property
    def host_address(self) -> ipaddress.IPv4Address:
        return self.network.network_address + 1

    @property
    def capacity(self) -> int:
        # network address, host address and broadcast are not for jails
        return self.network.num_addresses - 3


@dataclass(frozen=True)
class Host:
    """A host by certname; its settings override the site's (several hosts on one
    machine need their own jail directory, pool, and NGINX port and prefix)."""

    certname: str
    os: str
    jails_dir: str
    pool: Pool | None = None
    nginx_listen: str | None = None
    nginx_port: int | None = None
    nginx_prefix: str | None = None


@dataclass(frozen=True)
class App:
    name: str
    hosts: tuple[str, ...]
    domains: tuple[str, ...]
    test_domain: str
    source: str
    command: tuple[str, ...]
    port: int
    environment: tuple[tuple[str, str], ...] = ()
    health: str = "/up"
    packages: tuple[str, ...] = ()
    jail_params: tuple[tuple[str, bool | int | str], ...] = ()
    release: str | None = None
    # run once per release in its checkout, before the service starts
    build: tuple[tuple[str, ...], ...] = ()
    # run once per promotion in the jail under test, on the canary host
    release_command: tuple[str, ...] = ()
    # run on the jailgen machine after a verified promotion
    after_promote: tuple[tuple[str, ...], ...] = ()
    # the app's own, else the site's (filled in when the catalog is read)
    test_access: edge.TestAccess | None = None
    maintenance: edge.MaintenancePage = field(default_factory=edge.MaintenancePage)
    tls: edge.AppTls | None = None


@dataclass(frozen=True)
class PuppetAgents:
    """Agent mode: how jailgen deploys the environment (r10k), flushes Puppet
    Server's environment cache, reaches each host's agent, and verifies runs
    in PuppetDB (with its own certificate from the Puppet CA)."""

    r10k_config: str
    puppetdb: str  # host:port of PuppetDB's TLS query API
    ssl_ca: str
    ssl_cert: str
    ssl_key: str
    server: str | None = None  # host:port of Puppet Server, for the environment cache flush
    transport: str = "ssh"
    ssh_config: str | None = None
    ssh_user: str | None = None
    agent_dir: str | None = None  # agents sharing this machine: <dir>/<certname>/{etc,var,ssl}
    concurrency: int = 4
    max_failures: int = 0
    report_timeout: int = 120
    run_timeout: int = 1800


@dataclass(frozen=True)
class Site:
    module: str = "jails"
    freebsd_release: str = "14.1-RELEASE"
    zfs_root: str = "zroot/jails"
    zfs_mountpoint: str = "/usr/local/jails"
    linux_root: str = "/var/lib/jailgen"
    pools: dict[str, Pool] = field(default_factory=dict)
    nginx_listen: str = "127.0.0.1"
    nginx_port: int = 8080
    retention: int = 2
    puppet_mode: str = "local"
    puppet_environment: str = "production"
    puppet_agents: PuppetAgents | None = None
    test_access: edge.TestAccess | None = None
    maintenance: edge.MaintenancePage = field(default_factory=edge.MaintenancePage)
    tls: edge.SiteTls = field(default_factory=edge.SiteTls)


@dataclass(frozen=True)
class Catalog:
    path: str
    site: Site
    hosts: dict[str, Host]
    apps: dict[str, App]

    def __post_init__(self) -> None:
        by_host: dict[str, list[App]] = {name: [] for name in self.hosts}
        for name in sorted(self.apps):
            for host in self.apps[name].hosts:
                by_host.setdefault(host, []).append(self.apps[name])
        object.__setattr__(self, "_by_host", by_host)

    def apps_on(self, certname: str) -> list[App]:
        """The apps of a host, sorted by name."""
        return list(self._by_host.get(certname, ()))  # type: ignore[attr-defined]

    def pool_for(self, certname: str) -> Pool:
        host = self.hosts[certname]
        return host.pool or self.site.pools[host.os]

    def nginx_for(self, certname: str) -> tuple[str, int]:
        """Where a host's NGINX listens."""
        host = self.hosts[certname]
        return (
            host.nginx_listen or self.site.nginx_listen,
            host.nginx_port or self.site.nginx_port,
        )


DEFAULT_POOLS = {
    "freebsd": Pool("lo1", ipaddress.IPv4Network("172.16.0.0/12")),
    "linux": Pool("lo", ipaddress.IPv4Network("127.16.0.0/16")),
}


class _Reader:
    """Walks composed YAML nodes, converting values and collecting problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def error(self, node: yaml.Node, path: str, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.file, mark.line + 1, mark.column + 1, path, message))

    def mapping(
        self, node: yaml.Node, path: str, what: str = "key"
    ) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"is {_kind(node)} (expected a mapping)")
            return None
        result: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                self.error(key_node, path, f"key {_kind(key_node)} (expected a string key)")
                continue
            key = key_node.value
            if key in result:
                first = result[key][0].start_mark
                self.error(
                    key_node,
                    _join(path, key),
                    f"duplicate {what} {key!r} (first defined at line {first.line + 1}, "
                    f"column {first.column + 1})",
                )
                continue
            result[key] = (key_node, value_node)
        return result

    def keys(
        self,
        node: yaml.Node,
        entries: dict[str, tuple[yaml.Node, yaml.Node]],
        path: str,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
    ) -> None:
        allowed = set(required) | set(optional)
        for key, (key_node, _) in entries.items():
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.error(key_node, _join(path, key), f"unknown key (expected one of: {expected})")
        for key in required:
            if key not in entries:
                self.error(node, path, f"missing required key '{key}'")

    def scalar(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def string(
        self,
        node: yaml.Node,
        path: str,
        check: Callable[[str], str | None] | None = None,
        numbers_as_text: bool = False,
    ) -> str | None:
        # a commit id of digits only (or like 1e5...) resolves to a number in YAML
        as_text = numbers_as_text and node.tag.endswith(("int", "float"))
        if not isinstance(node, yaml.ScalarNode) or (
            node.tag != "tag:yaml.org,2002:str" and not as_text
        ):
            self.error(node, path, f"is {_kind(node)} (expected a string)")
            return None
        value: str = node.value
        if check is not None:
            expected = check(value)
            if expected is not None:
                self.error(node, path, f"invalid value {value!r} (expected {expected})")
                return None
        return value

    def integer(self, node: yaml.Node, path: str, low: int, high: int) -> int | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:int":
            self.error(node, path, f"is {_kind(node)} (expected an integer)")
            return None
        value = self.scalar(node)
        if not low <= value <= high:
            self.error(node, path, f"{value} is out of range (expected {low} to {high})")
            return None
        assert isinstance(value, int)
        return value

    def sequence(
        self, node: yaml.Node, path: str, item: Callable[[yaml.Node, str], T | None]
    ) -> list[T] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, f"is {_kind(node)} (expected a list)")
            return None
        values = [item(child, f"{path}[{i}]") for i, child in enumerate(node.value)]
        if any(v is None for v in values):
            return None
        return [v for v in values if v is not None]


def pattern(regex: Any, expected: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if regex.match(value) else expected

    return check


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = node.tag.rsplit(":", 1)[-1]
    return {
        "str": "a string",
        "int": "an integer",
        "float": "a number",
        "bool": "a boolean",
        "null": "empty",
    }.get(tag, f"a {tag}")


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog file; raise CatalogError listing every problem."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError([Problem(file, 1, 1, "", f"cannot read: {exc.strerror}")]) from exc
    return parse_catalog(text, file)


def parse_catalog(text: str, file: str) -> Catalog:
    with paused_gc():
        return _parse_catalog(text, file)


def _parse_catalog(text: str, file: str) -> Catalog:
    try:
        root = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        raise CatalogError(
            [Problem(file, line, column, "", f"YAML syntax error: {problem}")]
        ) from exc
    if root is None:
        raise CatalogError([Problem(file, 1, 1, "", "empty catalog (expected a mapping)")])
    reader = _Reader(file)
    catalog = _read_catalog(reader, root, file)
    if reader.problems or catalog is None:
        raise CatalogError(reader.problems)
    return catalog


def _read_catalog(r: _Reader, root: yaml.Node, file: str) -> Catalog | None:
    top = r.mapping(root, "")
    if top is None:
        return None
    r.keys(root, top, "", required=("site", "hosts", "apps"))
    site = _read_site(r, top["site"][1]) if "site" in top else None
    hosts = _read_hosts(r, top["hosts"][1], site) if "hosts" in top else None
    apps: dict[str, App] = {}
    app_nodes: dict[str, dict[str, tuple[yaml.Node, yaml.Node]]] = {}
    if "apps" in top:
        apps_node = top["apps"][1]
        entries = r.mapping(apps_node, "apps", what="app")
        for name, (key_node, value_node) in (entries or {}).items():
            path = f"apps.{name}"
            if not names.APP_NAME.match(name):
                r.error(
                    key_node,
                    path,
                    "invalid app name (expected a-z then up to 29 of a-z, 0-9: it becomes "
                    "part of jail, ZFS, host and service names)",
                )
            fields = r.mapping(value_node, path)
            if fields is None:
                continue
            app_nodes[name] = fields
            app = _read_app(r, name, value_node, fields, path)
            if app is not None:
                apps[name] = app
    if site is None or hosts is None:
        return None
    for name, app in apps.items():
        own = app_nodes[name]
        apps[name] = replace(
            app,
            test_access=app.test_access if "test_access" in own else site.test_access,
            maintenance=app.maintenance if "maintenance" in own else site.maintenance,
        )
        edge.check_acme_configured(r, site.tls, name, own)
    _cross_check(r, site, hosts, apps, app_nodes, top)
    return Catalog(path=file, site=site, hosts=hosts, apps=apps)


def _read_site(r: _Reader, node: yaml.Node) -> Site | None:
    entries = r.mapping(node, "site")
    if entries is None:
        return None
    r.keys(
        node,
        entries,
        "site",
        required=(),
        optional=(
            "module",
            "freebsd_release",
            "zfs",
            "linux",
            "pools",
            "nginx",
            "retention",
            "puppet",
            "test_access",
            "maintenance",
            "tls",
        ),
    )
    values: dict[str, Any] = {}
    ok = True

    def take(key: str, value: Any) -> None:
        nonlocal ok
        if value is None:
            ok = False
        else:
            values[key] = value

    if "module" in entries:
        take(
            "module",
            r.string(
                entries["module"][1],
                "site.module",
                pattern(names.MODULE_NAME, "a Puppet module name: a-z, then a-z, 0-9, _"),
            ),
        )
    if "freebsd_release" in entries:
        take(
            "freebsd_release",
            r.string(
                entries["freebsd_release"][1],
                "site.freebsd_release",
                _check_freebsd_release,
            ),
        )
    if "retention" in entries:
        take("retention", r.integer(entries["retention"][1], "site.retention", 0, 100))
    for section, keys in (
        ("zfs", {"root": "zfs_root", "mountpoint": "zfs_mountpoint"}),
        ("linux", {"root": "linux_root"}),
        ("nginx", {"listen": "nginx_listen", "port": "nginx_port"}),
    ):
        if section not in entries:
            continue
        section_node = entries[section][1]
        sub = r.mapping(section_node, f"site.{section}")
        if sub is None:
            ok = False
            continue
        r.keys(section_node, sub, f"site.{section}", required=(), optional=tuple(keys))
        for key, attr in keys.items():
            if key in sub:
                take(attr, _read_site_value(r, attr, sub[key][1], f"site.{section}.{key}"))
    if "test_access" in entries:
        take("test_access", edge.read_test_access(r, entries["test_access"][1], "site.test_access"))
    if "maintenance" in entries:
        take("maintenance", edge.read_maintenance(r, entries["maintenance"][1], "site.maintenance"))
    if "tls" in entries:
        take("tls", edge.read_site_tls(r, entries["tls"][1], "site.tls"))
    if "pools" in entries:
        pools = _read_pools(r, entries["pools"][1])
        take("pools", pools)
    if "puppet" in entries:
        puppet = _read_puppet(r, entries["puppet"][1])
        if puppet is None:
            ok = False
        else:
            values.update(puppet)
    if not ok:
        return None
    values.setdefault("pools", dict(DEFAULT_POOLS))
    return Site(**values)


def _read_site_value(r: _Reader, attr: str, node: yaml.Node, path: str) -> Any:
    if attr == "zfs_root":
        return r.string(node, path, pattern(names.ZFS_DATASET, "a ZFS dataset like zroot/jails"))
    if attr in ("zfs_mountpoint", "linux_root"):
        return r.string(node, path, pattern(names.ABS_PATH, "an absolute path"))
    if attr == "nginx_listen":
        return r.string(node, path, names.check_ipv4)
    if attr == "nginx_port":
        return r.integer(node, path, 1, 65535)
    if attr == "puppet_mode":
        return r.string(node, path, _one_of(PUPPET_MODES))
    if attr == "puppet_environment":
        return r.string(
            node, path, pattern(names.MODULE_NAME, "a Puppet environment name: a-z, 0-9, _")
        )
    raise AssertionError(attr)


PUPPET_AGENT_PATHS = {
    "r10k": "r10k_config",
    "ssh_config": "ssh_config",
    "agent_dir": "agent_dir",
}
PUPPET_AGENT_NUMBERS = {
    "concurrency": (1, 256),
    "max_failures": (0, 100000),
    "report_timeout": (1, 3600),
    "run_timeout": (1, 86400),
}
PUPPET_AGENT_REQUIRED = ("r10k", "puppetdb", "ssl")


def _read_puppet(r: _Reader, node: yaml.Node) -> dict[str, Any] | None:
    """site.puppet: the mode and environment, and for agent mode how to reach
    r10k, Puppet Server, PuppetDB and the agents."""
    path = "site.puppet"
    sub = r.mapping(node, path)
    if sub is None:
        return None
    optional = (
        "mode",
        "environment",
        "server",
        "puppetdb",
        "ssl",
        "transport",
        "ssh_user",
        *PUPPET_AGENT_PATHS,
        *PUPPET_AGENT_NUMBERS,
    )
    r.keys(node, sub, path, required=(), optional=optional)
    before = len(r.problems)
    values: dict[str, Any] = {}
    for key, attr in (("mode", "puppet_mode"), ("environment", "puppet_environment")):
        if key in sub:
            values[attr] = _read_site_value(r, attr, sub[key][1], f"{path}.{key}")
    agents: dict[str, Any] = {}
    for key, attr in PUPPET_AGENT_PATHS.items():
        if key in sub:
            agents[attr] = r.string(
                sub[key][1], f"{path}.{key}", pattern(names.ABS_PATH, "an absolute path")
            )
    for key in ("server", "puppetdb"):
        if key in sub:
            agents[key] = r.string(sub[key][1], f"{path}.{key}", _check_endpoint)
    if "transport" in sub:
        agents["transport"] = r.string(
            sub["transport"][1], f"{path}.transport", _one_of(TRANSPORTS)
        )
    if "ssh_user" in sub:
        agents["ssh_user"] = r.string(
            sub["ssh_user"][1], f"{path}.ssh_user", pattern(USER_NAME, "a user name")
        )
    for key, (low, high) in PUPPET_AGENT_NUMBERS.items():
        if key in sub:
            agents[key] = r.integer(sub[key][1], f"{path}.{key}", low, high)
    if "ssl" in sub:
        ssl_node = sub["ssl"][1]
        ssl = r.mapping(ssl_node, f"{path}.ssl")
        if ssl is not None:
            r.keys(ssl_node, ssl, f"{path}.ssl", required=("ca", "cert", "key"))
            for key in ("ca", "cert", "key"):
                if key in ssl:
                    agents[f"ssl_{key}"] = r.string(
                        ssl[key][1],
                        f"{path}.ssl.{key}",
                        pattern(names.ABS_PATH, "an absolute path"),
                    )
    if values.get("puppet_mode") == "agent":
        for key in PUPPET_AGENT_REQUIRED:
            if key not in sub:
                r.error(node, path, f"missing required key '{key}' (site.puppet.mode is agent)")
    if len(r.problems) > before:
        return None
    if values.get("puppet_mode") == "agent":
        values["puppet_agents"] = PuppetAgents(**agents)
    return values


def _check_freebsd_release(value: str) -> str | None:
    # The jails' /etc/jail.conf uses `.include` (FreeBSD 14.0 and later; older
    # jail(8) reads it as a parameter and starts no jail), and jail parameters
    # are checked against FreeBSD 14's jail(8).
    if not names.FREEBSD_RELEASE.match(value):
        return "a FreeBSD release like 14.1-RELEASE"
    if int(value.split(".", 1)[0]) < 14:
        return "FreeBSD 14.0 or newer, like 14.1-RELEASE"
    return None


def _check_endpoint(value: str) -> str | None:
    expected = "host:port, like puppetdb.example.net:8081"
    match = ENDPOINT.match(value)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        return expected
    host = match["host"]
    if names.check_hostname(host) and names.check_ipv4(host):
        return expected
    return None


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str | None]:
    return lambda value: None if value in choices else "one of: " + ", ".join(choices)


def _read_pools(r: _Reader, node: yaml.Node) -> dict[str, Pool] | None:
    entries = r.mapping(node, "site.pools")
    if entries is None:
        return None
    r.keys(node, entries, "site.pools", required=(), optional=OPERATING_SYSTEMS)
    pools = dict(DEFAULT_POOLS)
    ok = True
    for os_name, (_, pool_node) in entries.items():
        if os_name not in OPERATING_SYSTEMS:
            continue
        pool = _read_pool(r, pool_node, f"site.pools.{os_name}")
        if pool is None:
            ok = False
        else:
            pools[os_name] = pool
    return pools if ok else None


def _read_pool(r: _Reader, node: yaml.Node, path: str) -> Pool | None:
    sub = r.mapping(node, path)
    if sub is None:
        return None
    r.keys(node, sub, path, required=("interface", "network"))
    interface = (
        r.string(
            sub["interface"][1],
            f"{path}.interface",
            pattern(names.INTERFACE, "an interface name like lo1"),
        )
        if "interface" in sub
        else None
    )
    network = (
        r.string(sub["network"][1], f"{path}.network", names.check_network)
        if "network" in sub
        else None
    )
    if interface is None or network is None:
        return None
    return Pool(interface, ipaddress.IPv4Network(network))


def _read_host_nginx(
    r: _Reader, node: yaml.Node, path: str
) -> tuple[str | None, int | None, str | None] | None:
    sub = r.mapping(node, path)
    if sub is None:
        return None
    r.keys(node, sub, path, required=(), optional=("listen", "port", "prefix"))
    listen = (
        r.string(sub["listen"][1], f"{path}.listen", names.check_ipv4) if "listen" in sub else None
    )
    port = r.integer(sub["port"][1], f"{path}.port", 1, 65535) if "port" in sub else None
    prefix = (
        r.string(sub["prefix"][1], f"{path}.prefix", pattern(names.ABS_PATH, "an absolute path"))
        if "prefix" in sub
        else None
    )
    if any(
        key in sub and value is None
        for key, value in (("listen", listen), ("port", port), ("prefix", prefix))
    ):
        return None
    return listen, port, prefix


def _read_hosts(r: _Reader, node: yaml.Node, site: Site | None) -> dict[str, Host] | None:
    entries = r.mapping(node, "hosts", what="host")
    if entries is None:
        return None
    hosts: dict[str, Host] = {}
    ok = True
    for certname, (key_node, value_node) in entries.items():
        path = f"hosts.{certname}"
        problem = names.check_hostname(certname)
        if problem:
            r.error(key_node, path, f"invalid host certname (expected {problem})")
            ok = False
        sub = r.mapping(value_node, path)
        if sub is None:
            ok = False
            continue
        r.keys(value_node, sub, path, required=("os",), optional=("jails_dir", "pool", "nginx"))
        os_name = (
            r.string(sub["os"][1], f"{path}.os", _one_of(OPERATING_SYSTEMS))
            if "os" in sub
            else None
        )
        jails_dir = None
        if "jails_dir" in sub:
            jails_dir = r.string(
                sub["jails_dir"][1],
                f"{path}.jails_dir",
                pattern(names.ABS_PATH, "an absolute path"),
            )
            if jails_dir is None:
                ok = False
        if os_name is None:
            ok = False
            continue
        pool = _read_pool(r, sub["pool"][1], f"{path}.pool") if "pool" in sub else None
        nginx = _read_host_nginx(r, sub["nginx"][1], f"{path}.nginx") if "nginx" in sub else None
        if ("pool" in sub and pool is None) or ("nginx" in sub and nginx is None):
            ok = False
            continue
        if jails_dir is None and site is not None:
            jails_dir = site.zfs_mountpoint if os_name == "freebsd" else f"{site.linux_root}/jails"
        listen, port, prefix = nginx or (None, None, None)
        hosts[certname] = Host(certname, os_name, jails_dir or "", pool, listen, port, prefix)
    return hosts if ok else None


APP_REQUIRED = ("hosts", "domains", "test_domain", "source", "run")
APP_OPTIONAL = (
    "health",
    "packages",
    "jail",
    "release",
    "build",
    "release_command",
    "after_promote",
    "test_access",
    "maintenance",
    "tls",
)


def _read_app(
    r: _Reader,
    name: str,
    node: yaml.Node,
    fields: dict[str, tuple[yaml.Node, yaml.Node]],
    path: str,
) -> App | None:
    before = len(r.problems)
    r.keys(node, fields, path, required=APP_REQUIRED, optional=APP_OPTIONAL)

    def get(key: str, read: Callable[[yaml.Node, str], Any]) -> Any:
        return read(fields[key][1], f"{path}.{key}") if key in fields else None

    hosts = get("hosts", lambda n, p: r.sequence(n, p, lambda c, q: r.string(c, q)))
    domains = get("domains", lambda n, p: r.sequence(n, p, _domain_reader(r)))
    test_domain = get("test_domain", _domain_reader(r))
    source = get(
        "source",
        lambda n, p: r.string(
            n,
            p,
            pattern(
                names.GIT_SOURCE,
                "a git URL (https://, ssh://, file://, user@host:path) or an absolute path",
            ),
        ),
    )
    release = get(
        "release",
        lambda n, p: r.string(
            n, p, pattern(names.SHA, "a full 40-hex git commit id"), numbers_as_text=True
        ),
    )
    health = get(
        "health",
        lambda n, p: r.string(n, p, pattern(names.URL_PATH, "a URL path like /up")),
    )
    packages = get(
        "packages",
        lambda n, p: r.sequence(
            n, p, lambda c, q: r.string(c, q, pattern(names.PACKAGE, "a package name"))
        ),
    )
    jail_params = get("jail", lambda n, p: _read_jail_params(r, n, p))
    run = get("run", lambda n, p: _read_run(r, n, p))
    build = get("build", lambda n, p: r.sequence(n, p, lambda c, q: _read_argv(r, c, q)))
    release_command = get("release_command", lambda n, p: _read_argv(r, n, p))
    after_promote = get(
        "after_promote", lambda n, p: r.sequence(n, p, lambda c, q: _read_argv(r, c, q))
    )
    test_access = get("test_access", lambda n, p: edge.read_test_access(r, n, p))
    maintenance = get("maintenance", lambda n, p: edge.read_maintenance(r, n, p))
    tls = get("tls", lambda n, p: edge.read_app_tls(r, n, p))
    if hosts is not None:
        for i, host in enumerate(hosts):
            if host in hosts[:i]:
                r.error(
                    fields["hosts"][1].value[i], f"{path}.hosts[{i}]", f"host {host!r} listed twice"
                )
        if not hosts:
            r.error(fields["hosts"][1], f"{path}.hosts", "is empty (expected at least one host)")
    if domains is not None and not domains:
        r.error(fields["domains"][1], f"{path}.domains", "is empty (expected at least one domain)")
    if len(r.problems) > before or run is None:
        return None
    command, port, environment = run
    return App(
        name=name,
        hosts=tuple(hosts),
        domains=tuple(domains),
        test_domain=test_domain,
        source=source,
        command=command,
        port=port,
        environment=environment,
        health=health or "/up",
        packages=tuple(packages or ()),
        jail_params=jail_params or (),
        release=release,
        build=tuple(build or ()),
        release_command=tuple(release_command or ()),
        after_promote=tuple(after_promote or ()),
        test_access=test_access,
        maintenance=maintenance or edge.MaintenancePage(),
        tls=tls,
    )


def _read_argv(r: _Reader, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    """One argument vector: a non-empty list of arguments (never a shell string)."""
    arg_check = pattern(names.ARG, "a command argument of A-Z a-z 0-9 _ . / : = @ % + , -")
    argv = r.sequence(node, path, lambda c, q: r.string(c, q, arg_check))
    if argv is not None and not argv:
        r.error(node, path, "is empty (expected the program and its arguments)")
        return None
    return tuple(argv) if argv is not None else None


def _domain_reader(r: _Reader) -> Callable[[yaml.Node, str], str | None]:
    return lambda node, path: r.string(node, path, names.check_domain)


def _read_run(
    r: _Reader, node: yaml.Node, path: str
) -> tuple[tuple[str, ...], int, tuple[tuple[str, str], ...]] | None:
    fields = r.mapping(node, path)
    if fields is None:
        return None
    r.keys(node, fields, path, required=("command", "port"), optional=("environment",))
    arg_check = pattern(names.ARG, "a command argument of A-Z a-z 0-9 _ . / : = @ % + , -")
    command = (
        r.sequence(fields["command"][1], f"{path}.command", lambda c, q: r.string(c, q, arg_check))
        if "command" in fields
        else None
    )
    if command is not None and not command:
        r.error(
            fields["command"][1],
            f"{path}.command",
            "is empty (expected the program and its arguments)",
        )
        command = None
    port = r.integer(fields["port"][1], f"{path}.port", 1, 65535) if "port" in fields else None
    environment: list[tuple[str, str]] = []
    ok = True
    if "environment" in fields:
        env_node = fields["environment"][1]
        entries = r.mapping(env_node, f"{path}.environment")
        if entries is None:
            ok = False
        for key, (key_node, value_node) in sorted((entries or {}).items()):
            env_path = f"{path}.environment.{key}"
            if not names.ENV_NAME.match(key):
                r.error(key_node, env_path, "invalid variable name (expected A-Z, a-z, 0-9, _)")
                ok = False
                continue
            # the value as written: `8080` and `yes` reach the app as those strings
            value = value_node.value if isinstance(value_node, yaml.ScalarNode) else None
            if value is None or not names.ENV_VALUE.match(value):
                r.error(
                    value_node,
                    env_path,
                    "invalid value (expected a scalar of A-Z a-z 0-9 space _ . / : = @ % + , -)",
                )
                ok = False
                continue
            environment.append((key, value))
    if command is None or port is None or not ok:
        return None
    return tuple(command), port, tuple(environment)


def _read_jail_params(
    r: _Reader, node: yaml.Node, path: str
) -> tuple[tuple[str, bool | int | str], ...] | None:
    entries = r.mapping(node, path)
    if entries is None:
        return None
    params: list[tuple[str, bool | int | str]] = []
    for key, (key_node, value_node) in sorted(entries.items()):
        param_path = f"{path}.{key}"
        problem = jail_params.check_name(key)
        if problem is not None:
            r.error(key_node, param_path, problem)
            continue
        if not isinstance(value_node, yaml.ScalarNode) or value_node.tag.endswith(
            ("null", "float")
        ):
            r.error(
                value_node,
                param_path,
                f"is {_kind(value_node)} (expected a boolean, integer or string)",
            )
            continue
        value = r.scalar(value_node)
        problem = jail_params.check_value(key, value)
        if problem is not None:
            r.error(value_node, param_path, problem)
            continue
        params.append((key, value))
    return tuple(params)


def _cross_check(
    r: _Reader,
    site: Site,
    hosts: dict[str, Host],
    apps: dict[str, App],
    app_nodes: dict[str, dict[str, tuple[yaml.Node, yaml.Node]]],
    top: dict[str, tuple[yaml.Node, yaml.Node]],
) -> None:
    """Checks that span sections: hosts declared, domains unique, pools big enough."""
    seen_domains: dict[str, tuple[str, yaml.Node]] = {}
    for name in sorted(apps, key=lambda n: app_nodes[n]["hosts"][1].start_mark.index):
        app, fields = apps[name], app_nodes[name]
        for i, host in enumerate(app.hosts):
            if host not in hosts:
                r.error(
                    fields["hosts"][1].value[i],
                    f"apps.{name}.hosts[{i}]",
                    f"host {host!r} is not declared (expected one of the keys of 'hosts')",
                )
        located: list[tuple[str, str, yaml.Node]] = [
            (domain, f"apps.{name}.domains[{i}]", fields["domains"][1].value[i])
            for i, domain in enumerate(app.domains)
        ]
        located.append((app.test_domain, f"apps.{name}.test_domain", fields["test_domain"][1]))
        for domain, path, node in located:
            if domain in seen_domains:
                other, first = seen_domains[domain]
                r.error(
                    node,
                    path,
                    f"domain {domain!r} is already used by app {other!r} at line "
                    f"{first.start_mark.line + 1} (expected each domain once)",
                )
            else:
                seen_domains[domain] = (name, node)
    _check_pool_sizes(r, site, hosts, apps, top)


def _check_pool_sizes(
    r: _Reader,
    site: Site,
    hosts: dict[str, Host],
    apps: dict[str, App],
    top: dict[str, tuple[yaml.Node, yaml.Node]],
) -> None:
    per_host = 2 + site.retention  # test, live and the retained previous jails
    demand: dict[str, int] = {}
    for app in apps.values():
        for host in app.hosts:
            if host in hosts:
                demand[host] = demand.get(host, 0) + per_host
    for certname, needed in sorted(demand.items()):
        os_name = hosts[certname].os
        pool = hosts[certname].pool or site.pools[os_name]
        if needed <= pool.capacity:
            continue
        if hosts[certname].pool is not None:
            node = _node_at(top, ("hosts", certname, "pool", "network")) or top["hosts"][0]
            key_path = f"hosts.{certname}.pool.network"
        else:
            node = _node_at(top, ("site", "pools", os_name, "network")) or top["hosts"][0]
            key_path = f"site.pools.{os_name}.network"
        r.error(
            node,
            key_path,
            f"pool {pool.network} has {pool.capacity} jail addresses but host {certname!r} "
            f"needs {needed} (expected a larger network: (test + live + retention) per app)",
        )


def _node_at(
    top: dict[str, tuple[yaml.Node, yaml.Node]], keys: tuple[str, ...]
) -> yaml.Node | None:
    node: yaml.Node | None = top[keys[0]][1] if keys[0] in top else None
    for key in keys[1:]:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    return node
