"""Getting a FreeBSD base: fetch(1), tar(1) (bsdtar), freebsd-update(8) and
freebsd-version(1).

The model's network reaches one site, download.freebsd.org, whose
`releases/<arch>/<release>/base.txz` it makes up: a small but well-formed xz
tar archive of a base system's skeleton (/bin/sh, /etc/rc, /etc/defaults/rc.conf,
/dev, /usr/local, ...) whose /bin/freebsd-version names the release. Every other
host has no address record, so nothing ever leaves this machine.
"""

from __future__ import annotations

import getopt
import io
import re
import sys
import tarfile
from pathlib import Path
from typing import Any

from .host import HOST_PATCH, HOST_RELEASE, LATEST_PATCH, Host, Output, ToolError
from .rc import DEFAULTS

MIRROR = re.compile(
    r"\Ahttps?://download\.freebsd\.org/(?:ftp/)?releases/"
    r"(?P<arch>amd64|i386|arm64/aarch64|riscv/riscv64)/(?P<release>[0-9]+\.[0-9]+-RELEASE)/base\.txz\Z"
)
HOST = re.compile(r"\A[a-z][a-z0-9+.-]*://([^/:]+)")

FREEBSD_VERSION = """\
#!/bin/sh
#
# freebsd-version: print the installed kernel and userland versions.
#
USERLAND_VERSION="{version}"
[ "$1" = "-u" ] && echo "$USERLAND_VERSION"
"""
RC = """\
#!/bin/sh
# /etc/rc of the FreeBSD model's base: jail(8) runs it as exec.start; the model
# starts the enabled rc.d services.
"""
RC_SHUTDOWN = """\
#!/bin/sh
# /etc/rc.shutdown of the FreeBSD model's base: jail(8) runs it as exec.stop.
"""
PASSWD = """\
root:*:0:0:Charlie &:/root:/bin/sh
daemon:*:1:1:Owner of many system processes:/root:/usr/sbin/nologin
www:*:80:80:World Wide Web Owner:/nonexistent:/usr/sbin/nologin
nobody:*:65534:65534:Unprivileged user:/nonexistent:/usr/sbin/nologin
"""
GROUP = """\
wheel:*:0:root
daemon:*:1:
www:*:80:
nogroup:*:65533:
nobody:*:65534:
"""


def base_files(release: str) -> dict[str, tuple[str | None, int]]:
    """The base system's skeleton: path -> (file content or None for a directory, mode)."""
    return {
        "bin": (None, 0o755),
        "bin/sh": ("#!/bin/sh\n# sh(1) of the FreeBSD model's base.\n", 0o555),
        "bin/freebsd-version": (FREEBSD_VERSION.format(version=release), 0o555),
        "COPYRIGHT": ("Copyright (c) The FreeBSD Project. (FreeBSD model base.)\n", 0o444),
        "dev": (None, 0o555),
        "etc": (None, 0o755),
        "etc/defaults": (None, 0o755),
        "etc/defaults/rc.conf": (DEFAULTS, 0o444),
        "etc/rc": (RC, 0o444),
        "etc/rc.shutdown": (RC_SHUTDOWN, 0o444),
        "etc/rc.d": (None, 0o755),
        "etc/newsyslog.conf": (
            "# newsyslog.conf(5)\n<include> /etc/newsyslog.conf.d/[!.]*.conf\n",
            0o644,
        ),
        "etc/newsyslog.conf.d": (None, 0o755),
        "etc/passwd": (PASSWD, 0o644),
        "etc/group": (GROUP, 0o644),
        "root": (None, 0o750),
        "tmp": (None, 0o1777),
        "usr": (None, 0o755),
        "usr/bin": (None, 0o755),
        "usr/bin/env": ("#!/bin/sh\n# env(1) of the FreeBSD model's base.\n", 0o555),
        "usr/local": (None, 0o755),
        "usr/sbin": (None, 0o755),
        "usr/sbin/daemon": ("#!/bin/sh\n# daemon(8) of the FreeBSD model's base.\n", 0o555),
        "var": (None, 0o755),
        "var/db": (None, 0o755),
        "var/log": (None, 0o755),
        "var/run": (None, 0o755),
    }


def base_archive(release: str) -> bytes:
    """base.txz of `release`, byte for byte the same every time."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as archive:
        for name, (content, mode) in sorted(base_files(release).items()):
            info = tarfile.TarInfo("./" + name)
            info.mode = mode
            info.mtime = 1_716_000_000
            info.uname, info.gname = "root", "wheel"
            if content is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                data = content.encode()
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --- fetch(1) ---


def fetch(host: Host, out: Output, args: list[str]) -> None:
    try:
        opts, urls = getopt.getopt(args, "146AadFilMmnPpqRrsUvB:N:o:S:T:w:")
    except getopt.GetoptError as error:
        raise ToolError(
            f"fetch: illegal option -- {error.opt}\n"
            "usage: fetch [-146AadFilMmnPpqRrsUv] [-B bytes] [--bind-address=host]\n"
            "       [--ca-cert=file] [--ca-path=dir] [--cert=file] [--crl=file]\n"
            "       [-i file] [--key=file] [-N file] [--no-passive] [--no-proxy=list]\n"
            "       [--no-sslv3] [--no-tlsv1] [--no-verify-hostname] [--no-verify-peer]\n"
            "       [-o file] [--referer=URL] [-S bytes] [-T seconds]\n"
            "       [--user-agent=agent-string] [-w seconds] URL ...",
            1,
        ) from None
    flags = dict(opts)
    if not urls:
        raise ToolError("usage: fetch [-146AadFilMmnPpqRrsUv] ... URL ...", 1)
    failed = False
    for url in urls:
        # fetch(1) reports libfetch's error after the URL: no DNS record for
        # unknown hosts, the HTTP status text for missing files.
        match = MIRROR.match(url)
        host_match = HOST.match(url)
        if match is None:
            if host_match is None or host_match.group(1) != "download.freebsd.org":
                out.warn(f"fetch: {url}: No address record")
            else:
                out.warn(f"fetch: {url}: Not Found")
            failed = True
            continue
        release = match.group("release")
        if release not in LATEST_PATCH:
            out.warn(f"fetch: {url}: Not Found")
            failed = True
            continue
        target = flags.get("-o", url.rsplit("/", 1)[1])
        local = host.path(target) if target.startswith("/") else Path(target)
        if local.is_dir():
            local = local / "base.txz"
        data = base_archive(release)
        try:
            local.write_bytes(data)
        except FileNotFoundError:
            out.warn(f"fetch: {target}: open(): No such file or directory")
            failed = True
            continue
        if "-q" not in flags:
            out.print(f"{target:<40} {len(data):>8} B  (fbmodel mirror)")
    if failed:
        raise ToolError("", 1)


# --- tar(1) ---


def tar(host: Host, out: Output, args: list[str]) -> None:
    if args and not args[0].startswith("-"):
        # bsdtar accepts the old bundled form: tar xf archive
        args = ["-" + args[0], *args[1:]]
    words = []
    for arg in args:
        if arg in ("--unlink", "--unlink-first"):
            words.append("-U")
        elif arg in ("--no-same-owner", "--no-same-permissions", "--numeric-owner"):
            continue
        else:
            words.append(arg)
    try:
        opts, _ = getopt.getopt(words, "xtcvUpPkzJjf:C:")
    except getopt.GetoptError as error:
        raise ToolError(
            f"tar: Option {error.opt} is not supported\n"
            "Usage:\n  List:    tar -tf <archive-filename>\n"
            "  Extract: tar -xf <archive-filename>\n"
            "  Create:  tar -cf <archive-filename> [filenames...]\n"
            "  Help:    tar --help",
            1,
        ) from None
    flags = dict(opts)
    modes = [m for m in ("-x", "-t", "-c") if m in flags]
    if not modes:
        raise ToolError("tar: Must specify one of -c, -r, -t, -u, -x", 1)
    if "-c" in flags:
        raise ToolError("fbmodel: tar -c is not modelled", 3)
    archive_name = flags.get("-f", "-")
    if archive_name == "-":
        raise ToolError("fbmodel: tar reading standard input is not modelled", 3)
    archive_path = host.path(archive_name)
    directory = flags.get("-C")
    target = host.path(directory) if directory else Path.cwd()
    if directory and not target.is_dir():
        # bsdtar(1) -C: "could not chdir"; exit status 1 on any error.
        raise ToolError(f"tar: could not chdir to '{directory}'", 1)
    if not archive_path.is_file():
        raise ToolError(f"tar: Error opening archive: Failed to open '{archive_name}'", 1)
    try:
        with tarfile.open(archive_path) as archive:
            members = archive.getmembers()
            if "-t" in flags:
                for member in members:
                    out.print(member.name)
                return
            for member in members:
                destination = target / member.name
                if "-U" in flags and destination.is_symlink():
                    destination.unlink()
            extract(archive, target)
            if "-v" in flags:
                for member in members:
                    out.warn(f"x {member.name}")
    except (tarfile.ReadError, EOFError):
        raise ToolError("tar: Error opening archive: Unrecognized archive format", 1) from None


def extract(archive: tarfile.TarFile, target: Path) -> None:
    kwargs: dict[str, Any] = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
    archive.extractall(target, **kwargs)


# --- freebsd-update(8) and freebsd-version(1) ---


def userland(host: Host, basedir: str) -> Path:
    return host.path(basedir.rstrip("/") + "/bin/freebsd-version")


def read_version(script: Path) -> str:
    for line in script.read_text().splitlines():
        if line.startswith("USERLAND_VERSION="):
            return line.split("=", 1)[1].strip('"')
    return ""


def freebsd_update(host: Host, out: Output, args: list[str]) -> None:
    long_options = {"--not-running-from-cron": "", "--currently-running": None}
    words, options = list(args), {}
    rest: list[str] = []
    while words:
        word = words.pop(0)
        if word in long_options:
            options[word] = words.pop(0) if long_options[word] is None and words else ""
        elif word in ("-b", "-d", "-f", "-j", "-k", "-r", "-s", "-t") and words:
            options[word] = words.pop(0)
        elif word == "-F":
            options[word] = ""
        elif word.startswith("-"):
            raise ToolError(
                "usage: freebsd-update [options] command ...\n"
                "Run `freebsd-update --help' for more information.",
                1,
            )
        else:
            rest.append(word)
    if not rest:
        raise ToolError("usage: freebsd-update [options] command ...", 1)
    basedir = options.get("-b", "/")
    script = userland(host, basedir)
    if basedir != "/" and not host.path(basedir).is_dir():
        raise ToolError(f"freebsd-update: {basedir}: No such file or directory", 1)
    running = options.get("--currently-running") or (
        read_version(script).split("-p")[0] if script.is_file() else ""
    )
    pending: dict[str, str] = host.state.setdefault("freebsd_update", {})
    fetched = False
    for command in rest:
        if command == "fetch":
            if "--not-running-from-cron" not in options and not sys.stdin.isatty():
                # freebsd-update(8): fetch refuses to run without a terminal.
                raise ToolError(
                    "`freebsd-update fetch` should not be run non-interactively.\n"
                    "Run `freebsd-update cron` instead.",
                    1,
                )
            if running not in LATEST_PATCH:
                out.print("Looking up update.FreeBSD.org mirrors... 3 mirrors found.")
                raise ToolError(
                    f"Fetching metadata signature for {running} from update1.freebsd.org... "
                    "failed.\nNo mirrors remaining, giving up.",
                    1,
                )
            latest = f"{running}-{LATEST_PATCH[running]}"
            current = read_version(script) if script.is_file() else running
            out.print("Looking up update.FreeBSD.org mirrors... 3 mirrors found.")
            out.print(
                f"Fetching metadata signature for {running} from update2.freebsd.org... done."
            )
            out.print(
                "Fetching metadata index... done.\nInspecting system... done.\n"
                "Preparing to download files... done."
            )
            if current == latest:
                out.print(f"No updates needed to update system to {latest}.")
                pending.pop(basedir, None)
            else:
                out.print(
                    "The following files will be updated as part of updating to\n"
                    f"{latest}:\n/bin/freebsd-version"
                )
                pending[basedir] = latest
            fetched = True
        elif command == "install":
            target = pending.pop(basedir, None)
            if target is None:
                out.print("No updates are available to install.")
                if not fetched:
                    out.print("Run '/usr/sbin/freebsd-update fetch' first.")
                    raise ToolError("", 2)
                continue
            out.print("Creating snapshot of existing boot environment... done.")
            out.print("Installing updates... done.")
            text = script.read_text()
            script.write_text(
                re.sub(r'USERLAND_VERSION="[^"]*"', f'USERLAND_VERSION="{target}"', text)
            )
        elif command in ("cron", "upgrade", "rollback", "IDS", "updatesfrom", "showconfig"):
            raise ToolError(f"fbmodel: freebsd-update {command} is not modelled", 3)
        else:
            raise ToolError(f"freebsd-update: Unknown command: {command}", 1)


def freebsd_version(host: Host, out: Output, args: list[str], jail_root: str | None = None) -> None:
    try:
        opts, rest = getopt.getopt(args, "kruj:")
    except getopt.GetoptError:
        raise ToolError("usage: freebsd-version [-kru] [-j jail]", 1) from None
    if rest:
        raise ToolError("usage: freebsd-version [-kru] [-j jail]", 1)
    kernel = f"{HOST_RELEASE}-{HOST_PATCH}"
    flags = [flag for flag, _ in opts]
    root = jail_root
    for flag, value in opts:
        if flag == "-j":
            record = host.state["jails"].get(value)
            if record is None:
                raise ToolError(f'freebsd-version: jail "{value}" not found', 1)
            root = str(record["path"])
    user = read_version(userland(host, root)) if root else str(host.state.get("userland", kernel))
    printed = False
    for flag in ("-k", "-r", "-u"):
        if flag in flags:
            out.print(kernel if flag != "-u" else user)
            printed = True
    if not printed:
        out.print(user)
