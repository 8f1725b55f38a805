"""A state's engine: binding a state to the engine it was made on, and reading that engine's view of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tpdeclare import errors
from tpdeclare.frozen_values import replace_fields as replace
from tpdeclare.state.model import PENDING, State

if TYPE_CHECKING:
    from tpdeclare.api.client import ClusterInfo
    from tpdeclare.api.protocol import ClusterApi
    from tpdeclare.state.store import StateStore


def bind_engine(state: State | None, engine: str, store: StateStore) -> State | None:
    """The state bound to `engine` (recorded with its next write). Refuses a state recorded against
    another engine: its clusters are not on this one, and planning them as "deleted outside" would
    create them again while the originals keep billing."""
    if state is None:
        return None
    if state.engine is None:
        return replace(state, engine=engine)
    if state.engine != engine:
        raise errors.StateError(
            f"{store.name} records clusters on engine {state.engine}, but this run uses {engine}",
            hint=f"pass --engine {state.engine} (or set TENSORPOOL_ENGINE), or use another --state for this "
            f"engine; if that engine's address really changed, edit `engine` in the state file",
        )
    return state


def read_engine(api: ClusterApi, state: State | None) -> list[ClusterInfo]:
    """The engine's clusters: one list call, plus `GET /cluster/info` for each recorded cluster the list
    did not show, so that only a 404 reads as "gone"."""
    clusters = list(api.list_clusters())
    if state is None:
        return clusters
    listed = {c.cluster_id for c in clusters}
    for rec in state.resources.values():
        if rec.cluster_id and rec.cluster_id not in listed and rec.status != PENDING:
            try:
                clusters.append(api.cluster_info(rec.cluster_id))
            except errors.NotFound:
                continue
    return clusters
