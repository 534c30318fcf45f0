"""`jailgen schema`: the catalog's JSON Schema, generated from its models (the
same text as schema/catalog.schema.json, which a test keeps current)."""

from __future__ import annotations

from generator.catalog import json_schema


def schema() -> str:
    return json_schema()
