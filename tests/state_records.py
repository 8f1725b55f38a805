"""Builders of well-formed state records for the state tests: every field as tpdeclare itself records it."""

from __future__ import annotations

import copy
import zlib
from collections.abc import Sequence
from typing import Any

from tpdeclare.state.model import Record

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyForStateTests alice@laptop"


def spec_of(**overrides: Any) -> dict[str, Any]:
    """A record's `spec` as the executor records it: the managed fields plus prevent_destroy."""
    spec = {"instance_type": "1xH100", "num_nodes": 1, "name": "s-x", "container": None,
            "deletion_protection": False, "public_keys": [KEY], "prevent_destroy": False}
    spec.update(overrides)
    return spec


def record(address: str, status: str = "ready", *, name: str | None = None, spec: dict[str, Any] | None = None,
           **fields: Any) -> Record:
    """A valid record at `address`; past `pending` it has a cluster_id derived from the address unless given."""
    name = name or f"s-{address}"
    if status != "pending":
        fields.setdefault("cluster_id", f"c-{zlib.crc32(address.encode()):08x}")
    return Record(address=address, status=status, name=name, spec=spec or spec_of(name=name), **fields)


def set_at(target: Any, path: Sequence[str], value: Any) -> None:
    """Set the value at `path` in nested objects to a copy of `value` (KeyError deletes it); nothing when a
    parent on the way is missing or no object. How the damage tests break one field of a state document."""
    *parents, last = path
    for key in parents:
        target = target.get(key) if isinstance(target, dict) else None
    if isinstance(target, dict):
        if value is KeyError:
            target.pop(last, None)
        else:
            target[last] = copy.deepcopy(value)  # (a shared value set twice could come to hold itself)
