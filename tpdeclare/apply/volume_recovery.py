"""Settles volume records an interrupted run left `pending`, `creating` or `deleting`, with one list call.

`pending`: the volume is looked up by its name; found (and not serving a stranger's cluster) -> adopted
(`ready`, or `creating` while the engine still makes it: the plan then waits for it); not found -> left
`pending`, and the plan creates it again under the same intent (the engine refuses a taken name, so a late
first create cannot make a second volume). `creating`: ready once the engine lists it ready; gone ->
forgotten, so the plan creates it again. `deleting`: gone -> forgotten; still there -> left, and the plan
destroys it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from tpdeclare.api.storage_models import VolumeInfo
from tpdeclare.apply.ownership import utcnow_iso
from tpdeclare.state.model import CREATING, DELETING, PENDING, READY
from tpdeclare.state.recorder import Recorder
from tpdeclare.state.volumes import volume_address


def recover_volumes(volumes: Sequence[VolumeInfo], recorder: Recorder, say: Callable[[str], None]) -> None:
    """Settle every interrupted volume record against the engine's list (read once by the caller)."""
    live = [v for v in volumes if not v.is_destroyed]
    by_id = {v.storage_id: v for v in live}
    for address, rec in sorted(recorder.volumes().items()):
        shown = volume_address(address)
        if rec.status == PENDING:
            named = [v for v in live if v.name == rec.name and v.storage_id not in _held(recorder, address)]
            if not named:
                say(f"{shown}: an interrupted create was not found on the engine; it will be created again")
                continue
            found = named[0]
            status = READY if found.is_ready else CREATING
            recorder.put_volume(replace(rec, status=status, storage_id=found.storage_id, updated_at=utcnow_iso()))
            say(f"{shown}: an interrupted create had reached the engine: adopted {found.storage_id}")
        elif rec.status == CREATING and rec.storage_id:
            seen = by_id.get(rec.storage_id)
            if seen is None:
                recorder.remove_volume(address)
                say(f"{shown}: {rec.storage_id} is gone from the engine; it will be created again")
            elif seen.is_ready:
                recorder.put_volume(replace(rec, status=READY, request_id=None, updated_at=utcnow_iso()))
                say(f"{shown}: {rec.storage_id} finished creating")
        elif rec.status == DELETING and rec.storage_id and rec.storage_id not in by_id:
            recorder.remove_volume(address)
            say(f"{shown}: {rec.storage_id} was destroyed")


def _held(recorder: Recorder, address: str) -> set[str]:
    """Storage IDs other volume records hold (never adopted twice)."""
    return {v.storage_id for a, v in recorder.volumes().items() if a != address and v.storage_id}
