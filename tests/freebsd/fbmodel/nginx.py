"""/usr/local/sbin/nginx as the www/nginx package installs it, checked by the
machine's real NGINX.

`nginx -t` is the real `nginx -t`: the configuration is copied into a
temporary prefix with its FreeBSD paths (/usr/local/etc/nginx, /var/log,
/var/run, ...) remapped into the model root, the package's compiled-in temp
paths (/var/tmp/nginx/*_temp) given explicitly, and the real binary tests it.
Its messages are mapped back to the FreeBSD paths. Starting NGINX is rc.d's job
(service nginx start), which only records it as running; nothing listens.
"""

from __future__ import annotations

import getopt
import re
import subprocess
import tempfile
from pathlib import Path

from .host import OWNED_PREFIXES, Host, Output, ToolError
from .rc import Rc, Script

REAL_NGINX = "/usr/sbin/nginx"
CONFIG = "/usr/local/etc/nginx/nginx.conf"
PATH = re.compile(r"(?<![\w/.$])(/(?:etc|usr/local|var)(?:/[^\s;'\"{}]*)?)")
# What the FreeBSD package is built with (--http-*-temp-path).
TEMP_PATHS = {
    "client_body_temp_path": "/var/tmp/nginx/client_body_temp",
    "proxy_temp_path": "/var/tmp/nginx/proxy_temp",
    "fastcgi_temp_path": "/var/tmp/nginx/fastcgi_temp",
    "uwsgi_temp_path": "/var/tmp/nginx/uwsgi_temp",
    "scgi_temp_path": "/var/tmp/nginx/scgi_temp",
}


def remap(text: str, host: Host) -> str:
    """The configuration with its FreeBSD paths moved into the model root and
    the package's temp paths made explicit."""

    def local(match: re.Match[str]) -> str:
        path = match.group(1)
        if any(path == p or path.startswith(p + "/") for p in OWNED_PREFIXES):
            return str(host.path(path))
        return path

    remapped = PATH.sub(local, text)
    missing = [k for k in TEMP_PATHS if not re.search(rf"^\s*{k}\s", text, re.M)]
    if missing:
        lines = "".join(f"    {k} {host.path(TEMP_PATHS[k])};\n" for k in missing)
        remapped = re.sub(
            r"^(\s*http\s*\{[^\n]*\n)", lambda m: m.group(1) + lines, remapped, count=1, flags=re.M
        )
    return remapped


def test_config(host: Host, config: str, quiet: bool) -> tuple[bool, str]:
    """Run the real `nginx -t` on the FreeBSD file `config`; (ok, messages)."""
    local = host.path(config)
    if not local.is_file():
        message = f'nginx: [emerg] open() "{config}" failed (2: No such file or directory)\n'
        return False, message + "nginx: configuration file " + config + " test failed\n"
    for directory in ("/var/tmp/nginx", "/var/log/nginx"):
        host.path(directory).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fbmodel-nginx-") as prefix:
        copy = Path(prefix) / "nginx.conf"
        copy.write_text(remap(local.read_text(), host))
        argv = [REAL_NGINX, "-t", "-p", prefix + "/", "-e", f"{prefix}/error.log", "-c", str(copy)]
        if quiet:
            argv.insert(2, "-q")
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        messages = (result.stdout + result.stderr).replace(str(copy), config)
    messages = messages.replace(str(host.root), "")
    return result.returncode == 0, messages


def nginx(host: Host, out: Output, args: list[str]) -> None:
    try:
        opts, rest = getopt.getopt(args, "?hvVtTqs:p:e:c:g:")
    except getopt.GetoptError as error:
        raise ToolError(f'nginx: invalid option: "{error.opt}"', 1) from None
    if rest:
        raise ToolError(f'nginx: invalid option: "{rest[0]}"', 1)
    flags = dict(opts)
    if "-v" in flags or "-V" in flags:
        out.warn("nginx version: nginx/1.26.1 (fbmodel: tests run the machine's nginx)")
        return
    config = flags.get("-c", CONFIG)
    if "-t" in flags or "-T" in flags:
        ok, messages = test_config(host, config, "-q" in flags)
        out.err.write(messages)
        if not ok:
            raise ToolError("", 1)
        return
    if "-s" in flags:
        running = host.state["services"].get("/", {}).get("nginx")
        if running is None:
            raise ToolError('nginx: [error] invalid PID number "" in "/var/run/nginx.pid"', 1)
        if flags["-s"] == "reload":
            running["reloads"] = int(running.get("reloads", 0)) + 1
        elif flags["-s"] in ("stop", "quit"):
            host.state["services"]["/"].pop("nginx")
            host.path("/var/run/nginx.pid").unlink(missing_ok=True)
        return
    raise ToolError(
        "fbmodel: running the nginx daemon is not modelled; use `service nginx start`", 3
    )


def configtest(rc: Rc, script: Script, argument: str) -> bool:
    """rc.d/nginx's nginx_checkconfig: before start, reload and configtest."""
    del script, argument
    rc.out.print("Performing sanity check on nginx configuration:")
    ok, messages = test_config(rc.host, CONFIG, quiet=False)
    rc.out.err.write(messages)
    return ok
