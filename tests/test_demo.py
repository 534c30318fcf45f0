"""`jailgen demo` (what `make demo` runs): the WSGI shop is built, tested,
promoted with its migrations, its history shown, and rolled back; then
`--stop` ends what it left running. Real git, `puppet apply`, bubblewrap, pip
(offline, from the releases' wheels), NGINX and HTTP."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from generator import local_processes
from generator.commands.demo import DemoPaths
from tests.conftest import JAILGEN, ROOT
from tests.localsite import NETWORK


def test_the_demo_builds_migrates_promotes_shows_history_and_rolls_back(tmp_path: Path) -> None:
    base = tmp_path / "demo"
    env = {**os.environ, "JAILGEN_DEMO_NETWORK": str(NETWORK)}
    try:
        result = subprocess.run(
            [JAILGEN, "demo", "--dir", str(base)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        steps = re.findall(r"^(test|promote|rollback) hello: (\S+)", out, re.MULTILINE)
        assert steps == [
            ("test", "ok"),
            ("promote", "ok"),
            ("test", "ok"),
            ("promote", "ok"),
            ("rollback", "ok"),
        ]
        served = re.findall(r"^  served   hello\.example\.com: (.*)$", out, re.MULTILINE)
        assert [s.split(" | ")[1:] for s in served[1:]] == [
            ["hello from greeting 1.0", "schema version 1"],
            ["hello from greeting 1.0", "schema version 1"],
            ["hello from greeting 1.1", "schema version 2"],
            ["hello from greeting 1.0", "schema version 1"],  # rolled back, not migrated
        ]
        assert served[0] == "answers 503"
        assert (
            out.count(
                "release command devbox.example.net: ['.venv/bin/python', 'migrate.py'] succeeded"
            )
            == 2
        )
        history = out.split("$ jailgen history hello", 1)[1].split("\n== ", 1)[0]
        actions = re.findall(r"^\S+  (\w+)\s+hello\s+([0-9a-f]{12}) \((v\d)\)", history, re.M)
        assert [(a, ref) for a, _, ref in actions] == [
            ("promote", "v2"),
            ("test", "v2"),
            ("promote", "v1"),
            ("test", "v1"),
        ]
    finally:
        subprocess.run(
            [JAILGEN, "demo", "--stop", "--dir", str(base)], cwd=ROOT, env=env, check=False
        )
    paths = DemoPaths(base.resolve())
    assert local_processes.running(paths.jails_dir, paths.nginx_prefix) == []
