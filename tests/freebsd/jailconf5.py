"""A second, independent reader of jail.conf(5), written from the manual page
and jail(8)'s lexer and grammar, to check the files the generated module
writes (the model's own parser, fbmodel/jailconf.py, is what the model's
jail(8) runs; this one checks it and the files from the outside).

The grammar, as jail(8) reads it:

    conf   := { jail | param ';' | ';' }
    jail   := name '{' conf '}'           nested blocks name "parent.child"
    param  := pname [ ('=' | '+=') ] [ value ]
    value  := string { ',' string }
    pname  := word | $variable

A string is one or more pieces written with nothing between them: unquoted
words, 'single-quoted' and "double-quoted" strings, and variables `$name` or
`${name}`. Backslash escapes (C style, octal, `\\x` hex, a backslash-newline
joins lines) work everywhere; variables expand in words and double quotes,
never in single quotes. `#`, `//` and `/* */` are comments. A parameter named
`.include` reads the files its literal value names (a glob pattern: no match
is no file; a plain path must exist).

Errors are jail(8)'s messages: `FILE line N: TOKEN: syntax error`,
`FILE: unexpected EOF`, `FILE line N: unterminated string|comment|variable`.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Characters of an unquoted word (jaillex.l); `$ * + / \` are words of one.
WORD = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_!%&()-.:<>?@[]^`|~")
SINGLE = set("$*+/\\")
NAME_START = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
NAME = NAME_START | set("0123456789")
ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
OCTAL = set("01234567")
HEX = set("0123456789abcdefABCDEF")


class JailConfError(Exception):
    """A file jail(8) would refuse, with its message."""


@dataclass(frozen=True)
class Piece:
    text: str
    variable: bool = False  # text is the name of a variable to substitute


@dataclass(frozen=True)
class String:
    pieces: tuple[Piece, ...]
    line: int

    @property
    def literal(self) -> bool:
        return not any(p.variable for p in self.pieces)

    def raw(self) -> str:
        return "".join(f"${{{p.text}}}" if p.variable else p.text for p in self.pieces)


@dataclass(frozen=True)
class Param:
    name: str  # `$x` for a variable
    values: tuple[String, ...] | None  # None: `name;`
    append: bool
    file: str
    line: int


@dataclass
class Section:
    """A `name { ... }` block, or (`outside`) parameters outside any block,
    which jail(8) keeps as a `*` block where they are written."""

    name: str
    file: str
    line: int
    params: list[Param] = field(default_factory=list)
    outside: bool = False

    @property
    def wildcard(self) -> bool:
        return self.name == "*" or self.name.endswith(".*")

    def applies_to(self, jail: str) -> bool:
        if self.name == "*":
            return True
        if self.name.endswith(".*"):
            return jail.startswith(self.name[:-1])
        return self.name == jail


@dataclass
class Config:
    sections: list[Section] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read, in order

    @property
    def jails(self) -> list[str]:
        """Jail names, in the order of their first block."""
        names: list[str] = []
        for section in self.sections:
            if not section.wildcard and section.name not in names:
                names.append(section.name)
        return names

    def params_of(self, jail: str) -> list[Param]:
        """Every statement that applies to `jail`, in file order (later wins)."""
        if jail not in self.jails:
            raise KeyError(jail)
        return [p for s in self.sections if s.applies_to(jail) for p in s.params]

    def resolve(self, jail: str) -> dict[str, list[str] | bool]:
        """The jail's parameters after `=`/`+=`, `name;`/`noname;` and variables."""
        assigned: dict[str, Param | list[String] | bool] = {}
        for param in self.params_of(jail):
            if param.name == ".include":
                continue
            if param.values is None:
                name, truth = boolean(param.name)
                assigned[name] = truth
                continue
            before = assigned.get(param.name)
            if param.append and isinstance(before, list):
                assigned[param.name] = [*before, *param.values]
            else:
                assigned[param.name] = list(param.values)
        if "name" in assigned:
            raise JailConfError(f'{jail}: cannot redefine parameter "name"')
        strings = {k: v for k, v in assigned.items() if isinstance(v, list)}
        done: dict[str, str] = {"name": jail}

        def variable(param: str, var: str, busy: tuple[str, ...]) -> str:
            if var in done:
                return done[var]
            key = f"${var}" if f"${var}" in strings else var
            if key not in strings or not strings[key]:
                raise JailConfError(f'{jail}: {param}: variable "{var}" not found')
            if key in busy:
                raise JailConfError(f"{jail}: {param}: variable loop")
            done[var] = ",".join(expand(key, s, (*busy, key)) for s in strings[key])
            return done[var]

        def expand(param: str, string: String, busy: tuple[str, ...]) -> str:
            return "".join(
                variable(param, p.text, busy) if p.variable else p.text for p in string.pieces
            )

        resolved: dict[str, list[str] | bool] = {"name": [jail]}
        for key, value in assigned.items():
            if key.startswith("$"):
                for string in strings[key]:
                    expand(key, string, (key,))
            elif isinstance(value, bool):
                resolved[key] = value
            else:
                resolved[key] = [expand(key, s, (key,)) for s in strings[key]]
        return resolved


def boolean(name: str) -> tuple[str, bool]:
    """`allow.nomount;` is `allow.mount = false` (jail.conf(5) "Parameters")."""
    head, dot, last = name.rpartition(".")
    if last.startswith("no") and len(last) > 2:
        return f"{head}{dot}{last[2:]}", False
    return name, True


# --- the lexer ---


@dataclass(frozen=True)
class Token:
    kind: str  # string | var | = | += | , | ; | { | } | other | eof
    text: str  # the value: a string piece's text, a variable's name
    raw: str  # as written, for error messages
    line: int
    joined: bool = False  # follows the previous piece with nothing between


class Lexer:
    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.pos = 0
        self.line = 1
        self.tokens: list[Token] = []
        self.in_string = False  # the last token was a string piece

    def error(self, what: str, line: int) -> JailConfError:
        return JailConfError(f"{self.file} line {line}: {what}")

    def emit(self, kind: str, text: str, start: int, line: int) -> None:
        joined = self.in_string and kind in ("string", "var")
        self.tokens.append(Token(kind, text, self.text[start : self.pos], line, joined))
        self.in_string = kind in ("string", "var")

    def run(self) -> list[Token]:
        text = self.text
        while self.pos < len(text):
            start, line, char = self.pos, self.line, text[self.pos]
            if char in " \t\r\n":
                self.line += char == "\n"
                self.pos += 1
                self.in_string = False
            elif char == "#" or text.startswith("//", start):
                end = text.find("\n", start)
                self.pos = len(text) if end < 0 else end
                self.in_string = False
            elif text.startswith("/*", start):
                end = text.find("*/", start + 2)
                if end < 0:
                    raise self.error("unterminated comment", line)
                self.line += text.count("\n", start, end)
                self.pos = end + 2
                self.in_string = False
            elif text.startswith("+=", start):
                self.pos += 2
                self.emit("+=", "+=", start, line)
            elif char in ",;={}":
                self.pos += 1
                self.emit(char, char, start, line)
            elif char == "'":
                self.quoted("'")
            elif char == '"':
                self.quoted('"')
            elif char == "$" and self.variable(expand_quotes=False):
                pass
            elif char == "\\":
                self.pos += 1
                self.emit("string", self.escape(), start, line)
            elif char in WORD:
                while self.pos < len(text) and text[self.pos] in WORD:
                    self.pos += 1
                self.emit("string", text[start : self.pos], start, line)
            elif char in SINGLE:
                self.pos += 1
                self.emit("string", char, start, line)
            else:
                self.pos += 1
                self.emit("other", char, start, line)
        self.tokens.append(Token("eof", "", "", self.line))
        return self.tokens

    def escape(self) -> str:
        """The character(s) after a backslash at self.pos - 1; moves past them."""
        text = self.text
        if self.pos >= len(text):
            return ""
        char = text[self.pos]
        self.pos += 1
        if char in OCTAL:
            digits = char
            while len(digits) < 3 and self.pos < len(text) and text[self.pos] in OCTAL:
                digits += text[self.pos]
                self.pos += 1
            return chr(int(digits, 8) & 0xFF)
        if char == "x":
            digits = ""
            while len(digits) < 2 and self.pos < len(text) and text[self.pos] in HEX:
                digits += text[self.pos]
                self.pos += 1
            return chr(int(digits, 16)) if digits else "\0"
        if char == "\n":
            self.line += 1
            return ""
        return ESCAPES.get(char, char)

    def variable(self, expand_quotes: bool) -> bool:
        """A `$name` or `${name}` at self.pos; False if the `$` is just a `$`."""
        text, start, line = self.text, self.pos, self.line
        if text.startswith("${", start):
            self.pos += 2
            name = []
            while self.pos < len(text) and text[self.pos] != "}":
                char = text[self.pos]
                if char in "\n{" or (expand_quotes and char == '"'):
                    raise self.error("unterminated variable", line)
                self.pos += 1
                name.append(self.escape() if char == "\\" else char)
            if self.pos >= len(text):
                raise self.error("unterminated variable", line)
            self.pos += 1
            self.emit("var", "".join(name), start, line)
            return True
        if start + 1 < len(text) and text[start + 1] in NAME_START:
            self.pos += 1
            while self.pos < len(text) and text[self.pos] in NAME:
                self.pos += 1
            self.emit("var", text[start + 1 : self.pos], start, line)
            return True
        return False

    def quoted(self, quote: str) -> None:
        text, start, line = self.text, self.pos, self.line
        self.pos += 1
        chunk: list[str] = []
        chunk_start = start

        def flush() -> None:
            self.emit("string", "".join(chunk), chunk_start, line)
            chunk.clear()

        emitted = False
        while True:
            if self.pos >= len(text):
                raise self.error("unterminated string", line)
            char = text[self.pos]
            if char == quote:
                self.pos += 1
                if chunk or not emitted:
                    flush()
                # A string piece follows a closing quote directly: still one string.
                self.in_string = True
                return
            if char == "\\":
                self.pos += 1
                chunk.append(self.escape())
            elif quote == '"' and char == "$" and self.pos + 1 < len(text):
                before = self.pos
                if chunk:
                    flush()
                    emitted = True
                if self.variable(expand_quotes=True):
                    emitted = True
                    chunk_start = self.pos
                else:
                    self.pos = before + 1
                    chunk.append("$")
            else:
                if char == "\n":
                    self.line += 1
                chunk.append(char)
                self.pos += 1


# --- the parser ---

Add = Callable[[Param], None]


class Parser:
    def __init__(self, read: Callable[[str], str], expand: Callable[[str], list[str]]) -> None:
        self.read = read
        self.expand = expand
        self.config = Config()

    def parse_file(self, file: str, block: str, add: Add) -> None:
        self.config.files.append(file)
        tokens = Lexer(self.read(file), file).run()
        pos = self.statements(tokens, 0, file, block, add)
        if tokens[pos].kind != "eof":
            raise self.syntax(tokens[pos], file)

    def syntax(self, token: Token, file: str) -> JailConfError:
        if token.kind == "eof":
            return JailConfError(f"{file}: unexpected EOF")
        return JailConfError(f"{file} line {token.line}: {token.raw}: syntax error")

    def statements(self, tokens: list[Token], pos: int, file: str, block: str, add: Add) -> int:
        """Parse until `}` or EOF; parameters go to `add`, blocks to the config."""
        while True:
            token = tokens[pos]
            if token.kind in ("eof", "}"):
                return pos
            if token.kind == ";":
                pos += 1
                continue
            if token.kind not in ("string", "var"):
                raise self.syntax(token, file)
            end = pos + 1
            while tokens[end].joined:
                end += 1
            if tokens[end].kind == "{":
                pos = self.jail(tokens, pos, end, file, block)
            else:
                pos = self.param(tokens, pos, file, block, add)

    def jail(self, tokens: list[Token], pos: int, end: int, file: str, block: str) -> int:
        pieces = tokens[pos:end]
        var = next((t for t in pieces if t.kind == "var"), None)
        if var is not None:
            raise self.syntax(var, file)
        name = "".join(t.text for t in pieces)
        if block != "*":
            name = f"{block}.{name}"
        # A block comes before the blocks nested in it, as in the file.
        section = Section(name, file, tokens[pos].line)
        self.config.sections.append(section)
        pos = self.statements(tokens, end + 1, file, name, section.params.append)
        if tokens[pos].kind != "}":
            raise self.syntax(tokens[pos], file)
        return pos + 1

    def param(self, tokens: list[Token], pos: int, file: str, block: str, add: Add) -> int:
        token = tokens[pos]
        if tokens[pos + 1].joined:
            raise self.syntax(tokens[pos + 1], file)
        name = f"${token.text}" if token.kind == "var" else token.text
        pos += 1
        append = tokens[pos].kind == "+="
        if tokens[pos].kind in ("=", "+="):
            pos += 1
            if tokens[pos].kind not in ("string", "var"):
                raise self.syntax(tokens[pos], file)
        values: list[String] | None = None
        if tokens[pos].kind in ("string", "var"):
            values = []
            while True:
                first = tokens[pos]
                pieces = [first]
                pos += 1
                while tokens[pos].joined:
                    pieces.append(tokens[pos])
                    pos += 1
                values.append(
                    String(
                        tuple(Piece(t.text, t.kind == "var") for t in pieces),
                        first.line,
                    )
                )
                if tokens[pos].kind != ",":
                    break
                pos += 1
                if tokens[pos].kind not in ("string", "var"):
                    raise self.syntax(tokens[pos], file)
        if tokens[pos].kind != ";":
            raise self.syntax(tokens[pos], file)
        param = Param(name, None if values is None else tuple(values), append, file, token.line)
        if name == ".include":
            self.include(param, file, block, add)
        else:
            add(param)
        return pos + 1

    def include(self, param: Param, file: str, block: str, add: Add) -> None:
        if not param.values or len(param.values) != 1 or not param.values[0].literal:
            raise JailConfError(
                f"{file} line {param.line}: .include: the filename must be a literal string"
            )
        pattern = param.values[0].raw()
        if not pattern.startswith("/"):
            pattern = os.path.join(os.path.dirname(file), pattern)
        add(param)
        for path in self.expand(pattern):
            self.parse_file(path, block, add)


def parse(read: Callable[[str], str], expand: Callable[[str], list[str]], file: str) -> Config:
    parser = Parser(read, expand)
    sections = parser.config.sections

    def outside(param: Param) -> None:
        if not sections or not sections[-1].outside:
            sections.append(Section("*", param.file, param.line, outside=True))
        sections[-1].params.append(param)

    parser.parse_file(file, "*", outside)
    return parser.config


def parse_text(text: str, file: str = "jail.conf") -> Config:
    """One file's text; an `.include` of anything else finds no file."""

    def read(path: str) -> str:
        if path != file:
            raise JailConfError(f"{path}: No such file or directory")
        return text

    return parse(read, lambda pattern: [] if glob.has_magic(pattern) else [pattern], file)


def parse_root(root: Path, file: str = "/etc/jail.conf") -> Config:
    """The FreeBSD file `file` of a host whose `/` is the directory `root`."""

    def read(path: str) -> str:
        try:
            return (root / path.lstrip("/")).read_text()
        except FileNotFoundError:
            raise JailConfError(f"{path}: No such file or directory") from None

    def expand(pattern: str) -> list[str]:
        if not glob.has_magic(pattern):
            return [pattern]
        found = glob.glob(str(root / pattern.lstrip("/")))
        return sorted("/" + str(Path(p).relative_to(root)) for p in found)

    return parse(read, expand, file)
