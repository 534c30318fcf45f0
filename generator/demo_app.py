"""The demo's app: a small WSGI shop (fixtures/demo_wsgi) in a git repo with two
releases, tagged v1 and v2. Each release carries its one dependency as a wheel
in `wheels/`, so its build (`pip install --no-index --find-links wheels -r
requirements.txt` into a venv) needs no package index; release 2 brings a new
version of the dependency and a second migration.

`make_app_repo` makes the smaller app the tests deploy (fixtures/demo_app): one
file, and a VERSION per commit."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import zipfile
from pathlib import Path

import git

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE = FIXTURES / "demo_wsgi"
APP_FILES = ("wsgi.py", "serve.py", "migrate.py")
# (dependency version, migrations) per release
RELEASES = (("1.0", ("001_orders.sql",)), ("1.1", ("001_orders.sql", "002_order_totals.sql")))
# A fixed time in every zip entry, so a wheel is the same bytes every time.
ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


def wheel(version: str) -> tuple[str, bytes]:
    """The file name and bytes of the `greeting` wheel of `version`."""
    dist = f"greeting-{version}.dist-info"
    module = (FIXTURE / "greeting" / "__init__.py").read_text().replace("{version}", version)
    files = {
        "greeting/__init__.py": module.encode(),
        f"{dist}/METADATA": (
            f"Metadata-Version: 2.1\nName: greeting\nVersion: {version}\n"
            "Summary: The demo shop's one dependency\n"
        ).encode(),
        f"{dist}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: jailgen-demo\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},{_record_hash(data)}\n" for name, data in files.items())
    files[f"{dist}/RECORD"] = (record + f"{dist}/RECORD,,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), data)
    return f"greeting-{version}-py3-none-any.whl", buffer.getvalue()


def new_repo(target: Path) -> git.Repo:
    """An empty git repo at `target` (replacing what was there), committing as
    the demo's developer."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    repo = git.Repo.init(target, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Demo Developer")
        config.set_value("user", "email", "demo@example.com")
    return repo


def make_demo_repo(target: Path) -> list[str]:
    """The demo shop's repo with its two releases; their commit ids, oldest first."""
    repo = new_repo(target)
    (target / ".gitignore").write_text(".venv/\ndata/\n__pycache__/\n")
    for name in APP_FILES:
        shutil.copy2(FIXTURE / name, target / name)
    (target / "migrations").mkdir()
    (target / "wheels").mkdir()
    shas = []
    for number, (version, migrations) in enumerate(RELEASES, 1):
        for old in (target / "wheels").iterdir():
            old.unlink()
        name, data = wheel(version)
        (target / "wheels" / name).write_bytes(data)
        (target / "requirements.txt").write_text(f"greeting=={version}\n")
        for migration in migrations:
            shutil.copy2(FIXTURE / "migrations" / migration, target / "migrations" / migration)
        repo.git.add("--all")
        shas.append(repo.index.commit(f"Release {number}: greeting {version}").hexsha)
        repo.create_tag(f"v{number}", message=f"Release {number}")
    return shas


def make_app_repo(target: Path, commits: int = 3) -> list[str]:
    """A git repo of the demo app with `commits` commits; their SHAs, oldest first."""
    app_repo = new_repo(target)
    shutil.copy2(FIXTURES / "demo_app" / "app.py", target / "app.py")
    shas = []
    for number in range(1, commits + 1):
        (target / "VERSION").write_text(f"{number}\n")
        app_repo.index.add(["app.py", "VERSION"])
        shas.append(app_repo.index.commit(f"Release {number}").hexsha)
    return shas
