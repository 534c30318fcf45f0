"""The pfctl model: an anchor is replaced as a whole, established connections
keep the translation of their state, and bad rules load nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.freebsd.fbmodel import pf
from tests.freebsd.fbmodel.host import Host

BIN = Path(__file__).resolve().parent / "bin"
RULE = "rdr pass proto tcp from any to 172.31.255.254 port 8000 -> {} port 8000\n"


PF_CONF = 'set skip on lo0\nrdr-anchor "site"\nanchor "site"\npass all\n'


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A fresh host: pf not enabled, no pf.conf loaded."""
    subprocess.run(
        ["python3", "-m", "fbmodel.init", str(tmp_path / "host")],
        cwd=Path(__file__).resolve().parent,
        check=True,
        capture_output=True,
    )
    return tmp_path / "host"


@pytest.fixture
def root(bare: Path) -> Path:
    """A host whose operator enabled pf with a pf.conf that hooks the anchor "site"."""
    load_main(bare, PF_CONF)
    enabled = pfctl(bare, "-e")
    assert (enabled.returncode, enabled.stderr) == (0, "pf enabled\n")
    return bare


def load_main(root: Path, text: str) -> None:
    (root / "etc/pf.conf").write_text(text)
    loaded = pfctl(root, "-f", "/etc/pf.conf")
    assert loaded.returncode == 0, loaded.stderr


def pfctl(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FREEBSD_MODEL_ROOT": str(root)}
    return subprocess.run(
        [str(BIN / "pfctl"), *args], env=env, capture_output=True, text=True, check=False
    )


def write_anchor(root: Path, text: str) -> None:
    (root / "usr/local/etc/site.pf").write_text(text)


def test_replacing_the_anchor_keeps_established_connections_on_their_jail(root: Path) -> None:
    write_anchor(root, RULE.format("172.16.0.2"))
    assert pfctl(root, "-a", "site", "-f", "/usr/local/etc/site.pf").returncode == 0
    with Host.open(root) as host:
        assert pf.connect(host, "172.16.0.1:40001", "172.31.255.254", 8000) == ("172.16.0.2", 8000)

    write_anchor(root, RULE.format("172.16.0.3"))
    assert pfctl(root, "-a", "site", "-f", "/usr/local/etc/site.pf").returncode == 0
    shown = pfctl(root, "-a", "site", "-s", "nat")
    assert shown.stdout == (
        "rdr pass inet proto tcp from any to 172.31.255.254 port = 8000 -> 172.16.0.3 port 8000\n"
    )
    with Host.open(root) as host:
        assert pf.state_target(host, "172.16.0.1:40001", "172.31.255.254", 8000) == (
            "172.16.0.2",
            8000,
        )
        assert pf.connect(host, "172.16.0.1:40002", "172.31.255.254", 8000) == ("172.16.0.3", 8000)


def test_an_empty_anchor_translates_nothing(root: Path) -> None:
    write_anchor(root, "# nothing routed\n")
    assert pfctl(root, "-a", "site", "-f", "/usr/local/etc/site.pf").returncode == 0
    assert pfctl(root, "-a", "site", "-s", "nat").stdout == ""
    with Host.open(root) as host:
        assert pf.connect(host, "172.16.0.1:40003", "172.31.255.254", 8000) == (
            "172.31.255.254",
            8000,
        )


def test_a_syntax_error_loads_nothing_and_check_mode_loads_nothing(root: Path) -> None:
    write_anchor(root, RULE.format("172.16.0.2"))
    assert pfctl(root, "-n", "-a", "site", "-f", "/usr/local/etc/site.pf").returncode == 0
    assert (
        pfctl(root, "-a", "site", "-s", "nat").stderr == "pfctl: DIOCGETRULES: Invalid argument\n"
    )

    write_anchor(root, RULE.format("172.16.0.2") + "rdr to nowhere\n")
    failed = pfctl(root, "-a", "site", "-f", "/usr/local/etc/site.pf")
    assert (failed.returncode, failed.stderr) == (
        1,
        "/usr/local/etc/site.pf:2: syntax error\n"
        "pfctl: Syntax error in config file: pf rules not loaded\n",
    )
    assert pfctl(root, "-a", "site", "-s", "nat").returncode == 1


def test_the_main_ruleset_shows_its_translation_hooks_and_pf_reports_its_status(
    bare: Path,
) -> None:
    assert pfctl(bare, "-s", "info").stdout.startswith("Status: Disabled for ")
    load_main(bare, PF_CONF)
    assert pfctl(bare, "-s", "nat").stdout == 'rdr-anchor "site" all\n'
    assert pfctl(bare, "-e").returncode == 0
    assert pfctl(bare, "-s", "info").stdout.startswith("Status: Enabled for ")
    again = pfctl(bare, "-e")
    assert (again.returncode, again.stderr) == (1, "pfctl: pf already enabled\n")
    assert pfctl(bare, "-d").stderr == "pf disabled\n"
    stopped = pfctl(bare, "-d")
    assert (stopped.returncode, stopped.stderr) == (1, "pfctl: pf not enabled\n")


@pytest.mark.parametrize(
    ("pf_conf", "enable"),
    [
        ('rdr-anchor "other"\npass all\n', True),  # the anchor is loaded but never hooked
        (PF_CONF, False),  # pf is not enabled
        ('set skip on { lo0 lo1 }\nrdr-anchor "site"\n', True),  # the jail interface is skipped
        ('set skip on lo\nrdr-anchor "site"\n', True),  # so is its group, lo
    ],
)
def test_an_anchor_translates_only_when_pf_is_enabled_hooks_it_and_does_not_skip_the_interface(
    bare: Path, pf_conf: str, enable: bool
) -> None:
    load_main(bare, pf_conf)
    if enable:
        assert pfctl(bare, "-e").returncode == 0
    write_anchor(bare, RULE.format("172.16.0.2"))
    assert pfctl(bare, "-a", "site", "-f", "/usr/local/etc/site.pf").returncode == 0
    with Host.open(bare) as host:
        assert pf.connect(host, "172.16.0.1:40004", "172.31.255.254", 8000) == (
            "172.31.255.254",
            8000,
        )


def test_a_main_ruleset_with_a_syntax_error_loads_nothing(root: Path) -> None:
    (root / "etc/pf.conf").write_text('rdr-anchor "site"\nrdr-anchors "site"\n')
    failed = pfctl(root, "-f", "/etc/pf.conf")
    assert (failed.returncode, failed.stderr) == (
        1,
        "/etc/pf.conf:2: syntax error\npfctl: Syntax error in config file: pf rules not loaded\n",
    )
    assert pfctl(root, "-s", "nat").stdout == 'rdr-anchor "site" all\n'


def test_interfaces_show_what_set_skip_names(bare: Path) -> None:
    load_main(bare, 'set skip on lo\nrdr-anchor "site"\n')
    assert pfctl(bare, "-s", "Interfaces").stdout == "all\nem\nem0\nlo\nlo0\n"
    assert pfctl(bare, "-s", "Interfaces", "-v").stdout == "all\nem\nem0\nlo (skip)\nlo0\n"
