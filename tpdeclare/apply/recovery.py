"""Recovery: resolves records an earlier run left pending, creating or deleting, with one list call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from tpdeclare.apply.ownership import is_gone, live_by_name, recorded_elsewhere, status_of, stranger_reason, utcnow_iso
from tpdeclare.errors import TpdeclareError
from tpdeclare.state.model import CREATING, DELETING, PENDING, READY, TAINTED, Record
from tpdeclare.state.recorder import Recorder
from tpdeclare.state.unsettled import UNSETTLED

if TYPE_CHECKING:
    from tpdeclare.api.client import ClusterInfo, RequestInfo



def recover(
    clusters: list[ClusterInfo],
    recorder: Recorder,
    report: Callable[[str], None],
    *,
    only: tuple[str, ...] = UNSETTLED,
    request_info: Callable[[str], RequestInfo] | None = None,
) -> list[str]:
    """Settle every unsettled record (of the statuses in `only`) against `clusters` (one
    `GET /cluster/list`); returns what it said. `request_info` (the client's), when given, fetches the
    server's words for a provisioning that FAILED.

    pending  — found under our name and plausibly ours: adopted; not found: kept pending (the plan creates it,
               and a name conflict then is known to be ours); found but a stranger's: the intent is dropped.
    creating — RUNNING: ready; FAILED: tainted; gone: dropped (the plan creates it again); else still creating.
    deleting — gone: dropped; still there: kept deleting (the plan destroys or replaces it again).
    """
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        report(line)

    by_id = {c.cluster_id: c for c in clusters}
    by_name = live_by_name(clusters)
    for rec in sorted(recorder.snapshot().resources.values(), key=lambda r: r.address):
        if rec.status not in UNSETTLED or rec.status not in only:
            continue
        if rec.status == PENDING:
            found = by_name.get(rec.name)
            if found is None:
                say(f"{rec.address}: an interrupted create of '{rec.name}' is not on the engine (yet); "
                    f"the intent is kept")
                continue
            why = stranger_reason(found, rec) or recorded_elsewhere(found, rec.address, recorder.records())
            if why is not None:
                # Names are unique: with a stranger holding it, our create cannot have succeeded.
                recorder.remove(rec.address)
                say(
                    f"{rec.address}: the name '{rec.name}' belongs to {found.cluster_id}, which this intent did not "
                    f"make ({why}); the interrupted intent is dropped"
                )
                continue
            rec = replace(rec, cluster_id=found.cluster_id, instance_ids=tuple(found.instance_ids),
                          status=status_of(found), updated_at=utcnow_iso())
            recorder.put(rec)
            say(f"{rec.address}: adopted {found.cluster_id} left by an earlier run ({found.status})")
        elif rec.status == CREATING:
            found = by_id.get(rec.cluster_id or "")
            if found is None or is_gone(found):
                recorder.remove(rec.address)
                say(f"{rec.address}: {rec.cluster_id} from an earlier run no longer exists; it is forgotten")
                continue
            new_status = status_of(found)
            if new_status != CREATING:
                message = rec.message
                if new_status == TAINTED:
                    message = rec.message or _failure_words(rec, request_info) or "provisioning FAILED"
                rec = replace(rec, status=new_status, instance_ids=tuple(found.instance_ids) or rec.instance_ids,
                              message=message, updated_at=utcnow_iso())
                recorder.put(rec)
                what = "is ready" if new_status == READY else "failed to provision (tainted: it will be replaced)"
                say(f"{rec.address}: {rec.cluster_id} from an earlier run {what}")
            else:
                say(f"{rec.address}: {rec.cluster_id} from an earlier run is still provisioning ({found.status})")
        elif rec.status == DELETING:
            found = by_id.get(rec.cluster_id or "")
            if found is None or found.is_destroyed:
                kept = rec.after_destroy(utcnow_iso())  # a destroy for expiry: remembered as expired
                if kept is None:
                    recorder.remove(rec.address)
                    say(f"{rec.address}: {rec.cluster_id} was destroyed by an earlier run; it is forgotten")
                else:
                    recorder.put(kept)
                    say(f"{rec.address}: {rec.cluster_id} was destroyed by an earlier run; it is recorded as expired")
            else:
                say(f"{rec.address}: an unfinished destroy of {rec.cluster_id} is unfinished ({found.status})")
    return said


def _failure_words(rec: Record, request_info: Callable[[str], RequestInfo] | None) -> str | None:
    """The server's message on a FAILED create request, if it can be had (never raises)."""
    if request_info is None or not rec.request_id:
        return None
    try:
        return request_info(rec.request_id).external_message or None
    except TpdeclareError:
        return None
