"""Builders of spec and state values for the pure planner and renderer tests."""

from __future__ import annotations

from tpdeclare.plan.diff import recorded_spec
from tpdeclare.plan.planner import make_plan
from tpdeclare.plan.render_json import render_json
from tpdeclare.plan.render_text import render_text
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


def plans_both_ways(monkeypatch, fast_path: tuple[object, str], spec: StackSpec, current: State | None, **kw):
    """The plan made as usual, and the one made with the fast path `fast_path` (an owner and the name of its
    function that may answer for the general path) switched off: answering None, so the general path plans all."""
    fast = make_plan(spec, current, **kw)
    with monkeypatch.context() as m:
        m.setattr(*fast_path, lambda *args: None)
        slow = make_plan(spec, current, **kw)
    return fast, slow


def assert_same_plans(fast, slow) -> None:
    """Two plans are the same: equal, and so are their reprs (types, dict key order), text and JSON."""
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert render_text(fast) == render_text(slow)
    assert render_json(fast) == render_json(slow)


__all__ = ["cluster", "stack", "record", "state", "Move", "plans_both_ways", "assert_same_plans"]
