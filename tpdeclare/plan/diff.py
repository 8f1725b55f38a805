"""Field-level differences between a cluster as it is and as it is wanted, by DeepDiff's rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tpdeclare.fields import FIELDS, MANAGED_FIELDS, OBSERVABLE_FIELDS, FieldEffect
from tpdeclare.plan.model import FieldChange
from tpdeclare.spec.model import ClusterSpec
from tpdeclare.state.model import Record


def recorded_spec(cluster: ClusterSpec) -> dict[str, Any]:
    """What the executor records as a cluster's `spec` in state: the managed fields plus prevent_destroy."""
    return {**cluster.fields(), "prevent_destroy": cluster.prevent_destroy}


def current_fields(record: Record, observed: Mapping[str, Any] | None) -> dict[str, Any]:
    """The cluster's current field values: recorded, overlaid with what the engine reports (refresh)."""
    fields = dict(zip(MANAGED_FIELDS, map(record.spec.get, MANAGED_FIELDS), strict=True))
    if observed is not None:
        for f in OBSERVABLE_FIELDS:
            if f in observed:
                fields[f] = observed[f]
    return fields


_SCALARS = frozenset({str, int, bool, type(None)})


def same(a: object, b: object) -> bool:
    """Equal with the same type at every level (2 vs 2.0 and True vs 1 differ, inside lists too):
    where this holds, DeepDiff reports no change either."""
    t = type(a)
    if t is not type(b):
        return False
    if t in _SCALARS:  # the common case, asked first: neither a list nor a dict
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    return a == b


def unchanged(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """The fast test that nothing differs: the same keys, each value `same`."""
    return before.keys() == after.keys() and all(same(v, after[k]) for k, v in before.items())


def _container_detail(before: object, after: object) -> str | None:
    """How a list (or mapping) value changed, by DeepDiff with the order of list items ignored; None if
    it did not (reordered or repeated items: the same set of keys)."""
    from deepdiff import DeepDiff  # only when a list field differs: its import costs ~0.1-0.3 s

    diff = DeepDiff(before, after, ignore_order=True)
    if not diff:
        return None
    counts = (
        (len(diff.get("iterable_item_added", {})), "added"),
        (len(diff.get("iterable_item_removed", {})), "removed"),
        (len(diff.get("values_changed", {})) + len(diff.get("type_changes", {})), "replaced"),
    )
    return ", ".join(f"{n} {what}" for n, what in counts if n) or "changed"


def field_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], ignore: frozenset[str]
) -> tuple[FieldChange, ...]:
    """Field-level differences, in the field table's order.

    The rule is DeepDiff's with the order of list items ignored (tests/test_planner.py checks the two
    agree on arbitrary values). Values that are `same` never differ, and scalars that are not always
    do: a changed cluster at 10,000-cluster scale cannot afford a DeepDiff call per field. Lists and
    mappings that are not `same` go to DeepDiff, so reordering public_keys is no change and a change
    says how many keys came and went.
    """
    out = []  # (no `unchanged` first: the loop asks `same` of each field once either way)
    for name in MANAGED_FIELDS:  # table order, stable output
        a, b = before.get(name), after.get(name)
        detail = None
        if same(a, b):
            continue
        if isinstance(a, (list, dict)) and isinstance(b, (list, dict)):
            detail = _container_detail(a, b)
            if detail is None:
                continue
        effect = FieldEffect.IGNORED if name in ignore else FIELDS[name]
        out.append(FieldChange(name, a, b, effect, detail))
    return tuple(out)
