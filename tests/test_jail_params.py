"""The typed table of FreeBSD 14's jail(8) parameters, and the module's copy of it."""

from __future__ import annotations

import pytest

from generator import jail_params
from generator.catalog import load_catalog
from generator.render.control_repo import render_module
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("allow.raw_sockets", None),
        ("allow.noraw_sockets", "is allow.raw_sockets negated (expected allow.raw_sockets: false)"),
        ("exec.noclean", "is set by jailgen (expected another jail(8) parameter)"),
        ("mount.nodevfs", "is set by jailgen (expected another jail(8) parameter)"),
        ("allow.bogus", "unknown jail parameter (expected a FreeBSD 14 jail(8) parameter)"),
        ("nosecurelevel", "unknown jail parameter (expected a FreeBSD 14 jail(8) parameter)"),
        ("Allow.mount", "invalid jail parameter name (expected like allow.raw_sockets)"),
    ],
)
def test_names_x_and_no_x_are_one_parameter(name: str, problem: str | None) -> None:
    assert jail_params.check_name(name) == problem


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("allow.raw_sockets", True, None),
        (
            "allow.raw_sockets",
            "yes",
            "string 'yes' for a boolean parameter (expected true or false)",
        ),
        ("allow.raw_sockets", 1, "integer 1 for a boolean parameter (expected true or false)"),
        ("devfs_ruleset", 4, None),
        ("devfs_ruleset", False, "boolean false for an integer parameter (expected an integer)"),
        ("securelevel", -2, "-2 is out of range (expected -1 to 3)"),
        ("ip6", "disable", None),
        ("ip6", "off", "invalid value 'off' (expected one of: disable, new, inherit)"),
        ("osrelease", "14.1-RELEASE", None),
        ("osrelease", "a b", "invalid value 'a b' (expected A-Z a-z 0-9 _ . / : = @ % + , -)"),
    ],
)
def test_values_by_kind(name: str, value: object, problem: str | None) -> None:
    assert jail_params.check_value(name, value) == problem


def test_the_module_carries_the_same_table() -> None:
    rendered = render_module(load_catalog(ROOT / "fixtures" / "catalog.yaml"))
    ruby = rendered["site-modules/jails/lib/puppet_x/jailgen/jail_parameters.rb"]
    names = [line.split("'")[1] for line in ruby.splitlines() if "Parameter.new('" in line]
    assert names == sorted(jail_params.TABLE)
    assert "Parameter.new('securelevel', :integer, nil,\n                      -1, 3, %w[])" in ruby
    assert "Parameter.new('ip4.addr', :address_list, 'is set by jailgen'," in ruby
