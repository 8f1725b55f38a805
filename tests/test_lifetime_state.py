"""The state's memory of expired addresses (issue 14): written how, read back how, and kept by every path that
forgets a destroyed cluster (the destroy itself, recovery after a kill, refresh). A state written before stays
readable, and stays byte for byte the same when nothing expires."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from tpdeclare.apply.recovery import recover
from tpdeclare.errors import StateError
from tpdeclare.plan.planner import make_plan
from tpdeclare.plan.refresh import refresh_state
from tpdeclare.spec.model import Lifetime
from tpdeclare.state.codec import dump_state, parse_state
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import DELETING, EXPIRED, READY, State
from tpdeclare.state.recorder import Recorder

from plan_helpers import cluster, record, stack, state
from test_executor import FakeClient, executor_for, on_disk

NOW = datetime(2026, 11, 26, 20, 0, 0, tzinfo=UTC)
EIGHT_HOURS = Lifetime(expires_after=8 * 3600)

# A state file as tpdeclare wrote it before lifetimes existed.
OLD_STATE = {
    "format_version": 1, "tool_version": "0.1.0", "stack": "demo", "engine": "sandbox",
    "lineage": "11111111-2222-3333-4444-555555555555", "serial": 4,
    "resources": {"a": {"status": "ready", "cluster_id": "c-00000001", "instance_ids": ["i-1"], "name": "demo-a",
                        "spec": {"instance_type": "1xH100", "num_nodes": 1, "name": "demo-a", "container": None,
                                 "deletion_protection": False, "public_keys": [], "prevent_destroy": False},
                        "request_id": "r-1", "intent_id": "x", "created_at": "2026-11-26T10:00:00Z",
                        "updated_at": "2026-11-26T10:01:00Z"}},
}


def marked(rec, expired_at="2026-11-26T18:00:00Z", key="expires_after 8h"):
    return replace(rec, expired_at=expired_at, lifetime=key)


def test_a_state_written_before_reads_and_is_written_back_the_same():
    raw = json.dumps(OLD_STATE, sort_keys=True, indent=2).encode() + b"\n"
    st = parse_state(raw, source="old.json")
    assert st.resources["a"].expired_at is None and st.resources["a"].lifetime is None
    again = json.loads(dump_state(st))
    assert again["resources"] == OLD_STATE["resources"]  # no new keys unless something expired


def test_the_memory_of_an_expiry_round_trips():
    a = record(cluster("a"), cluster_id="c-00000001")
    mem = marked(a).after_destroy("2026-11-26T18:05:00Z")
    assert (mem.status, mem.cluster_id, mem.instance_ids, mem.request_id) == (EXPIRED, None, (), None)
    assert (mem.expired_at, mem.lifetime, mem.updated_at) == ("2026-11-26T18:00:00Z", "expires_after 8h",
                                                              "2026-11-26T18:05:00Z")
    assert mem.message == ("c-00000001 was destroyed at 2026-11-26T18:05:00Z: its lifetime (expires_after 8h) ended "
                           "at 2026-11-26T18:00:00Z")
    assert a.after_destroy("2026-11-26T18:05:00Z") is None  # an ordinary destroy leaves nothing
    st = state(mem)
    assert parse_state(dump_state(st), source="s.json").resources == st.resources


@pytest.mark.parametrize("key,value", [("expired_at", 5), ("lifetime", ["expires_after", "8h"]), ("status", "gone")])
def test_a_damaged_memory_is_refused_naming_the_field(key, value):
    doc = json.loads(json.dumps(OLD_STATE))
    doc["resources"]["a"][key] = value
    with pytest.raises(StateError, match=rf"resources\.a\.?{key if key != 'status' else 'status'}"):
        parse_state(json.dumps(doc).encode(), source="s.json")


def test_recovery_turns_a_finished_expiry_destroy_into_the_memory(tmp_path):
    store = LocalStateStore(tmp_path / "demo.json")
    dying = marked(record(cluster("a"), cluster_id="c-00000001", status=DELETING))
    plain = record(cluster("b"), cluster_id="c-00000002", status=DELETING)
    store.write(state(dying, plain))
    recorder = Recorder(store, store.read())
    said = recover([], recorder, lambda line: None)
    recorder.checkpoint()
    after = store.read().resources
    assert after["a"].status == EXPIRED and "b" not in after
    assert "a: c-00000001 was destroyed by an earlier run; it is recorded as expired" in said


def test_refresh_keeps_the_memory_and_finishes_a_marked_destroy():
    dying = marked(record(cluster("a"), cluster_id="c-00000001", status=DELETING))
    mem = marked(record(cluster("m"), cluster_id="c-00000009")).after_destroy("2026-11-26T18:05:00Z")
    refreshed = refresh_state(state(dying, mem), {}, "2026-11-26T20:00:00Z")
    assert refreshed.resources["a"].status == EXPIRED and refreshed.resources["m"] == mem
    assert refreshed.lines == ("  - a: c-00000001 no longer exists on the engine; it is recorded as expired",)


# ---- the executor ---------------------------------------------------------------------------------------
def apply(path, client, spec, *, now=NOW, **kw):
    store = LocalStateStore(path)
    current = store.read()
    plan = make_plan(spec, current, now=now, **kw)
    recorder = Recorder(store, current or State(stack=spec.stack))
    lines: list[str] = []
    result = executor_for(client, recorder, report=lines.append).run(plan)
    recorder.checkpoint()
    return plan, result, lines


@pytest.fixture
def path(tmp_path):
    return tmp_path / "state" / "demo.json"


def seeded(path, client, *clusters, **flags):
    """The clusters exist on the fake engine and are recorded (created at 10:00)."""
    records = []
    for spec in clusters:
        cid = client.add_cluster(spec.name, created_at="2026-11-26T10:00:00Z", **flags)
        records.append(record(spec, cluster_id=cid))
    LocalStateStore(path).write(state(*records))
    return records


def test_an_expiry_destroy_is_marked_before_the_delete_and_leaves_the_memory(path):
    client = FakeClient()
    a = cluster("a", lifetime=EIGHT_HOURS)
    seeded(path, client, a)
    seen = []
    original = client.delete_cluster

    def delete(cluster_id):
        rec = on_disk(path).resources["a"]
        seen.append((rec.status, rec.expired_at, rec.lifetime))
        return original(cluster_id)

    client.delete_cluster = delete
    plan, result, lines = apply(path, client, stack(a))
    assert result.destroyed == 1 and result.succeeded == ["a"] and not result.failures
    assert seen == [(DELETING, "2026-11-26T18:00:00Z", "expires_after 8h")]  # durable before the DELETE left
    mem = on_disk(path).resources["a"]
    assert (mem.status, mem.cluster_id, mem.lifetime) == (EXPIRED, None, "expires_after 8h")
    assert client.alive() == []
    again, result, _ = apply(path, client, stack(a))
    assert not again.has_changes and client.count("create") == 0  # not created again


def test_a_changed_lifetime_creates_it_again_and_the_memory_is_gone(path):
    client = FakeClient()
    a = cluster("a", lifetime=EIGHT_HOURS)
    seeded(path, client, a)
    apply(path, client, stack(a))
    longer = cluster("a", lifetime=Lifetime(expires_after=24 * 3600))
    _, result, _ = apply(path, client, stack(longer))
    rec = on_disk(path).resources["a"]
    assert result.added == 1 and rec.status == READY and rec.expired_at is None and rec.lifetime is None


def test_protection_the_spec_turns_off_is_lifted_before_the_expiry_destroy(path):
    client = FakeClient()
    a = cluster("a", lifetime=EIGHT_HOURS)
    [rec] = seeded(path, client, a, deletion_protection=True)
    LocalStateStore(path).write(state(replace(rec, spec={**rec.spec, "deletion_protection": True})))
    _, result, lines = apply(path, client, stack(a))
    assert result.destroyed == 1 and client.alive() == []
    assert "a: Turning deletion protection off before the destroy... [id=c-00000001]" in lines
    assert on_disk(path).resources["a"].status == EXPIRED


def test_an_expired_cluster_gone_outside_is_recorded_as_expired_without_a_call(path):
    client = FakeClient()
    a = cluster("a", lifetime=EIGHT_HOURS)
    LocalStateStore(path).write(state(record(a, cluster_id="c-000000ff")))
    plan, result, lines = apply(path, client, stack(a), observed={})
    assert plan.remember_expired == ("a",) and client.calls == []
    assert on_disk(path).resources["a"].status == EXPIRED
    assert "a: Recorded as expired (its cluster is already gone from the engine)" in lines


def test_a_memory_that_left_the_spec_is_forgotten(path):
    client = FakeClient()
    a = cluster("a", lifetime=EIGHT_HOURS)
    seeded(path, client, a)
    apply(path, client, stack(a))
    _, _, lines = apply(path, client, stack())
    assert on_disk(path).resources == {} and "a: Forgotten (it expired, and has left the spec)" in lines
