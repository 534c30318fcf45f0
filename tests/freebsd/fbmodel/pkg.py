"""pkg(8) with a small repository, and the git(1) that `pkg install git` puts
in /usr/local/bin.

Each root (the host's `/`, or a jail's path given with `pkg -r`) has its own
package database, `<root>/var/db/pkg/fbmodel.json`, so a jail's packages live
and die with its dataset. Installing a package puts its files in that root:
git and nginx work (git is the machine's own git, limited to local
repositories; nginx is the model's, see nginx.py), the others are stand-ins.
"""

from __future__ import annotations

import getopt
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .host import OWNED_PREFIXES, Host, Output, ToolError

BIN = Path(__file__).resolve().parent.parent / "bin"


def nginx_rc_script() -> str:
    return """\
#!/bin/sh
#
# PROVIDE: nginx
# REQUIRE: LOGIN cleanvar
# KEYWORD: shutdown
#
# nginx_enable (bool): Set to "NO" by default.
#                      Set it to "YES" to enable nginx

. /etc/rc.subr

name="nginx"
rcvar=nginx_enable
extra_commands="reload configtest upgrade gracefulstop"

load_rc_config $name

: ${nginx_enable="NO"}

command="/usr/local/sbin/nginx"
pidfile="/var/run/nginx.pid"
required_files="/usr/local/etc/nginx/nginx.conf"

run_rc_command "$1"
"""


SAMPLE_NGINX_CONF = """\
# nginx.conf as the www/nginx package installs it (shortened).
worker_processes  1;

events {
    worker_connections  1024;
}

http {
    default_type  application/octet-stream;
    sendfile        on;
    keepalive_timeout  65;

    server {
        listen       80;
        server_name  localhost;
        location / {
            root   /usr/local/www/nginx;
            index  index.html index.htm;
        }
    }
}
"""


def stub(name: str) -> str:
    return f"#!/bin/sh\n# {name}: a stand-in installed by the FreeBSD model's pkg.\n"


def files_of(package: str) -> dict[str, str | Path | None]:
    """Files a package installs: content, a path to link to, or None for a directory."""
    if package == "pkg":
        return {"/usr/local/sbin/pkg": BIN / "pkg"}
    if package == "git":
        return {"/usr/local/bin/git": BIN / "git"}
    if package == "nginx":
        mime = Path("/etc/nginx/mime.types")
        return {
            "/usr/local/sbin/nginx": BIN / "nginx",
            "/usr/local/etc/rc.d/nginx": nginx_rc_script(),
            "/usr/local/etc/nginx/mime.types": mime.read_text() if mime.is_file() else "types {}\n",
            "/usr/local/etc/nginx/nginx.conf-dist": SAMPLE_NGINX_CONF,
            "/usr/local/etc/nginx/nginx.conf": SAMPLE_NGINX_CONF,
            "/var/log/nginx": None,
            "/var/tmp/nginx": None,
        }
    if package == "python311":
        return {"/usr/local/bin/python3.11": stub("python3.11")}
    if package == "py311-sqlite3":
        return {"/usr/local/lib/python3.11/lib-dynload/_sqlite3.so": stub("_sqlite3.so")}
    if package == "node20":
        return {"/usr/local/bin/node": stub("node")}
    if package == "npm-node20":
        return {"/usr/local/bin/npm": stub("npm")}
    return {}


# name -> (version, origin, comment, dependencies)
REPOSITORY: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "pkg": ("1.21.3", "ports-mgmt/pkg", "Package manager", ()),
    "git": ("2.45.2", "devel/git", "Distributed source code management tool", ()),
    "nginx": ("1.26.1_1,3", "www/nginx", "Robust and small WWW server", ()),
    "python311": (
        "3.11.9",
        "lang/python311",
        "Interpreted object-oriented programming language",
        (),
    ),
    "py311-sqlite3": (
        "3.11.9_8",
        "databases/py-sqlite3",
        "Standard Python binding to the SQLite3 library",
        ("python311",),
    ),
    "node20": ("20.15.0", "www/node20", "V8 JavaScript for client and server", ()),
    "npm-node20": ("10.8.1", "www/npm-node20", "Node package manager", ("node20",)),
}
USAGE = (
    "Usage: pkg [-v] [-d] [-l] [-N] [-j <jail name or id>|-c <chroot path>|-r <rootdir>] "
    "[-C <configuration file>] [-R <repo config dir>] [-o var=value] [-4|-6] <command> [<args>]\n\n"
    "For more information on available commands and options see 'pkg help'."
)


class Pkg:
    def __init__(self, host: Host, out: Output, root: str = "/") -> None:
        self.host = host
        self.out = out
        self.root = root

    def local(self, path: str) -> Path:
        base = "" if self.root == "/" else self.root.rstrip("/")
        return self.host.path(base + path)

    @property
    def db_file(self) -> Path:
        return self.local("/var/db/pkg/fbmodel.json")

    def db(self) -> dict[str, Any]:
        if self.db_file.is_file():
            data: dict[str, Any] = json.loads(self.db_file.read_text())
            return data
        return {}

    def save(self, db: dict[str, Any]) -> None:
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self.db_file.write_text(json.dumps(db, indent=1, sort_keys=True) + "\n")

    def run(self, args: list[str]) -> None:
        try:
            opts, rest = getopt.getopt(args, "vdlNj:c:r:C:R:o:46")
        except getopt.GetoptError as error:
            raise ToolError(f"pkg: illegal option -- {error.opt}\n{USAGE}", 1) from None
        for flag, value in opts:
            if flag == "-v":
                self.out.print(REPOSITORY["pkg"][0])
                return
            if flag == "-r":
                if not self.host.path(value).is_dir():
                    raise ToolError(
                        f"pkg: Unable to open rootdir {value}: No such file or directory", 1
                    )
                self.root = value
            if flag == "-j":
                record = self.host.state["jails"].get(value)
                if record is None:
                    raise ToolError(f'pkg: jail_getid: jail "{value}" not found', 1)
                self.root = str(record["path"])
            if flag == "-c":
                self.root = value
        if not rest:
            raise ToolError(USAGE, 1)
        command, words = rest[0], rest[1:]
        commands: dict[str, Callable[[list[str]], None]] = {
            "install": self.install,
            "add": self.install,
            "info": self.info,
            "query": self.query,
            "version": self.version,
            "delete": self.delete,
            "remove": self.delete,
            "bootstrap": self.bootstrap,
        }
        if command not in commands:
            raise ToolError(f"pkg: unknown command: {command}\n{USAGE}", 1)
        commands[command](words)

    def bootstrap(self, words: list[str]) -> None:
        del words
        self.out.print("pkg(8) already installed, use -f to force.")

    def install(self, words: list[str]) -> None:
        try:
            opts, names = getopt.getopt(words, "AfgIiMnFqRUxyr:")
        except getopt.GetoptError as error:
            raise ToolError(f"pkg: illegal option -- {error.opt}", 1) from None
        flags = {flag for flag, _ in opts}
        quiet = "-q" in flags
        if not names:
            raise ToolError(
                "Usage: pkg install [-AfInFMqRUy] [-r reponame] [-Cgix] <pkg-name> ...", 1
            )
        db = self.db()
        wanted: list[str] = []
        for name in names:
            base = re.sub(r"-[0-9][^-]*\Z", "", name.split("/")[-1])
            found = [n for n, meta in REPOSITORY.items() if n in (name, base) or meta[1] == name]
            if not found:
                # pkg-install(8): nothing in the repositories matches.
                raise ToolError(
                    f"pkg: No packages available to install matching '{name}' "
                    "have been found in the repositories",
                    1,
                )
            for dependency in REPOSITORY[found[0]][3]:
                if dependency not in db and dependency not in wanted:
                    wanted.append(dependency)
            if found[0] not in db and found[0] not in wanted:
                wanted.append(found[0])
        if not quiet:
            self.out.print("Updating FreeBSD repository catalogue...")
            self.out.print("FreeBSD repository is up to date.\nAll repositories are up to date.")
        if not wanted:
            if not quiet:
                self.out.print("Checking integrity... done (0 conflicting)")
                self.out.print("The most recent versions of packages are already installed")
            return
        if not quiet:
            self.out.print(
                f"The following {len(wanted)} package(s) will be affected (of 0 checked):\n"
            )
            self.out.print("New packages to be INSTALLED:")
            for name in wanted:
                self.out.print(f"\t{name}: {REPOSITORY[name][0]}")
            self.out.print(f"\nNumber of packages to be installed: {len(wanted)}\n")
        if "-y" not in flags and "-n" not in flags:
            # pkg(8) asks, and a closed standard input answers no.
            self.out.print("Proceed with this action? [y/N]: ")
            raise ToolError("", 1)
        if "-n" in flags:
            return
        for number, name in enumerate(wanted, 1):
            version, origin, comment, _ = REPOSITORY[name]
            for path, content in files_of(name).items():
                self.place(path, content)
            db[name] = {
                "version": version,
                "origin": origin,
                "comment": comment,
                "automatic": name not in names,
            }
            if not quiet:
                self.out.print(f"[{number}/{len(wanted)}] Installing {name}-{version}...")
                self.out.print(
                    f"[{number}/{len(wanted)}] Extracting {name}-{version}: .......... done"
                )
        self.save(db)

    def place(self, path: str, content: str | Path | None) -> None:
        local = self.local(path)
        local.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            local.mkdir(parents=True, exist_ok=True)
        elif isinstance(content, Path):
            if local.is_symlink() or local.exists():
                local.unlink()
            local.symlink_to(content)
        elif path.endswith("/nginx.conf") and local.exists():
            return  # a configuration file is never replaced by a package
        else:
            local.write_text(content)
            local.chmod(0o755 if "/bin/" in path or "/sbin/" in path or "/rc.d/" in path else 0o644)

    def delete(self, words: list[str]) -> None:
        opts, names = getopt.getopt(words, "aDfginqRxy")
        del opts
        db = self.db()
        for name in names:
            if name not in db:
                self.out.print(f"No packages matched for pattern '{name}'")
                continue
            for path, content in files_of(name).items():
                local = self.local(path)
                if content is not None and (local.is_symlink() or local.is_file()):
                    local.unlink()
            del db[name]
        self.save(db)

    def info(self, words: list[str]) -> None:
        try:
            opts, names = getopt.getopt(words, "aAbBcCdDeEfgiIklLoOpqrRsx")
        except getopt.GetoptError as error:
            raise ToolError(f"pkg: illegal option -- {error.opt}", 1) from None
        flags = {flag for flag, _ in opts}
        db = self.db()
        if "-e" in flags:
            # pkg-info(8) -e: exit status only, 0 if every named package is installed.
            if not names or any(n not in db for n in names):
                raise ToolError("", 1)
            return
        selected = names or sorted(db)
        for name in selected:
            if name not in db:
                raise ToolError(f"pkg: No package(s) matching {name}", 1)
            meta = db[name]
            if "-q" in flags:
                self.out.print(f"{name}-{meta['version']}")
            else:
                self.out.print(f"{name + '-' + meta['version']:<35} {meta['comment']}")

    def query(self, words: list[str]) -> None:
        all_packages = words[:1] == ["-a"]
        if all_packages:
            words = words[1:]
        if not words:
            raise ToolError("Usage: pkg query <query-format> <pkg-name>", 1)
        fmt, names = words[0], words[1:]
        db = self.db()
        selected = sorted(db) if all_packages else names
        if not all_packages and not names:
            raise ToolError("Usage: pkg query <query-format> <pkg-name>", 1)
        missing = False
        for name in selected:
            meta = db.get(name) or next(
                (m | {"name": n} for n, m in db.items() if m["origin"] == name), None
            )
            if meta is None:
                missing = True
                continue
            package = meta.get("name", name)
            line = (
                fmt.replace("%n", package)
                .replace("%v", meta["version"])
                .replace("%o", meta["origin"])
                .replace("%c", meta["comment"])
                .replace("%a", "1" if meta.get("automatic") else "0")
            )
            self.out.print(line)
        if missing:
            raise ToolError("", 1)

    def version(self, words: list[str]) -> None:
        # Every installed package is the repository's version: nothing to list
        # for `pkg version -voRL=` (which hides up-to-date packages).
        db = self.db()
        if not any("L" in w and "=" in w for w in words):
            for name in sorted(db):
                self.out.print(f"{name}-{db[name]['version']:<30} =")


def pkg(host: Host, out: Output, args: list[str], root: str = "/") -> None:
    Pkg(host, out, root).run(args)


# --- git(1) ---

OWNED = tuple(p + "/" for p in OWNED_PREFIXES)
REMOTE = re.compile(r"\A([a-z][a-z0-9+.-]*)://(?:[^@/]*@)?([^/:]+)")
SCP_LIKE = re.compile(r"\A(?:[^@/]+@)?([^/:]+):(?!/)")


def git(host: Host, out: Output, args: list[str]) -> None:
    """The real git, on a host that can reach no git server: local paths and
    file:// URLs work; a network URL fails as it would with no DNS."""
    for arg in args:
        match = REMOTE.match(arg)
        if match and match.group(1) != "file":
            scheme, server = match.groups()
            if scheme in ("http", "https"):
                url = arg.rstrip("/")
                raise ToolError(
                    f"fatal: unable to access '{url}/': Could not resolve host: {server}", 128
                )
            raise ToolError(
                f"ssh: Could not resolve hostname {server}: Name or service not known\n"
                "fatal: Could not read from remote repository.\n\n"
                "Please make sure you have the correct access rights\nand the repository exists.",
                128,
            )
        scp = SCP_LIKE.match(arg)
        if scp and "@" in arg.split(":", 1)[0]:
            raise ToolError(
                f"ssh: Could not resolve hostname {scp.group(1)}: Name or service not known\n"
                "fatal: Could not read from remote repository.",
                128,
            )
    # FreeBSD paths (a jail's tree under /usr/local/jails) are the model's, also
    # as the value of a -c setting (safe.directory=PATH).
    argv = []
    for i, a in enumerate(args):
        key, _, value = a.partition("=")
        if a.startswith(OWNED):
            a = str(host.path(a))
        elif i and args[i - 1] == "-c" and value.startswith(OWNED):
            a = f"{key}={host.path(value)}"
        argv.append(a)
    result = subprocess.run(["/usr/bin/git", *argv], capture_output=True, text=True, check=False)
    out.out.write(result.stdout)
    out.err.write(result.stderr)
    if result.returncode:
        raise ToolError("", result.returncode)
