"""Builders of well-formed state records for the state tests: every field as tpdeclare itself records it."""

from __future__ import annotations

import zlib
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
