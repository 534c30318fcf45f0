from __future__ import annotations

import pytest

from generator.catalog import Catalog, parse_catalog
from generator.errors import JailgenError
from generator.releases import NotRetained, retained_target
from generator.render.hiera import node_data
from generator.service_addresses import service_addresses
from generator.state import (
    DeploymentState,
    HostState,
    Jail,
    Slots,
    plan,
    promoted,
    rolled_back,
    state_from_node_data,
)

SHA = "%040x"


def catalog_text(apps: list[str], network: str = "127.16.0.0/16", retention: int = 2) -> str:
    lines = [
        f"site: {{retention: {retention}, "
        f"pools: {{linux: {{interface: lo, network: {network}}}}}}}",
        "hosts:",
        "  dev.example.net: {os: linux}",
        "apps:",
    ]
    for i, name in enumerate(apps):
        lines += [
            f"  {name}:",
            "    hosts: [dev.example.net]",
            f"    domains: [{name}.example.com]",
            f"    test_domain: {name}.test.example.com",
            "    source: /srv/git/app.git",
            f"    release: {SHA % (i + 1)}",
            "    run: {command: [app], port: 8000}",
        ]
    return "\n".join(lines) + "\n"


def addresses(state: DeploymentState) -> dict[str, str]:
    return {n: j.address for n, j in state.hosts["dev.example.net"].jails.items()}


def test_allocation_is_deterministic() -> None:
    catalog = parse_catalog(catalog_text(["alpha", "beta", "gamma"]), "c.yaml")
    first = plan(catalog, DeploymentState())
    assert addresses(first) == addresses(plan(catalog, DeploymentState()))
    assert sorted(addresses(first).values()) == ["127.16.0.2", "127.16.0.3", "127.16.0.4"]


def test_adding_or_removing_an_app_never_moves_another_jail() -> None:
    three = parse_catalog(catalog_text(["alpha", "beta", "gamma"]), "c.yaml")
    state = plan(three, DeploymentState())
    before = addresses(state)
    two = parse_catalog(catalog_text(["alpha", "gamma"]), "c.yaml")
    after_removal = plan(two, state)
    # beta's jail is marked absent and keeps its address until Puppet destroyed it
    assert addresses(after_removal) == before
    assert after_removal.hosts["dev.example.net"].jails["beta_" + (SHA % 2)[:12]].ensure == "absent"
    four = parse_catalog(catalog_text(["alpha", "gamma", "delta", "aaa"]), "c.yaml")
    after_add = plan(four, after_removal)
    for name, address in before.items():
        assert addresses(after_add)[name] == address
    new = set(addresses(after_add).values()) - set(before.values())
    assert len(new) == 2
    assert not new & set(before.values())


def test_an_address_is_never_given_to_a_second_jail_while_the_first_exists() -> None:
    catalog = parse_catalog(catalog_text(["alpha"]), "c.yaml")
    host = HostState("dev.example.net")
    host.jails["old_aaaaaaaaaaaa"] = Jail(
        "old_aaaaaaaaaaaa", "old", "a" * 40, "127.16.0.2", "stopped"
    )
    state = plan(catalog, DeploymentState({"dev.example.net": host}))
    assert addresses(state)["alpha_" + (SHA % 1)[:12]] == "127.16.0.3"


def test_pool_exhaustion_is_a_clear_error() -> None:
    catalog = parse_catalog(catalog_text(["alpha"], network="127.16.0.0/29", retention=0), "c.yaml")
    host = HostState("dev.example.net")
    for i in range(2, 7):
        name = f"x{i}_{'b' * 12}"
        host.jails[name] = Jail(name, f"x{i}", "b" * 40, f"127.16.0.{i}", "absent")
    with pytest.raises(
        JailgenError, match=r"address pool 127.16.0.0/29 of host dev.example.net is exhausted"
    ):
        plan(catalog, DeploymentState({"dev.example.net": host}))


def test_retention_keeps_the_newest_previous_jails_and_marks_older_absent() -> None:
    catalog = parse_catalog(catalog_text(["alpha"], retention=1), "c.yaml")
    state = plan(catalog, DeploymentState())
    host = state.hosts["dev.example.net"]
    test = host.slots["alpha"].test
    assert test is not None
    for i, name in enumerate(["alpha_111111111111", "alpha_222222222222"]):
        host.jails[name] = Jail(name, "alpha", f"{i + 1}" * 40, f"127.16.1.{i}")
    host.slots["alpha"] = Slots(
        test=test, live=test, previous=("alpha_111111111111", "alpha_222222222222")
    )
    nxt = plan(catalog, state)
    jails = nxt.hosts["dev.example.net"].jails
    assert nxt.hosts["dev.example.net"].slots["alpha"].previous == ("alpha_111111111111",)
    assert jails["alpha_111111111111"].ensure == "running"
    assert jails["alpha_222222222222"].ensure == "absent"
    assert jails[test].ensure == "running"


def test_retention_zero_still_keeps_the_last_known_good() -> None:
    catalog = parse_catalog(catalog_text(["alpha"], retention=0), "c.yaml")
    state = plan(catalog, DeploymentState())
    host = state.hosts["dev.example.net"]
    host.jails["alpha_111111111111"] = Jail("alpha_111111111111", "alpha", "1" * 40, "127.16.1.1")
    host.slots["alpha"] = Slots(test=None, live=None, previous=("alpha_111111111111",))
    nxt = plan(catalog, state)
    assert nxt.hosts["dev.example.net"].jails["alpha_111111111111"].ensure == "running"


def _jail(n: int) -> str:
    return f"alpha_{str(n) * 12}"


def _site_with_live(
    retention: int, live: int, previous: list[int]
) -> tuple[Catalog, DeploymentState]:
    catalog = parse_catalog(catalog_text(["alpha"], retention=retention), "c.yaml")
    state = plan(catalog, DeploymentState())
    host = state.hosts["dev.example.net"]
    for i in (live, *previous):
        host.jails[_jail(i)] = Jail(_jail(i), "alpha", str(i) * 40, f"127.16.1.{i}")
    host.slots["alpha"] = Slots(
        test=_jail(live), live=_jail(live), previous=tuple(_jail(i) for i in previous)
    )
    return catalog, plan(catalog, state)


def test_repeated_rollbacks_walk_back_to_older_releases() -> None:
    catalog, state = _site_with_live(3, 5, [4, 3, 2])
    lives = []
    for _ in range(3):
        state = plan(catalog, rolled_back(state, catalog, "alpha"))
        slots = state.slots_of("alpha")
        assert slots is not None
        lives.append(slots.live)
    assert lives == [_jail(4), _jail(3), _jail(2)]
    slots = state.slots_of("alpha")
    assert slots is not None
    # every release rolled back from is marked, newest first, and none is a target
    assert slots.previous == (_jail(3), _jail(4), _jail(5))
    assert slots.rolled_back == (_jail(3), _jail(4), _jail(5))
    assert slots.rollback_target is None
    with pytest.raises(JailgenError, match="already rolled back from every retained release"):
        rolled_back(state, catalog, "alpha")


def test_promote_after_rollbacks_clears_the_mark_of_the_promoted_jail_only() -> None:
    catalog, state = _site_with_live(3, 5, [4, 3])
    state = plan(catalog, rolled_back(state, catalog, "alpha"))  # live 4, 5 marked
    state = plan(catalog, rolled_back(state, catalog, "alpha"))  # live 3, 4 and 5 marked
    slots = state.slots_of("alpha")
    assert slots is not None and slots.test == _jail(5)
    state = plan(catalog, promoted(state, catalog, "alpha"))  # QA's jail 5 again
    slots = state.slots_of("alpha")
    assert slots is not None
    assert (slots.live, slots.previous) == (_jail(5), (_jail(3), _jail(4)))
    assert slots.rolled_back == (_jail(4),)
    assert slots.rollback_target == _jail(3)


def test_retention_never_prunes_the_rollback_target() -> None:
    catalog, state = _site_with_live(1, 5, [4, 3])
    assert state.slots_of("alpha") == Slots(_jail(5), _jail(5), (_jail(4),))
    state = plan(catalog, rolled_back(state, catalog, "alpha"))  # live 4, previous 5 marked
    slots = state.slots_of("alpha")
    assert slots is not None
    assert (slots.live, slots.previous, slots.rolled_back) == (_jail(4), (_jail(5),), (_jail(5),))
    jails = state.hosts["dev.example.net"].jails
    assert jails[_jail(3)].ensure == "absent"  # pruned by the first plan: beyond retention
    # a marked jail beyond the retention goes, the target stays wherever it is
    host = state.hosts["dev.example.net"]
    host.jails[_jail(2)] = Jail(_jail(2), "alpha", "2" * 40, "127.16.1.2")
    host.slots["alpha"] = Slots(_jail(5), _jail(4), (_jail(5), _jail(2)), (_jail(5),))
    slots = plan(catalog, state).slots_of("alpha")
    assert slots is not None
    assert slots.previous == (_jail(5), _jail(2)) and slots.rollback_target == _jail(2)


def test_rolled_back_marks_round_trip_through_hiera() -> None:
    catalog, state = _site_with_live(3, 5, [4, 3])
    state = plan(catalog, rolled_back(state, catalog, "alpha"))
    data = node_data(catalog, state, "dev.example.net")
    assert data["jails::apps"]["alpha"]["rolled_back"] == [_jail(5)]
    again = state_from_node_data("dev.example.net", "jails", data)
    assert again.slots["alpha"] == state.hosts["dev.example.net"].slots["alpha"]


def test_jails_never_get_an_apps_service_address() -> None:
    catalog = parse_catalog(catalog_text(["alpha", "beta"], network="127.16.0.0/28"), "c.yaml")
    state = plan(catalog, DeploymentState())
    host = state.hosts["dev.example.net"]
    services = service_addresses(catalog.pool_for("dev.example.net").network, ["alpha", "beta"])
    reserved = {a for slots in services.values() for a in slots.values()}
    assert reserved == {"127.16.0.14", "127.16.0.13", "127.16.0.12", "127.16.0.11"}
    for i in range(20):
        name = f"alpha_{i:012x}"
        host.jails[name] = Jail(name, "alpha", f"{i:012x}" + "0" * 28, "")
        host.slots["alpha"] = Slots(
            test=name, live=None, previous=tuple(host.slots["alpha"].referenced())
        )
        try:
            state = plan(catalog, state)
        except JailgenError as exc:
            assert "service addresses" in str(exc)
            break
        host = state.hosts["dev.example.net"]
        assert not reserved & {j.address for j in host.jails.values()}
    else:
        raise AssertionError("the pool never ran out")


def test_rollback_to_an_older_release_marks_the_ones_it_passes_over() -> None:
    catalog, state = _site_with_live(3, 5, [4, 3, 2])
    state = plan(catalog, rolled_back(state, catalog, "alpha", _jail(2)))
    slots = state.slots_of("alpha")
    assert slots is not None
    assert (slots.live, slots.previous) == (_jail(2), (_jail(5), _jail(4), _jail(3)))
    assert slots.rolled_back == (_jail(5), _jail(4), _jail(3))
    assert slots.rollback_target is None
    # an explicit target may be one live was rolled back from
    state = plan(catalog, rolled_back(state, catalog, "alpha", _jail(4)))
    slots = state.slots_of("alpha")
    assert slots is not None
    assert (slots.live, slots.previous) == (_jail(4), (_jail(2), _jail(5), _jail(3)))
    assert slots.rolled_back == (_jail(2), _jail(5), _jail(3))
    with pytest.raises(JailgenError, match=f"alpha: {_jail(9)} is not a retained previous jail"):
        rolled_back(state, catalog, "alpha", _jail(9))


def test_the_rollback_target_named_by_a_jail_or_commit_id() -> None:
    catalog, state = _site_with_live(3, 5, [4, 3, 2])
    app = catalog.apps["alpha"]
    slots = state.slots_of("alpha")
    assert slots is not None
    assert retained_target(app, state, slots, _jail(3)) == _jail(3)
    assert retained_target(app, state, slots, "2222222") == _jail(2)
    assert retained_target(app, state, slots, "4" * 40) == _jail(4)
    with pytest.raises(NotRetained) as caught:
        retained_target(app, state, slots, "5555")
    assert str(caught.value) == f"alpha: 5555 is live already ({_jail(5)})"
    with pytest.raises(NotRetained) as caught:
        retained_target(app, state, slots, "7777777")
    assert str(caught.value) == (
        "alpha: 7777777 is not a retained release that is running; retained and running: "
        f"{_jail(4)}, {_jail(3)}, {_jail(2)}"
    )
    state = plan(catalog, rolled_back(state, catalog, "alpha"))
    slots = state.slots_of("alpha")
    assert slots is not None
    with pytest.raises(NotRetained) as caught:
        retained_target(app, state, slots, _jail(1))
    assert str(caught.value) == (
        f"alpha: {_jail(1)} is not a retained release that is running; retained and running: "
        f"{_jail(5)} (rolled back from), {_jail(3)}, {_jail(2)}"
    )
