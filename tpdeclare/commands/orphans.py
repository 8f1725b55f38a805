"""`tpdeclare orphans`: engine clusters named like this stack's but missing from its state (exit 2 if any)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tpdeclare.apply.ownership import is_gone
from tpdeclare.catalog import hourly_cost
from tpdeclare.command_options import OrphansOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.engine_binding import bind_engine
from tpdeclare.plan.render_text import money
from tpdeclare.spec.model import StackSpec
from tpdeclare.state.model import PENDING

if TYPE_CHECKING:
    from tpdeclare.api.models import ClusterInfo


def run(ctx: Context, opts: OrphansOptions) -> int:
    """Engine clusters that look like this stack's (name prefix or a declared name) but are not in its state."""
    spec = ctx.load_spec(opts.specs)
    engine = ctx.engine()
    store = ctx.store(spec.stack, spec.backend)
    state = bind_engine(ctx.read_state(store, spec.stack), engine, store)
    managed = {r.cluster_id for r in state.resources.values()} if state else set()
    # A name under a pending intent is ours-to-be: the next apply adopts it, so it is no orphan.
    intended = {r.name for r in state.resources.values() if r.status == PENDING} if state else set()
    declared = {c.name for c in spec.clusters.values()}
    prefix = f"{spec.stack}-"
    found = [
        c
        for c in ctx.client().list_clusters()
        if not is_gone(c)
        and c.cluster_id not in managed
        and c.name not in intended
        and ((c.name or "").startswith(prefix) or c.name in declared)
    ]
    if spec.volumes or (state is not None and state.volumes):  # issue 15: volumes named like the stack's too
        from tpdeclare.commands.orphan_volumes import orphan_volumes

        if orphan_volumes(ctx, spec, state):
            return 2 if not found else _clusters(ctx, spec, found)
    if not found:
        ctx.console.print(f"No orphans: every cluster named like stack '{spec.stack}' is in its state.")
        return 0
    return _clusters(ctx, spec, found)


def _clusters(ctx: Context, spec: StackSpec, found: list[ClusterInfo]) -> int:
    total = 0.0
    n = len(found)
    ctx.console.print(f"{n} cluster{'s' if n != 1 else ''} named like stack '{spec.stack}' but not in its state:")
    for c in sorted(found, key=lambda c: c.name or ""):
        hourly = hourly_cost(c.instance_type, c.num_nodes, spec.prices)
        total += hourly or 0.0
        ctx.console.print(f"  {c.cluster_id}  {c.name or '(unnamed)':<32} {c.num_nodes} × {c.instance_type:<8} "
                          f"{c.status:<12} {money(hourly)}")
    ctx.console.print(f"Together they cost {money(total)}. Adopt one with `tpdeclare import ADDR CLUSTER_ID SPEC`.")
    return 2
