"""Builders of spec and state values for the pure planner and renderer tests."""

from __future__ import annotations

from tpdeclare.plan.diff import recorded_spec
from tpdeclare.spec.model import ClusterSpec, Move, StackSpec
from tpdeclare.state.model import READY, Record, State


def cluster(address: str, instance_type: str = "1xH100", stack: str = "demo", **kw) -> ClusterSpec:
    kw.setdefault("name", f"{stack}-{address}")
    return ClusterSpec(address=address, instance_type=instance_type, **kw)


def stack(*clusters: ClusterSpec, name: str = "demo", moves=(), **kw) -> StackSpec:
    return StackSpec(stack=name, clusters={c.address: c for c in clusters}, moves=tuple(moves), **kw)


def record(spec: ClusterSpec, cluster_id: str = None, status: str = READY, **overrides) -> Record:
    fields = {**recorded_spec(spec), **overrides}
    return Record(
        address=spec.address,
        status=status,
        name=fields["name"],
        spec=fields,
        cluster_id=cluster_id or f"c-{abs(hash(spec.address)) % 16**8:08x}",
        instance_ids=["i-00000001"],
        created_at="2026-11-26T10:00:00Z",
    )


def state(*records: Record, name: str = "demo", serial: int = 3) -> State:
    return State(stack=name, lineage="11111111-2222-3333-4444-555555555555", serial=serial,
                 resources={r.address: r for r in records})


__all__ = ["cluster", "stack", "record", "state", "Move"]
