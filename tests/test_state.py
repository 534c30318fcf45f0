from __future__ import annotations

import pytest

from generator.catalog import parse_catalog
from generator.errors import JailgenError
from generator.state import DeploymentState, HostState, Jail, Slots, plan

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
