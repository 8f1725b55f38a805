"""The grammar of the names and IDs tpdeclare stores and prints: addresses, stack and cluster names, engine IDs."""

from __future__ import annotations

import os
import re

# An address (the key under `clusters:`) and a stack name, as the spec schema allows them.
ADDRESS = re.compile(r"[a-z][a-z0-9-]{0,62}")
STACK = re.compile(r"[a-z][a-z0-9-]{0,62}")
# A TensorPool cluster name as the spec allows it.
CLUSTER_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# An instance type: <units per node>x<kind>, e.g. 8xH200 (the catalogue judges whether it is known).
INSTANCE_TYPE = re.compile(r"[1-9][0-9]{0,3}x[A-Za-z0-9]{1,16}")

# An ID the engine hands out (cluster, instance, request, storage): letters, digits, `-` and `_`, at
# most 128. IDs go into URL paths, state files and terminals, so nothing else is accepted: no `/` or
# `..` (path traversal), no `?`, `#` or `%` (another request), no spaces or control characters.
ENGINE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def is_engine_id(value: object) -> bool:
    """True for a string that is safe to use as an engine ID."""
    return isinstance(value, str) and ENGINE_ID.fullmatch(value) is not None


def is_address(value: object) -> bool:
    return isinstance(value, str) and ADDRESS.fullmatch(value) is not None


def random_uuid() -> str:
    """A random (version 4) UUID's text, as `str(uuid.uuid4())` writes it, without importing `uuid` (which
    imports `platform`) at every run's start: state lineages and lock IDs."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
