"""Refresh, pure: the engine's clusters as observed fields, and the state changes they imply."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tpdeclare.fields import OBSERVABLE_FIELDS
from tpdeclare.frozen_values import frozen
from tpdeclare.state.model import EXPIRED, PENDING, Record, State

if TYPE_CHECKING:
    from tpdeclare.api.client import ClusterInfo


def observed_fields(clusters: Iterable[ClusterInfo]) -> dict[str, dict[str, Any]]:
    """cluster_id -> the observable managed fields, from one `GET /cluster/list` (destroyed ones left out)."""
    return {
        c.cluster_id: {
            "instance_type": c.instance_type,
            "num_nodes": c.num_nodes,
            "container": c.container or None,  # no container, whichever way the engine says it
            "name": c.name,
            "deletion_protection": c.deletion_protection,
            "status": c.status,
            "created_at": c.created_at,  # what a lifetime's expires_after counts from
        }
        for c in clusters
        if not (c.is_destroying or c.is_destroyed)
    }


@frozen
class Refreshed:
    """What folding the engine's view into the state changes: the lines to show and the new records."""

    lines: tuple[str, ...]
    resources: Mapping[str, Record]

    @property
    def changed(self) -> bool:
        return bool(self.lines)


def refresh_state(state: State, observed: Mapping[str, Mapping[str, Any]], now: str) -> Refreshed:
    """Forget what the engine no longer has; record renames, protection toggles and other outside edits."""
    resources = dict(state.resources)
    lines = []
    for address, rec in sorted(state.resources.items()):
        seen = observed.get(rec.cluster_id) if rec.cluster_id else None
        if seen is None:
            if rec.status not in (PENDING, EXPIRED):
                kept = rec.after_destroy(now)  # a destroy for expiry, finished: remembered as expired
                if kept is None:
                    lines.append(f"  - {address}: {rec.cluster_id} no longer exists on the engine; it will be "
                                 f"forgotten")
                    del resources[address]
                else:
                    lines.append(f"  - {address}: {rec.cluster_id} no longer exists on the engine; it is recorded as "
                                 f"expired")
                    resources[address] = kept
            continue
        spec = dict(rec.spec)
        for f in OBSERVABLE_FIELDS:
            if rec.spec.get(f) != seen[f]:
                lines.append(
                    f"  ~ {address}: {f} {json.dumps(rec.spec.get(f))} -> {json.dumps(seen[f])} "
                    f"(changed outside tpdeclare)"
                )
                spec[f] = seen[f]
        if spec != rec.spec:
            resources[address] = replace(rec, spec=spec, name=spec.get("name", rec.name), updated_at=now)
    return Refreshed(tuple(lines), resources)
