"""Capabilities before actions: can the engine's list be read as clusters with an ID and a name?

Exactly-once creation rests on looking clusters up by name (DESIGN §5): when a create's answer is lost,
the name found in `GET /cluster/list` is what says the cluster exists. So apply, destroy, refresh,
import, orphans and plan --refresh establish this first, and refuse (exit 1) before any POST, PATCH or
DELETE when it does not hold. There is no switch to skip it.
"""

from __future__ import annotations

from tpdeclare.api.field_mapping import FieldMap, Mapped, shown_keys
from tpdeclare.api.vocabulary import PATH_CLUSTER_LIST
from tpdeclare.errors import ApiError
from tpdeclare.frozen_values import frozen

WHY_DUPLICATES = (
    "tpdeclare finds the clusters it made by name: when the answer to a create is lost (a timeout, a reset, "
    "a killed run), looking the name up in the list is what tells it the cluster exists. Without that, the "
    "next run would create the cluster again, and both would bill"
)
INCOMPATIBLE_HINT = ("run `tpdeclare doctor` to see what the engine sends; a newer tpdeclare may be able to "
                     "read this API. `validate` and `plan` without --refresh still work offline")


class EngineIncompatible(ApiError):
    """The engine cannot be used safely: its list cannot be read as clusters with an ID and a name."""


@frozen
class Lookup:
    """What the list showed: lookup by name works, through these fields."""

    id_field: Mapped
    name_field: Mapped
    clusters_seen: int


def refusal(seen: str) -> EngineIncompatible:
    """The refusal for a list that showed `seen` instead of clusters with an ID and a name."""
    return EngineIncompatible(
        f"the engine's cluster list (GET {PATH_CLUSTER_LIST}) cannot be read as clusters with an ID and a name: "
        f"it answered {seen}. {WHY_DUPLICATES}. Refusing before any change; nothing was changed",
        hint=INCOMPATIBLE_HINT,
    )


def lookup_from(fields: FieldMap, clusters_seen: int) -> Lookup:
    """Judge a list that was read: every cluster had an ID (the parser saw to it); a name must be known.

    With clusters listed, a real one must have shown the name field. With none listed, the document's (or
    failing that, the contract's) name stands: nothing contradicts it yet, and the first cluster listed
    is checked against it."""
    id_field, name_field = fields.mapped("cluster_id"), fields.mapped("cluster_name")
    if clusters_seen and not name_field.confirmed:
        shown = shown_keys(list(fields.seen_fields("cluster"))) or "no fields"
        raise refusal(f"{clusters_seen} cluster{'s' if clusters_seen != 1 else ''} with no field tpdeclare can "
                      f"read as a name (a cluster has {shown})")
    return Lookup(id_field, name_field, clusters_seen)
