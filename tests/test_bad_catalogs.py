from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, run_jailgen, tree

BAD = sorted((ROOT / "fixtures" / "bad").glob("*.yaml"))


def test_every_class_of_error_has_a_fixture() -> None:
    names = {p.stem for p in BAD}
    assert {
        "yaml_syntax",
        "duplicate_key",
        "duplicate_app",
        "unknown_key",
        "wrong_type",
        "missing_key",
        "domain_twice",
        "bad_names",
        "domain_injection",
        "command_injection",
        "port_range",
        "pool_too_small",
        "undeclared_host",
        "test_access",
        "tls",
        "acme",
        "acme_unconfigured",
    } <= names
    for path in BAD:
        assert path.with_suffix(".expected").is_file(), path


@pytest.mark.parametrize("catalog", BAD, ids=lambda p: p.stem)
def test_validate_reports_exact_errors(catalog: Path) -> None:
    result = run_jailgen("validate", str(catalog.relative_to(ROOT)))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == catalog.with_suffix(".expected").read_text()


@pytest.mark.parametrize("catalog", BAD, ids=lambda p: p.stem)
def test_render_of_bad_catalog_writes_nothing(catalog: Path, control_repo: Path) -> None:
    before = tree(control_repo)
    result = run_jailgen("render", str(catalog), "--repo", str(control_repo), "--commit")
    assert result.returncode == 2
    assert tree(control_repo) == before


def test_all_errors_are_reported_at_once() -> None:
    expected = (ROOT / "fixtures" / "bad" / "domain_injection.expected").read_text()
    assert expected.count("domain_injection.yaml:") == 8
