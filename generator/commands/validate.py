"""`jailgen validate CATALOG`: check a catalog and report every problem at once,
each as FILE:LINE:COL: key.path: problem (expected ...)."""

from __future__ import annotations

from pathlib import Path

from generator.catalog import Catalog, load_catalog


def validate(path: Path) -> Catalog:
    """The catalog at `path`, parsed and cross-checked (CatalogError otherwise)."""
    return load_catalog(path)
