"""The planner's fast path for untouched clusters (plan/untouched.py) gives exactly the general path's plan.

Random stacks and states, the states drawn near the specs (most records exactly as wanted, some off by a
value, a type, a status, a missing or extra key), with random options (targets, --replace, moves, refresh,
destroy, expire), and for a refresh an engine drawn near the state (most clusters shown as recorded, some gone,
off by a value or a type, missing a field, and clusters outside the state holding the spec's names): the plan
made with the fast path and the one made with it switched off are equal, their reprs too (types, dict key
order), and so are their text and JSON renderings.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tpdeclare.fields import OBSERVABLE_FIELDS
from tpdeclare.plan import planner
from tpdeclare.plan.model import Action
from tpdeclare.plan.untouched import recorded_as_wanted, seen_as_recorded, untouched
from tpdeclare.spec.model import Lifetime
from tpdeclare.state.model import READY, RecordStatus

from plan_helpers import Move, assert_same_plans, cluster, plans_both_ways, record, stack, state

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ADDRESSES = [f"a{i}" for i in range(8)]
TYPES = ("1xH100", "8xH200", "8xB200", "2xH100", "1xL40S")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRwZGVjbGFyZSB0ZXN0 me@host"
# Recorded values that are equal to a wanted one (==) but not the same (`diff.same`), or simply different.
ODD_VALUES = {
    "instance_type": [None, 1, "8xH200", ["1xH100"]],
    "num_nodes": [True, 1.0, 2, None, "1", 2.0],
    "container": [None, "img:1", "", 0, False],
    "name": [None, "other", 1],
    "deletion_protection": [0, 1, None, True, False, "false"],
    "public_keys": [[], (KEY,), [KEY, KEY], None, "x", [1], [[KEY]]],
    "prevent_destroy": [None, 0, 1, True, False, "yes"],
}


@st.composite
def specs_and_states(draw, settled=False):
    """A stack and a state near it; `settled`: every record ready and exactly as wanted, no lifetimes."""
    clusters = []
    for address in draw(st.lists(st.sampled_from(ADDRESSES), unique=True, max_size=6)):
        life = None if settled else draw(st.sampled_from([
            None, None, None, Lifetime(expires_after=3600), Lifetime(expires_after=10 ** 8),
            Lifetime(expires_at="2026-11-27T11:00:00Z")]))
        clusters.append(cluster(
            address, draw(st.sampled_from(TYPES)), num_nodes=draw(st.sampled_from([1, 1, 2])),
            container=draw(st.sampled_from([None, "img:1"])), deletion_protection=draw(st.booleans()),
            public_keys=draw(st.sampled_from([(), (KEY,)])), prevent_destroy=draw(st.booleans()),
            ignore_changes=draw(st.sampled_from([frozenset(), frozenset({"container"})])), lifetime=life,
        ))
    records = []
    for i, c in enumerate(clusters):
        if draw(st.integers(0, 9)) == 0:
            continue  # not recorded: a create
        if settled:
            records.append(record(c, cluster_id=f"c-{i:04d}"))
            continue
        overrides = {}
        for name in draw(st.lists(st.sampled_from(sorted(ODD_VALUES)), unique=True, max_size=2)):
            overrides[name] = draw(st.sampled_from(ODD_VALUES[name]))
        if draw(st.integers(0, 9)) == 0:
            overrides["extra"] = "kept"
        rec = record(c, cluster_id=f"c-{i:04d}", status=draw(st.sampled_from(
            [READY] * 6 + [s for s in RecordStatus if s is not READY])), **overrides)
        if rec.status is RecordStatus.EXPIRED:
            rec = rec.__class__(**{**{f: getattr(rec, f) for f in rec.__dataclass_fields__},
                                   "expired_at": "2026-11-27T10:00:00Z",
                                   "lifetime": c.lifetime.key if c.lifetime else "expires_after 1h"})
        if draw(st.integers(0, 9)) == 0:  # a key missing from the recorded spec
            spec = dict(rec.spec)
            spec.pop(draw(st.sampled_from(sorted(ODD_VALUES))), None)
            rec = rec.__class__(**{**{f: getattr(rec, f) for f in rec.__dataclass_fields__}, "spec": spec})
        records.append(rec)
    for address in draw(st.lists(st.sampled_from(ADDRESSES), unique=True, max_size=2)):  # left the spec
        if address not in {c.address for c in clusters}:
            records.append(record(cluster(address), cluster_id=f"c-gone-{address}"))
    moves = ()
    if records and draw(st.integers(0, 4)) == 0:
        moves = (Move(from_address=draw(st.sampled_from([r.address for r in records])),
                      to_address=draw(st.sampled_from(ADDRESSES))),)
    return stack(*clusters, moves=moves), state(*records)


# What an engine may show for a field instead of the recorded value: equal but of another type, or other.
SEEN_ODD = {
    "instance_type": ["1xH100", "8xH200", None, 1],
    "num_nodes": [1, 2, True, 1.0, 2.0, None],
    "container": [None, "img:1", "", False],
    "name": ["x", None, 0],
    "deletion_protection": [True, False, 0, 1, None],
}


@st.composite
def observed_near(draw, records, names):
    """cluster ID -> observed fields, as plan_session's refresh passes them, drawn near the records."""
    observed = {}
    for r in records:
        if not r.cluster_id:
            continue
        kind = draw(st.integers(0, 5))
        if kind == 0:
            continue  # gone from the engine
        seen = {f: r.spec.get(f) for f in OBSERVABLE_FIELDS}
        seen.update(status=draw(st.sampled_from(["running", "provisioning", "failed"])),
                    created_at=draw(st.sampled_from(["2026-11-27T09:00:00Z", None])))
        if kind in (1, 2):  # changed outside tpdeclare
            field = draw(st.sampled_from(sorted(SEEN_ODD)))
            seen[field] = draw(st.sampled_from(SEEN_ODD[field]))
        elif kind == 3:  # the engine leaves a field out
            seen.pop(draw(st.sampled_from(OBSERVABLE_FIELDS)))
        observed[r.cluster_id] = seen
    for i, name in enumerate(draw(st.lists(st.sampled_from(names + ["outside"]), max_size=2))):
        observed[f"c-outside-{i}"] = {"name": name, "instance_type": "1xH100", "num_nodes": 1, "container": None,
                                      "deletion_protection": False, "status": "running", "created_at": None}
    return observed


@st.composite
def options(draw, records, names=()):
    ids = [r.cluster_id for r in records if r.cluster_id]
    kw = {}
    if draw(st.integers(0, 4)) == 0:
        kw["targets"] = draw(st.lists(st.sampled_from(ADDRESSES), max_size=3))
    if draw(st.integers(0, 3)) == 0:
        kw["replace"] = draw(st.lists(st.sampled_from(ADDRESSES), max_size=2))
    if draw(st.integers(0, 4)) == 0:
        kw["observed"] = {cid: {"name": "x", "instance_type": "1xH100", "num_nodes": 1}
                          for cid in draw(st.lists(st.sampled_from(ids), unique=True)) if ids} if ids else {}
    elif draw(st.integers(0, 2)) == 0:
        kw["observed"] = draw(observed_near(records, list(names)))
    kw["destroy_all"] = draw(st.integers(0, 9)) == 0
    kw["expire_only"] = not kw["destroy_all"] and draw(st.integers(0, 9)) == 0
    if draw(st.booleans()):
        kw["max_hourly_cost"] = draw(st.sampled_from([0.0, 10.0, 1000.0]))
    return kw


def _both(monkeypatch, spec, current, kw):
    return plans_both_ways(monkeypatch, (planner, "untouched"), spec, current, now=NOW, **kw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_fast_path_plans_exactly_what_the_general_path_plans(monkeypatch, data):
    spec, current = data.draw(specs_and_states())
    kw = data.draw(options(list(current.resources.values()), [c.name for c in spec.clusters.values()]))
    assert_same_plans(*_both(monkeypatch, spec, current, kw))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_refresh_of_a_settled_state_plans_exactly_what_the_general_path_plans(monkeypatch, data):
    spec, current = data.draw(specs_and_states(settled=True))
    observed = data.draw(observed_near(list(current.resources.values()), [c.name for c in spec.clusters.values()]))
    assert_same_plans(*_both(monkeypatch, spec, current, {"observed": observed}))


def test_a_stack_recorded_as_wanted_is_all_fast_path_and_the_same_plan(monkeypatch):
    clusters = [cluster(f"c{i}", TYPES[i % len(TYPES)], container="img:1" if i % 2 else None,
                        public_keys=(KEY,) * (i % 2), prevent_destroy=i % 3 == 0) for i in range(40)]
    current = state(*(record(c, cluster_id=f"c-{i:04d}") for i, c in enumerate(clusters)))
    spec = stack(*clusters)
    assert all(untouched(c.address, c, current.resources[c.address], planner.PriceBook({})) is not None
               for c in clusters)
    fast, slow = _both(monkeypatch, spec, current, {})
    assert fast == slow and repr(fast) == repr(slow) and not fast.has_changes
    assert {c.action for c in fast.changes} == {Action.NOOP}


def test_a_refreshed_stack_shown_as_recorded_is_all_fast_path_and_the_same_plan(monkeypatch):
    clusters = [cluster(f"c{i}", TYPES[i % len(TYPES)], container="img:1" if i % 2 else None) for i in range(20)]
    current = state(*(record(c, cluster_id=f"c-{i:04d}") for i, c in enumerate(clusters)))
    observed = {r.cluster_id: {**{f: r.spec[f] for f in OBSERVABLE_FIELDS}, "status": "running",
                               "created_at": None} for r in current.resources.values()}
    for c in clusters:
        assert untouched(c.address, c, current.resources[c.address], planner.PriceBook({}), observed) is not None
    fast, slow = _both(monkeypatch, stack(*clusters), current, {"observed": observed})
    assert fast == slow and repr(fast) == repr(slow) and not fast.has_changes and fast.refreshed


@pytest.mark.parametrize("change", [{"num_nodes": True}, {"num_nodes": 2}, {"container": ""}, {"name": "other"},
                                    {"deletion_protection": 0}, {"instance_type": "8xH200"}])
def test_a_refreshed_cluster_changed_outside_goes_the_general_way(change):
    want = cluster("nb")
    rec = record(want, cluster_id="c-1")
    seen = {**{f: rec.spec[f] for f in OBSERVABLE_FIELDS}, **change}
    assert not seen_as_recorded(tuple(rec.spec[f] for f in OBSERVABLE_FIELDS), seen)
    assert untouched("nb", want, rec, planner.PriceBook({}), {"c-1": seen}) is None
    assert untouched("nb", want, rec, planner.PriceBook({}), {}) is None  # gone from the engine
    del seen[next(iter(change))]  # a field the engine leaves out keeps the recorded value
    assert untouched("nb", want, rec, planner.PriceBook({}), {"c-1": seen}) is not None


@pytest.mark.parametrize("field,value", [
    ("num_nodes", True), ("num_nodes", 1.0), ("deletion_protection", 0), ("public_keys", (KEY,)),
    ("public_keys", [b"k"]), ("container", False), ("prevent_destroy", None), ("prevent_destroy", 1),
])
def test_a_value_equal_but_not_the_same_goes_the_general_way(field, value):
    want = cluster("nb", public_keys=(KEY,) if field == "public_keys" else ())
    rec = record(want, **{field: value})
    assert untouched("nb", want, rec, planner.PriceBook({})) is None


@pytest.mark.parametrize("status", [s for s in RecordStatus if s is not READY])
def test_only_a_ready_record_is_untouched(status):
    want = cluster("nb")
    assert untouched("nb", want, record(want, status=status), planner.PriceBook({})) is None
    assert untouched("nb", want, record(want), planner.PriceBook({})) is not None


def test_a_cluster_with_a_lifetime_goes_the_general_way():
    want = cluster("nb", lifetime=Lifetime(expires_after=3600))
    assert untouched("nb", want, record(want), planner.PriceBook({})) is None


def test_recorded_as_wanted_needs_the_same_types_inside_the_list_too():
    class Text(str):
        pass

    base = ("1xH100", 1, None, "n", False, [KEY])
    assert recorded_as_wanted(base, tuple(base))
    assert not recorded_as_wanted(base[:5] + ([Text(KEY)],), base)
    assert not recorded_as_wanted(base, base[:5] + ([Text(KEY)],))
    assert not recorded_as_wanted(base[:3] + (Text("n"),) + base[4:], base)
    assert not recorded_as_wanted(("1xH100", 1.0) + base[2:], base)
    assert not recorded_as_wanted(("1xH100", 1, 0) + base[3:], ("1xH100", 1, False) + base[3:])
