"""Every YAML setting jailgen writes with lives here.

Two emitters produce the same style (block mappings indented by 2, sequences
indented by 4 with the dash at 2, `---` first):
- `emit` is a small canonical emitter for files that hold only jailgen's data: fast,
  sorted only by the caller's order, deterministic;
- `merge` edits an existing file with ruamel.yaml round-trip, so comments and keys
  jailgen does not own survive byte for byte.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

_PLAIN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_./@+-]*$")
_RESOLVER = yaml.resolver.Resolver()


def _scalar(value: Any) -> str:
    if value is None:
        return "~"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == (
        "tag:yaml.org,2002:str"
    ):
        return text
    return json.dumps(text)


def _emit(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Mapping) and item:
                out.append(f"{pad}{_scalar(key)}:\n")
                _emit(item, indent + 2, out)
            elif isinstance(item, list | tuple) and item:
                out.append(f"{pad}{_scalar(key)}:\n")
                _emit(item, indent + 2, out)
            else:
                out.append(f"{pad}{_scalar(key)}: {_inline(item)}\n")
    else:
        for item in value:
            if isinstance(item, Mapping) and item:
                lines: list[str] = []
                _emit(item, indent + 2, lines)
                first = lines[0]
                out.append(f"{pad}- {first[indent + 2 :]}")
                out.extend(lines[1:])
            else:
                out.append(f"{pad}- {_inline(item)}\n")


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return _scalar(value)


def emit(data: Mapping[str, Any]) -> str:
    """Canonical YAML text of plain data (dicts, lists, str, int, bool, None)."""
    out = ["---\n"]
    _emit(data, 0, out)
    return "".join(out)


def load_fast(text: str) -> Any:
    """Plain data from YAML text, with libyaml (no positions, no comments)."""
    return yaml.load(text, Loader=yaml.CSafeLoader)


def _round_trip() -> YAML:
    rt = YAML(typ="rt")
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.explicit_start = True
    rt.width = 4096
    rt.preserve_quotes = True
    return rt


def merge(text: str, owned: Mapping[str, Any], owned_keys: Iterable[str]) -> str:
    """Set the top-level keys `owned` in the YAML document `text`, delete the keys of
    `owned_keys` that `owned` lacks, and leave everything else as it was.

    Unchanged values keep their formatting and comments; changed mappings are edited
    key by key rather than replaced, so comments inside them survive too.
    """
    rt = _round_trip()
    document = rt.load(text)
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise ValueError("the document is not a mapping")
    for key in owned_keys:
        if key in document and key not in owned:
            del document[key]
    for key, value in owned.items():
        _merge_key(document, key, value)
    buffer = io.StringIO()
    rt.dump(document, buffer)
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _merge_key(target: CommentedMap, key: str, value: Any) -> None:
    if key not in target:
        _insert_sorted(target, key, _to_round_trip(value))
        return
    current = target[key]
    if isinstance(value, Mapping) and isinstance(current, CommentedMap):
        for old in [k for k in current if k not in value]:
            del current[old]
        for sub_key, sub_value in value.items():
            _merge_key(current, sub_key, sub_value)
        return
    if _plain(current) != _plain(value):
        target[key] = _to_round_trip(value)


def _insert_sorted(target: CommentedMap, key: str, value: Any) -> None:
    keys = list(target.keys())
    position = next((i for i, k in enumerate(keys) if str(k) > key), len(keys))
    target.insert(position, key, value)


def _to_round_trip(value: Any) -> Any:
    if isinstance(value, Mapping):
        result = CommentedMap()
        for k, v in value.items():
            result[k] = _to_round_trip(v)
        return result
    if isinstance(value, list | tuple):
        seq = CommentedSeq(_to_round_trip(v) for v in value)
        if not value:
            seq.fa.set_flow_style()
        return seq
    return value
