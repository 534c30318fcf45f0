"""jail.conf(5): the configuration file of jail(8).

Supported, as jail.conf(5) describes it: `name { ... }` blocks and parameters
outside any block (defaults for every jail); `name;` for a true boolean,
`name = value;`, `name += value;` and comma-separated lists; unquoted,
"double-quoted" (backslash escapes, variables) and 'single-quoted' (literal)
strings; `${name}` and `$name` variables, which are parameters of the jail
(`${name}` is its name) or `$variable = value;` assignments; `#`, `//` and
`/* */` comments; and `.include "pattern";`, whose glob pattern is read as if
its files were written in place.

Syntax errors are reported the way jail(8)'s parser reports them:
`<file> line <n>: <token>: syntax error`, or `<file>: unexpected EOF`.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .host import Host, ToolError

SPECIAL = set(";{}=,\"'#")


@dataclass(frozen=True)
class Token:
    kind: str  # word | punct | eof
    text: str
    line: int
    quote: str = ""  # '"' or "'" for quoted strings


@dataclass
class Value:
    """One string of a parameter's value, before variable expansion."""

    text: str
    expand: bool = True


@dataclass
class Param:
    name: str
    values: list[Value] | None  # None: a boolean set by `name;`
    append: bool = False


@dataclass
class Config:
    defaults: list[Param] = field(default_factory=list)
    jails: dict[str, list[Param]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def parameters(self, name: str) -> dict[str, list[str] | bool]:
        """The resolved parameters of one jail: defaults, then its own block,
        with variables expanded (jail.conf(5) "Variable substitution")."""
        if name not in self.jails:
            raise KeyError(name)
        raw: dict[str, list[Value] | None] = {}
        for param in [*self.defaults, *self.jails.get("*", []), *self.jails[name]]:
            if param.append and param.values is not None and raw.get(param.name):
                raw[param.name] = [*(raw[param.name] or []), *param.values]
            else:
                raw[param.name] = param.values
        if "name" in raw:
            # config.c add_param: the block's name is "name", which is immutable.
            raise ToolError(f'jail: {name}: cannot redefine parameter "name".')
        resolved: dict[str, list[str] | bool] = {"name": [name]}
        variables: dict[str, str] = {"name": name}

        def lookup(param: str, var: str) -> str:
            if var in variables:
                return variables[var]
            value = raw.get(var)
            if not value:
                # config.c load_config: a variable must be a parameter with a value.
                raise ToolError(f'jail: {name}: {param}: variable "{var}" not found')
            return ",".join(expand(var, v) for v in value)

        def expand(param: str, value: Value) -> str:
            if not value.expand:
                return value.text
            return substitute(value.text, lambda var: lookup(param, var))

        for key, values in raw.items():
            if key.startswith("$"):
                variables[key[1:]] = ",".join(expand(key, v) for v in values or [])
        for key, values in raw.items():
            if key.startswith("$"):
                continue
            resolved[key] = True if values is None else [expand(key, v) for v in values]
        return resolved


def substitute(text: str, lookup: Callable[[str], str]) -> str:
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "$" and i + 1 < len(text) and text[i + 1] == "{":
            end = text.find("}", i)
            if end < 0:
                out.append(text[i:])
                break
            out.append(lookup(text[i + 2 : end]))
            i = end + 1
        elif char == "$" and i + 1 < len(text) and (text[i + 1].isalnum() or text[i + 1] == "_"):
            j = i + 1
            # jaillex.l: a $name variable is letters, digits and _ only, so
            # "$name.d" is the variable name followed by ".d".
            while j < len(text) and (text[j].isascii() and (text[j].isalnum() or text[j] == "_")):
                j += 1
            out.append(lookup(text[i + 1 : j]))
            i = j
        else:
            out.append(char)
            i += 1
    return "".join(out)


def tokenize(text: str, file: str) -> list[Token]:
    tokens: list[Token] = []
    i, line = 0, 1
    while i < len(text):
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif char.isspace():
            i += 1
        elif char == "#" or text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ToolError(f"{file}: unexpected EOF")
            line += text.count("\n", i, end)
            i = end + 2
        elif text.startswith("+=", i):
            tokens.append(Token("punct", "+=", line))
            i += 2
        elif char in ";{}=,":
            tokens.append(Token("punct", char, line))
            i += 1
        elif char in "\"'":
            start_line = line
            j = i + 1
            chunk = []
            while j < len(text) and text[j] != char:
                if char == '"' and text[j] == "\\" and j + 1 < len(text):
                    escaped = text[j + 1]
                    chunk.append({"n": "\n", "t": "\t"}.get(escaped, escaped))
                    j += 2
                    continue
                if text[j] == "\n":
                    line += 1
                chunk.append(text[j])
                j += 1
            if j >= len(text):
                raise ToolError(f"{file}: unexpected EOF")
            tokens.append(Token("word", "".join(chunk), start_line, char))
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in SPECIAL:
                if text.startswith("+=", j) or text.startswith("//", j) or text.startswith("/*", j):
                    break
                if text.startswith("${", j) and "}" in text[j:]:
                    j = text.index("}", j) + 1  # a variable in an unquoted string
                    continue
                j += 1
            if not text[i:j].isascii():
                # jaillex.l matches unquoted strings of printable ASCII only.
                raise ToolError(f"{file} line {line}: {text[i:j]}: syntax error")
            tokens.append(Token("word", text[i:j], line))
            i = j
    tokens.append(Token("eof", "", line))
    return tokens


class Parser:
    def __init__(
        self, read: Callable[[str], str], glob_in: Callable[[str], list[str]], file: str
    ) -> None:
        self.read = read
        self.glob = glob_in
        self.file = file
        self.config = Config()

    def parse(self) -> Config:
        self.parse_file(self.file, None)
        return self.config

    def error(self, token: Token, file: str) -> ToolError:
        if token.kind == "eof":
            return ToolError(f"{file}: unexpected EOF")
        return ToolError(f"{file} line {token.line}: {token.text}: syntax error")

    def parse_file(self, file: str, jail: str | None) -> None:
        tokens = tokenize(self.read(file), file)
        pos = self.statements(tokens, 0, file, jail)
        if tokens[pos].kind != "eof":
            raise self.error(tokens[pos], file)

    def statements(self, tokens: list[Token], pos: int, file: str, jail: str | None) -> int:
        while True:
            token = tokens[pos]
            if token.kind == "eof" or token.text == "}":
                return pos
            if token.kind == "punct" and token.text == ";":
                pos += 1
                continue
            if token.kind != "word":
                raise self.error(token, file)
            after = tokens[pos + 1]
            if token.text == ".include" and not token.quote:
                pattern = tokens[pos + 1]
                if pattern.kind != "word" or tokens[pos + 2].text != ";":
                    raise self.error(tokens[pos + 2] if pattern.kind == "word" else pattern, file)
                for included in self.expand_include(pattern.text):
                    self.parse_file(included, jail)
                pos += 3
                continue
            if after.text == "{" and after.kind == "punct":
                if jail is not None:
                    raise self.error(after, file)
                name = token.text
                if name not in self.config.jails:
                    self.config.jails[name] = []
                    if name != "*":
                        self.config.order.append(name)
                pos = self.statements(tokens, pos + 2, file, name)
                if tokens[pos].text != "}":
                    raise self.error(tokens[pos], file)
                pos += 1
                continue
            pos = self.parameter(tokens, pos, file, jail)

    def parameter(self, tokens: list[Token], pos: int, file: str, jail: str | None) -> int:
        name = tokens[pos].text
        after = tokens[pos + 1]
        if after.text == ";":
            param = Param(name, None)
            pos += 2
        elif after.text in ("=", "+="):
            values: list[Value] = []
            pos += 2
            while True:
                token = tokens[pos]
                if token.kind != "word":
                    raise self.error(token, file)
                values.append(Value(token.text, expand=token.quote != "'"))
                pos += 1
                if tokens[pos].text == ",":
                    pos += 1
                    continue
                if tokens[pos].text != ";":
                    raise self.error(tokens[pos], file)
                pos += 1
                break
            param = Param(name, values, append=after.text == "+=")
        else:
            raise self.error(after, file)
        if jail is None:
            self.config.defaults.append(param)
        else:
            self.config.jails[jail].append(param)
        return pos

    def expand_include(self, pattern: str) -> list[str]:
        if glob.has_magic(pattern):
            return sorted(self.glob(pattern))
        return [pattern]


def parse_file(host: Host, file: str) -> Config:
    """Parse the FreeBSD file `file` of `host`, with the files it includes."""

    def text_of(path: str) -> str:
        try:
            return host.path(path).read_text()
        except FileNotFoundError:
            raise ToolError(f"{path}: No such file or directory") from None

    def glob_in(pattern: str) -> list[str]:
        return [host.freebsd_path(Path(p)) for p in glob.glob(str(host.path(pattern)))]

    return Parser(text_of, glob_in, file).parse()


def parse_text(text: str, file: str = "jail.conf") -> Config:
    """Parse one file's text (no includes); for tests."""

    def text_of(path: str) -> str:
        if path != file:
            raise ToolError(f"{path}: No such file or directory")
        return text

    return Parser(text_of, lambda pattern: [], file).parse()
