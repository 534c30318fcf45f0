"""Build: each release's `build` commands run once in its checkout, in a sandbox
with the jail's root and the host's network, as the app's user, with the `run`
environment; a failing build fails the Puppet run with the command and the tail
of its output, the release is never started, and the next run builds it again.
Real git, `puppet apply`, bubblewrap, NGINX and HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import git
import pytest

from generator import http
from generator.commands.test import put_under_test
from tests.localsite import HOST, LocalSite

# The release's build script: it fetches its "dependencies" over the host's
# network and records who, where and with what environment it ran.
BUILD_PY = """\
import json, os, sys, urllib.request
print("building", os.environ["JAILGEN_REVISION"], "as uid", os.getuid())
try:
    deps = urllib.request.urlopen(os.environ["DEPS_URL"], timeout=5).read().decode()
except Exception as exc:
    print("cannot fetch the dependencies:", exc)
    sys.exit(3)
with open("built.json", "w") as out:
    json.dump({"uid": os.getuid(), "gid": os.getgid(), "cwd": os.getcwd(),
               "port": os.environ["PORT"], "home": os.environ["HOME"], "deps": deps}, out)
"""


class Dependencies(BaseHTTPRequestHandler):
    status = 500

    def do_GET(self) -> None:
        body = b"requests==2.31.0\n" if Dependencies.status == 200 else b"try again\n"
        self.send_response(Dependencies.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def deps() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Dependencies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/deps"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def site(tmp_path: Path, deps: str) -> Iterator[LocalSite]:
    local = LocalSite(tmp_path / "site").create(commits=1)
    source = git.Repo(local.base / "sources" / "hello")
    (local.base / "sources" / "hello" / "build.py").write_text(BUILD_PY)
    source.index.add(["build.py"])
    local.shas.append(source.index.commit("Build step").hexsha)
    text = local.catalog_path.read_text()
    local.catalog_path.write_text(
        text.replace(
            "      port: 8000\n",
            f"      port: 8000\n      environment: {{DEPS_URL: '{deps}'}}\n"
            "    build:\n      - [python3, build.py]\n"
            "      - [python3, -m, venv, --without-pip, .venv]\n",
            1,
        )
    )
    try:
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def test_a_failed_build_is_reported_never_started_and_built_on_the_next_run(
    site: LocalSite,
) -> None:
    sha = site.shas[1]
    jail = f"hello_{sha[:12]}"
    root = site.jails_dir / "containers" / jail
    deployer = site.deployer(check_timeout_s=3)

    Dependencies.status = 500
    outcome = put_under_test(deployer, "hello", sha)
    assert not outcome.ok
    assert outcome.step == "puppet run"
    failed = outcome.reports[0].failed
    assert [f.resource for f in failed] == [f"Jail_build[{jail}]"]
    assert failed[0].message == (
        "change from 'unbuilt' to 'built' failed: build command [\"python3\",\"build.py\"] "
        "exited 3; its last output (all of it in /var/log/hello-build.log in the jail):\n"
        f"building {sha} as uid 80\n"
        "cannot fetch the dependencies: HTTP Error 500: Internal Server Error"
    )
    assert outcome.message.startswith(f"{HOST}: failed: Jail_build[{jail}]: change from")
    # never started: no service script, no marker, nothing listening
    assert not (root / "etc/jailgen/hello.sh").exists()
    assert not (root / "var/db/jailgen/hello.built").exists()
    assert (
        (root / "var/log/hello-build.log")
        .read_text()
        .endswith(
            '\n# jailgen: build command ["python3","build.py"] exited 3; the release is not built\n'
        )
    )

    # the next run builds it again, from its first command, and starts it
    Dependencies.status = 200
    reports = deployer.runner.run(site.control, "production", [HOST])
    assert reports[0].ok, reports[0].summary()
    built = json.loads((root / "usr/local/hello/built.json").read_text())
    assert built == {
        "uid": 80,
        "gid": 80,
        "cwd": "/usr/local/hello",
        "port": "8000",
        "home": "/usr/local/hello",
        "deps": "requests==2.31.0\n",
    }
    assert (root / "usr/local/hello/.venv/bin/python3").exists()
    assert (root / "usr/local/hello/.venv").stat().st_uid == 80
    marker = json.loads((root / "var/db/jailgen/hello.built").read_text())
    assert marker["revision"] == sha
    answer = http.get("127.0.0.1", site.port, "/", host="hello.test.example.com")
    assert sha in answer.body

    # built once: another run leaves the build alone
    log = (root / "var/log/hello-build.log").read_text()
    assert log.count('$ ["python3","build.py"]\n') == 2
    assert log.endswith('$ ["python3","-m","venv","--without-pip",".venv"]\n# jailgen: built\n')
    reports = deployer.runner.run(site.control, "production", [HOST])
    assert reports[0].ok, reports[0].summary()
    assert f"Jail_build[{jail}]" not in reports[0].changed
    assert (root / "var/log/hello-build.log").read_text() == log
