"""The edge keys of the catalog: `test_access` and `maintenance`, with their
site defaults, as parsed; the Hiera data and NGINX configuration they give."""

from __future__ import annotations

from generator.catalog import parse_catalog
from generator.edge import DEFAULT_MESSAGE, MaintenancePage, TestAccess
from generator.render.hiera import node_data
from generator.state import DeploymentState, HostState
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
    assert shop.test_access == TestAccess(("10.0.0.0/8",), None)
    assert shop.maintenance == MaintenancePage("Back at noon.", 3600)
    # an app's own key replaces the site's as a whole
    assert blog.test_access == TestAccess((), "/etc/nginx/qa.htpasswd")
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
