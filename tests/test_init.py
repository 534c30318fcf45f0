from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import git, run_jailgen


def test_init_creates_skeleton_on_branch_production(tmp_path: Path) -> None:
    repo = tmp_path / "control"
    result = run_jailgen("init", str(repo))
    assert result.returncode == 0, result.stderr
    assert git(repo, "branch", "--show-current").strip() == "production"
    for rel in (
        "environment.conf",
        "hiera.yaml",
        "manifests/site.pp",
        "site-modules/role/manifests/jailhost.pp",
        "scripts/config_version.sh",
    ):
        assert (repo / rel).is_file(), rel
    hiera = (repo / "hiera.yaml").read_text()
    assert "version: 5" in hiera
    assert hiera.index("nodes/%{trusted.certname}.yaml") < hiera.index("common.yaml")
    assert git(repo, "status", "--porcelain") == ""


def test_config_version_prints_the_commit(tmp_path: Path) -> None:
    repo = tmp_path / "control"
    run_jailgen("init", str(repo))
    assert "config_version = 'scripts/config_version.sh'" in (repo / "environment.conf").read_text()
    out = subprocess.run(
        [str(repo / "scripts/config_version.sh")], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == git(repo, "rev-parse", "HEAD").strip()


def test_init_is_idempotent_and_keeps_edits(tmp_path: Path) -> None:
    repo = tmp_path / "control"
    run_jailgen("init", str(repo))
    site = repo / "manifests/site.pp"
    site.write_text(site.read_text() + "# mine\n")
    result = run_jailgen("init", str(repo))
    assert result.returncode == 0
    assert site.read_text().endswith("# mine\n")
