"""The shared run of plan, apply and destroy: spec, lock, state, recovery, refresh, plan."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, replace
from typing import Callable

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
    engine: str | None = None


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


FROM_ARGS = object()  # prepared(): take this setting from the command line's options


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
    max_hourly_cost: float | None | object = FROM_ARGS,
    prices: dict | None | object = FROM_ARGS,
    check_state: Callable | None = None,
):
    """Load the spec, hold the state lock for the whole block, settle interrupted work, and plan.

    check_state(state, store), if given, runs on the state as read, before recovery may change it
    (a saved plan checks that it is not stale there).
    """
    from tpdeclare.api.connect import SANDBOX, check_engine_url, resolve_engine
    from tpdeclare.apply.recovery import needs_recovery, recover
    from tpdeclare.plan.planner import make_plan
    from tpdeclare.state.recorder import Recorder

    spec = spec or ctx.load_spec(paths)
    if max_hourly_cost is FROM_ARGS:
        max_hourly_cost = getattr(ctx.args, "max_hourly_cost", None)
    if prices is FROM_ARGS:
        prices = ctx.prices()
    store = ctx.store(spec.stack)
    engine = resolve_engine(getattr(ctx.args, "engine", None))
    if engine != SANDBOX:
        check_engine_url(engine)  # before it can be recorded in state, even by a plan that stays offline
    with ctx.lock(store, command):
        state = ctx.read_state(store, spec.stack)
        state = check_engine(state, engine, store)
        if check_state is not None:
            check_state(state, store)
        client = None
        clusters = None
        if needs_recovery(state) or refresh:
            client = ctx.client(stop)
            clusters = client.list_clusters()
            if refresh and state is not None:
                clusters = clusters + confirm_missing(client, state, clusters)
        if needs_recovery(state):
            recorder = Recorder(store, state)
            recover(clusters, recorder, ctx.console.print, request_info=client.request_info)
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
            max_hourly_cost=max_hourly_cost,
            prices=prices,
        )
        yield Prepared(spec=spec, store=store, state=state, plan=plan, client=client, engine=engine)


def check_engine(state, engine: str, store):
    """The state bound to `engine` (recorded with its next write). Refuses a state recorded against
    another engine: its clusters are not on this one, and planning them as "deleted outside" would
    create them again while the originals keep billing."""
    if state is None:
        return None
    if state.engine is None:
        return replace(state, engine=engine)
    if state.engine != engine:
        raise errors.StateError(
            f"{store.path} records clusters on engine {state.engine}, but this run uses {engine}",
            hint=f"pass --engine {state.engine} (or set TENSORPOOL_ENGINE), or use another --state for this "
            f"engine; if that engine's address really changed, edit `engine` in the state file",
        )
    return state


def confirm_missing(client, state, clusters) -> list:
    """Ask for each recorded cluster the list did not show, so only a 404 reads as "gone"."""
    listed = {c.cluster_id for c in clusters}
    found = []
    for rec in state.resources.values():
        if rec.cluster_id and rec.cluster_id not in listed and rec.status != "pending":
            try:
                found.append(client.cluster_info(rec.cluster_id))
            except errors.NotFound:
                continue
    return found
