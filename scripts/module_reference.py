"""REFERENCE.md of the generated module, by `puppet strings generate --format
markdown` (Debian's puppet-strings).

`jailgen render` must be deterministic and must not need puppet-strings, so the
reference is a template like the rest of the module: `make reference` renders
the module under a placeholder name, runs puppet strings over it and writes
its output, with the placeholder turned back into `{{ module }}`, to
generator/templates/module/REFERENCE.md. Every control repo then gets the
reference of its own module; tests check that puppet strings, run over a
rendered module, writes exactly what was rendered.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.render.control_repo import module_context
from generator.render.templates import render_folder

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "generator" / "templates" / "module" / "REFERENCE.md"
REFERENCE = "REFERENCE.md"
# A module name that occurs nowhere in the module's own text.
PLACEHOLDER = "jgreferencemodule"
# puppet strings' statistics: `Puppet Classes:   4 (    0 undocumented)`
STATS_LINE = re.compile(
    r"^(?P<kind>[A-Z][A-Za-z ]+):\s+(?P<total>\d+) \(\s*(?P<undoc>\d+) undocumented\)$"
)


@dataclass(frozen=True)
class Strings:
    reference: str  # the REFERENCE.md puppet strings wrote
    output: str  # what it printed: statistics and any [warn] or [error] lines
    doc: dict[str, Any]  # its JSON: every documented thing, with its tags


def puppet_strings(module_dir: Path) -> Strings:
    """Run puppet strings over a module directory (left as it was), for the
    markdown reference and for the JSON of the same documentation."""
    assert shutil.which("puppet"), "puppet is not installed (scripts/setup.sh installs it)"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "module"
        # its .yardoc cache and the output stay out of the module
        shutil.copytree(module_dir, work, ignore=shutil.ignore_patterns(REFERENCE, ".yardoc"))
        outputs = {}
        for fmt, name in (("markdown", REFERENCE), ("json", "strings.json")):
            outputs[fmt] = _generate(work, fmt, Path(tmp) / name)
        return Strings(
            (Path(tmp) / REFERENCE).read_text(encoding="utf-8"),
            outputs["markdown"],
            json.loads((Path(tmp) / "strings.json").read_text(encoding="utf-8")),
        )


def _generate(module_dir: Path, fmt: str, out: Path) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(out.parent),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        # Ruby 3.1's deprecation notices about puppet-strings' own ERB calls;
        # puppet strings' findings are log lines, which this leaves alone
        "RUBYOPT": "-W0",
    }
    argv = ["puppet", "strings", "generate", "--format", fmt, "--out", str(out)]
    result = subprocess.run(
        argv, cwd=module_dir, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{shlex.join(argv)} exited with {result.returncode}:\n{output}"
    return output


def undocumented(strings: Strings) -> list[str]:
    """What puppet strings says is undocumented, and every parameter, property
    or documented thing whose description is empty (puppet strings 2.9 does
    not warn about those)."""
    output = strings.output
    problems = [line for line in output.splitlines() if re.match(r"\s*\[(warn|error)\]", line)]
    counted = 0
    for line in output.splitlines():
        match = STATS_LINE.match(line.strip())
        if match:
            counted += 1
            if match["undoc"] != "0":
                problems.append(f"{match['kind']}: {match['undoc']} undocumented")
    if counted == 0:
        problems.append(f"no statistics in puppet strings' output:\n{output}")
    for kind, entries in sorted(strings.doc.items()):
        for entry in entries:
            problems += _entry_problems(kind, entry)
    return problems


def _entry_problems(kind: str, entry: dict[str, Any]) -> list[str]:
    where = f"{entry.get('file')}:{entry.get('line')}: {kind} {entry['name']}"
    docstring = entry.get("docstring", {})
    tags = docstring.get("tags", [])
    problems = []
    if not docstring.get("text") and not any(t["tag_name"] == "summary" for t in tags):
        problems.append(f"{where}: no description")
    problems += [
        f"{where}: parameter {tag['name']} has no description"
        for tag in tags
        if tag["tag_name"] == "param" and not tag.get("text")
    ]
    for part in ("properties", "parameters", "checks"):
        problems += [
            f"{where}: {part[:-1]} {item['name']} has no description"
            for item in entry.get(part, [])
            if not item.get("description")
        ]
    return problems


def reference_template() -> str:
    """REFERENCE.md of the module as a template of the module's name."""
    rendered = render_folder("module", module_context(PLACEHOLDER, []))
    with tempfile.TemporaryDirectory() as tmp:
        module_dir = Path(tmp) / PLACEHOLDER
        for rel, text in rendered.items():
            path = module_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        strings = puppet_strings(module_dir)
    problems = undocumented(strings)
    assert not problems, "puppet strings: " + "\n".join(problems)
    text = strings.reference
    for marker in ("{{", "{%", "{#"):
        # jinja2 would read it as template syntax
        assert marker not in text, f"puppet strings wrote {marker!r}: escape it in the template"
    capitalized = PLACEHOLDER.capitalize()
    return text.replace(capitalized, "{{ module|capitalize }}").replace(PLACEHOLDER, "{{ module }}")


def write_template() -> bool:
    """Rewrite the REFERENCE.md template; True when it changed."""
    text = reference_template()
    if TEMPLATE.is_file() and TEMPLATE.read_text(encoding="utf-8") == text:
        return False
    TEMPLATE.write_text(text, encoding="utf-8")
    return True
