"""The field table: every managed cluster field and what a change to it does (DESIGN §2)."""

from __future__ import annotations

from enum import StrEnum


class FieldEffect(StrEnum):
    """What a difference in one field causes; the values are the words plan JSON carries."""

    REPLACE = "replace"  # no resize endpoint: destroy then create
    IN_PLACE = "in_place"  # PATCH /cluster/edit
    CREATE_ONLY = "create_only"  # the API cannot change it on a live cluster: applied on the next replace
    IGNORED = "ignored"  # in lifecycle.ignore_changes: shown, never acted on


# field -> what a change to it does (never IGNORED: that comes from the spec's lifecycle)
FIELDS: dict[str, FieldEffect] = {
    "instance_type": FieldEffect.REPLACE,
    "num_nodes": FieldEffect.REPLACE,
    "container": FieldEffect.REPLACE,
    "name": FieldEffect.IN_PLACE,
    "deletion_protection": FieldEffect.IN_PLACE,
    "public_keys": FieldEffect.CREATE_ONLY,
}

MANAGED_FIELDS: tuple[str, ...] = tuple(FIELDS)
# Fields the engine reports back (ClusterInfo), which drift detection can compare.
OBSERVABLE_FIELDS: tuple[str, ...] = ("instance_type", "num_nodes", "container", "name", "deletion_protection")
