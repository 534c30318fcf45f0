"""Catalog benchmark: reading and validating the render benchmark's catalog of
10,000 apps on 100 hosts, best of three. The last line printed is one JSON
object of figures."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.render import APPS, HOSTS, catalog_text  # noqa: E402
from generator.catalog import parse_catalog  # noqa: E402


def main() -> None:
    text = catalog_text(APPS, HOSTS)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        parse_catalog(text, "catalog.yaml")
        times.append(time.perf_counter() - start)
    print(f"parse: best {min(times):.2f} s of {', '.join(f'{t:.2f}' for t in times)}")
    print(json.dumps({"apps": APPS, "hosts": HOSTS, "parse_s": round(min(times), 3)}))


if __name__ == "__main__":
    main()
