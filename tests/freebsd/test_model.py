"""The FreeBSD model itself: each tool keeps state, and fails where and how the
real tool does."""

from __future__ import annotations

import time

import pytest

from tests.freebsd.conftest import Model
from tests.freebsd.fbmodel import jailconf
from tests.freebsd.fbmodel.host import ToolError, read_calls, read_state

RELEASE = "14.1-RELEASE"
TEMPLATE = f"zroot/jails/templates/{RELEASE}"
BASE_URL = f"https://download.freebsd.org/releases/amd64/{RELEASE}/base.txz"

JAIL_CONF = """\
# a jail as the freebsd provider writes it
web_1 {
\texec.start = "/bin/sh /etc/rc";
\texec.stop = "/bin/sh /etc/rc.shutdown";
\texec.consolelog = "/var/log/jail_console_${name}.log";
\texec.clean;
\tmount.devfs;
\thost.hostname = "${name}";
\tpath = "/usr/local/jails/containers/web_1";
\tinterface = lo1;
\tip4.addr = 172.16.0.2;
}
"""


def ok(result: object) -> None:
    assert getattr(result, "status", None) == 0, result


def wait_until_gone(model: Model, name: str) -> None:
    """Until `jls -d` no longer lists a removed jail (the model's jails die
    within dying_seconds, 1 s on a fresh host)."""
    deadline = time.monotonic() + 5
    while name in model("jls", "-d", "-q", "name").out.split():
        assert time.monotonic() < deadline, f"{name} is still dying"
        time.sleep(0.1)


def host_with_template(model: Model) -> None:
    """The state the module's template class leaves: lo1, jails enabled, @base."""
    for argv in (
        ["sysrc", "cloned_interfaces+=lo1", "ifconfig_lo1=inet 172.16.0.1/12", "jail_enable=YES"],
        ["ifconfig", "lo1", "create"],
        ["ifconfig", "lo1", "inet", "172.16.0.1/12", "alias"],
        ["zfs", "create", "-p", "-o", "mountpoint=/usr/local/jails", "zroot/jails"],
        ["zfs", "create", "zroot/jails/media"],
        ["zfs", "create", "zroot/jails/containers"],
        ["zfs", "create", "-p", TEMPLATE],
        ["fetch", "-q", "-o", f"/usr/local/jails/media/{RELEASE}-base.txz", BASE_URL],
        [
            "tar",
            "-x",
            "-f",
            f"/usr/local/jails/media/{RELEASE}-base.txz",
            "-C",
            f"/usr/local/jails/templates/{RELEASE}",
            "--unlink",
        ],
        ["zfs", "snapshot", f"{TEMPLATE}@base"],
    ):
        ok(model(*argv))
    model.path("/etc/jail.conf.d").mkdir()
    model.path("/etc/jail.conf").write_text('.include "/etc/jail.conf.d/*.conf";\n')


def new_jail(model: Model, name: str = "web_1", conf: str = JAIL_CONF) -> None:
    ok(
        model(
            "zfs",
            "clone",
            "-o",
            f"mountpoint=/usr/local/jails/containers/{name}",
            f"{TEMPLATE}@base",
            f"zroot/jails/containers/{name}",
        )
    )
    model.path(f"/etc/jail.conf.d/{name}.conf").write_text(conf.replace("web_1", name))


# --- zfs ---


def test_a_clone_needs_an_existing_snapshot(model: Model) -> None:
    host_with_template(model)
    missing = model("zfs", "clone", f"{TEMPLATE}@nope", "zroot/jails/containers/a")
    assert (missing.status, missing.err) == (
        1,
        f"cannot open '{TEMPLATE}@nope': dataset does not exist\n",
    )
    not_a_snapshot = model("zfs", "clone", TEMPLATE, "zroot/jails/containers/a")
    assert (
        not_a_snapshot.err == f"cannot open '{TEMPLATE}': missing '@' delimiter in snapshot name\n"
    )
    orphan = model("zfs", "clone", f"{TEMPLATE}@base", "zroot/nothing/a")
    assert orphan.err == "cannot create 'zroot/nothing/a': parent does not exist\n"
    assert "zroot/jails/containers/a" not in read_state(model.root)["datasets"]


def test_a_clone_starts_from_the_snapshot_in_a_real_directory(model: Model) -> None:
    host_with_template(model)
    model.path(f"/usr/local/jails/templates/{RELEASE}/etc/after-snapshot").write_text("later\n")
    new_jail(model)
    tree = model.path("/usr/local/jails/containers/web_1")
    assert (tree / "bin" / "sh").is_file()
    assert (tree / "bin" / "freebsd-version").read_text().count(
        f'USERLAND_VERSION="{RELEASE}"'
    ) == 1
    assert not (tree / "etc" / "after-snapshot").exists()
    listing = model(
        "zfs", "list", "-H", "-o", "name,origin,mountpoint", "zroot/jails/containers/web_1"
    )
    assert (
        listing.out
        == f"zroot/jails/containers/web_1\t{TEMPLATE}@base\t/usr/local/jails/containers/web_1\n"
    )


def test_destroy_refuses_children_dependents_and_busy_datasets(model: Model) -> None:
    host_with_template(model)
    new_jail(model)
    children = model("zfs", "destroy", TEMPLATE)
    assert children.status == 1
    assert children.err == (
        f"cannot destroy '{TEMPLATE}': filesystem has children\n"
        f"use '-r' to destroy the following datasets:\n{TEMPLATE}@base\n"
    )
    clones = model("zfs", "destroy", "-r", TEMPLATE)
    assert clones.err == (
        f"cannot destroy '{TEMPLATE}': filesystem has dependent clones\n"
        "use '-R' to destroy the following datasets:\nzroot/jails/containers/web_1\n"
    )
    snapshot = model("zfs", "destroy", f"{TEMPLATE}@base")
    assert snapshot.err.startswith(
        f"cannot destroy '{TEMPLATE}@base': snapshot has dependent clones\n"
    )
    ok(model("service", "jail", "start", "web_1"))
    busy = model("zfs", "destroy", "zroot/jails/containers/web_1")
    assert (busy.status, busy.err) == (
        1,
        "cannot unmount '/usr/local/jails/containers/web_1': pool or dataset is busy\n",
    )
    ok(model("service", "jail", "stop", "web_1"))
    # Stopped, the jail is dying for a while and its dataset stays busy.
    assert (model("zfs", "destroy", "zroot/jails/containers/web_1").err) == busy.err
    wait_until_gone(model, "web_1")
    ok(model("zfs", "destroy", "zroot/jails/containers/web_1"))
    assert not model.path("/usr/local/jails/containers/web_1").exists()
    ok(model("zfs", "destroy", "-r", TEMPLATE))


def test_zfs_list_create_and_command_line_errors(model: Model) -> None:
    ok(model("zfs", "create", "-p", "-o", "mountpoint=/usr/local/jails", "zroot/jails"))
    ok(model("zfs", "create", "zroot/jails/templates"))  # inherits /usr/local/jails/templates
    assert model("zfs", "create", "-p", "zroot/jails").status == 0  # -p: existing is fine
    again = model("zfs", "create", "zroot/jails")
    assert again.err == "cannot create 'zroot/jails': dataset already exists\n"
    listing = model("zfs", "list", "-H", "-p", "-o", "name,mountpoint", "-t", "filesystem")
    assert listing.out == (
        "zroot\t/zroot\nzroot/jails\t/usr/local/jails\nzroot/jails/templates\t/usr/local/jails/templates\n"
    )
    assert model.path("/usr/local/jails/templates").is_dir()
    missing = model("zfs", "list", "-H", "-o", "name", "-t", "snapshot", "zroot/jails@base")
    assert (missing.status, missing.out, missing.err) == (
        1,
        "",
        "cannot open 'zroot/jails@base': dataset does not exist\n",
    )
    bad = model("zfs", "clone", "-x", "a@b", "c")
    assert bad.status == 2  # zfs(8) EXIT STATUS: 2 for invalid command line options
    assert bad.err.startswith("invalid option 'x'\nusage:\n\tclone [-p] [-o property=value]")
    assert model("zfs", "frobnicate").err.startswith("unrecognized command 'frobnicate'")


def test_a_full_pool_fails_clones_with_out_of_space(model: Model) -> None:
    host_with_template(model)
    state = read_state(model.root)
    state["pools"]["zroot"]["full"] = True
    (model.root / ".model" / "state.json").write_text(__import__("json").dumps(state))
    full = model("zfs", "clone", f"{TEMPLATE}@base", "zroot/jails/containers/a")
    assert (full.status, full.err) == (
        1,
        "cannot create 'zroot/jails/containers/a': out of space\n",
    )
    assert not model.path("/usr/local/jails/containers/a").exists()


# --- jail.conf(5) ---


def test_jail_conf_parameters_variables_quoting_and_lists() -> None:
    config = jailconf.parse_text(
        """\
/* defaults for every jail */
exec.clean;
path = "/jails/${name}";     // double quotes expand
$pool = 10.0;
web {
    host.hostname = '${name}.literal';   # single quotes do not
    ip4.addr = ${pool}.2, "$pool.3";
    ip4.addr += 10.0.0.4;  # $pool.3 is the variable "pool", then ".3"
    exec.start = "/bin/sh /etc/rc \\"quoted\\"";
    allow.noraw_sockets;
}
"""
    )
    assert config.order == ["web"]
    assert config.parameters("web") == {
        "name": ["web"],
        "exec.clean": True,
        "path": ["/jails/web"],
        "host.hostname": ["${name}.literal"],
        "ip4.addr": ["10.0.2", "10.0.3", "10.0.0.4"],
        "exec.start": ['/bin/sh /etc/rc "quoted"'],
        "allow.noraw_sockets": True,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("web {\n  path = /x\n}\n", "jail.conf line 3: }: syntax error"),
        ("web {\n  path = /x;\n", "jail.conf: unexpected EOF"),
        ('web { path = "/x; }\n', "jail.conf: unexpected EOF"),
    ],
)
def test_jail_conf_syntax_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ToolError) as error:
        jailconf.parse_text(text)
    assert error.value.message == message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("allow.raw_sockets = yes;", 'jail: web_1: allow.raw_sockets: unknown boolean value "yes"'),
        ("allow.raw_sockets = on;", 'jail: web_1: allow.raw_sockets: unknown boolean value "on"'),
        ("allow.raw_sockets = no;", 'jail: web_1: allow.raw_sockets: unknown boolean value "no"'),
        ("mount.devfs = yes;", 'jail: web_1: mount.devfs: unknown boolean value "yes"'),
        ('devfs_ruleset = "false";', 'jail: web_1: devfs_ruleset: non-integer value "false"'),
        ("securelevel = 1x;", 'jail: web_1: securelevel: non-integer value "1x"'),
        ("ip4.addr += 172.16.0.300;", "jail: web_1: ip4.addr: not an IPv4 address: 172.16.0.300"),
        ('osrelease = "${nosuch}";', 'jail: web_1: osrelease: variable "nosuch" not found'),
        ("osrelease = $nosuch;", 'jail: web_1: osrelease: variable "nosuch" not found'),
        ("name = other;", 'jail: web_1: cannot redefine parameter "name".'),
        (
            "osrelease = caf\u00e9;",
            "jail: /etc/jail.conf.d/web_1.conf line 12: caf\u00e9: syntax error",
        ),
    ],
)
def test_jail_refuses_what_freebsd_refuses(model: Model, body: str, message: str) -> None:
    host_with_template(model)
    new_jail(model, conf=JAIL_CONF.replace("}\n", f"\t{body}\n}}\n"))
    started = model("service", "jail", "start", "web_1")
    assert message in started.out, started
    assert model("jls", "-q", "name").out == ""


def test_jail_conf_includes_its_directory(model: Model) -> None:
    host_with_template(model)
    new_jail(model)
    new_jail(model, "web_2", JAIL_CONF.replace("172.16.0.2", "172.16.0.3"))
    ok(model("jail", "-f", "/etc/jail.conf", "-c", "web_2"))
    assert model("jls", "-j", "web_2", "ip4.addr", "host.hostname", "path").out == (
        "172.16.0.3 web_2 /usr/local/jails/containers/web_2\n"
    )


# --- jails and rc.d/jail ---


def test_service_jail_start_runs_the_jail_with_its_address(model: Model) -> None:
    host_with_template(model)
    new_jail(model)
    started = model("service", "jail", "start", "web_1")
    assert started == type(started)(0, "Starting jails: web_1.\n", "")
    assert model("jls", "-q", "name").out == "web_1\n"
    assert model("jls", "-j", "web_1", "jid").out == "1\n"
    assert model("jls").out == (
        "   JID  IP Address      Hostname                      Path\n"
        "     1  172.16.0.2      web_1                         /usr/local/jails/containers/web_1\n"
    )
    assert "\tinet 172.16.0.2 netmask 0xffffffff\n" in model("ifconfig", "lo1").out
    assert model.path("/var/run/jail_web_1.id").read_text() == "1\n"
    ok(model("service", "jail", "stop", "web_1"))
    assert model("jls", "-q", "name").out == ""
    assert "172.16.0.2" not in model("ifconfig", "lo1").out
    calls = [
        [c["tool"], *c["args"]] for c in read_calls(model.root) if c.get("parent") == "rc.d/jail"
    ]
    assert calls == [
        ["jail", "-i", "-f", "/etc/jail.conf.d/web_1.conf", "-c", "web_1"],
        ["jail", "-q", "-f", "/etc/jail.conf.d/web_1.conf", "-r", "web_1"],
    ]


def test_service_jail_start_fails_as_rc_d_jail_does(model: Model) -> None:
    """rc.d/jail exits 0 and prints jail(8)'s complaint; only jls tells."""
    host_with_template(model)
    unknown = model("service", "jail", "start", "nosuch")
    assert unknown == type(unknown)(
        0, 'Starting jails: cannot start jail  "nosuch": \njail: "nosuch" not found\n.\n', ""
    )
    model.path("/etc/jail.conf.d/web_1.conf").write_text(JAIL_CONF)  # no dataset: no path
    no_path = model("service", "jail", "start", "web_1")
    assert no_path.out == (
        'Starting jails: cannot start jail  "web_1": \n'
        "jail: web_1: mount.devfs: /usr/local/jails/containers/web_1/dev: "
        "No such file or directory\n.\n"
    )
    assert model("jls", "-j", "web_1", "jid").err == 'jls: jail "web_1" not found\n'
    assert "172.16.0.2" not in model("ifconfig", "lo1").out  # the address was taken back


def test_a_jail_cannot_start_without_its_path(model: Model) -> None:
    host_with_template(model)
    conf = JAIL_CONF.replace("\tmount.devfs;\n", "").replace("web_1", "web_9")
    model.path("/etc/jail.conf.d/web_9.conf").write_text(conf)
    started = model("service", "jail", "start", "web_9")
    assert started.out == (
        'Starting jails: cannot start jail  "web_9": \n'
        "jail: web_9: path /usr/local/jails/containers/web_9: No such file or directory\n.\n"
    )


def test_a_jail_cannot_start_without_its_interface_or_with_a_taken_address(model: Model) -> None:
    host_with_template(model)
    new_jail(model)
    ok(model("ifconfig", "lo1", "destroy"))
    no_interface = model("service", "jail", "start", "web_1")
    assert no_interface.out == (
        'Starting jails: cannot start jail  "web_1": \n'
        "ifconfig: interface lo1 does not exist\n"
        "jail: web_1: /sbin/ifconfig lo1 inet 172.16.0.2 netmask 255.255.255.255 alias: failed\n.\n"
    )
    ok(model("ifconfig", "lo1", "create"))
    ok(model("ifconfig", "lo1", "inet", "172.16.0.2/32", "alias"))
    taken = model("service", "jail", "start", "web_1")
    assert "ifconfig: ioctl (SIOCAIFADDR): File exists\n" in taken.out
    assert model("jls", "-q", "name").out == ""


def test_jail_enable_no_means_service_jail_does_nothing(model: Model) -> None:
    host_with_template(model)
    new_jail(model)
    ok(model("sysrc", "jail_enable=NO"))
    refused = model("service", "jail", "start", "web_1")
    assert refused.out == (
        "Cannot 'start' jail. Set jail_enable to YES in /etc/rc.conf "
        "or use 'onestart' instead of 'start'.\n"
    )
    assert refused.status == 0
    ok(model("service", "jail", "onestart", "web_1"))
    assert model("jls", "-q", "name").out == "web_1\n"


def test_unknown_jail_parameters_are_refused(model: Model) -> None:
    host_with_template(model)
    new_jail(
        model, conf=JAIL_CONF.replace("\tmount.devfs;\n", "\tmount.devfs;\n\tallow.raw_socket;\n")
    )
    started = model("service", "jail", "start", "web_1")
    assert "jail: web_1: unknown parameter: allow.raw_socket\n" in started.out


def test_jls_parameter_forms(model: Model) -> None:
    host_with_template(model)
    new_jail(
        model,
        conf=JAIL_CONF.replace(
            "\tmount.devfs;\n", '\tmount.devfs;\n\tallow.raw_sockets = "false";\n'
        ),
    )
    second = JAIL_CONF.replace("\tmount.devfs;\n", "\tmount.devfs;\n\tallow.raw_sockets;\n")
    new_jail(model, "web_2", second.replace("172.16.0.2", "172.16.0.3"))
    ok(model("service", "jail", "start", "web_1", "web_2"))
    assert model("jls", "-n", "name", "allow.raw_sockets").out == (
        "name=web_1 allow.noraw_sockets\nname=web_2 allow.raw_sockets\n"
    )
    assert model("jls", "name", "allow.raw_sockets").out == "web_1 false\nweb_2 true\n"
    unknown = model("jls", "interface")
    assert (unknown.status, unknown.err) == (1, "jls: unknown parameter: interface\n")
    assert model("jls", "-x").err == "jls: usage: jls [-dhNnqv] [-j jail] [param ...]\n"


def test_a_jail_boots_its_enabled_services(model: Model) -> None:
    host_with_template(model)
    new_jail(model)
    tree = model.path("/usr/local/jails/containers/web_1")
    (tree / "usr/local/etc/rc.d").mkdir(parents=True)
    (tree / "usr/local/etc/rc.d/web").write_text(
        '#!/bin/sh\n. /etc/rc.subr\nname="web"\nrcvar="web_enable"\n'
        'command="/usr/sbin/daemon"\nrun_rc_command "$1"\n'
    )
    ok(model("sysrc", "-f", "/usr/local/jails/containers/web_1/etc/rc.conf", "web_enable=YES"))
    ok(model("service", "jail", "start", "web_1"))
    assert model("jexec", "web_1", "service", "web", "status").out.startswith(
        "web is running as pid "
    )
    assert model("sysrc", "-j", "web_1", "-n", "web_enable").out == "YES\n"
    assert model.path("/var/log/jail_console_web_1.log").read_text() == "Starting web.\n"
    ok(model("service", "jail", "stop", "web_1"))
    assert model("jexec", "web_1", "hostname").err == 'jexec: jail "web_1" not found\n'


RC_SCRIPT = (
    '#!/bin/sh\n. /etc/rc.subr\nname="web"\nrcvar="web_enable"\n'
    'load_rc_config "$name"\n: "${web_enable:=NO}"\n%s\n'
    'pidfile="/var/run/${name}.pid"\ncommand="/usr/sbin/daemon"\n%s\nrun_rc_command "$1"\n'
)


def jail_with_service(model: Model, defaults: str, start_cmd: str) -> None:
    host_with_template(model)
    new_jail(model)
    tree = model.path("/usr/local/jails/containers/web_1")
    (tree / "usr/local/etc/rc.d").mkdir(parents=True)
    (tree / "usr/local/etc/rc.d/web").write_text(RC_SCRIPT % (defaults, start_cmd))
    ok(model("sysrc", "-f", "/usr/local/jails/containers/web_1/etc/rc.conf", "web_enable=YES"))
    ok(model("service", "jail", "start", "web_1"))


def test_rc_subr_stops_as_name_user_which_fails_against_a_root_supervisor(model: Model) -> None:
    """With ${name}_user set, rc.subr's stop runs kill(1) as that user; a
    start_cmd of the script's own started the daemon(8) supervisor as root."""
    jail_with_service(model, ': "${web_user:=www}"', 'start_cmd="web_start"')
    assert model("jexec", "web_1", "service", "web", "status").status == 0
    stop = model("jexec", "web_1", "service", "web", "stop")
    pid = stop.err.split(":")[1].strip() if stop.err else ""
    assert (stop.status, stop.out, stop.err) == (
        1,
        "Stopping web.\n",
        f"kill: {pid}: Operation not permitted\n",
    )
    assert model("jexec", "web_1", "service", "web", "status").status == 0  # still running


def test_rc_subr_stops_a_root_service_without_name_user(model: Model) -> None:
    jail_with_service(model, ': "${web_runas:=www}"', 'start_cmd="web_start"')
    stop = model("jexec", "web_1", "service", "web", "stop")
    assert (stop.status, stop.out.splitlines()[0]) == (0, "Stopping web.")
    status = model("jexec", "web_1", "service", "web", "status")
    assert (status.status, status.out) == (1, "web is not running.\n")


def test_rc_subr_default_start_runs_as_name_user_so_stop_works(model: Model) -> None:
    jail_with_service(model, ': "${web_user:=www}"', "")
    ok(model("jexec", "web_1", "service", "web", "stop"))


def test_a_removed_jail_is_dying_and_keeps_its_dataset_busy(model: Model) -> None:
    host_with_template(model)
    new_jail(model)
    ok(model("service", "jail", "start", "web_1"))
    ok(model("service", "jail", "stop", "web_1"))
    assert model("jls", "-q", "name").out == ""
    assert model("jls", "-d", "-q", "name").out == "web_1\n"
    assert model("jls", "-d", "-j", "web_1", "dying").out == "true\n"
    busy = model("zfs", "destroy", "zroot/jails/containers/web_1")
    assert (busy.status, busy.err) == (
        1,
        "cannot unmount '/usr/local/jails/containers/web_1': pool or dataset is busy\n",
    )
    wait_until_gone(model, "web_1")
    assert model("jls", "-d", "-q", "name").out == ""
    ok(model("zfs", "destroy", "zroot/jails/containers/web_1"))


def test_rc_d_jail_at_boot_starts_jail_list_or_every_jail_when_it_is_empty(model: Model) -> None:
    """rc.d/jail: `run_rc_command start ${jail_list:-_ALL}`."""
    host_with_template(model)
    new_jail(model)
    new_jail(model, "web_2", JAIL_CONF.replace("172.16.0.2", "172.16.0.3"))
    ok(model("sysrc", "jail_list=web_2"))
    ok(model("service", "jail", "start"))
    assert model("jls", "-q", "name").out == "web_2\n"
    ok(model("service", "jail", "stop"))
    ok(model("sysrc", "jail_list="))
    ok(model("service", "jail", "start"))
    assert model("jls", "-q", "name").out == "web_1\nweb_2\n"


# --- sysrc, ifconfig, pkg, the template tools ---


def test_sysrc_on_the_host(model: Model) -> None:
    assert model("sysrc", "-n", "cloned_interfaces").out == "\n"  # set in /etc/defaults/rc.conf
    assert model("sysrc", "cloned_interfaces+=lo1").out == "cloned_interfaces:  -> lo1\n"
    assert model("sysrc", "cloned_interfaces+=lo1").out == "cloned_interfaces: lo1 -> lo1\n"
    assert model("sysrc", "-c", "cloned_interfaces+=lo1").status == 0
    assert model("sysrc", "-c", "jail_enable=YES").status == 1
    assert model("sysrc", "jail_enable=YES").out == "jail_enable: NO -> YES\n"
    assert model("sysrc", "nosuch").err == "sysrc: unknown variable 'nosuch'\n"
    assert 'jail_enable="YES"\n' in model.path("/etc/rc.conf").read_text()


def test_ifconfig_cloned_loopback(model: Model) -> None:
    assert model("ifconfig", "lo1").err == "ifconfig: interface lo1 does not exist\n"
    ok(model("ifconfig", "lo1", "create"))
    assert model("ifconfig", "lo1", "create").err == "ifconfig: SIOCIFCREATE2 (lo1): File exists\n"
    ok(model("ifconfig", "lo1", "inet", "172.16.0.1/12", "alias"))
    assert model("ifconfig", "lo1", "inet").out == (
        "lo1: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384\n"
        "\toptions=680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>\n"
        "\tinet 172.16.0.1 netmask 0xfff00000\n"
    )
    again = model("ifconfig", "lo1", "inet", "172.16.0.1/12", "alias")
    assert again.err == "ifconfig: ioctl (SIOCAIFADDR): File exists\n"


def test_pkg_installs_per_root(model: Model) -> None:
    host_with_template(model)
    new_jail(model)
    root = "/usr/local/jails/containers/web_1"
    assert model("pkg", "-r", root, "info", "-e", "python311").status == 1
    ok(model("pkg", "-r", root, "install", "-y", "py311-sqlite3"))
    assert model("pkg", "-r", root, "info", "-e", "python311").status == 0  # a dependency
    assert model("pkg", "info", "-e", "python311").status == 1  # not on the host
    assert model.path(f"{root}/usr/local/bin/python3.11").is_file()
    missing = model("pkg", "install", "-y", "nosuch")
    assert missing.err == (
        "pkg: No packages available to install matching 'nosuch' "
        "have been found in the repositories\n"
    )
    assert model("pkg", "query", "%n %v %o", "pkg").out == "pkg 1.21.3 ports-mgmt/pkg\n"


def test_fetch_reaches_only_the_release_mirror(model: Model) -> None:
    assert model("fetch", "-q", "-o", "/var/tmp/x", "https://git.example.com/x").err == (
        "fetch: https://git.example.com/x: No address record\n"
    )
    gone = model("fetch", "-q", "-o", "/var/tmp/x", BASE_URL.replace(RELEASE, "9.9-RELEASE"))
    assert gone.err.endswith("9.9-RELEASE/base.txz: Not Found\n")
    assert (
        model("tar", "-x", "-f", "/var/tmp/x", "-C", "/var/tmp").err
        == "tar: Error opening archive: Failed to open '/var/tmp/x'\n"
    )


def test_freebsd_update_patches_a_base_and_refuses_without_a_terminal(model: Model) -> None:
    host_with_template(model)
    basedir = f"/usr/local/jails/templates/{RELEASE}"
    cron = model("freebsd-update", "-b", basedir, "fetch", "install")
    assert cron.err == (
        "`freebsd-update fetch` should not be run non-interactively.\n"
        "Run `freebsd-update cron` instead.\n"
    )
    args = [
        "-b",
        basedir,
        "--currently-running",
        RELEASE,
        "--not-running-from-cron",
        "fetch",
        "install",
    ]
    ok(model("freebsd-update", *args))
    assert (
        'USERLAND_VERSION="14.1-RELEASE-p6"'
        in model.path(f"{basedir}/bin/freebsd-version").read_text()
    )
    assert (
        "No updates needed to update system to 14.1-RELEASE-p6."
        in model("freebsd-update", *args).out
    )


def test_every_call_is_logged_and_the_executables_work(model: Model) -> None:
    result = model.exe("zfs", "list", "-H", "-o", "name")
    assert (result.status, result.out) == (0, "zroot\n")
    assert model.exe("jls", "-j", "nosuch").err == 'jls: jail "nosuch" not found\n'
    assert model.exe("freebsd-version", "-ku").out == "14.1-RELEASE-p5\n14.1-RELEASE-p5\n"
    calls = read_calls(model.root)
    assert [(c["tool"], c["args"], c["status"]) for c in calls] == [
        ("zfs", ["list", "-H", "-o", "name"], 0),
        ("jls", ["-j", "nosuch"], 1),
        ("freebsd-version", ["-ku"], 0),
    ]


def test_chroot_checks_its_user_and_root_and_runs_only_what_the_root_holds(model: Model) -> None:
    root = "/usr/local/jails/containers/web_1"
    for path in ("bin", "usr/local/web"):
        model.path(f"{root}/{path}").mkdir(parents=True)
    (model.path(f"{root}/bin/sh")).write_text("#!/bin/sh\n")
    model.path(f"{root}/bin/sh").chmod(0o555)
    ok(model("pkg", "-r", root, "install", "-y", "node20"))
    script = ["/bin/sh", "-c", 'cd "$1" || exit 1; shift; exec "$@"', "build"]
    user = model("chroot", "-u", "nosuchuser", root, "/bin/sh")
    assert (user.status, user.err) == (1, "chroot: no such user `nosuchuser'\n")
    missing = model("chroot", "-u", "www", "/usr/local/jails/containers/none", "/bin/sh")
    assert (missing.status, missing.err) == (
        1,
        "chroot: /usr/local/jails/containers/none: No such file or directory\n",
    )
    absent = model("chroot", root, "/usr/local/bin/npm", "ci")
    assert (absent.status, absent.err) == (
        1,
        "chroot: /usr/local/bin/npm: No such file or directory\n",
    )
    nodir = model("chroot", root, *script, "/usr/local/nowhere", "node")
    assert (nodir.status, nodir.err) == (
        1,
        "build: cd: /usr/local/nowhere: No such file or directory\n",
    )
    notfound = model("chroot", root, *script, "/usr/local/web", "npm", "ci")
    assert (notfound.status, notfound.err) == (127, "build: exec: npm: not found\n")
    ok(
        model(
            "chroot",
            "-u",
            "www",
            "-g",
            "www",
            root,
            *script,
            "/usr/local/web",
            "/usr/local/bin/node",
            "-v",
        )
    )
    (execution,) = read_state(model.root)["executions"]
    assert (execution["argv"], execution["cwd"], execution["uid"], execution["gid"]) == (
        ["/usr/local/bin/node", "-v"],
        "/usr/local/web",
        80,
        80,
    )
    other = model("chroot", root, "/bin/sh", "-c", "echo hi")
    assert (other.status, other.err) == (
        3,
        "fbmodel: running /bin/sh in a chroot is not modelled\n",
    )
    usage = model("chroot")
    assert usage.status == 1 and usage.err.startswith("usage: chroot [-d] [-n]")
