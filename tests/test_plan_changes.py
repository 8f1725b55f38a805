"""A plan's changes (plan/model.py `Changes`): the untouched clusters kept as rows, read as the tuple of Changes.

The text plan, its summary and its cost read only the notable changes, so a plan with nothing to do builds no
Change; every reader of all of them (iteration, indexing, equality, repr, the saved-plan codec, the digest)
sees exactly the Changes the general path plans, built once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tpdeclare.plan import model, planner
from tpdeclare.plan.codec import decode_plan, encode_plan
from tpdeclare.plan.digest import plan_digest
from tpdeclare.plan.model import Action, Changes
from tpdeclare.plan.planner import make_plan
from tpdeclare.plan.render_text import render_text

from plan_helpers import cluster, record, stack, state

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _stack_and_state():
    clusters = [cluster(f"c{i}", "1xH100" if i % 2 else "8xH200", num_nodes=1 + i % 3) for i in range(6)]
    recorded = [record(c, cluster_id=f"c-{i:04d}") for i, c in enumerate(clusters)]
    recorded[2] = record(clusters[2], cluster_id="c-0002", num_nodes=7)  # one change among the untouched
    return stack(*clusters), state(*recorded)


def _both(monkeypatch):
    spec, current = _stack_and_state()
    fast = make_plan(spec, current, now=NOW)
    with monkeypatch.context() as m:
        m.setattr(planner, "untouched", lambda *args: None)
        slow = make_plan(spec, current, now=NOW)
    return fast, slow


def test_the_text_plan_builds_no_change_for_an_untouched_cluster(monkeypatch):
    built = []
    monkeypatch.setattr(model, "_built", lambda row, built_one=model._built: built.append(row[0]) or built_one(row))
    fast, _ = _both(monkeypatch)
    assert isinstance(fast.changes, Changes) and [c.address for c in fast.notable] == ["c2"]
    render_text(fast)
    assert fast.summary()["replace"] == 1 and fast.has_changes and not built
    assert fast.change("c4") is fast.change("c4") and built == ["c4"]  # only the one asked for
    assert [c.address for c in fast.changes] == [f"c{i}" for i in range(6)]
    assert built == ["c4", "c0", "c1", "c3", "c5"]  # the rest once, when all are read
    assert fast.changes[4] is fast.change("c4")


def test_the_changes_read_as_the_general_paths_tuple(monkeypatch):
    fast, slow = _both(monkeypatch)
    assert isinstance(slow.changes, Changes) and len(slow.notable) == 6 and len(fast.notable) == 1
    assert fast.changes == slow.changes == tuple(slow.changes) and tuple(fast.changes) == slow.changes
    assert repr(fast.changes) == repr(tuple(slow.changes)) and len(fast.changes) == 6
    assert fast.changes[1:3] == tuple(slow.changes)[1:3] and fast.changes[-1] == slow.changes[-1]
    assert {c.action for c in fast.changes} == {Action.NOOP, Action.REPLACE}
    assert fast.actionable == slow.actionable and fast.summary() == slow.summary()
    assert fast.cost == slow.cost and plan_digest(fast) == plan_digest(slow)
    decoded = decode_plan(encode_plan(fast))
    assert decoded == fast and decoded.changes == fast.changes and encode_plan(decoded) == encode_plan(slow)


def test_an_untouched_cluster_of_an_unknown_type_is_still_unpriced(monkeypatch):
    clusters = [cluster("a", "1xH100"), cluster("b", "3xMYSTERY"), cluster("c", "1xH100", num_nodes=2)]
    current = state(record(clusters[0]), record(clusters[1]), record(clusters[2], num_nodes=5))
    fast = make_plan(stack(*clusters), current, now=NOW)
    with monkeypatch.context() as m:
        m.setattr(planner, "untouched", lambda *args: None)
        slow = make_plan(stack(*clusters), current, now=NOW)
    assert [c.address for c in fast.notable] == ["c"]
    assert fast.cost.unpriced == slow.cost.unpriced == ("b",) and fast.warnings == slow.warnings


def test_an_outline_is_the_built_changes_and_builds_none(monkeypatch):
    built = []
    monkeypatch.setattr(model, "_built", lambda row, built_one=model._built: built.append(row[0]) or built_one(row))
    fast, slow = _both(monkeypatch)
    built.clear()
    for address in [f"c{i}" for i in range(6)] + ["nowhere"]:
        shown = fast.outline(address)
        assert shown == slow.outline(address)
        assert shown == (None if slow.change(address) is None else model.outline(slow.change(address)))
    assert not built  # no Change of an untouched cluster was built for its outline
    assert [fast.outline(c.address) for c in fast.changes] == [model.outline(c) for c in slow.changes]  # once built
    plain = model.Plan(stack=fast.stack, changes=tuple(slow.changes), cost=fast.cost)  # any other sequence
    assert [plain.outline(f"c{i}") for i in range(6)] == [model.outline(c) for c in slow.changes]
    assert model.outline(slow.change("c0")) == (Action.NOOP, True, "c-0000")
