"""The generated Puppet module passes the Puppet and Ruby tool chain.

Each test runs one real tool over a control repo rendered from
fixtures/catalog.yaml (the `rendered_repo` fixture) and requires exit status 0
and no warnings; on failure it shows the tool's whole output. The Forge-style
checks: metadata-json-lint, and puppet strings, which must find everything
documented and write exactly the REFERENCE.md that was rendered.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from generator.commands.init import init_control_repo
from generator.commands.render import render
from scripts.module_reference import puppet_strings, undocumented
from tests.conftest import FIXTURE_CATALOG

MODULE = "jails"


def _files(root: Path, suffix: str) -> list[str]:
    found = sorted(str(path) for path in root.rglob(f"*{suffix}") if ".git" not in path.parts)
    assert found, f"no {suffix} files under {root}"
    return found


def _run(argv: Sequence[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    assert shutil.which(argv[0]), f"{argv[0]} is not installed (scripts/setup.sh installs it)"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    return subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    output = f"{result.stdout}{result.stderr}"
    command = shlex.join(result.args)
    assert result.returncode == 0, f"{command} exited with {result.returncode}:\n{output}"
    assert "warning" not in output.lower(), f"{command} printed warnings:\n{output}"


@pytest.fixture
def module_dir(rendered_repo: Path) -> Path:
    path = rendered_repo / "site-modules" / MODULE
    assert (path / "metadata.json").is_file(), f"no module rendered at {path}"
    return path


@pytest.fixture
def puppet_dirs(tmp_path: Path) -> list[str]:
    """Private Puppet directories, so that no check reads or writes the system's."""
    dirs = {name: tmp_path / "puppet" / name for name in ("confdir", "vardir", "codedir", "logdir")}
    for path in dirs.values():
        path.mkdir(parents=True)
    return [arg for name, path in dirs.items() for arg in (f"--{name}", str(path))]


def test_puppet_parser_validate(
    rendered_repo: Path, puppet_dirs: list[str], tmp_path: Path
) -> None:
    manifests = _files(rendered_repo, ".pp")
    result = _run(
        ["puppet", "parser", "validate", *puppet_dirs, *manifests], rendered_repo, tmp_path
    )
    _assert_clean(result)


def test_puppet_epp_validate(module_dir: Path, puppet_dirs: list[str], tmp_path: Path) -> None:
    templates = _files(module_dir, ".epp")
    result = _run(["puppet", "epp", "validate", *puppet_dirs, *templates], module_dir, tmp_path)
    _assert_clean(result)


def test_puppet_lint(rendered_repo: Path, tmp_path: Path) -> None:
    manifests = _files(rendered_repo, ".pp")
    result = _run(["puppet-lint", "--fail-on-warnings", *manifests], rendered_repo, tmp_path)
    _assert_clean(result)
    assert result.stdout == "", f"puppet-lint reported problems:\n{result.stdout}"


def test_ruby_syntax_without_warnings(module_dir: Path, tmp_path: Path) -> None:
    failures = []
    for source in _files(module_dir, ".rb"):
        result = _run(["ruby", "-wc", source], module_dir, tmp_path)
        output = f"{result.stdout}{result.stderr}"
        if result.returncode != 0 or output.strip() != "Syntax OK":
            failures.append(f"{source} (exit {result.returncode}):\n{output}")
    assert not failures, "\n".join(failures)


def test_rspec_puppet(module_dir: Path, tmp_path: Path) -> None:
    result = _run(["rspec", "--no-color"], module_dir, tmp_path)
    _assert_clean(result)
    assert " 0 failures" in result.stdout, result.stdout


def test_metadata_json_lint(module_dir: Path, tmp_path: Path) -> None:
    result = _run(
        ["metadata-json-lint", "--strict-license", "--strict-dependencies", "metadata.json"],
        module_dir,
        tmp_path,
    )
    _assert_clean(result)
    metadata = json.loads((module_dir / "metadata.json").read_text())
    assert metadata["operatingsystem_support"] == [
        {"operatingsystem": "FreeBSD", "operatingsystemrelease": ["14"]},
        {"operatingsystem": "Debian", "operatingsystemrelease": ["12"]},
    ]
    assert metadata["requirements"] == [
        {"name": "puppet", "version_requirement": ">= 7.0.0 < 9.0.0"}
    ]
    assert metadata["dependencies"] == []


def test_metadata_json_lint_refuses_an_open_ended_dependency(
    module_dir: Path, tmp_path: Path
) -> None:
    metadata = json.loads((module_dir / "metadata.json").read_text())
    metadata["dependencies"] = [{"name": "puppetlabs/stdlib", "version_requirement": ">= 9.0.0"}]
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    result = _run(
        ["metadata-json-lint", "--strict-license", "--strict-dependencies", "metadata.json"],
        tmp_path,
        tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "puppetlabs/stdlib" in result.stdout + result.stderr


def test_reference_md_is_what_puppet_strings_writes(module_dir: Path) -> None:
    strings = puppet_strings(module_dir)
    assert undocumented(strings) == []
    assert (module_dir / "REFERENCE.md").read_text() == strings.reference, (
        "REFERENCE.md is stale: run `make reference`"
    )


def test_reference_md_names_the_catalogs_module(tmp_path: Path) -> None:
    text = FIXTURE_CATALOG.read_text()
    assert text.count("\n  module: jails\n") == 1
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(text.replace("\n  module: jails\n", "\n  module: web_jails\n"))
    init_control_repo(tmp_path / "control")
    render(catalog, tmp_path / "control")
    module = tmp_path / "control" / "site-modules" / "web_jails"
    strings = puppet_strings(module)
    assert (module / "REFERENCE.md").read_text() == strings.reference
    assert "* [`web_jails::nat`](#web_jailsnat): " in strings.reference
    assert "* [`Web_jails::App`](#web_jailsapp): " in strings.reference


def test_undocumented_code_is_reported(module_dir: Path, tmp_path: Path) -> None:
    module = tmp_path / MODULE
    shutil.copytree(module_dir, module)
    (module / "manifests" / "extra.pp").write_text(
        "# @summary One class more.\nclass jails::extra (String $flavour) {\n}\n"
    )
    (module / "manifests" / "bare.pp").write_text("class jails::bare {\n}\n")
    (module / "lib" / "puppet_x" / "jailgen" / "extra.rb").write_text(
        "# frozen_string_literal: true\n\nmodule PuppetX\n  module Jailgen\n"
        "    def self.extra; end\n  end\nend\n"
    )
    assert undocumented(puppet_strings(module)) == [
        "[warn]: Missing documentation for Puppet class 'jails::bare' at manifests/bare.pp:1.",
        "Methods: 1 undocumented",
        "Puppet Classes: 1 undocumented",
        "manifests/bare.pp:1: puppet_classes jails::bare: no description",
        "manifests/extra.pp:2: puppet_classes jails::extra: parameter flavour has no description",
    ]
