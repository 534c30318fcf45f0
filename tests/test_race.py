"""Two release managers on two clones of one bare origin, racing on the same app
and on different apps, while a poller watches the live domains through NGINX:
no jail whose health path answers 500 is ever served live, no change is lost,
no address is held by two jails. Real git, `puppet apply`, NGINX and HTTP."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import git as gitpython
import pytest
import yaml

from generator import http
from generator.commands.promote import promote
from generator.commands.test import put_under_test
from tests.conftest import JAILGEN, git
from tests.localsite import HOST, LocalSite
from tests.test_shared_lock import two_clones


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    """hello and other both live on the first release."""
    local = LocalSite(tmp_path / "site", others=("other",)).create(commits=3)
    try:
        deployer = local.deployer()
        for app in ("hello", "other"):
            assert put_under_test(deployer, app, local.shas[0]).ok
            assert promote(deployer, app).ok
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def failing_release(site: LocalSite) -> str:
    """A commit of the app whose health path answers 500."""
    source = gitpython.Repo(site.base / "sources" / "hello")
    app = Path(source.working_tree_dir or "") / "app.py"
    app.write_text(
        app.read_text().replace('self.reply(200, b"ok\\n")', 'self.reply(500, b"no\\n")')
    )
    source.index.add(["app.py"])
    return source.index.commit("Break the health check: 500").hexsha


class Poller(threading.Thread):
    """GET the health path of each live domain through NGINX until stopped."""

    def __init__(self, site: LocalSite, domains: list[str]) -> None:
        super().__init__(daemon=True)
        self.site, self.domains = site, domains
        self.stopped = threading.Event()
        self.answers: dict[str, list[int | None]] = {d: [] for d in domains}

    def run(self) -> None:
        while not self.stopped.is_set():
            for domain in self.domains:
                answer = http.get("127.0.0.1", self.site.port, "/up", host=domain, timeout=5)
                self.answers[domain].append(answer.status)
            self.stopped.wait(0.02)

    def __enter__(self) -> Poller:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.join(timeout=30)


def chain(site: LocalSite, clone: Path, *commands: list[str]) -> subprocess.Popen[str]:
    """The commands one after the other in `clone`, each waiting for the locks;
    prints each one's exit status."""
    options = ["-c", str(site.catalog_path), "-r", str(clone), "--wait", "600"]
    options += ["--workdir", str(site.root / "puppet")]
    script = "".join(
        f"{' '.join([JAILGEN, *c, *options])} >/dev/null 2>&1; echo $?\n" for c in commands
    )
    return subprocess.Popen(["/bin/sh", "-c", script], stdout=subprocess.PIPE, text=True)


def codes(process: subprocess.Popen[str]) -> list[int]:
    out, _ = process.communicate(timeout=900)
    return [int(line) for line in out.split()]


def origin_state(site: LocalSite) -> dict[str, object]:
    text = git(site.base / "origin.git", "show", f"production:data/nodes/{HOST}.yaml")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def assert_no_shared_address(data: dict[str, object]) -> None:
    jails = data["jails::jails"]
    assert isinstance(jails, dict)
    addresses = [j["address"] for j in jails.values()]
    assert len(addresses) == len(set(addresses)), jails


def live_release(site: LocalSite, domain: str) -> str:
    return http.get("127.0.0.1", site.port, "/", host=domain).body.strip()


def test_two_clones_racing_on_one_app_never_put_the_failing_release_live(
    site: LocalSite,
) -> None:
    first, second = two_clones(site)
    broken = failing_release(site)
    with Poller(site, ["hello.example.com"]) as poller:
        good = chain(site, first, ["test", "hello", site.shas[1]], ["promote", "hello"])
        bad = chain(site, second, ["test", "hello", broken], ["promote", "hello"])
        good_codes, bad_codes = codes(good), codes(bad)
    statuses = poller.answers["hello.example.com"]
    assert len(statuses) > 20
    assert 500 not in statuses, statuses
    assert set(statuses) == {200}, set(statuses)
    # whichever chain's promote ran, it promoted what the test slot held then, and
    # never the failing release: no such commit exists on origin
    subjects = git(site.base / "origin.git", "log", "--format=%s", "production").splitlines()
    assert f"hello: promote hello_{broken[:12]} to live" not in subjects
    assert bad_codes[0] == 1, bad_codes  # its test fails the route check
    data = origin_state(site)
    apps = data["jails::apps"]
    assert isinstance(apps, dict)
    live = apps["hello"]["live"]
    assert live in (f"hello_{site.shas[0][:12]}", f"hello_{site.shas[1][:12]}")
    if 0 in (good_codes[1], bad_codes[1]):
        assert live == f"hello_{site.shas[1][:12]}"
    assert live_release(site, "hello.example.com").startswith(live.removeprefix("hello_"))
    assert broken[:12] not in live
    assert_no_shared_address(data)


def test_two_clones_racing_on_two_apps_both_land(site: LocalSite) -> None:
    first, second = two_clones(site)
    with Poller(site, ["hello.example.com", "other.example.com"]) as poller:
        one = chain(site, first, ["test", "hello", site.shas[1]], ["promote", "hello"])
        two = chain(site, second, ["test", "other", site.shas[2]], ["promote", "other"])
        assert (codes(one), codes(two)) == ([0, 0], [0, 0])
    for domain, statuses in poller.answers.items():
        assert statuses and set(statuses) == {200}, (domain, set(statuses))
    data = origin_state(site)
    apps = data["jails::apps"]
    assert isinstance(apps, dict)
    assert apps["hello"]["live"] == f"hello_{site.shas[1][:12]}"
    assert apps["other"]["live"] == f"other_{site.shas[2][:12]}"
    assert_no_shared_address(data)
    assert live_release(site, "hello.example.com") == site.shas[1]
    assert live_release(site, "other.example.com") == site.shas[2]
