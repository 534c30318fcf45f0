"""The release phase: `release_command` runs once per promotion in the jail under
test on the canary host, after its health check and before live is switched; a
failing one stops the promotion with its output and leaves live as it was; a
rollback does not run it; `after_promote` hooks run here with the release in
their environment. Real git, `puppet apply`, bubblewrap, NGINX and HTTP."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from generator import http
from generator.commands.promote import promote
from generator.commands.rollback import rollback
from generator.commands.test import put_under_test
from tests.conftest import run_jailgen
from tests.localsite import HOST, LocalSite

# A migration: records the schema version of its release in a sqlite database
# in the checkout, and who ran it where; release 2's fails.
MIGRATE_PY = """\
import json, os, sqlite3, sys
version = int(open("VERSION").read())
if version == {broken}:
    print("applying migration", version)
    sys.exit("migration {broken} failed: column orders.total already exists")
db = sqlite3.connect("app.sqlite")
db.execute("create table if not exists schema (version, uid, cwd, port)")
row = (version, os.getuid(), os.getcwd(), os.environ["PORT"])
db.execute("insert into schema values (?, ?, ?, ?)", row)
db.commit()
print("schema version", version)
"""
HOOK_PY = """\
import json, os, sys
with open(sys.argv[1], "a") as out:
    names = ("JAILGEN_APP", "JAILGEN_RELEASE", "JAILGEN_HOSTS")
    out.write(json.dumps({k: os.environ[k] for k in names}) + "\\n")
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    local = LocalSite(tmp_path / "site").create(commits=1)
    source_dir = local.base / "sources" / "hello"
    source = git.Repo(source_dir)
    (source_dir / "migrate.py").write_text(MIGRATE_PY.format(broken=3))
    for number in (2, 3, 4):
        (source_dir / "VERSION").write_text(f"{number}\n")
        source.index.add(["VERSION", "migrate.py"])
        local.shas.append(source.index.commit(f"Release {number}").hexsha)
    (tmp_path / "hook.py").write_text(HOOK_PY)
    text = local.catalog_path.read_text()
    local.catalog_path.write_text(
        text.replace(
            "      port: 8000\n",
            "      port: 8000\n"
            "    build:\n      - [/usr/bin/true]\n"
            "    release_command: [python3, migrate.py]\n"
            "    after_promote:\n"
            f"      - [python3, {tmp_path / 'hook.py'}, {tmp_path / 'hooks.jsonl'}]\n",
            1,
        )
    )
    try:
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def schema(site: LocalSite, sha: str) -> list[tuple[int, int, str, str]]:
    db = site.jails_dir / "containers" / f"hello_{sha[:12]}" / "usr/local/hello/app.sqlite"
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        return list(connection.execute("select * from schema"))


def live_body(site: LocalSite) -> str:
    return http.get("127.0.0.1", site.port, "/", host="hello.example.com").body


def test_release_command_runs_once_per_promotion_and_a_failure_keeps_live(
    site: LocalSite, tmp_path: Path
) -> None:
    deployer = site.deployer()
    two, three, four = site.shas[1:]
    assert put_under_test(deployer, "hello", two).ok
    assert schema(site, two) == []  # a test release is not migrated
    outcome = promote(deployer, "hello")
    assert outcome.ok, outcome.message
    assert outcome.release_command is not None
    assert outcome.release_command.describe() == f"{HOST}: ['python3', 'migrate.py'] succeeded"
    assert outcome.release_command.output == "schema version 2\n"
    assert schema(site, two) == [(2, 80, "/usr/local/hello", "8000")]
    hooks = [json.loads(line) for line in (tmp_path / "hooks.jsonl").read_text().splitlines()]
    assert hooks == [{"JAILGEN_APP": "hello", "JAILGEN_RELEASE": two, "JAILGEN_HOSTS": HOST}]

    # a failing release command: nothing committed, live unchanged, output shown
    assert put_under_test(deployer, "hello", three).ok
    head = git.Repo(site.control).head.commit.hexsha
    common = ["-c", str(site.catalog_path), "-r", str(site.control)]
    result = run_jailgen("promote", "hello", *common, "--workdir", str(site.root / "puppet"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("promote hello: FAILED at release command\n")
    assert result.stderr == (
        f"jailgen: promote failed: {HOST}: ['python3', 'migrate.py'] exited 1; nothing was "
        "switched, live is unchanged; its output:\n"
        "applying migration 3\n"
        "migration 3 failed: column orders.total already exists\n"
    )
    assert git.Repo(site.control).head.commit.hexsha == head
    assert two in live_body(site)
    assert len((tmp_path / "hooks.jsonl").read_text().splitlines()) == 1

    # the next release migrates; a rollback does not run the release command
    assert put_under_test(deployer, "hello", four).ok
    assert promote(deployer, "hello").ok
    assert schema(site, four) == [(4, 80, "/usr/local/hello", "8000")]
    outcome = rollback(deployer, "hello")
    assert outcome.ok, outcome.message
    assert outcome.release_command is None
    assert two in live_body(site)
    assert schema(site, two) == [(2, 80, "/usr/local/hello", "8000")]
    assert len((tmp_path / "hooks.jsonl").read_text().splitlines()) == 2


def test_on_freebsd_it_runs_with_jexec_as_www_in_the_checkout_over_ssh() -> None:
    from generator.catalog import load_catalog
    from generator.release_command import host_argv, in_jail_argv
    from generator.state import Jail
    from tests.conftest import FIXTURE_CATALOG

    catalog = load_catalog(FIXTURE_CATALOG)
    shop = catalog.apps["shop"].model_copy(
        update={"release_command": (".venv/bin/python", "manage.py", "migrate")}
    )
    jail = Jail("shop_3f2a9c1e0b1a", "shop", "3f2a9c1e0b1a" + "0" * 28, "172.16.0.2")
    argv = in_jail_argv(catalog, "jail1.example.net", shop, jail)
    assert argv == [
        "/usr/bin/env",
        "-i",
        "ADDRESS=172.16.0.2",
        "HOME=/usr/local/shop",
        "HOST=172.16.0.2",
        "JAILGEN_APP=shop",
        "JAILGEN_JAIL=shop_3f2a9c1e0b1a",
        f"JAILGEN_REVISION={jail.revision}",
        "PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin",
        "PORT=8000",
        "SHOP_CURRENCY=EUR",
        "/usr/sbin/jexec",
        "-u",
        "www",
        "shop_3f2a9c1e0b1a",
        "/bin/sh",
        "-c",
        'cd "$1" || exit 1; shift; exec "$@"',
        "jailgen-release",
        "/usr/local/shop",
        ".venv/bin/python",
        "manage.py",
        "migrate",
    ]
    assert host_argv(catalog, "jail1.example.net", argv) == argv  # local mode: here
