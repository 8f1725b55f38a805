"""Planner: a rename written as destroy + create is refused with its moved: block; with refresh, a create whose
name an unmanaged cluster holds is refused with the import hint (issue 9.10)."""

from __future__ import annotations

import pytest
from tpdeclare.plan.model import Action
from tpdeclare.plan.planner import make_plan

from plan_helpers import Move, cluster, record, stack, state


def test_destroying_one_address_and_creating_another_under_the_same_name_is_a_rename():
    old = cluster("old", name="lab-trainer")
    new = cluster("trainer", name="lab-trainer")
    plan = make_plan(stack(new), state(record(old, cluster_id="c-00000001")))
    assert [b for b in plan.blocked if b.startswith("rename:")] == [
        "rename: the plan destroys 'old' and creates 'trainer' under the same cluster name 'lab-trainer'. To move "
        "the cluster to the new address, add to the spec:\n      moved:\n        - {from: old, to: trainer}\n"
        "    (or give 'trainer' another name if you really want a new cluster)"
    ]


def test_the_moved_block_it_asks_for_makes_it_a_move_with_no_change():
    old = cluster("old", name="lab-trainer")
    new = cluster("trainer", name="lab-trainer")
    plan = make_plan(stack(new, moves=[Move("old", "trainer")]), state(record(old, cluster_id="c-00000001")))
    assert not plan.blocked
    (change,) = plan.changes
    assert change.moved_from == "old" and change.action is Action.NOOP


@pytest.mark.parametrize("names", [("a", "b"), ("same", "same-2")])
def test_a_destroy_and_a_create_under_different_names_is_not_a_rename(names):
    old = cluster("old", name=names[0])
    new = cluster("trainer", name=names[1])
    plan = make_plan(stack(new), state(record(old, cluster_id="c-00000001")))
    assert not plan.blocked and plan.summary()["add"] == 1 and plan.summary()["destroy"] == 1


def test_an_interrupted_intent_dropped_beside_a_create_of_its_name_is_not_a_rename():
    """A pending intent whose address left the spec made nothing (recovery looked): no cluster to move."""
    old = cluster("old", name="lab-trainer")
    plan = make_plan(stack(cluster("trainer", name="lab-trainer")),
                     state(record(old, cluster_id=None, status="pending")))
    assert not plan.blocked and plan.drop_intents == ("old",)


def _seen(name, **fields):
    return {"instance_type": "1xH100", "num_nodes": 1, "container": None, "name": name,
            "deletion_protection": False, "status": "RUNNING", **fields}


def test_with_refresh_a_create_whose_name_a_stranger_holds_is_refused_with_the_import_hint():
    want = cluster("nb", name="lab-nb")
    plan = make_plan(stack(want, files=("lab.yaml",)), None, observed={"c-0000beef": _seen("lab-nb")})
    assert plan.conflicts == (
        "nb: the cluster name 'lab-nb' is already taken on the engine by c-0000beef, which this stack's state does "
        "not manage; adopt it with `tpdeclare import nb c-0000beef lab.yaml`, or give 'nb' another name",
    )


def test_a_name_held_by_a_cluster_the_state_manages_is_no_conflict():
    """Re-created after a delete outside: the name is free; a replace's own cluster is ours."""
    keep = cluster("keep", name="lab-keep")
    rec = record(keep, cluster_id="c-00000001")
    plan = make_plan(stack(keep, cluster("nb", name="lab-nb")), state(rec),
                     observed={"c-00000001": _seen("lab-keep")})
    assert plan.conflicts == () and plan.summary()["add"] == 1


def test_without_refresh_nothing_is_known_of_the_engine_so_nothing_conflicts():
    plan = make_plan(stack(cluster("nb", name="lab-nb")), None)
    assert plan.conflicts == ()
