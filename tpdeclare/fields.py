"""The field table: every managed cluster field and what a change to it does (DESIGN §2)."""

from __future__ import annotations

from enum import Enum


class OnChange(Enum):
    """What the planner does when a field's desired value differs from the recorded one."""

    REPLACE = "replace"  # no resize endpoint: destroy then create
    IN_PLACE = "in_place"  # PATCH /cluster/edit
    CREATE_ONLY = "create_only"  # the API cannot change it on a live cluster: a note, applied on the next replace


# field -> (on change, the PATCH /cluster/edit body key for in-place fields)
FIELDS: dict[str, tuple[OnChange, str | None]] = {
    "instance_type": (OnChange.REPLACE, None),
    "num_nodes": (OnChange.REPLACE, None),
    "container": (OnChange.REPLACE, None),
    "name": (OnChange.IN_PLACE, "cluster_name"),
    "deletion_protection": (OnChange.IN_PLACE, "deletion_protection"),
    "public_keys": (OnChange.CREATE_ONLY, None),
}

MANAGED_FIELDS: tuple[str, ...] = tuple(FIELDS)
# Fields the engine reports back (ClusterInfo), which drift detection can compare.
OBSERVABLE_FIELDS: tuple[str, ...] = ("instance_type", "num_nodes", "container", "name", "deletion_protection")
