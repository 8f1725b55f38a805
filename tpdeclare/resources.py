"""Locates the JSON documents in specs/ whether installed (tpdeclare/specs) or run from a checkout."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE_DIR = Path(__file__).resolve().parent


def spec_path(name: str) -> Path:
    """Path of a file shipped from the repository's specs/ directory."""
    for candidate in (_PACKAGE_DIR / "specs" / name, _PACKAGE_DIR.parent / "specs" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"tpdeclare is missing its bundled file specs/{name}; reinstall it")


@cache
def load_spec_json(name: str) -> dict[str, Any]:
    """Parsed JSON of a shipped specs/ document (cached: they never change at run time)."""
    with spec_path(name).open("rb") as fh:
        doc: dict[str, Any] = json.load(fh)
    return doc
