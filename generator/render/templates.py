"""The jinja2 environment shared by every template jailgen renders."""

from __future__ import annotations

from functools import cache
from importlib import resources

import jinja2


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("generator", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


@cache
def template_names(folder: str) -> tuple[str, ...]:
    """Every template file under templates/<folder>, as paths relative to it, sorted."""
    root = resources.files("generator") / "templates" / folder
    found: list[str] = []

    def walk(node: object, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):  # type: ignore[attr-defined]
            if child.name == "__pycache__":
                continue
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            else:
                found.append(f"{prefix}{child.name}")

    walk(root, "")
    return tuple(found)


def render_folder(folder: str, context: dict[str, object]) -> dict[str, str]:
    """Render every template of a folder; a trailing `.j2` is dropped from the name."""
    env = environment()
    out: dict[str, str] = {}
    for name in template_names(folder):
        target = name[: -len(".j2")] if name.endswith(".j2") else name
        out[target] = env.get_template(f"{folder}/{name}").render(**context)
    return out
