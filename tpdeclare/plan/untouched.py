"""The planner's fast path: a ready cluster recorded exactly as it is wanted is left untouched, with no diff built.

On a large stack with no changes nearly every address is one of these, and the general path (lifetimes,
the field diff, the policies) costs ~15 µs each. This path answers only when the answer cannot be anything
else, and it is the general path's own answer (tests/test_plan_untouched.py checks both agree on random
specs and states): the cluster is `ready`, the spec gives it no lifetime, `--replace` does not name it, no
`moved:` entry reaches it, the plan neither destroys all nor only expires, and every managed field and
`prevent_destroy` is recorded as the spec wants it, value and type (`diff.same`). A refreshing plan also
needs the engine to show the cluster with each field it reports the same as recorded (no drift). Anything
else (None) goes the general way.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import Any

from tpdeclare.fields import MANAGED_FIELDS, OBSERVABLE_FIELDS
from tpdeclare.plan.cost import PriceBook
from tpdeclare.plan.model import Untouched
from tpdeclare.spec.model import ClusterSpec
from tpdeclare.state.model import READY, Record

_STR = frozenset({str})
# The types the managed fields hold, in the field table's order: str, int, str or null, str, bool, list (of str).
# `==` on values of these types, with the types agreeing, is `same` (no float among them: NaN is equal only to
# itself). recorded_as_wanted names the fields in this order:
assert MANAGED_FIELDS == ("instance_type", "num_nodes", "container", "name", "deletion_protection", "public_keys")
_IN_TABLE_ORDER = itemgetter(*MANAGED_FIELDS)
# The fields the engine reports come first in that order: a refresh compares them position by position.
assert MANAGED_FIELDS[:len(OBSERVABLE_FIELDS)] == OBSERVABLE_FIELDS


def recorded_as_wanted(recorded: tuple[Any, ...], wanted: tuple[Any, ...]) -> bool:
    """`diff.unchanged` for the managed fields' values in the field table's order, by one C-level comparison
    and a check of the types: True only when every field is `same` (a False may still be unchanged: the
    general path decides).

    `same` implies ==, so unequal values are never unchanged; equal ones are `same` when their types are
    the same plain ones, the strings of public_keys included."""
    if recorded != wanted:
        return False
    # Those types, field by field (no tuples of types built: that was a third of this path's cost).
    instance_type, nodes, container, name, protection, keys = recorded
    w_instance_type, w_nodes, w_container, w_name, w_protection, w_keys = wanted
    return (type(instance_type) is str is type(w_instance_type) and type(nodes) is int is type(w_nodes)
            and type(container) is type(w_container) and (container is None or type(container) is str)
            and type(name) is str is type(w_name) and type(protection) is bool is type(w_protection)
            and type(keys) is list is type(w_keys) and _STR.issuperset(map(type, keys))
            and _STR.issuperset(map(type, w_keys)))


def seen_as_recorded(recorded: tuple[Any, ...], seen: Mapping[str, Any]) -> bool:
    """`diff.current_fields(rec, seen)` would be the recorded fields themselves, value and type: every field
    the engine reports is `same` as recorded (a field it leaves out keeps the recorded value).

    For recorded values of the plain scalar types recorded_as_wanted has already checked, `same` is the
    types agreeing and `==`."""
    for field, value in zip(OBSERVABLE_FIELDS, recorded[:len(OBSERVABLE_FIELDS)], strict=True):
        if field in seen:
            shown = seen[field]
            if type(shown) is not type(value) or shown != value:
                return False
    return True


def untouched(address: str, want: ClusterSpec | None, rec: Record | None, costs: PriceBook,
              observed: Mapping[str, Mapping[str, Any]] | None = None) -> Untouched | None:
    """The plan's no-op change at `address` for a ready cluster recorded exactly as `want` (and, when
    refreshing, shown by the engine as recorded: `observed` is cluster ID -> fields), as the compact row
    `model.Changes` keeps (its Change is built only when read), else None.

    The caller has ruled out what it alone knows: --replace of this address, a move to it and `expire_only`
    (`destroy_all` wants nothing: `want` is None)."""
    if want is None or rec is None or rec.status is not READY or want.lifetime is not None:
        return None
    spec = rec.spec
    if spec.get("prevent_destroy", False) is not want.prevent_destroy:  # a change to record in state
        return None
    try:
        recorded = _IN_TABLE_ORDER(spec)
    except KeyError:  # a field missing from the record (it reads as null): the general path decides
        return None
    # want.fields() in the field table's order, without building its dict
    wanted = (want.instance_type, want.num_nodes, want.container, want.name, want.deletion_protection,
              list(want.public_keys))
    if not recorded_as_wanted(recorded, wanted):
        return None
    if observed is not None:  # refreshing: gone from the engine, or changed outside, is the general path's
        seen = observed.get(rec.cluster_id) if rec.cluster_id else None
        if seen is None or not seen_as_recorded(recorded, seen):
            return None
    # = costs(want.fields()) = costs(before): the same instance type and node count, of the same types
    return address, rec.cluster_id, want, recorded, costs.of(want.instance_type, want.num_nodes)
