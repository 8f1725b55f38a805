"""The instance-type catalogue, the multi-node rule and the dated price table."""

from __future__ import annotations

import re

from tpdeclare.suggestions import did_you_mean

# Known types [3p, matches the official CLI's help]. The catalogue changes: the loader warns about an
# unknown but well-formed type and lets the server decide; a near miss of a known one is an error.
GPU_KINDS = ("H100", "H200", "B200", "B300")
INSTANCE_TYPES: tuple[str, ...] = tuple(
    f"{n}x{kind}" for kind in GPU_KINDS for n in (1, 2, 4, 8)
) + ("1xL40S", "32xCPU", "64xCPU")
MULTI_NODE_TYPES: tuple[str, ...] = ("8xH200", "8xB200")
# The most units (GPUs, or vCPUs for CPU kinds) one node can have: the catalogue's largest is 64xCPU and
# the largest machines made today have a few hundred vCPUs. Past this a count is a mistake, not a new
# type (`100000000000000000000xH100`); the spec schema's instance-type pattern allows three digits.
MAX_UNITS_PER_NODE = 999

# USD per GPU-hour (per vCPU-hour for CPU), billed per second [3p]. Override with a prices file or a
# `prices:` section in the spec.
PRICES_AS_OF = "2026-11"
PRICES: dict[str, float] = {
    "H100": 1.99,
    "H200": 2.99,
    "B200": 4.99,
    "B300": 5.49,
    "L40S": 1.49,
    "CPU": 0.015,
}

_TYPE_RE = re.compile(r"([1-9][0-9]*)x([A-Z][A-Z0-9]*)")


def parse_instance_type(instance_type: str) -> tuple[int, str] | None:
    """`"8xH200"` -> `(8, "H200")`; None if it is not of the `<count>x<KIND>` form."""
    m = _TYPE_RE.fullmatch(instance_type)
    if not m:
        return None
    return int(m.group(1)), m.group(2)


def hourly_cost(instance_type: str, num_nodes: int, prices: dict[str, float] | None = None) -> float | None:
    """Estimated USD/hour: units per node × nodes × unit price; None when the kind has no price."""
    parsed = parse_instance_type(instance_type)
    if parsed is None:
        return None
    count, kind = parsed
    table = {**PRICES, **(prices or {})}
    price = table.get(kind)
    if price is None:
        return None
    return round(count * num_nodes * price, 6)


def respelling_of(instance_type: str) -> str | None:
    """The catalogue entry `instance_type` is another spelling of: letter case, separators, the order of
    count and kind, a missing x (`8xh100`, `8x H100`, `H100x8`, `8H100` -> `8xH100`). None otherwise."""
    if instance_type in INSTANCE_TYPES:
        return None
    compact = re.sub(r"[\s_\-*]", "", instance_type).upper()
    by_upper = {t.upper(): t for t in INSTANCE_TYPES}
    if compact in by_upper:
        return by_upper[compact]
    swapped = re.match(r"^([A-Z][A-Z0-9]*?)X([0-9]+)$", compact)  # H100x8 -> 8xH100
    if swapped and f"{swapped.group(2)}X{swapped.group(1)}" in by_upper:
        return by_upper[f"{swapped.group(2)}X{swapped.group(1)}"]
    bare = re.match(r"^([0-9]+)([A-Z][A-Z0-9]*)$", compact)  # 8H100 -> 8xH100
    if bare and f"{bare.group(1)}X{bare.group(2)}" in by_upper:
        return by_upper[f"{bare.group(1)}X{bare.group(2)}"]
    return None


def suggest_instance_type(instance_type: str) -> str | None:
    """The catalogue entry a near miss was likely meant to be: a respelling, else the did-you-mean rule's pick."""
    if instance_type in INSTANCE_TYPES:
        return None
    return respelling_of(instance_type) or did_you_mean(instance_type, INSTANCE_TYPES)


def sizes_of(kind: str) -> tuple[str, ...]:
    """The catalogue's instance types of one kind, smallest first: `H100` -> 1xH100, 2xH100, 4xH100, 8xH100."""
    return tuple(t for t in INSTANCE_TYPES if t.split("x", 1)[1] == kind)
