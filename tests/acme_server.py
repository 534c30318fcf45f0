"""A real ACME server on loopback for tests: Debian's pebble (RFC 8555), with
pebble-challtestsrv as its DNS server answering 127.0.0.1 for every name, so
its http-01 validation reaches the test site's NGINX on `http_port`. Both are
started by `start()` and stopped by `stop()`, by pid."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.localsite import free_port


@dataclass
class Pebble:
    base: Path
    http_port: int  # where it validates http-01 challenges: the site's NGINX
    port: int = field(default_factory=free_port)
    management_port: int = field(default_factory=free_port)
    dns_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def directory(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    @property
    def ca_bundle(self) -> Path:
        """The certificate of pebble's own HTTPS listener (self-signed here)."""
        return self.base / "listener.pem"

    def start(self) -> Pebble:
        self.base.mkdir(parents=True, exist_ok=True)
        key = self.base / "listener.key"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
                *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(self.ca_bundle)),
                *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            ],
            check=True,
            capture_output=True,
        )
        config = self.base / "pebble.json"
        config.write_text(
            json.dumps(
                {
                    "pebble": {
                        "listenAddress": f"127.0.0.1:{self.port}",
                        "managementListenAddress": f"127.0.0.1:{self.management_port}",
                        "certificate": str(self.ca_bundle),
                        "privateKey": str(key),
                        "httpPort": self.http_port,
                        "tlsPort": free_port(),
                        "ocspResponderURL": "",
                        "externalAccountBindingRequired": False,
                    }
                }
            )
        )
        log = (self.base / "pebble.log").open("wb")
        dns = [
            *("pebble-challtestsrv", "-dns01", f"127.0.0.1:{self.dns_port}"),
            *("-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv6", ""),
            *("-management", f"127.0.0.1:{free_port()}"),
        ]
        self.processes.append(subprocess.Popen(dns, stdout=log, stderr=log))
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
        server = ["pebble", "-config", str(config), "-dnsserver", f"127.0.0.1:{self.dns_port}"]
        self.processes.append(subprocess.Popen(server, stdout=log, stderr=log, env=env))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"pebble did not start: {(self.base / 'pebble.log').read_text()}")

    def root(self) -> str:
        """The root certificate pebble issues under (new at every start)."""
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        url = f"https://127.0.0.1:{self.management_port}/roots/0"
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            return str(answer.read().decode())

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)
        self.processes.clear()
