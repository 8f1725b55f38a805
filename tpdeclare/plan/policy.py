"""What blocks a plan: prevent_destroy, deletion protection, a rename spelled as destroy + create, a taken name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tpdeclare.plan.model import CREATE, DELETE, REPLACE, Change
from tpdeclare.spec.model import ClusterSpec
from tpdeclare.state.model import PENDING, Record

_PARTICIPLE = {DELETE: "destroyed", REPLACE: "replaced"}


def destroy_policy(change: Change, want: ClusterSpec | None, rec: Record | None, destroy_all: bool) -> list[str]:
    """Why this destroy or replace may not go ahead: prevent_destroy or deletion protection."""
    if change.action not in (DELETE, REPLACE) or rec is None or rec.status == PENDING:
        return []
    verb = "destroy" if change.action is DELETE else "replace"
    removed = want is None  # gone from the spec: only the recorded lifecycle speaks for it
    undo = (
        f"put '{change.address}' back in the spec with {{setting}} and apply, then remove it"
        if removed
        else "set {setting} in the spec and apply first"
        if destroy_all or change.action is DELETE
        else "set {setting} in the spec"
    )
    out = []
    if (want is not None and want.prevent_destroy) or (removed and rec.spec.get("prevent_destroy")):
        out.append(
            f"{change.address}: lifecycle.prevent_destroy forbids this plan to {verb} it ({rec.cluster_id}); "
            f"if you really mean it, {undo.format(setting='prevent_destroy: false')}"
        )
    if bool((change.before or {}).get("deletion_protection")) and not change.lift_protection:
        out.append(
            f"{change.address}: deletion protection is on for {rec.cluster_id}, so it cannot be "
            f"{_PARTICIPLE[change.action]}; {undo.format(setting='deletion_protection: false')}"
            + (" (the plan then turns protection off before replacing it)" if change.action is REPLACE
               and not removed and not destroy_all else "")
        )
    return out


def renames(changes: Iterable[Change], records: Mapping[str, Record]) -> list[str]:
    """A destroy of one address and a create of another under the same cluster name is a rename written as
    two changes: the destroy would run, then the create would fail on the name (or make a new, empty cluster).
    Refused, with the `moved:` block that says it."""
    changes = list(changes)
    destroyed = {
        records[c.address].name: c.address
        for c in changes
        if c.action is DELETE and c.address in records and records[c.address].status != PENDING
    }
    out: list[str] = []
    if not destroyed:  # nothing destroyed: no rename
        return out
    for c in changes:
        if c.action is not CREATE or c.desired is None:
            continue
        old = destroyed.get(c.desired.name)
        if old is not None:
            out.append(
                f"rename: the plan destroys '{old}' and creates '{c.address}' under the same cluster name "
                f"'{c.desired.name}'. To move the cluster to the new address, add to the spec:\n"
                f"      moved:\n        - {{from: {old}, to: {c.address}}}\n"
                f"    (or give '{c.address}' another name if you really want a new cluster)"
            )
    return out


def taken_names(
    changes: Iterable[Change], records: Mapping[str, Record], observed: Mapping[str, Mapping[str, Any]],
    spec_files: tuple[str, ...],
) -> list[str]:
    """Creates whose cluster name a cluster outside this stack's state already holds on the engine (seen by
    refresh): the create would be refused after the plan's destroys had run. Refused before any change."""
    managed = {r.cluster_id for r in records.values() if r.cluster_id}
    held = {f.get("name"): cid for cid, f in observed.items() if cid not in managed and f.get("name")}
    files = " ".join(spec_files) or "SPEC"
    out = []
    for c in changes:
        if c.action is CREATE and c.desired is not None and c.desired.name in held:
            cid = held[c.desired.name]
            out.append(
                f"{c.address}: the cluster name '{c.desired.name}' is already taken on the engine by {cid}, "
                f"which this stack's state does not manage; adopt it with `tpdeclare import {c.address} {cid} "
                f"{files}`, or give '{c.address}' another name"
            )
    return out
