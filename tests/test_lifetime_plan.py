"""The planner's lifetime rules (issue 14, DESIGN §10), on a fixed clock: pure values in, a Plan out."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tpdeclare.plan.codec import decode_plan, encode_plan
from tpdeclare.plan.expiry import REASON_EXPIRED, REASON_LIFETIME_CHANGED, REASON_REQUESTED
from tpdeclare.plan.model import Action
from tpdeclare.plan.planner import make_plan
from tpdeclare.spec.model import Lifetime
from tpdeclare.state.model import DELETING, EXPIRED, PENDING, Record

from plan_helpers import cluster, record, stack, state

NOW = datetime(2026, 11, 26, 20, 0, 0, tzinfo=UTC)  # the records of plan_helpers were created at 10:00
H = 3600


def life(after=None, at=None, warn=None):
    return Lifetime(expires_after=after, expires_at=at, warn_before=warn)


def memory(spec, lifetime_key, expired_at="2026-11-26T18:00:00Z"):
    """The `expired` record an expiry's destroy leaves."""
    rec = replace(record(spec, cluster_id="c-0000000e"), expired_at=expired_at, lifetime=lifetime_key)
    return rec.after_destroy("2026-11-26T18:05:00Z")


def plan_of(*clusters, records=(), now=NOW, **kw):
    return make_plan(stack(*clusters), state(*records), now=now, **kw)


def test_an_expired_cluster_is_planned_as_a_destroy_that_says_why():
    a = cluster("a", lifetime=life(after=8 * H))  # created 10:00, ended 18:00
    plan = plan_of(a, records=[record(a, cluster_id="c-00000001")])
    [c] = plan.changes
    assert (c.action, c.reason, c.cluster_id) == (Action.DELETE, REASON_EXPIRED, "c-00000001")
    assert c.expiry.expired and c.expiry.expires_at == "2026-11-26T18:00:00Z" and c.expiry.seconds_left == -2 * H
    assert c.notes == ("expired at 2026-11-26T18:00:00Z, 2h ago; its lifetime was expires_after 8h",)
    assert not plan.blocked and plan.cost.after_hourly == 0


def test_a_running_cluster_shows_when_it_ends_and_what_it_costs_until_then():
    b = cluster("b", "8xH200", lifetime=life(after=12 * H, warn=H))  # ends 22:00: 2h left, not yet warned
    c = cluster("c", lifetime=life(at="2026-11-26T20:30:00Z", warn=H))  # 30m left: within warn_before
    plan = plan_of(b, c, records=[record(b, cluster_id="c-00000002"), record(c, cluster_id="c-00000003")])
    eb, ec = plan.change("b").expiry, plan.change("c").expiry
    assert plan.change("b").action is Action.NOOP
    assert (eb.expires_at, eb.seconds_left, eb.spend, eb.warn) == ("2026-11-26T22:00:00Z", 2 * H, 47.84, False)
    assert (ec.seconds_left, ec.spend, ec.warn) == (1800, 0.995, True)
    assert plan.cost.until_expiry == pytest.approx(48.835)
    assert plan.cost.last_expiry == "2026-11-26T22:00:00Z" and plan.cost.hourly_without_expiry == 0


def test_the_engine_created_at_wins_over_the_recorded_one():
    a = cluster("a", lifetime=life(after=8 * H))
    rec = record(a, cluster_id="c-00000001")  # recorded 10:00 (ended 18:00), but the engine made it at 13:00
    seen = {"c-00000001": {**rec.spec, "status": "RUNNING", "created_at": "2026-11-26T13:00:00Z"}}
    plan = plan_of(a, records=[rec], observed=seen)
    assert plan.change("a").action is Action.NOOP
    assert plan.change("a").expiry.expires_at == "2026-11-26T21:00:00Z"
    unreadable = {"c-00000001": {**seen["c-00000001"], "created_at": "soon"}}  # then the recorded one
    assert plan_of(a, records=[rec], observed=unreadable).change("a").reason == REASON_EXPIRED


def test_a_creation_time_nobody_knows_is_said_and_nothing_is_destroyed():
    a = cluster("a", lifetime=life(after=H))
    rec = replace(record(a, cluster_id="c-00000001"), created_at=None)
    plan = plan_of(a, records=[rec])
    assert plan.change("a").action is Action.NOOP and plan.change("a").expiry.expires_at is None
    assert any("cannot tell when c-00000001 was created" in w for w in plan.warnings)


def test_a_cluster_that_would_be_created_expired_is_not_created():
    late = cluster("late", lifetime=life(at="2026-11-26T19:00:00Z"))
    plan = plan_of(late)
    [c] = plan.changes
    assert c.action is Action.NOOP and not plan.has_changes
    assert c.notes == ("not created: its lifetime ended at 2026-11-26T19:00:00Z, before it could be created",)
    assert plan.cost.after_hourly == 0
    # An interrupted create of it is dropped, not retried.
    intent = replace(record(late), status=PENDING, cluster_id=None)
    plan = plan_of(late, records=[intent])
    assert plan.change("late").action is Action.NOOP and plan.forget == ("late",) and plan.drop_intents == ("late",)


def test_a_creation_counts_its_lifetime_from_now():
    d = cluster("d", lifetime=life(after=H))
    c = plan_of(d).change("d")
    assert c.action is Action.CREATE and c.expiry.from_creation
    assert (c.expiry.expires_at, c.expiry.spend) == ("2026-11-26T21:00:00Z", 1.99)


def test_an_expired_address_is_remembered_and_not_created_again():
    f = cluster("f", lifetime=life(after=8 * H))
    plan = plan_of(f, records=[memory(f, "expires_after 8h")])
    [c] = plan.changes
    assert c.action is Action.NOOP and not plan.has_changes and plan.cost.before_hourly == plan.cost.after_hourly == 0
    assert c.notes == ("destroyed because its lifetime (expires_after 8h) ended at 2026-11-26T18:00:00Z; not created "
                       "again until its lifetime in the spec changes (or --replace f)",)
    # The same lifetime written another way is the same lifetime.
    assert not plan_of(cluster("f", lifetime=life(after=480 * 60)), records=[memory(f, "expires_after 8h")]).has_changes


@pytest.mark.parametrize("new,forced,reason", [
    (life(after=9 * H), False, REASON_LIFETIME_CHANGED),
    (life(at="2026-11-27T09:00:00Z"), False, REASON_LIFETIME_CHANGED),
    (None, False, REASON_LIFETIME_CHANGED),
    (life(after=8 * H), True, REASON_REQUESTED),
])
def test_a_remembered_address_is_created_again_when_its_lifetime_changes_or_on_request(new, forced, reason):
    f = cluster("f", lifetime=new)
    plan = plan_of(f, records=[memory(f, "expires_after 8h")], replace=["f"] if forced else [])
    c = plan.change("f")
    assert (c.action, c.reason) == (Action.CREATE, reason) and c.desired == f
    assert c.notes[-1].startswith("it expired at 2026-11-26T18:00:00Z; created again: ")


def test_a_changed_lifetime_that_has_ended_too_creates_nothing():
    f = cluster("f", lifetime=life(at="2026-11-26T19:00:00Z"))
    plan = plan_of(f, records=[memory(f, "expires_after 8h")])
    assert plan.change("f").action is Action.NOOP and "not created" in plan.change("f").notes[0]


def test_a_remembered_address_that_left_the_spec_is_forgotten():
    f = cluster("f", lifetime=life(after=8 * H))
    plan = plan_of(records=[memory(f, "expires_after 8h")])
    assert plan.forget == ("f",) and plan.has_changes and plan.change("f").action is Action.NOOP
    destroy = make_plan(stack(f), state(memory(f, "expires_after 8h")), destroy_all=True, now=NOW)
    assert destroy.forget == ("f",) and destroy.count(Action.DELETE) == 0


@pytest.mark.parametrize("flags,words", [
    ({"prevent_destroy": True}, "but lifecycle.prevent_destroy forbids destroying it (c-00000001)"),
    ({"deletion_protection": True}, "but deletion protection is on for c-00000001"),
])
def test_protection_always_wins_and_says_what_the_cluster_costs(flags, words):
    a = cluster("a", lifetime=life(after=8 * H), **flags)
    plan = plan_of(a, records=[record(a, cluster_id="c-00000001")])
    [block] = plan.blocked
    assert block.startswith("a: its lifetime ended at 2026-11-26T18:00:00Z and it costs $1.99/hr, ") and words in block
    assert plan.change("a").expiry.protected
    assert not any("forbids this plan to destroy" in b for b in plan.blocked)  # one message, the expiry's


def test_protection_turned_off_in_the_spec_is_lifted_before_the_expiry_destroy():
    a = cluster("a", lifetime=life(after=8 * H))  # deletion_protection: false in the spec
    rec = record(a, cluster_id="c-00000001", deletion_protection=True)  # still on on the cluster
    plan = plan_of(a, records=[rec])
    assert not plan.blocked and plan.change("a").lift_protection
    assert "the spec turns deletion protection off: it is turned off first" in plan.change("a").notes


def test_an_interrupted_destroy_of_an_expired_cluster_is_resumed_as_an_expiry():
    a = cluster("a", lifetime=life(after=8 * H))
    c = plan_of(a, records=[record(a, cluster_id="c-00000001", status=DELETING)]).change("a")
    assert (c.action, c.reason) == (Action.DELETE, REASON_EXPIRED)
    assert "an earlier destroy of this cluster was interrupted" in c.notes


def test_an_expired_cluster_already_gone_from_the_engine_is_recorded_as_expired():
    a = cluster("a", lifetime=life(after=8 * H))
    plan = plan_of(a, records=[record(a, cluster_id="c-00000001")], observed={})
    assert plan.remember_expired == ("a",) and plan.change("a").action is Action.NOOP and plan.has_changes
    fresh = cluster("a", lifetime=life(after=12 * H))  # not expired yet: deleted outside, so created again
    assert plan_of(fresh, records=[record(fresh, cluster_id="c-00000001")], observed={}).change("a").action \
        is Action.CREATE


def test_a_replace_restarts_the_lifetime_of_the_new_cluster():
    old = cluster("a", lifetime=life(after=12 * H))
    new = cluster("a", "2xH100", lifetime=life(after=12 * H))
    c = plan_of(new, records=[record(old, cluster_id="c-00000001")]).change("a")
    assert c.action is Action.REPLACE and c.expiry.from_creation and c.expiry.expires_at == "2026-11-27T08:00:00Z"


def test_expire_plans_only_the_destroys_of_expired_clusters():
    expired = cluster("expired", lifetime=life(after=8 * H))
    running = cluster("running", lifetime=life(after=12 * H))
    edited = cluster("edited", name="demo-renamed")  # an edit apply would make
    grown = cluster("grown", "2xH100")  # a replace apply would make
    new = cluster("new")  # a create apply would make
    kept = cluster("kept", lifetime=life(after=8 * H), prevent_destroy=True)
    records = [record(expired, cluster_id="c-00000001"), record(running, cluster_id="c-00000002"),
               record(cluster("edited"), cluster_id="c-00000003"), record(cluster("grown"), cluster_id="c-00000004"),
               record(kept, cluster_id="c-00000005"), record(cluster("gone"), cluster_id="c-00000006")]
    plan = plan_of(expired, running, edited, grown, new, kept, records=records, expire_only=True)
    assert [(c.address, c.action) for c in plan.actionable] == [("expired", Action.DELETE)]
    assert plan.change("new") is None and plan.change("gone").action is Action.NOOP  # left as it is
    assert not plan.blocked and not plan.forget and not plan.state_sync
    [held] = plan.protected_expired
    assert held.startswith("kept: its lifetime ended at") and plan.change("kept").action is Action.NOOP
    assert plan.cost.before_hourly == pytest.approx(6 * 1.99) and plan.cost.after_hourly == pytest.approx(5 * 1.99)


def test_expire_records_an_expired_cluster_already_gone():
    a = cluster("a", lifetime=life(after=8 * H))
    plan = plan_of(a, records=[record(a, cluster_id="c-00000001")], observed={}, expire_only=True)
    assert plan.remember_expired == ("a",) and plan.change("a").expiry.expired and plan.has_changes


def test_the_same_clock_makes_the_same_plan_and_the_codec_keeps_it_exactly():
    a = cluster("a", lifetime=life(after=8 * H))
    b = cluster("b", "8xH200", lifetime=life(after=12 * H, warn=3 * H))
    f = cluster("f", lifetime=life(after=8 * H))
    records = [record(a, cluster_id="c-00000001"), record(b, cluster_id="c-00000002"), memory(f, "expires_after 8h")]
    plan = plan_of(a, b, f, cluster("n", lifetime=life(after=H)), records=records)
    assert plan == plan_of(a, b, f, cluster("n", lifetime=life(after=H)), records=records)
    assert plan.now == "2026-11-26T20:00:00Z"
    assert decode_plan(json.loads(json.dumps(encode_plan(plan)))) == plan
    later = plan_of(a, b, f, records=records, now=NOW + timedelta(hours=1))
    assert later.change("b").expiry.seconds_left == H


def test_a_plan_saved_before_lifetimes_still_decodes():
    data = encode_plan(plan_of(cluster("a"), records=[]))
    for key in ("now", "prices", "remember_expired", "protected_expired"):
        del data[key]
    for key in ("until_expiry", "last_expiry", "hourly_without_expiry"):
        del data["cost"][key]
    del data["request"]["expire_only"]
    for change in data["changes"]:
        del change["expiry"]
        del change["desired"]["lifetime"]
    plan = decode_plan(data)
    assert plan.change("a").action is Action.CREATE and plan.now == "" and plan.change("a").expiry is None


@pytest.mark.parametrize("bad", [[0, None, None], [None, None, None], [60, "2026-12-05T18:00:00Z", None],
                                 [None, "2026-12-05T18:00:00", None], ["8h", None, None], [60, None, True], "8h"])
def test_a_damaged_lifetime_in_a_saved_plan_is_refused(bad):
    from tpdeclare.errors import PlanFileError

    data = encode_plan(plan_of(cluster("a", lifetime=life(after=H))))
    data["changes"][0]["desired"]["lifetime"] = bad
    with pytest.raises(PlanFileError, match=r"changes\[0\]\.desired\.lifetime should be"):
        decode_plan(data)


def test_an_expired_record_is_never_a_cluster_to_the_rest_of_the_plan():
    f = cluster("f", lifetime=life(after=8 * H))
    mem = memory(f, "expires_after 8h")
    assert (mem.status, mem.cluster_id, mem.instance_ids) == (EXPIRED, None, ())
    plan = plan_of(f, records=[mem], observed={}, targets=["f"])  # refresh and targets too
    assert plan.cost.before_hourly == 0 and not plan.forget and not plan.waits
    assert isinstance(mem, Record)
