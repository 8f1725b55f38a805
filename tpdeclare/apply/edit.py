"""In-place changes: `PATCH /cluster/edit` for a rename or a protection toggle, recorded once the engine took it."""

from __future__ import annotations

from dataclasses import replace

from tpdeclare.apply.context import ApplyContext, elapsed_text
from tpdeclare.apply.ownership import utcnow_iso
from tpdeclare.fields import FieldEffect
from tpdeclare.plan.model import Change
from tpdeclare.state.model import Record


class Editor:
    """Edits live clusters in place."""

    def __init__(self, ctx: ApplyContext):
        self.ctx = ctx

    def update(self, change: Change, rec: Record) -> None:
        edits = {fc.field: fc.after for fc in change.field_changes if fc.effect is FieldEffect.IN_PLACE}
        assert rec.cluster_id is not None
        started = self.ctx.clock()
        self.ctx.report(f"{change.address}: Modifying... [id={rec.cluster_id}]")
        self.ctx.api.edit_cluster(
            rec.cluster_id, cluster_name=edits.get("name"), deletion_protection=edits.get("deletion_protection")
        )
        self.ctx.recorder.put(replace(rec, spec={**rec.spec, **edits}, name=edits.get("name", rec.name),
                                      updated_at=utcnow_iso()))
        self.ctx.report(f"{change.address}: Modifications complete after "
                        f"{elapsed_text(self.ctx.clock() - started)} [id={rec.cluster_id}]")

    def lift_protection(self, address: str, rec: Record, before: str = "the replace") -> None:
        """Turn deletion protection off and record it, so that the replace (or destroy) the plan showed can destroy."""
        assert rec.cluster_id is not None
        self.ctx.report(f"{address}: Turning deletion protection off before {before}... [id={rec.cluster_id}]")
        self.ctx.api.edit_cluster(rec.cluster_id, deletion_protection=False)
        self.ctx.recorder.put(replace(rec, spec={**rec.spec, "deletion_protection": False}, updated_at=utcnow_iso()))
