"""Write the reference rendering of fixtures/catalog.yaml: `puppet/` holds the
control repo without its Hiera data, `hiera/` holds hiera.yaml and data/.
Run `make reference` after changing templates; tests fail when they drift."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator import repo  # noqa: E402
from generator.commands.render import render  # noqa: E402

HIERA_PARTS = ("hiera.yaml", "data")


def fresh_rendering(target: Path) -> None:
    repo.init(target)
    render(ROOT / "fixtures" / "catalog.yaml", target)
    shutil.rmtree(target / ".git")


def split(rendered: Path, puppet: Path, hiera: Path) -> None:
    for out in (puppet, hiera):
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
    for child in sorted(rendered.iterdir()):
        dest = (hiera if child.name in HIERA_PARTS else puppet) / child.name
        if child.is_dir():
            shutil.copytree(child, dest)
        else:
            shutil.copy2(child, dest)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rendered = Path(tmp) / "control"
        fresh_rendering(rendered)
        split(rendered, ROOT / "puppet", ROOT / "hiera")
    print("wrote puppet/ and hiera/")


if __name__ == "__main__":
    main()
