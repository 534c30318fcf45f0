#!/usr/bin/env -S python3 -I -S
"""Entry point of every tool of the FreeBSD model (tests/freebsd/bin/* link here)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fbmodel.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
