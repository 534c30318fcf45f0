"""The YAML side of the catalog: the composed document keeps where every value
was written, gives the models plain data, and turns each validation error's
location back into FILE:LINE:COL and a key path.

Duplicate keys and keys that are not strings are found here, since the plain
data cannot hold them. Scalars are resolved as YAML does, except where the
models take them as written (a commit id of digits, an environment value).
"""

from __future__ import annotations

import types
import typing
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails

from generator.catalog_fields import EMPTY, kind_of_value
from generator.errors import CatalogError, Problem

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
# What a type error says was expected, by pydantic error type.
EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
# Where scalars are kept as written: a tree of keys ("*" for any key); the leaf
# says which scalars ("numbers": those YAML reads as int or float; "all").
AsWritten = dict[str, Any]


class Document:
    """The catalog's YAML document: `data` for the models, `problems` of the
    YAML layer, and where each value was written (`node_at`)."""

    def __init__(self, text: str, file: str, as_written: AsWritten, entries: dict[str, str]):
        self.file = file
        self.problems: list[Problem] = []
        self._entries = entries  # what the entries of a top-level mapping are ("app")
        self._constructor = yaml.constructor.SafeConstructor()
        try:
            root = yaml.compose(text, Loader=yaml.CSafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            message = f"YAML syntax error: {exc.problem or 'invalid YAML'}"
            raise CatalogError([Problem(file, line, column, "", message)]) from exc
        if root is None:
            raise CatalogError([Problem(file, 1, 1, "", "empty catalog (expected a mapping)")])
        self.root: yaml.Node = root
        self.data = self._plain(self.root, (), as_written)

    def _plain(self, node: yaml.Node, path: tuple[str, ...], as_written: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            if node.tag == STR or as_written == "all":
                return node.value
            if as_written == "numbers" and node.tag.endswith(("int", "float")):
                return node.value
            text = node.value
            if node.tag == INT and text.isdigit() and (text[0] != "0" or text == "0"):
                return int(text)  # the common case, without the constructor's dispatch
            value = self._constructor.construct_object(node)
            return EMPTY if value is None else value
        if isinstance(node, yaml.SequenceNode):
            return tuple([self._plain(child, path, as_written) for child in node.value])
        result: dict[str, Any] = {}
        firsts: dict[str, yaml.Node] = {}
        inner = as_written if isinstance(as_written, dict) else {}
        every = inner.get("*")
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != STR:
                self._error(key_node, path, f"key {kind(key_node)} (expected a string key)")
                continue
            key = key_node.value
            if key in firsts:
                mark = firsts[key].start_mark
                what = self._entries.get(path[0], "key") if len(path) == 1 else "key"
                self._error(
                    key_node,
                    (*path, key),
                    f"duplicate {what} {key!r} (first defined at line {mark.line + 1}, "
                    f"column {mark.column + 1})",
                )
                continue
            firsts[key] = key_node
            result[key] = self._plain(value_node, (*path, key), inner.get(key, every))
        return result

    def _error(self, node: yaml.Node, loc: tuple[str | int, ...], message: str) -> None:
        mark = node.start_mark
        self.problems.append(
            Problem(self.file, mark.line + 1, mark.column + 1, dotted(loc), message)
        )

    def node_at(self, loc: tuple[str | int, ...], key: bool = False) -> yaml.Node:
        """The node written at `loc` (its key's node with `key`), else the
        nearest one written above it (a missing key's mapping)."""
        node: yaml.Node = self.root
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                pairs = [p for p in node.value if getattr(p[0], "value", None) == part]
                if not pairs:
                    break
                node = pairs[0][0] if key and part == loc[-1] else pairs[0][1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                node = node.value[part]
            else:
                break
        return node

    def line_of(self, loc: tuple[str | int, ...]) -> int:
        return int(self.node_at(loc).start_mark.line) + 1

    def problem(self, error: ErrorDetails, model: type[BaseModel]) -> Problem:
        """A validation error as a positioned problem."""
        loc, kind_of = tuple(error["loc"]), error["type"]
        on_key = bool(loc) and loc[-1] == "[key]"
        if on_key:
            loc = loc[:-1]
        if kind_of == "missing":
            node, path = self.node_at(loc[:-1]), loc[:-1]
            message = f"missing required key '{loc[-1]}'"
        elif kind_of == "extra_forbidden":
            node, path = self.node_at(loc, key=True), loc
            message = f"unknown key (expected one of: {', '.join(keys_at(model, loc[:-1]))})"
        else:
            node, path = self.node_at(loc, key=on_key), loc
            message = error["msg"]
            if kind_of in EXPECTED:
                message = f"is {kind_of_value(error['input'])} (expected {EXPECTED[kind_of]})"
        mark = node.start_mark
        return Problem(self.file, mark.line + 1, mark.column + 1, dotted(path), message)


def dotted(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


def kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = node.tag.rsplit(":", 1)[-1]
    return _KINDS.get(tag, f"a {tag}")


_KINDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "null": "empty",
}


def keys_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model allows at `loc`, sorted."""
    current: Any = model
    for part in loc:
        current = _unwrapped(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or name: f for name, f in current.model_fields.items()}
            current = fields[str(part)].annotation
        else:
            args = typing.get_args(current)
            current = args[-1] if typing.get_origin(current) is dict else args[0]
    current = _unwrapped(current)
    return sorted(f.alias or name for name, f in current.model_fields.items())


def _unwrapped(annotation: Any) -> Any:
    while True:
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in args if a is not type(None))
        else:
            return annotation
