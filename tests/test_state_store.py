from __future__ import annotations

from pathlib import Path

import pytest

from generator.commands.render import render
from generator.errors import CatalogError
from generator.state_store import read_state
from tests.conftest import FIXTURE_CATALOG

NODE = "data/nodes/jail1.example.net.yaml"


def test_cached_state_equals_parsed_state_and_follows_edits(control_repo: Path) -> None:
    render(FIXTURE_CATALOG, control_repo)
    cache = control_repo / ".git" / "jailgen" / "state-cache.json"
    assert cache.is_file()
    cached, _ = read_state(control_repo, "jails")
    cache.unlink()
    parsed, texts = read_state(control_repo, "jails")
    assert cached == parsed
    assert texts[NODE] == (control_repo / NODE).read_text()
    # a hand edit of a node file is seen: its cache entry no longer matches
    path = control_repo / NODE
    path.write_text(path.read_text().replace("address: 172.16.0.3", "address: 172.16.9.9"))
    edited, _ = read_state(control_repo, "jails")
    assert edited.hosts["jail1.example.net"].jails["shop_3f2a9c1e0b1a"].address == "172.16.9.9"


def test_a_corrupt_cache_is_ignored(control_repo: Path) -> None:
    render(FIXTURE_CATALOG, control_repo)
    cache = control_repo / ".git" / "jailgen" / "state-cache.json"
    cache.write_text("{not json")
    state, _ = read_state(control_repo, "jails")
    assert "shop_3f2a9c1e0b1a" in state.hosts["jail1.example.net"].jails


def _lines(text: str) -> list[str]:
    return text.splitlines()


def test_hand_edited_state_is_refused_with_every_problem_and_its_position(
    control_repo: Path,
) -> None:
    render(FIXTURE_CATALOG, control_repo)
    path = control_repo / NODE
    text = path.read_text()
    edited = (
        text.replace("address: 172.16.0.3", 'address: "172.16.0.5; }"')
        .replace("test: blog_0a1b2c3d4e5f", "test: blog_ffffffffffff")
        .replace("    ensure: running\n    app: blog", "    ensure: exploded\n    app: blog")
        .replace("revision: 3f2a9c1e0b1a4c5d", "revision: 3f2a9c1e0b1aXc5d")
    )
    path.write_text(edited)
    with pytest.raises(CatalogError) as info:
        read_state(control_repo, "jails")
    lines = _lines(edited)
    where = {p.path: (p.line, p.column, p.message) for p in info.value.problems}
    address = where["jails::jails.shop_3f2a9c1e0b1a.address"]
    assert lines[address[0] - 1].strip() == 'address: "172.16.0.5; }"'
    assert address[1] == lines[address[0] - 1].index('"') + 1
    assert address[2] == "invalid value '172.16.0.5; }' (expected an IPv4 address like 172.16.0.2)"
    revision = where["jails::jails.shop_3f2a9c1e0b1a.revision"]
    assert "expected 40 hex digits starting with 3f2a9c1e0b1a" in revision[2]
    ensure = where["jails::jails.blog_0a1b2c3d4e5f.ensure"]
    assert ensure[2] == "invalid value 'exploded' (expected one of running, stopped, absent)"
    slot = where["jails::apps.blog.test"]
    assert lines[slot[0] - 1].strip() == "test: blog_ffffffffffff"
    assert slot[2].startswith("unknown jail 'blog_ffffffffffff'")
    assert str(info.value).startswith(f"{path}:")
    assert info.value.exit_code == 2


def test_one_address_held_by_two_jails_is_refused(control_repo: Path) -> None:
    render(FIXTURE_CATALOG, control_repo)
    path = control_repo / NODE
    path.write_text(path.read_text().replace("address: 172.16.0.3", "address: 172.16.0.2"))
    with pytest.raises(CatalogError, match=r"already held by jail blog_0a1b2c3d4e5f"):
        read_state(control_repo, "jails")


def test_a_slot_naming_another_apps_jail_is_refused(control_repo: Path) -> None:
    render(FIXTURE_CATALOG, control_repo)
    path = control_repo / NODE
    path.write_text(path.read_text().replace("test: blog_0a1b2c3d4e5f", "test: shop_3f2a9c1e0b1a"))
    with pytest.raises(CatalogError, match=r"belongs to app 'shop', not 'blog'"):
        read_state(control_repo, "jails")


def test_data_files_that_are_not_yaml_are_refused_with_their_position(
    control_repo: Path,
) -> None:
    render(FIXTURE_CATALOG, control_repo)
    common = control_repo / "data/common.yaml"
    common.write_text(common.read_text() + "extra: [1, 2\n")
    node = control_repo / NODE
    node.write_text("- a list\n- not keys\n")
    with pytest.raises(CatalogError) as info:
        read_state(control_repo, "jails")
    lines = len(common.read_text().splitlines())
    assert [str(p) for p in info.value.problems] == [
        f"{common}:{lines + 1}:1: YAML syntax error: did not find expected ',' or ']'",
        f"{node}:1:1: invalid value (expected a mapping of Hiera keys)",
    ]


def test_hand_edits_that_change_how_puppet_looks_up_jailgens_keys_are_refused(
    control_repo: Path,
) -> None:
    """A per-node key in common.yaml, or lookup_options for a key jailgen owns
    (exactly, or by a Hiera regular expression), would make Puppet see values
    jailgen never wrote or checked."""
    render(FIXTURE_CATALOG, control_repo)
    common = control_repo / "data/common.yaml"
    before = common.read_text()
    common.write_text(
        before + "jails::apps:\n  shop:\n    live: shop_3f2a9c1e0b1a\n"
        "lookup_options:\n  '^jails::(apps|jails)$':\n    merge: deep\n"
        "  profile::motd:\n    merge: unique\n"  # not jailgen's: allowed
    )
    node = control_repo / NODE
    node_before = node.read_text()
    node.write_text(node_before + "lookup_options:\n  jails::jails:\n    merge: hash\n")
    with pytest.raises(CatalogError) as info:
        read_state(control_repo, "jails")
    start = len(before.splitlines())
    merge = (
        "jailgen writes its keys whole and checks what they route; a merge strategy would "
        "mix in values it never checked (expected no lookup_options for jailgen's keys)"
    )
    assert [str(p) for p in info.value.problems] == [
        f"{common}:{start + 2}:3: jails::apps: jailgen writes this key in each node's file "
        "(data/nodes/<certname>.yaml); in common.yaml it would reach every host "
        "(expected no such key here)",
        f"{common}:{start + 6}:5: lookup_options.^jails::(apps|jails)$: {merge}",
        f"{node}:{len(node_before.splitlines()) + 3}:5: lookup_options.jails::jails: {merge}",
    ]
