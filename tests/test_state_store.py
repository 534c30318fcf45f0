from __future__ import annotations

from pathlib import Path

from generator.commands.render import render
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
