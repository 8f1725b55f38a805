"""Unit tests of the pure planner: every action, policy, moves, drift, cost."""

from __future__ import annotations

import pytest
from tpdeclare.plan.model import Action
from tpdeclare.plan.planner import make_plan
from tpdeclare.state.model import DELETING, PENDING, TAINTED

from plan_helpers import Move, cluster, record, stack, state


def only(plan, address):
    (change,) = [c for c in plan.changes if c.address == address]
    return change


def test_new_cluster_is_created_with_its_cost():
    plan = make_plan(stack(cluster("trainer", "8xH200", num_nodes=2)), None)
    c = only(plan, "trainer")
    assert c.action is Action.CREATE
    assert c.after["name"] == "demo-trainer"
    assert plan.cost.before_hourly == 0 and plan.cost.after_hourly == pytest.approx(47.84)
    assert plan.summary() == {"add": 1, "change": 0, "replace": 0, "destroy": 0, "move": 0}


def test_unchanged_cluster_is_a_noop():
    want = cluster("nb")
    plan = make_plan(stack(want), state(record(want)))
    assert only(plan, "nb").action is Action.NOOP
    assert not plan.has_changes
    assert plan.cost.diff_hourly == 0


@pytest.mark.parametrize("field,value", [("num_nodes", 2), ("instance_type", "8xB200"), ("container", "img:2")])
def test_replace_fields_force_a_replace_naming_the_field(field, value):
    old = cluster("big", "8xH200")
    new = cluster("big", **{"instance_type": "8xH200", field: value})
    c = only(make_plan(stack(new), state(record(old))), "big")
    assert c.action is Action.REPLACE
    assert c.replace_paths == (field,)
    assert c.reason == "replace_because_cannot_update"


@pytest.mark.parametrize("field,value", [("name", "renamed"), ("deletion_protection", True)])
def test_in_place_fields_update(field, value):
    old = cluster("nb")
    new = cluster("nb", **{field: value})
    c = only(make_plan(stack(new), state(record(old))), "nb")
    assert c.action is Action.UPDATE
    assert [fc.field for fc in c.field_changes] == [field]


def test_public_keys_are_create_only_and_noted():
    old = cluster("nb")
    new = cluster("nb", public_keys=("ssh-ed25519 AAAA alice",))
    c = only(make_plan(stack(new), state(record(old))), "nb")
    assert c.action is Action.NOOP
    assert any("--replace nb" in n for n in c.notes)


def test_removed_cluster_is_destroyed():
    gone = cluster("old")
    plan = make_plan(stack(), state(record(gone)))
    c = only(plan, "old")
    assert c.action is Action.DELETE and c.reason == "delete_because_no_resource_config"
    assert plan.cost.after_hourly == 0 and plan.cost.before_hourly == pytest.approx(1.99)


def test_ignore_changes_shows_but_does_not_act():
    old = cluster("nb", container="a")
    new = cluster("nb", container="b", ignore_changes=frozenset({"container"}))
    c = only(make_plan(stack(new), state(record(old))), "nb")
    assert c.action is Action.NOOP
    assert c.field_changes[0].effect == "ignored"


def test_prevent_destroy_blocks_replace_and_destroy():
    old = cluster("big", "8xH200", prevent_destroy=True)
    new = cluster("big", "8xH200", num_nodes=2, prevent_destroy=True)
    assert make_plan(stack(new), state(record(old))).blocked
    # Removing the cluster from the spec is still guarded by the recorded prevent_destroy.
    plan = make_plan(stack(), state(record(old)))
    assert any("prevent_destroy" in b for b in plan.blocked)


def test_deletion_protection_blocks_destroy():
    old = cluster("big", deletion_protection=True)
    plan = make_plan(stack(), state(record(old)))
    assert any("deletion protection" in b for b in plan.blocked)


def test_destroy_all_plans_every_record():
    a, b = cluster("a"), cluster("b")
    plan = make_plan(stack(a, b), state(record(a), record(b)), destroy_all=True)
    assert {c.action for c in plan.changes} == {Action.DELETE}


def test_moved_renames_without_touching_the_cluster():
    old = cluster("old-nb")
    new = cluster("nb", name="demo-old-nb")
    plan = make_plan(stack(new, moves=[Move("old-nb", "nb")]), state(record(old, cluster_id="c-0000abcd")))
    c = only(plan, "nb")
    assert c.action is Action.NOOP and c.moved_from == "old-nb" and c.cluster_id == "c-0000abcd"
    assert plan.has_changes


def test_tainted_record_is_replaced():
    want = cluster("nb")
    c = only(make_plan(stack(want), state(record(want, status=TAINTED))), "nb")
    assert c.action is Action.REPLACE and c.reason == "replace_because_tainted"


def test_pending_record_is_created_again():
    want = cluster("nb")
    c = only(make_plan(stack(want), state(record(want, status=PENDING))), "nb")
    assert c.action is Action.CREATE and c.reason == "create_because_interrupted"


def test_deleting_record_in_spec_is_replaced():
    want = cluster("nb")
    assert only(make_plan(stack(want), state(record(want, status=DELETING))), "nb").action is Action.REPLACE


def test_forced_replace():
    want = cluster("nb")
    c = only(make_plan(stack(want), state(record(want)), replace=["nb"]), "nb")
    assert c.action is Action.REPLACE and c.reason == "replace_by_request"


def test_targets_limit_the_plan():
    a, b = cluster("a"), cluster("b")
    plan = make_plan(stack(a, b), None, targets=["a"])
    assert [c.address for c in plan.changes] == ["a"]


def test_budget_blocks_a_plan_above_it():
    plan = make_plan(stack(cluster("big", "8xH200", num_nodes=2), max_hourly_cost=40.0), None)
    assert any("budget" in b and "$47.84/hr" in b and "$40.00/hr" in b for b in plan.blocked)
    assert not make_plan(stack(cluster("big", "8xH200"), max_hourly_cost=40.0), None).blocked


def test_price_overrides_apply():
    plan = make_plan(stack(cluster("nb"), prices={"H100": 2.5}), None)
    assert plan.cost.after_hourly == pytest.approx(2.5)


def test_drift_deleted_outside_is_recreated():
    want = cluster("nb")
    rec = record(want, cluster_id="c-deadbeef")
    c = only(make_plan(stack(want), state(rec), observed={}), "nb")
    assert c.action is Action.CREATE and c.reason == "create_because_deleted_outside"
    assert "deleted outside" in c.notes[0]


def test_drift_renamed_outside_is_planned_back():
    want = cluster("nb")
    rec = record(want, cluster_id="c-deadbeef")
    seen = {"c-deadbeef": {**rec.spec, "name": "someone-renamed-it"}}
    c = only(make_plan(stack(want), state(rec), observed=seen), "nb")
    assert c.action is Action.UPDATE and c.field_changes[0].before == "someone-renamed-it"


def test_removed_and_gone_outside_is_forgotten():
    gone = cluster("old")
    plan = make_plan(stack(), state(record(gone, cluster_id="c-deadbeef")), observed={})
    assert plan.forget == ("old",) and plan.has_changes
    assert only(plan, "old").action is Action.NOOP


# ---- the fast "unchanged" test never hides a change DeepDiff would report ---------------------------
from deepdiff import DeepDiff  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tpdeclare.fields import MANAGED_FIELDS  # noqa: E402
from tpdeclare.plan.diff import field_changes as _field_changes  # noqa: E402
from tpdeclare.plan.diff import unchanged as _unchanged  # noqa: E402

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, 1.0, 2.0, 2.5]),
                     st.sampled_from(["", "a", "8xH200", "1xH100"]))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["k", "v"]), inner, max_size=2),
    max_leaves=6,
)
_fields = st.fixed_dictionaries({name: _values for name in MANAGED_FIELDS})


@settings(max_examples=600, deadline=None)
@given(_fields, _fields, st.booleans())
def test_field_changes_are_deepdiffs(before, after, copy):
    """DeepDiff (order of list items ignored) is the oracle for which fields changed."""
    if copy:
        after = dict(before)
    reported = [fc.field for fc in _field_changes(before, after, frozenset())]
    expected = set(DeepDiff(before, after, ignore_order=True).affected_root_keys)
    assert reported == [f for f in MANAGED_FIELDS if f in expected]
    if _unchanged(before, after):
        assert not expected


@pytest.mark.parametrize(
    "before, after",
    [
        ([True, False, 2], [True, False, 2.0]),  # found by hypothesis 6.170
        ([False, True, False], [False, 1, False]),
        ([[1]], [[1.0]]),
        ([{"k": 1}], [{"k": True}]),
        ({"k": [1, 1]}, {"k": [1]}),
        (["a", "a"], ["a"]),
        ([0.0], [-0.0]),
        (0.0, -0.0),
        (float("nan"), float("nan")),
        (1, True),
        ([], None),
    ],
)
def test_planner_and_deepdiff_agree_on_known_edges(before, after):
    b = {name: None for name in MANAGED_FIELDS} | {"public_keys": before}
    a = {name: None for name in MANAGED_FIELDS} | {"public_keys": after}
    reported = [fc.field for fc in _field_changes(b, a, frozenset())]
    expected = set(DeepDiff(b, a, ignore_order=True).affected_root_keys)
    assert reported == [f for f in MANAGED_FIELDS if f in expected]


def test_reordered_keys_are_no_change_and_added_keys_are_counted():
    k1, k2 = "ssh-ed25519 AAAA one", "ssh-ed25519 BBBB two"
    old = cluster("nb", public_keys=(k1, k2))
    same = cluster("nb", public_keys=(k2, k1))
    more = cluster("nb", public_keys=(k2, k1, "ssh-ed25519 CCCC three"))
    assert not make_plan(stack(same), state(record(old))).has_changes
    (fc,) = only(make_plan(stack(more), state(record(old))), "nb").field_changes
    assert fc.field == "public_keys" and fc.detail == "1 added"


# ---- review findings: lifecycle sync, protection turned off by the replace, budgets that save money ---
def test_prevent_destroy_change_alone_is_recorded_in_state():
    old = cluster("nb")
    new = cluster("nb", prevent_destroy=True)
    plan = make_plan(stack(new), state(record(old)))
    assert plan.state_sync == ("nb",) and plan.has_changes
    assert only(plan, "nb").action is Action.NOOP
    assert "lifecycle.prevent_destroy: false -> true" in only(plan, "nb").notes[-1]


def test_replace_may_turn_deletion_protection_off_first():
    old = cluster("big", "8xH200", deletion_protection=True)
    keeps_on = cluster("big", "8xH200", num_nodes=2, deletion_protection=True)
    turns_off = cluster("big", "8xH200", num_nodes=2, deletion_protection=False)
    assert any("deletion protection" in b for b in make_plan(stack(keeps_on), state(record(old))).blocked)
    assert not make_plan(stack(turns_off), state(record(old))).blocked


def test_tainted_protected_cluster_can_be_fixed_by_turning_protection_off():
    old = cluster("nb", deletion_protection=True)
    want = cluster("nb", deletion_protection=False)
    plan = make_plan(stack(want), state(record(old, status=TAINTED)))
    assert only(plan, "nb").action is Action.REPLACE and not plan.blocked


def test_destroy_of_protected_cluster_is_blocked_even_if_spec_turns_it_off():
    old = cluster("nb", deletion_protection=True)
    want = cluster("nb", deletion_protection=False)
    plan = make_plan(stack(want), state(record(old)), destroy_all=True)
    assert any("deletion protection" in b and "apply first" in b for b in plan.blocked)


def test_budget_does_not_block_a_plan_that_lowers_the_cost():
    a, b = cluster("a"), cluster("b")
    plan = make_plan(stack(a, b, max_hourly_cost=1.0), state(record(a), record(b)), targets=["a"], destroy_all=True)
    assert not plan.blocked and plan.cost.after_hourly < plan.cost.before_hourly


def test_removed_pending_intent_is_forgotten_not_destroyed():
    want = cluster("nb")
    plan = make_plan(stack(), state(record(want, status=PENDING)))
    assert plan.forget == ("nb",) and plan.count(Action.DELETE) == 0


# ---- words a newcomer reads (issue 9.11) ---------------------------------------------------------------
def test_a_protected_cluster_that_would_be_destroyed_says_destroyed():
    gone = cluster("old", deletion_protection=True)
    plan = make_plan(stack(), state(record(gone, cluster_id="c-00000001")))
    assert any("so it cannot be destroyed;" in b for b in plan.blocked), plan.blocked
    assert not any("destroyd" in b for b in plan.blocked)


def test_a_drift_plan_of_a_cluster_deleted_outside_warns_of_no_price():
    """Its 'before' is left out of the cost on purpose: that is not an unknown price."""
    want = cluster("nb")
    plan = make_plan(stack(want), state(record(want, cluster_id="c-00000001")), observed={})
    (change,) = plan.changes
    assert change.reason == "create_because_deleted_outside"
    assert plan.warnings == () and plan.cost.unpriced == ()


def test_an_unknown_type_is_still_reported_unpriced():
    want = cluster("nb", instance_type="4xZ900")
    plan = make_plan(stack(want), None)
    assert plan.cost.unpriced == ("nb",) and "no price known" in plan.warnings[0]


def test_a_requested_replace_says_why_in_the_plan():
    want = cluster("nb")
    plan = make_plan(stack(want), state(record(want, cluster_id="c-00000001")), replace=["nb"])
    (change,) = plan.changes
    assert change.action is Action.REPLACE and change.reason == "replace_by_request"
    assert "replace requested with --replace nb" in change.notes


def test_the_plan_carries_what_apply_does_besides_the_changes():
    """Apply(plan) alone: waits, dropped intents and lifecycle syncs are the plan's decisions."""
    a, b, c = cluster("a"), cluster("b", prevent_destroy=True), cluster("gone")
    recs = [record(a, cluster_id="c-00000001", status="creating"), record(cluster("b"), cluster_id="c-00000002"),
            record(c, cluster_id=None, status="pending")]
    plan = make_plan(stack(a, b), state(*recs))
    assert plan.waits == ("a",) and plan.state_sync == ("b",) and plan.drop_intents == ("gone",)
    assert plan.forget == ("gone",)
    assert all(ch.desired is not None for ch in plan.changes if ch.address in ("a", "b"))
