"""`tpdeclare orphans`' volume part: engine volumes named like this stack's but missing from its state."""

from __future__ import annotations

from tpdeclare.commands.context import Context
from tpdeclare.commands.storage_session import list_volumes
from tpdeclare.plan.storage_model import monthly_cost
from tpdeclare.spec.model import StackSpec
from tpdeclare.state.model import PENDING, State


def orphan_volumes(ctx: Context, spec: StackSpec, state: State | None) -> bool:
    """Print the orphan volumes (a name under a pending intent is ours-to-be, not one); True if any."""
    records = state.volumes.values() if state else ()
    managed = {r.storage_id for r in records if r.storage_id}
    intended = {r.name for r in records if r.status == PENDING}
    declared = {v.name for v in spec.volumes.values()}
    prefix = f"{spec.stack}-"
    found = [v for v in list_volumes(ctx.client()) if not v.is_destroyed and v.storage_id not in managed
             and v.name not in intended and ((v.name or "").startswith(prefix) or v.name in declared)]
    if not found:
        ctx.console.print(f"No orphan volumes: every volume named like stack '{spec.stack}' is in its state.")
        return False
    n = len(found)
    ctx.console.print(f"{n} volume{'s' if n != 1 else ''} named like stack '{spec.stack}' but not in its state:")
    for v in sorted(found, key=lambda v: v.name or ""):
        ctx.console.print(f"  {v.storage_id}  {v.name or '(unnamed)':<32} {v.size_gb} GB  {v.status:<12} "
                          f"${monthly_cost(v.size_gb):,.2f}/month")
    ctx.console.print("Adopt one with `tpdeclare import storage.ADDR STORAGE_ID SPEC`.")
    return True
