"""The shared start of plan, apply and destroy: spec, engine, lock, state, recovery, refresh, then the plan."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from tpdeclare import errors
from tpdeclare.commands.context import Context
from tpdeclare.commands.engine_binding import bind_engine, read_engine
from tpdeclare.frozen_values import frozen
from tpdeclare.options import PlanningOptions
from tpdeclare.plan.model import Plan
from tpdeclare.process_exit import keep_until_exit
from tpdeclare.spec.model import StackSpec
from tpdeclare.state.model import State

if TYPE_CHECKING:
    from tpdeclare.api.client import ClusterInfo, TensorPoolClient
    from tpdeclare.api.storage_models import VolumeInfo
    from tpdeclare.planfile import SavedPlan
    from tpdeclare.state.store import StateStore

StateCheck = Callable[["State | None", "StateStore"], None]



@frozen
class Session:
    """Everything a planning command has once its inputs are read and its lock is held."""

    spec: StackSpec
    store: StateStore
    state: State | None
    plan: Plan
    engine: str
    client: TensorPoolClient | None = None

    def working_state(self) -> State:
        """The state to record into: the one read (bound to the engine), or a new one for the stack."""
        return self.state or State(stack=self.spec.stack, engine=self.engine)


@frozen
class _Opened:
    """The state under the lock: as read and bound, settled by recovery, and the engine's view if read."""

    state: State | None
    settled_from: State | None  # the state before recovery changed it (None: recovery changed nothing)
    clusters: list[ClusterInfo] | None
    client: TensorPoolClient | None
    volumes: list[VolumeInfo] | None = None  # the engine's volumes, when read (a stack with storage)


@contextlib.contextmanager
def _opened(ctx: Context, store: StateStore, stack: str | None, command: str, engine: str, *,
            refresh: bool, mutating: bool, stop: threading.Event | None, deadline: float | None,
            check_state: StateCheck | None, spec_volumes: bool = False) -> Iterator[_Opened]:
    """Hold the lock; read the state (of `stack`, or whichever it is), bind it to the engine, let
    `check_state` see it as read, settle what an interrupted run left, and read the engine if asked.
    Whenever the engine is read (and always for a `mutating` command), its list must read as clusters
    with an ID and a name, before anything else is done (EngineIncompatible otherwise)."""
    # Recovery, the recorder and the volumes' API models only when there is something to settle or read:
    # a plan of a settled state imports none of them.
    from tpdeclare.state.unsettled import needs_recovery, needs_volume_recovery

    with ctx.lock(store, command):
        state = store.read() if stack is None else ctx.read_state(store, stack)
        state = bind_engine(state, engine, store)
        if check_state is not None:
            check_state(state, store)
        client = None
        clusters: list[ClusterInfo] | None = None
        settled_from = None
        if needs_recovery(state) or refresh or mutating or needs_volume_recovery(state):
            client = ctx.client(stop, deadline)
            clusters = read_engine(client, state) if refresh else client.list_clusters()
            client.lookup_by_name()  # the list just read established it, or refused
        if needs_recovery(state):
            from tpdeclare.apply.recovery import recover
            from tpdeclare.state.recorder import Recorder

            assert state is not None and clusters is not None and client is not None
            recorder = Recorder(store, state)
            recover(clusters, recorder, ctx.console.print, request_info=client.request_info)
            recorder.checkpoint()
            settled_from, state = state, recorder.snapshot()
        volumes = None
        if client is not None and (refresh or needs_volume_recovery(state)):
            from tpdeclare.commands.storage_session import list_volumes, uses_storage

            if uses_storage(state, spec_volumes):
                volumes = list_volumes(client)
        if needs_volume_recovery(state):
            from tpdeclare.apply.volume_recovery import recover_volumes
            from tpdeclare.state.recorder import Recorder

            assert state is not None and volumes is not None
            recorder = Recorder(store, state)
            recover_volumes(volumes, recorder, ctx.console.print)
            recorder.checkpoint()
            settled_from, state = settled_from or state, recorder.snapshot()
        yield _Opened(state=state, settled_from=settled_from, clusters=clusters, client=client, volumes=volumes)


@contextlib.contextmanager
def planned(
    ctx: Context,
    spec: StackSpec | None,
    planning: PlanningOptions,
    *,
    command: str,
    prices: Mapping[str, float] | None = None,
    stop: threading.Event | None = None,
    store: StateStore | None = None,
    deadline: float | None = None,
    mutating: bool = False,
) -> Iterator[Session]:
    """Hold the state lock for the block: read the state, settle interrupted work, read the engine when
    refreshing, and plan. `spec` None plans from the state alone (a destroy whose spec is gone); no call to
    the engine runs past `deadline` (time.monotonic). A `mutating` command (apply, destroy) reads the
    engine's list first in any case: lookup by name must work before any change."""
    from tpdeclare.plan.planner import make_plan

    engine = ctx.engine()  # before anything is written: an unusable engine is refused first
    if store is None:
        assert spec is not None
        store = ctx.store(spec.stack, spec.backend)
    stack = spec.stack if spec is not None else None
    with _opened(ctx, store, stack, command, engine, refresh=planning.refresh, mutating=mutating, stop=stop,
                 deadline=deadline, check_state=None, spec_volumes=bool(spec and spec.volumes)) as o:
        if spec is None:
            if o.state is None:
                raise errors.StateError(f"no state at {store.name}", hint="nothing has been applied for this stack")
            spec = StackSpec(stack=o.state.stack, clusters={})
        _check_addresses(spec, o.state, planning)
        observed = None
        if planning.refresh and o.clusters is not None:
            from tpdeclare.plan.refresh import observed_fields  # only when refreshing

            observed = observed_fields(o.clusters)
        if observed is not None and o.state is None:
            _say_if_elsewhere(ctx, spec, store, observed)
        plan = make_plan(
            spec, o.state, observed=observed, targets=planning.targets, replace=planning.replace,
            destroy_all=planning.destroy_all, max_hourly_cost=planning.max_hourly_cost, prices=prices,
            now=ctx.now(), expire_only=planning.expire_only,
            observed_volumes=_observed_volumes(o.volumes) if planning.refresh and o.volumes is not None else None,
        )
        session = Session(spec=spec, store=store, state=o.state, plan=plan, engine=engine, client=o.client)
        keep_until_exit(session)
        yield session


@contextlib.contextmanager
def saved(ctx: Context, plan_file: SavedPlan, *, command: str, stop: threading.Event | None = None,
          deadline: float | None = None) -> Iterator[Session]:
    """Hold the state lock for applying a saved plan: the state must be exactly the one it was made
    against, and nothing an interrupted run left may have been settled since."""
    engine = ctx.engine()
    plan_file.check_engine(engine)
    plan = plan_file.plan
    spec = StackSpec(stack=plan.stack, clusters={}, files=plan.spec_files)
    store = ctx.store(plan.stack)
    with _opened(ctx, store, plan.stack, command, engine, refresh=False, mutating=True, stop=stop,
                 deadline=deadline, check_state=plan_file.check_state) as o:
        plan_file.check_recovery(o.settled_from, o.state)
        session = Session(spec=spec, store=store, state=o.state, plan=plan, engine=engine, client=o.client)
        keep_until_exit(session)
        yield session


def _check_addresses(spec: StackSpec, state: State | None, planning: PlanningOptions) -> None:
    from tpdeclare.state.volumes import split_volume_address

    def known(t: str) -> bool:
        volume = split_volume_address(t)
        if volume is not None:
            return volume in spec.volumes or (state is not None and volume in state.volumes)
        return t in spec.clusters or (state is not None and t in state.resources)

    unknown = [t for t in (*planning.targets, *planning.replace) if not known(t)]
    if unknown:
        raise errors.TpdeclareError(
            f"no cluster or volume (storage.ADDR) at address {', '.join(repr(u) for u in unknown)} in the spec or "
            "the state",
            hint="see `tpdeclare state list` for the recorded addresses",
        )


def _say_if_elsewhere(ctx: Context, spec: StackSpec, store: StateStore,
                      observed: Mapping[str, Mapping[str, object]]) -> None:
    """No state here, but the engine has clusters named like this stack's: a run from the wrong directory?"""
    declared = {c.name for c in spec.clusters.values()}
    prefix = f"{spec.stack}-"
    names = sorted(str(f["name"]) for f in observed.values()
                   if isinstance(f.get("name"), str) and (f["name"] in declared or str(f["name"]).startswith(prefix)))
    if not names:
        return
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    ctx.console.warn(
        f"{store.name} not found, but {shown} exist{'s' if len(names) == 1 else ''} on the engine: is the state "
        f"in another directory? Point at it with --state PATH, or adopt clusters with `tpdeclare import`"
    )


def _observed_volumes(volumes: list[VolumeInfo]) -> dict[str, VolumeInfo]:
    from tpdeclare.commands.storage_session import observed_volumes  # only when the engine's volumes were read

    return observed_volumes(volumes)
