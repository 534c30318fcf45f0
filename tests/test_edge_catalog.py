"""The edge keys of the catalog: `test_access` and `maintenance`, with their
site defaults, as parsed; the Hiera data and NGINX configuration they give."""

from __future__ import annotations

from generator import edge
from generator.catalog import parse_catalog
from generator.edge import DEFAULT_MESSAGE, MaintenancePage
from generator.render.hiera import node_data
from generator.state import (
    DeploymentState,
    HostState,
    plan,
    promoted,
    rolled_back,
    state_from_node_data,
    with_maintenance,
)
from generator.state_check import check_node_data
from tests.test_catalog import MINIMAL

BLOG = """\
  blog:
    hosts: [web1.example.net]
    domains: [blog.example.com]
    test_domain: blog.test.example.com
    source: https://git.example.com/blog.git
    run: {command: [bin/blog], port: 8000}
"""


def test_an_app_without_its_own_keys_takes_the_site_defaults() -> None:
    text = MINIMAL.replace(
        "site: {}",
        "site:\n  test_access: {networks: [10.0.0.0/8, 10.0.0.0/8]}\n"
        "  maintenance: {message: Back at noon., retry_after: 3600}",
    )
    text += BLOG + "    test_access: {htpasswd: /etc/nginx/qa.htpasswd}\n"
    text += "    maintenance: {retry_after: 60}\n"
    catalog = parse_catalog(text, "c.yaml")
    shop, blog = catalog.apps["shop"], catalog.apps["blog"]
    assert shop.test_access == edge.TestAccess(("10.0.0.0/8",), None)
    assert shop.maintenance == MaintenancePage("Back at noon.", 3600)
    # an app's own key replaces the site's as a whole
    assert blog.test_access == edge.TestAccess(htpasswd="/etc/nginx/qa.htpasswd")
    assert blog.maintenance == MaintenancePage(DEFAULT_MESSAGE, 60)


def test_without_any_key_the_test_domain_is_open() -> None:
    catalog = parse_catalog(MINIMAL, "c.yaml")
    assert catalog.apps["shop"].test_access is None
    assert catalog.apps["shop"].maintenance == MaintenancePage(DEFAULT_MESSAGE, 600)
    data = node_data(
        catalog,
        DeploymentState({"web1.example.net": HostState("web1.example.net")}),
        "web1.example.net",
    )
    assert "test_access" not in data["jails::apps"]["shop"]


def test_test_access_reaches_the_node_data() -> None:
    text = MINIMAL + "    test_access: {networks: [192.0.2.0/24], htpasswd: /srv/qa.htpasswd}\n"
    catalog = parse_catalog(text, "c.yaml")
    state = DeploymentState({"web1.example.net": HostState("web1.example.net")})
    app = node_data(catalog, state, "web1.example.net")["jails::apps"]["shop"]
    assert app["test_access"] == {"networks": ["192.0.2.0/24"], "htpasswd": "/srv/qa.htpasswd"}


def test_maintenance_survives_promotion_and_rollback_and_round_trips_through_hiera() -> None:
    from tests.test_state import _jail, _site_with_live

    catalog, state = _site_with_live(3, 5, [4])
    state = plan(catalog, with_maintenance(state, catalog, "alpha", "Back at noon."))
    data = node_data(catalog, state, "dev.example.net")
    assert data["jails::apps"]["alpha"]["maintenance"] == {
        "message": "Back at noon.",
        "retry_after": 600,
    }
    again = state_from_node_data("dev.example.net", "jails", data)
    assert again.slots["alpha"] == state.hosts["dev.example.net"].slots["alpha"]
    for step in (rolled_back, promoted):
        state = plan(catalog, step(state, catalog, "alpha"))
        slots = state.slots_of("alpha")
        assert slots is not None and slots.maintenance == "Back at noon."
    assert slots.live == _jail(5)
    state = plan(catalog, with_maintenance(state, catalog, "alpha", None))
    assert "maintenance" not in node_data(catalog, state, "dev.example.net")["jails::apps"]["alpha"]


def test_a_hand_edited_maintenance_entry_is_checked() -> None:
    data = {"jails::apps": {"shop": {"maintenance": {"message": "a\nb"}}}}
    assert check_node_data("jails", data) == [
        (
            ("jails::apps", "shop", "maintenance"),
            "invalid value {'message': 'a\\nb'} (expected a mapping with a message: one line "
            "of 1 to 300 printable characters)",
        )
    ]
    assert (
        check_node_data("jails", {"jails::apps": {"shop": {"maintenance": {"message": "ok"}}}})
        == []
    )
