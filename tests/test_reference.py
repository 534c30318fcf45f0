"""`puppet/` and `hiera/` are the reference rendering of fixtures/catalog.yaml:
they must be exactly what a fresh render produces (`make reference` rewrites them)."""

from __future__ import annotations

from pathlib import Path

from scripts.render_reference import fresh_rendering, split
from tests.conftest import ROOT, tree


def test_reference_rendering_is_up_to_date(tmp_path: Path) -> None:
    rendered = tmp_path / "control"
    fresh_rendering(rendered)
    split(rendered, tmp_path / "puppet", tmp_path / "hiera")
    for part in ("puppet", "hiera"):
        expected, actual = tree(tmp_path / part), tree(ROOT / part)
        assert sorted(actual) == sorted(expected), f"{part}/ files differ: run `make reference`"
        for rel in expected:
            assert actual[rel] == expected[rel], f"{part}/{rel} differs: run `make reference`"


def test_reference_split() -> None:
    assert (ROOT / "hiera" / "hiera.yaml").is_file()
    assert (ROOT / "hiera" / "data" / "common.yaml").is_file()
    assert not (ROOT / "puppet" / "data").exists()
    assert (ROOT / "puppet" / "site-modules" / "jails" / "metadata.json").is_file()
