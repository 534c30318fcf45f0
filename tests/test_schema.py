"""The catalog's JSON Schema: generated from the models, committed, printed by
`jailgen schema`, and in agreement with the models on real catalogs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from generator.catalog import SCHEMA_FILE, json_schema
from tests.conftest import FIXTURE_CATALOG, ROOT, run_jailgen

SCHEMA = json.loads((ROOT / SCHEMA_FILE).read_text())


def test_committed_schema_is_current() -> None:
    assert (ROOT / SCHEMA_FILE).read_text() == json_schema(), (
        "schema/catalog.schema.json is stale: run `jailgen schema > schema/catalog.schema.json`"
    )


def test_schema_command_prints_it() -> None:
    result = run_jailgen("schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / SCHEMA_FILE).read_text()


def test_catalogs_point_editors_at_the_schema() -> None:
    first = FIXTURE_CATALOG.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schema/catalog.schema.json"
    assert (FIXTURE_CATALOG.parent / "../schema/catalog.schema.json").resolve().is_file()


def test_fixture_catalog_is_valid_for_editors() -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(yaml.safe_load(FIXTURE_CATALOG.read_text()))


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        ("unknown_key", ["site"]),
        ("wrong_type", ["site", "retention"]),
        ("port_range", ["site", "nginx", "port"]),
        ("bad_names", ["site", "module"]),
        ("missing_key", ["hosts", "web1.example.net"]),
        ("command_injection", ["apps", "shop", "source"]),
        ("jail_params", ["apps", "shop", "jail"]),
        ("agent_mode", ["site", "puppet"]),
    ],
)
def test_editors_flag_what_the_catalog_refuses(bad: str, path: list[str]) -> None:
    catalog = yaml.safe_load((ROOT / "fixtures" / "bad" / f"{bad}.yaml").read_text())
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(catalog))
    assert path in [list(e.absolute_path)[: len(path)] for e in errors], errors


def test_init_writes_an_example_catalog_with_the_schema(tmp_path: Path) -> None:
    repo = tmp_path / "control"
    assert run_jailgen("init", str(repo)).returncode == 0
    example = (repo / "catalog.example.yaml").read_text()
    assert example.splitlines()[0] == "# yaml-language-server: $schema=catalog.schema.json"
    assert (repo / "catalog.schema.json").read_text() == json_schema()
    result = run_jailgen("validate", str(repo / "catalog.example.yaml"))
    assert result.returncode == 0, result.stderr
