"""The shared run of plan, apply and destroy: spec, lock, state, recovery, refresh, plan."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

from tpdeclare import errors
from tpdeclare.commands.common import Context


@dataclass
class Prepared:
    """Everything a planning command has once its inputs are read and its lock is held."""

    spec: object
    store: object
    state: object
    plan: object
    client: object = None
    recovered: list[str] = field(default_factory=list)


def observed_fields(clusters) -> dict:
    """cluster_id -> the observable managed fields, from one `GET /cluster/list` (destroyed ones left out)."""
    from tpdeclare.apply.protocol import is_gone

    return {
        c.cluster_id: {
            "instance_type": c.instance_type,
            "num_nodes": c.num_nodes,
            "container": c.container,
            "name": c.name,
            "deletion_protection": c.deletion_protection,
            "status": c.status,
        }
        for c in clusters
        if not is_gone(c)
    }


@contextlib.contextmanager
def prepared(
    ctx: Context,
    paths: list[str],
    *,
    command: str,
    refresh: bool = False,
    destroy_all: bool = False,
    targets=(),
    replace=(),
    stop: threading.Event | None = None,
    spec=None,
):
    """Load the spec, hold the state lock for the whole block, settle interrupted work, and plan."""
    from tpdeclare.apply.recovery import needs_recovery, recover
    from tpdeclare.plan.planner import make_plan
    from tpdeclare.state.recorder import Recorder

    spec = spec or ctx.load_spec(paths)
    store = ctx.store(spec.stack)
    with ctx.lock(store, command):
        state = ctx.read_state(store, spec.stack)
        client = None
        clusters = None
        recovered: list[str] = []
        if needs_recovery(state) or refresh:
            client = ctx.client(stop)
            clusters = client.list_clusters()
        if needs_recovery(state):
            recorder = Recorder(store, state)
            recovered = recover(clusters, recorder, lambda line: ctx.console.print(line))
            recorder.checkpoint()
            state = recorder.snapshot()
        unknown = [t for t in (*targets, *replace) if t not in spec.clusters and (state is None or t not in state.resources)]
        if unknown:
            raise errors.TpdeclareError(
                f"no cluster at address {', '.join(repr(u) for u in unknown)} in the spec or the state",
                hint="see `tpdeclare state list` for the recorded addresses",
            )
        plan = make_plan(
            spec,
            state,
            observed=observed_fields(clusters) if refresh else None,
            targets=targets,
            replace=replace,
            destroy_all=destroy_all,
            max_hourly_cost=getattr(ctx.args, "max_hourly_cost", None),
        )
        yield Prepared(spec=spec, store=store, state=state, plan=plan, client=client, recovered=recovered)
