"""In-place changes: `PATCH /cluster/edit` for a rename or a protection toggle, recorded once the engine took it.

An edit may be asynchronous (a CLUSTER_EDIT request). The client polls a request the answer names to its
end before `edit_cluster` returns; an engine that answers a bare 202 and applies the edit later is
watched with `GET /cluster/info` before anything depends on the edit: turning protection off before the
DELETE of a replace, and a rename away from a name that a create of the same plan takes (the executor
runs those renames first, `renames_freeing_names`).
"""

from __future__ import annotations

from dataclasses import replace

from tpdeclare import errors
from tpdeclare.apply.context import ApplyContext, elapsed_text
from tpdeclare.apply.ownership import utcnow_iso
from tpdeclare.fields import FieldEffect
from tpdeclare.plan.model import Action, Change, Plan
from tpdeclare.state.model import Record

EDIT_TIMEOUT_HINT = ("the edit may still take effect: the next run plans whatever is left; raise --timeout to "
                     "wait longer")


def renames_freeing_names(plan: Plan) -> frozenset[str]:
    """Addresses whose update renames a cluster away from a name a create (or replace) of the plan takes:
    such a rename must have taken effect before that create is sent."""
    taken = {c.desired.name for c in plan.changes
             if c.action in (Action.CREATE, Action.REPLACE) and c.desired is not None}
    return frozenset(
        c.address for c in plan.changes if c.action is Action.UPDATE and any(
            fc.field == "name" and fc.effect is FieldEffect.IN_PLACE and fc.before in taken for fc in c.field_changes)
    )


class Editor:
    """Edits live clusters in place."""

    def __init__(self, ctx: ApplyContext):
        self.ctx = ctx

    def update(self, change: Change, rec: Record, *, frees_name: bool = False) -> None:
        """Apply the plan's in-place edits; `frees_name`: a create of this plan takes the old name, so the
        rename is seen to take effect before this returns."""
        edits = {fc.field: fc.after for fc in change.field_changes if fc.effect is FieldEffect.IN_PLACE}
        assert rec.cluster_id is not None
        started = self.ctx.clock()
        self.ctx.report(f"{change.address}: Modifying... [id={rec.cluster_id}]")
        self.ctx.api.edit_cluster(
            rec.cluster_id, cluster_name=edits.get("name"), deletion_protection=edits.get("deletion_protection")
        )
        if frees_name and "name" in edits:
            self._until_shown(change.address, rec, {"name": edits["name"]}, started)
        self.ctx.recorder.put(replace(rec, spec={**rec.spec, **edits}, name=edits.get("name", rec.name),
                                      updated_at=utcnow_iso()))
        self.ctx.report(f"{change.address}: Modifications complete after "
                        f"{elapsed_text(self.ctx.clock() - started)} [id={rec.cluster_id}]")

    def lift_protection(self, address: str, rec: Record, before: str = "the replace") -> None:
        """Turn deletion protection off, see it off, and record it, so that the replace (or destroy) the plan
        showed can destroy."""
        assert rec.cluster_id is not None
        started = self.ctx.clock()
        self.ctx.report(f"{address}: Turning deletion protection off before {before}... [id={rec.cluster_id}]")
        self.ctx.api.edit_cluster(rec.cluster_id, deletion_protection=False)
        self._until_shown(address, rec, {"deletion_protection": False}, started)
        self.ctx.recorder.put(replace(rec, spec={**rec.spec, "deletion_protection": False}, updated_at=utcnow_iso()))

    def _until_shown(self, address: str, rec: Record, want: dict[str, object], started: float) -> None:
        """Watch `GET /cluster/info` until the cluster shows `want` (an engine may apply an edit after its
        202), within the run's deadline. A cluster that is gone has nothing left to wait for."""
        assert rec.cluster_id is not None
        said = False
        while True:
            try:
                info = self.ctx.api.cluster_info(rec.cluster_id)
            except errors.NotFound:
                return
            shown = {"name": info.name, "deletion_protection": info.deletion_protection}
            if all(shown[k] == v for k, v in want.items()):
                return
            what = ", ".join(f"{k} {v!r}" for k, v in want.items())
            if self.ctx.past_deadline():
                raise errors.PollTimeout(
                    f"timed out after {elapsed_text(self.ctx.clock() - started)} waiting for the edit of "
                    f"{rec.cluster_id} ({what}) to take effect", hint=EDIT_TIMEOUT_HINT)
            if not said:
                said = True
                self.ctx.report(f"{address}: waiting for the engine to show the edit ({what}) [id={rec.cluster_id}]")
            self.ctx.sleep(self.ctx.pace.cluster_poll)
