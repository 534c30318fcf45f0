"""The catalog: pydantic models of the YAML file, frozen, with unknown keys
refused and every value typed and checked (`catalog_fields`). The checks that
span sections (hosts declared, each domain once, pools large enough) are model
validators. `load_catalog` reports every problem at once with FILE:LINE:COL and
the key path (`catalog_yaml`), and `jailgen schema` prints the JSON Schema."""

from __future__ import annotations

import ipaddress
import json
import operator
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic.functional_validators import ModelWrapValidatorHandler
from pydantic_core import core_schema

from generator import catalog_fields as f
from generator.catalog_fields import Model
from generator.catalog_yaml import Document
from generator.edge import (
    AppTls,
    MaintenancePage,
    SiteTls,
    TestAccess,
)
from generator.errors import CatalogError, Problem
from generator.gcpause import paused_gc

OPERATING_SYSTEMS = ("freebsd", "linux")
SCHEMA_FILE = "schema/catalog.schema.json"


def _via(path: str) -> Any:
    """A read-only attribute for a nested value: the flat names callers read."""
    return property(operator.attrgetter(path))


class Pool(Model):
    """The jail address pool of one operating system: a network on an interface.
    Its first address belongs to the host; the rest are for jails."""

    interface: f.Interface
    network: f.Network

    @property
    def host_address(self) -> ipaddress.IPv4Address:
        return self.network.network_address + 1

    @property
    def capacity(self) -> int:
        # network address, host address and broadcast are not for jails
        return self.network.num_addresses - 3


class Pools(Model):
    freebsd: Pool = Pool.model_validate({"interface": "lo1", "network": "172.16.0.0/12"})
    linux: Pool = Pool.model_validate({"interface": "lo", "network": "127.16.0.0/16"})


class Zfs(Model):
    root: f.ZfsDataset = "zroot/jails"
    mountpoint: f.AbsPath = "/usr/local/jails"


class Linux(Model):
    root: f.AbsPath = "/var/lib/jailgen"


class Nginx(Model):
    listen: f.Ipv4 = "127.0.0.1"
    port: f.Port = 8080


class Ssl(Model):
    ca: f.AbsPath
    cert: f.AbsPath
    key: f.AbsPath


AGENT_KEYS = ("r10k", "puppetdb", "ssl")


class Puppet(Model):
    """site.puppet: the mode and environment, and for agent mode how jailgen
    deploys the environment (r10k), flushes Puppet Server's environment cache,
    reaches each host's agent and verifies runs in PuppetDB."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"mode": {"const": "agent"}}, "required": ["mode"]},
            "then": {"required": list(AGENT_KEYS)},
        }
    )

    mode: Annotated[str, f.OneOf("local", "agent")] = "local"
    environment: f.EnvironmentName = "production"
    r10k: f.AbsPath | None = None
    server: f.Endpoint | None = None  # Puppet Server, for the environment cache flush
    puppetdb: f.Endpoint | None = None  # PuppetDB's TLS query API
    ssl: Ssl | None = None
    transport: Annotated[str, f.OneOf("ssh", "local")] = "ssh"
    ssh_config: f.AbsPath | None = None
    ssh_user: f.UserName | None = None
    agent_dir: f.AbsPath | None = None  # agents sharing this machine: <dir>/<certname>/...
    concurrency: Annotated[int, f.Between(1, 256)] = 4
    max_failures: Annotated[int, f.Between(0, 100000)] = 0
    report_timeout: Annotated[int, f.Between(1, 3600)] = 120
    run_timeout: Annotated[int, f.Between(1, 86400)] = 1800

    @model_validator(mode="wrap")
    @classmethod
    def _agent_mode_needs(cls, data: Any, handler: ModelWrapValidatorHandler[Puppet]) -> Puppet:
        agent = isinstance(data, dict) and data.get("mode") == "agent"
        missing = [k for k in AGENT_KEYS if agent and k not in data]
        return f.requiring(handler, data, missing, " (site.puppet.mode is agent)")


class PuppetAgents(BaseModel):
    """Agent mode's settings, from site.puppet (whose agent keys are then set)."""

    model_config = ConfigDict(frozen=True)

    r10k_config: str
    puppetdb: str
    ssl_ca: str
    ssl_cert: str
    ssl_key: str
    server: str | None = None
    transport: str = "ssh"
    ssh_config: str | None = None
    ssh_user: str | None = None
    agent_dir: str | None = None
    concurrency: int = 4
    max_failures: int = 0
    report_timeout: int = 120
    run_timeout: int = 1800


class Site(Model):
    """Site-wide settings; every key is optional."""

    module: f.ModuleName = "jails"
    freebsd_release: f.FreeBSDRelease = "14.1-RELEASE"
    zfs: Zfs = Zfs()
    linux: Linux = Linux()
    pools: Pools = Pools()
    nginx: Nginx = Nginx()
    retention: Annotated[int, f.Between(0, 100)] = 2
    puppet: Puppet = Puppet()
    # an app's own test_access and maintenance replace these as a whole
    test_access: TestAccess | None = None
    maintenance: MaintenancePage = MaintenancePage()
    tls: SiteTls = SiteTls()

    # The flat names the rest of jailgen reads.
    zfs_root = _via("zfs.root")
    zfs_mountpoint = _via("zfs.mountpoint")
    linux_root = _via("linux.root")
    nginx_listen = _via("nginx.listen")
    nginx_port = _via("nginx.port")
    puppet_mode = _via("puppet.mode")
    puppet_environment = _via("puppet.environment")

    @property
    def puppet_agents(self) -> PuppetAgents | None:
        p = self.puppet
        if p.mode != "agent" or p.ssl is None:
            return None
        return PuppetAgents.model_validate(
            {
                **p.model_dump(exclude={"mode", "environment", "r10k", "ssl"}),
                "r10k_config": p.r10k,
                "ssl_ca": p.ssl.ca,
                "ssl_cert": p.ssl.cert,
                "ssl_key": p.ssl.key,
            }
        )


class HostNginx(Model):
    listen: f.Ipv4 | None = None
    port: f.Port | None = None
    prefix: f.AbsPath | None = None


def _no_default(schema: dict[str, Any]) -> None:
    del schema["default"]  # the default is the site's, filled in by Catalog


class Host(Model):
    """A host by certname; its settings override the site's (several hosts on one
    machine need their own jail directory, pool, and NGINX port and prefix)."""

    os: Annotated[str, f.OneOf(*OPERATING_SYSTEMS)]
    # default: site.zfs.mountpoint on FreeBSD, <site.linux.root>/jails on Linux
    jails_dir: f.AbsPath = Field("", json_schema_extra=_no_default)
    pool: Pool | None = None
    nginx: HostNginx = HostNginx()
    _certname: str = PrivateAttr("")

    certname = _via("_certname")
    nginx_listen = _via("nginx.listen")
    nginx_port = _via("nginx.port")
    nginx_prefix = _via("nginx.prefix")


class Run(Model):
    command: f.Argv
    port: f.Port
    environment: dict[f.EnvName, f.EnvValue] = Field(default_factory=dict)


class App(Model):
    hosts: Annotated[tuple[str, ...], f.NonEmpty("at least one host", unique="host")]
    domains: Annotated[tuple[f.Domain, ...], f.NonEmpty("at least one domain")]
    test_domain: f.Domain
    source: f.GitSource
    run: Run
    health: f.UrlPath = "/up"
    packages: tuple[f.Package, ...] = ()
    jail: f.JailParams = Field(default_factory=dict)
    release: f.Sha | None = None
    # run once per release in its checkout, before the service starts
    build: tuple[f.Argv, ...] = ()
    # run once per promotion in the jail under test, on the canary host
    release_command: f.Argv = ()
    # run on the jailgen machine after a verified promotion
    after_promote: tuple[f.Argv, ...] = ()
    # the app's own, else the site's (filled in when the catalog is read)
    test_access: TestAccess | None = None
    maintenance: MaintenancePage = MaintenancePage()
    tls: AppTls | None = None
    _name: str = PrivateAttr("")

    name = _via("_name")
    command = _via("run.command")
    port = _via("run.port")

    @property
    def environment(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.run.environment.items()))

    @property
    def jail_params(self) -> tuple[tuple[str, bool | int | str], ...]:
        return tuple(self.jail.items())


class Catalog(Model):
    """A jailgen catalog: the site, its hosts, and the apps they run."""

    model_config = ConfigDict(title="jailgen catalog")

    site: Site
    hosts: dict[f.HostName, Host]
    apps: dict[f.AppName, App]
    _path: str = PrivateAttr("")
    _by_host: dict[str, list[App]] = PrivateAttr(default_factory=dict)

    path = _via("_path")

    @model_validator(mode="wrap")  # type: ignore[arg-type]  # mypy infers Never here
    @classmethod
    def _across_sections(
        cls,
        data: Any,
        handler: ModelWrapValidatorHandler[Catalog],
        info: core_schema.ValidationInfo,
    ) -> Catalog:
        try:
            catalog: Catalog = handler(data)
        except ValidationError as exc:
            # The checks across sections still run over the apps that are valid,
            # so that their problems are reported in the same run.
            errors = exc.errors()
            failed = {e["loc"][1] for e in errors if e["loc"][:1] == ("apps",)}
            if any(e["loc"][:1] != ("apps",) or len(e["loc"]) < 2 for e in errors):
                raise
            valid = {k: v for k, v in data["apps"].items() if k not in failed}
            try:
                catalog = handler({**data, "apps": valid})
            except ValidationError:
                raise exc from None
            raise f.problems(catalog._problems_across(info.context), errors) from None
        found = catalog._problems_across(info.context)
        if found:
            raise f.problems(found)
        return catalog._resolved(info.context)

    def _problems_across(self, where: Document | None) -> list[tuple[f.Loc, str]]:
        found: list[tuple[f.Loc, str]] = []
        seen: dict[str, tuple[str, f.Loc]] = {}
        for name, app in self.apps.items():
            found += [
                (
                    ("apps", name, "hosts", i),
                    f"host {host!r} is not declared (expected one of the keys of 'hosts')",
                )
                for i, host in enumerate(app.hosts)
                if host not in self.hosts
            ]
            located: list[tuple[str, f.Loc]] = [
                (domain, ("apps", name, "domains", i)) for i, domain in enumerate(app.domains)
            ]
            for domain, loc in [*located, (app.test_domain, ("apps", name, "test_domain"))]:
                if domain not in seen:
                    seen[domain] = (name, loc)
                    continue
                other, first = seen[domain]
                line = f" at line {where.line_of(first)}" if where else ""
                found.append(
                    (
                        loc,
                        f"domain {domain!r} is already used by app {other!r}{line} "
                        "(expected each domain once)",
                    )
                )
            if app.tls is not None and app.tls.acme and self.site.tls.acme is None:
                message = "needs site.tls.acme (expected its directory and email)"
                found.append((("apps", name, "tls", "acme"), message))
        return found + self._pools_too_small()

    def _pools_too_small(self) -> list[tuple[f.Loc, str]]:
        per_app = 2 + self.site.retention  # test, live and the retained previous jails
        demand: dict[str, int] = {}
        for app in self.apps.values():
            for name in app.hosts:
                if name in self.hosts:
                    demand[name] = demand.get(name, 0) + per_app
        found: list[tuple[f.Loc, str]] = []
        for certname, needed in sorted(demand.items()):
            host, pool = self.hosts[certname], self.pool_for(certname)
            if needed <= pool.capacity:
                continue
            own = host.pool is not None
            loc = ("hosts", certname, "pool") if own else ("site", "pools", host.os)
            found.append(
                (
                    (*loc, "network"),
                    f"pool {pool.network} has {pool.capacity} jail addresses but host "
                    f"{certname!r} needs {needed} (expected a larger network: (test + live + "
                    "retention) per app)",
                )
            )
        return found

    def _resolved(self, where: Document | None) -> Catalog:
        """Names from the keys, a host's jail directory from the site's."""
        hosts: dict[str, Host] = {}
        for certname, given in self.hosts.items():
            host = given
            if "jails_dir" not in host.model_fields_set:
                default = (
                    self.site.zfs.mountpoint
                    if host.os == "freebsd"
                    else f"{self.site.linux.root}/jails"
                )
                host = host.model_copy(update={"jails_dir": default})
            host._certname = certname
            hosts[certname] = host
        catalog = self.model_copy(update={"hosts": hosts})
        by_host: dict[str, list[App]] = {name: [] for name in hosts}
        # the site's test_access and maintenance, for apps that have not their own
        inherited = {
            key: getattr(self.site, key)
            for key in ("test_access", "maintenance")
            if getattr(self.site, key) != App.model_fields[key].default
        }
        apps: dict[str, App] = {}
        for name, written in self.apps.items():
            update = {k: v for k, v in inherited.items() if k not in written.model_fields_set}
            apps[name] = app = written.model_copy(update=update) if update else written
            app._name = name
        catalog = catalog.model_copy(update={"apps": apps})
        for name in sorted(apps):
            app = apps[name]
            for certname in app.hosts:
                by_host.setdefault(certname, []).append(app)
        catalog._by_host = by_host
        catalog._path = where.file if where else ""
        return catalog

    def apps_on(self, certname: str) -> list[App]:
        """The apps of a host, sorted by name."""
        return list(self._by_host.get(certname, ()))

    def pool_for(self, certname: str) -> Pool:
        host = self.hosts[certname]
        return host.pool or getattr(self.site.pools, host.os)

    def nginx_for(self, certname: str) -> tuple[str, int]:
        """Where a host's NGINX listens."""
        host = self.hosts[certname]
        return (
            host.nginx.listen or self.site.nginx.listen,
            host.nginx.port or self.site.nginx.port,
        )


# Scalars the models take as written, not as YAML resolves them.
AS_WRITTEN = {
    "apps": {
        "*": {"release": "numbers", "run": {"environment": {"*": "all"}}, "tls": {"acme": "all"}}
    }
}


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
        document = Document(text, file, AS_WRITTEN, {"apps": "app", "hosts": "host"})
        try:
            catalog = Catalog.model_validate(document.data, context=document)
        except ValidationError as exc:
            found = [document.problem(e, Catalog) for e in exc.errors()]
            raise CatalogError(document.problems + found) from None
        if document.problems:
            raise CatalogError(document.problems)
        return catalog


def json_schema() -> str:
    """The JSON Schema of the catalog, as committed in schema/catalog.schema.json."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema.update(Catalog.model_json_schema(schema_generator=f.NoNull))
    return json.dumps(schema, indent=2) + "\n"


__all__ = ["App", "Catalog", "Host", "Pool", "PuppetAgents", "Site", "load_catalog"]
