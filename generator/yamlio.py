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

_PLAIN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_./@+:-]*(?<!:)$")
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
    resolved = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if _PLAIN.match(text) and resolved == "tag:yaml.org,2002:str":
        return text
    return json.dumps(text)


def _emit(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, Mapping):
        for key, item in value.items():
            if (isinstance(item, Mapping) and item) or (isinstance(item, list | tuple) and item):
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
        # a list inside a list (an argument vector): flow style, one line
        return "[" + ", ".join(_inline(item) for item in value) + "]"
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
    rt.width = 4096
    rt.preserve_quotes = True
    return rt


def merge(text: str, owned: Mapping[str, Any], owned_keys: Iterable[str]) -> str:
    """Set the top-level keys `owned` in the YAML document `text`, delete the keys of
    `owned_keys` that `owned` lacks, and leave everything else byte for byte.

    The document is cut into top-level entries by their line numbers: entries
    jailgen does not own are copied verbatim; an owned entry is edited with
    ruamel.yaml round-trip, key by key, so comments inside it survive too, and is
    copied verbatim when its value has not changed. Keys new to the file are
    appended in the canonical style.
    """
    removable = set(owned_keys) - set(owned)
    root = yaml.compose(text, Loader=yaml.CSafeLoader)
    if root is None:
        return (text if text.strip() else "---\n") + emit(owned).removeprefix("---\n")
    if not isinstance(root, yaml.MappingNode):
        raise ValueError("the document is not a mapping")
    lines = text.splitlines(keepends=True)
    starts = [key.start_mark.line for key, _ in root.value]
    if root.flow_style or len(set(starts)) != len(starts):
        return _merge_whole(text, owned, removable)
    out = ["".join(lines[: starts[0]]) if starts else text]
    done = set()
    bounds = [*starts[1:], len(lines)]
    for (key_node, _), begin, end in zip(root.value, starts, bounds, strict=True):
        chunk = "".join(lines[begin:end])
        key = key_node.value
        if key in owned:
            out.append(_merge_entry(chunk, key, owned[key]))
            done.add(key)
        elif key not in removable:
            out.append(chunk)
    missing = {k: v for k, v in owned.items() if k not in done}
    if missing:
        if out[-1] and not out[-1].endswith("\n"):
            out.append("\n")
        out.append(emit(missing).removeprefix("---\n"))
    return "".join(out)


def _merge_entry(chunk: str, key: str, value: Any) -> str:
    rt = _round_trip()
    entry = rt.load(chunk)
    if _plain(entry.get(key)) == _plain(value):
        return chunk
    _merge_key(entry, key, value)
    buffer = io.StringIO()
    rt.dump(entry, buffer)
    return buffer.getvalue()


def _merge_whole(text: str, owned: Mapping[str, Any], removable: set[str]) -> str:
    """Fallback for documents that cannot be cut by lines (a flow-style top level)."""
    rt = _round_trip()
    rt.explicit_start = True
    document = rt.load(text)
    for key in removable:
        document.pop(key, None)
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
