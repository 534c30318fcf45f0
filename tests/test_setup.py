"""`scripts/setup.sh` (run by `make demo` and `make test`) is idempotent: on a
machine it has already set up, it installs nothing."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT


def test_setup_is_idempotent() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "setup.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "installing" not in result.stdout
    assert "apt-get" not in result.stdout + result.stderr
