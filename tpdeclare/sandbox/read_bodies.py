"""The bodies of the list and info endpoints (of clusters and of volumes alike), in a dialect's shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tpdeclare.sandbox.dialects import BARE
from tpdeclare.sandbox.world import JsonDict

Rename = Callable[[JsonDict], JsonDict]  # a canonical view in the dialect's field names


def list_body(key: str, views: list[JsonDict], table: str, rename: Rename, text_only: bool) -> dict[str, Any]:
    """`{key: [each view renamed], "message": table}`; only the message in a text-only dialect."""
    if text_only:
        return {"message": table}
    return {key: [rename(v) for v in views], "message": table}


def info_body(view: JsonDict, table: str, rename: Rename, wrapper: str | None, text_only: bool) -> dict[str, Any]:
    """The view renamed under `wrapper` (or bare, its fields beside `message`); only the message in a text-only
    dialect."""
    if text_only:
        return {"message": table}
    if wrapper is BARE:
        return {**rename(view), "message": table}
    return {wrapper: rename(view), "message": table}
