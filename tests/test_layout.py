"""The layout says what the code is: one module per command under
generator/commands, a thin click layer over them, no module reaching into
another's private names, and modules short enough to read in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

import click

from generator.cli import main

PACKAGE = Path(__file__).resolve().parent.parent / "generator"
COMMANDS = PACKAGE / "commands"
# commands that belong with another one's module
GROUPED = {"unlock": "lock"}
MAX_LINES = 500


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _command_modules() -> dict[str, str]:
    """Each command line of the CLI (`lock status`, `render`, ...) and the
    module under generator/commands it belongs to."""
    found = {}
    for name, command in main.commands.items():
        module = GROUPED.get(name, name)
        if isinstance(command, click.Group):
            for sub in command.commands:
                found[f"{name} {sub}"] = module
        else:
            found[name] = module
    return found


def test_every_command_has_its_module_and_the_cli_calls_it() -> None:
    commands = _command_modules()
    assert len(commands) >= 16
    imported = {
        node.module
        for node in ast.walk(_tree(PACKAGE / "cli.py"))
        if isinstance(node, ast.ImportFrom) and node.module
    } | {
        f"generator.commands.{alias.name}"
        for node in ast.walk(_tree(PACKAGE / "cli.py"))
        if isinstance(node, ast.ImportFrom) and node.module == "generator.commands"
        for alias in node.names
    }
    missing = {c: m for c, m in commands.items() if not (COMMANDS / f"{m}.py").is_file()}
    assert not missing, f"commands without a module under generator/commands: {missing}"
    unused = {c: m for c, m in commands.items() if f"generator.commands.{m}" not in imported}
    assert not unused, f"commands whose module generator/cli.py does not call: {unused}"


def test_the_cli_only_parses_calls_and_prints() -> None:
    allowed = ("click", "generator.commands", "generator.output", "generator.runners")
    allowed_exact = {"generator", "generator.errors", "__future__", "sys", "pathlib", "typing"}
    allowed_exact |= {"collections.abc", "functools"}
    imports = []
    for node in ast.walk(_tree(PACKAGE / "cli.py")):
        if isinstance(node, ast.ImportFrom) and node.module:
            imports.append(node.module)
        elif isinstance(node, ast.Import):
            imports += [alias.name for alias in node.names]
    stray = [
        m
        for m in imports
        if m not in allowed_exact and not any(m == a or m.startswith(a + ".") for a in allowed)
    ]
    assert not stray, f"generator/cli.py reaches past the commands: {stray}"
    from_generator = [
        alias.name
        for node in ast.walk(_tree(PACKAGE / "cli.py"))
        if isinstance(node, ast.ImportFrom) and node.module == "generator"
        for alias in node.names
    ]
    assert set(from_generator) <= {"__version__", "output"}


def test_commands_print_nothing_themselves() -> None:
    for path in sorted(COMMANDS.glob("*.py")):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module] if isinstance(node, ast.ImportFrom) else []
                names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
                assert not any(n and n.split(".")[0] in ("click", "rich") for n in names), path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{path}:{node.lineno}: print()"


def _own_names(tree: ast.Module) -> set[str]:
    """Every name a module defines: functions, classes, attributes it assigns."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _private_reaches(tree: ast.Module, where: str) -> list[str]:
    """Imports of another module's underscore names, and uses of underscore
    attributes the module does not define itself."""
    own = _own_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("generator"):
            found += [
                f"{where}:{node.lineno}: imports {a.name} from {node.module}"
                for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")
            ]
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and node.attr not in own
        ):
            found.append(f"{where}:{node.lineno}: uses .{node.attr} of another module")
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    found = []
    for path in _modules():
        found += _private_reaches(_tree(path), str(path.relative_to(PACKAGE.parent)))
    assert not found, "\n".join(found)


def test_modules_are_short_enough_to_read_in_one_sitting() -> None:
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_private_name_check_finds_a_reach_into_another_module() -> None:
    """The check above is not vacuous: a module calling another's underscore
    method, or importing its underscore name, is caught; its own are not."""
    sample = ast.parse(
        "from generator.puppet.report import _ReportLoader\n"
        "class A:\n    def _own(self):\n        return self._own\n"
        "def f(deployer):\n    return deployer._apply()\n"
    )
    assert _private_reaches(sample, "sample.py") == [
        "sample.py:1: imports _ReportLoader from generator.puppet.report",
        "sample.py:6: uses ._apply of another module",
    ]
