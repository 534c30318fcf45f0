"""A freshly installed FreeBSD 14.1 host with ZFS, as the model starts it.

Pool `zroot` (mounted at /zroot), interfaces lo0 and em0, pkg bootstrapped,
jails not yet enabled, no /etc/jail.conf. `python -m fbmodel.init ROOT` makes one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .dist import GROUP, PASSWD
from .host import HOST_PATCH, HOST_RELEASE, Host, empty_state
from .pkg import REPOSITORY, files_of
from .rc import DEFAULTS

TOOL = Path(__file__).resolve().parent / "tool.py"

RC_SUBR = """\
# /etc/rc.subr of the FreeBSD model: an rc.d script that sources it and calls
# run_rc_command is run by the model (rc.py), which keeps the services' state.
load_rc_config() {{ :; }}
checkyesno() {{
	eval _value=\\$$1
	case $_value in [Yy][Ee][Ss]|[Tt][Rr][Uu][Ee]|[Oo][Nn]|1) return 0 ;; esac
	return 1
}}
run_rc_command() {{
	exec {tool} rc.subr "$0" "$@"
}}
"""

RC_D_JAIL = """\
#!/bin/sh
#
# PROVIDE: jail
# REQUIRE: LOGIN FILESYSTEMS
# BEFORE: securelevel
# KEYWORD: shutdown

. /etc/rc.subr

name="jail"
desc="Manage system jails"
rcvar="jail_enable"
extra_commands="config console status"

load_rc_config $name
run_rc_command $@
"""


def init_host(root: Path, hostname: str = "jail1.example.net") -> Host:
    """Create the model root of a new host at `root` (which must not exist or be empty)."""
    root.mkdir(parents=True, exist_ok=True)
    host = Host(root)
    host.meta.mkdir()
    (host.meta / "snapshots").mkdir()
    for directory in (
        "/etc/defaults",
        "/etc/rc.d",
        "/usr/local/bin",
        "/usr/local/sbin",
        "/usr/local/etc/rc.d",
        "/var/db/pkg",
        "/var/log",
        "/var/run",
        "/var/tmp",
    ):
        host.path(directory).mkdir(parents=True, exist_ok=True)
    files = {
        "/etc/defaults/rc.conf": DEFAULTS,
        "/etc/rc.conf": (
            f'hostname="{hostname}"\nzfs_enable="YES"\nifconfig_em0="DHCP"\nsshd_enable="YES"\n'
        ),
        "/etc/rc.subr": RC_SUBR.format(tool=TOOL),
        "/etc/rc.d/jail": RC_D_JAIL,
        "/etc/passwd": PASSWD,
        "/etc/group": GROUP,
    }
    for path, content in files.items():
        host.path(path).write_text(content)
    host.path("/etc/rc.d/jail").chmod(0o555)
    state = empty_state()
    state["pools"] = {"zroot": {"full": False}}
    state["datasets"] = {"zroot": {"type": "filesystem", "created": 1, "canmount": "on"}}
    (root / "zroot").mkdir()
    state["interfaces"] = {
        "em0": {"addresses": [["192.0.2.10", 24]], "cloned": False, "up": True},
        "lo0": {"addresses": [["127.0.0.1", 8]], "cloned": False, "up": True},
    }
    state["userland"] = f"{HOST_RELEASE}-{HOST_PATCH}"
    state["hostname"] = hostname
    # Every removed jail stays dying for a moment, as one that served
    # connections does on FreeBSD, so that what waits for it is exercised.
    state["dying_seconds"] = 1.0
    host.state = state
    version, origin, comment, _ = REPOSITORY["pkg"]
    for path, target in files_of("pkg").items():
        assert isinstance(target, Path)
        host.path(path).symlink_to(target)
    host.path("/var/db/pkg/fbmodel.json").write_text(
        json.dumps(
            {"pkg": {"version": version, "origin": origin, "comment": comment, "automatic": False}}
        )
    )
    host.save()
    (host.meta / "lock").touch()
    return host


if __name__ == "__main__":
    init_host(Path(sys.argv[1]), *sys.argv[2:3])
