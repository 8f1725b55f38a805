"""Applying volumes and attachments (issue 15) against the in-memory StorageApi: order, exactly-once, failures."""

from __future__ import annotations

import dataclasses

import pytest
from tpdeclare import errors
from tpdeclare.apply.outcome import rows
from tpdeclare.plan.planner import make_plan
from tpdeclare.spec.model import VolumeSpec
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import CREATING, PENDING, READY, TAINTED, State
from tpdeclare.state.recorder import Recorder
from tpdeclare.state.volumes import VolumeRecord

from plan_helpers import cluster, stack
from storage_plan_fake import StorageFake
from test_executor import executor_for

TRAINER = cluster("trainer", "8xH200", num_nodes=2, storage=("data",))
DATA = VolumeSpec("data", 500, "demo-data")
SPEC = stack(TRAINER, volumes={"data": DATA})


@pytest.fixture
def path(tmp_path):
    return tmp_path / "demo.json"


def apply(path, client, spec, **kw):
    store = LocalStateStore(path)
    state = store.read()
    plan = make_plan(spec, state, **kw)
    recorder = Recorder(store, state or State(stack=spec.stack))
    result = executor_for(client, recorder).run(plan)
    recorder.checkpoint()
    return plan, result, LocalStateStore(path).read()


def mutations(client):
    return [c for c in client.calls if c[0] in ("create", "delete", "create_storage", "delete_storage",
                                                "attach_storage", "detach_storage")]


def test_volume_cluster_and_attachment_in_one_apply_then_no_changes(path):
    client = StorageFake()
    _, result, state = apply(path, client, SPEC)
    assert not result.failures and result.linked == 1
    assert result.line() == "1 added, 0 changed, 0 replaced, 0 destroyed; Volumes: 1 added, 0 changed, 0 replaced, " \
                            "0 destroyed, 1 attach/detach"
    (volume,) = client.live_volumes()
    cid = state.resources["trainer"].cluster_id
    assert volume["cluster_ids"] == [cid]
    assert state.volumes["data"].status == READY and state.volumes["data"].attached == {"trainer": cid}
    assert state.volumes["data"].storage_id == volume["storage_id"]
    plan, _, _ = apply(path, client, SPEC)
    assert not plan.has_changes


def test_the_intent_is_durable_before_the_post(path):
    client = StorageFake()
    seen = []
    client.hooks["create_storage"] = lambda name: seen.append(LocalStateStore(path).read().volumes["data"].status)
    apply(path, client, SPEC)
    assert seen == [PENDING]


def test_a_replace_detaches_first_and_reattaches_the_same_volume(path):
    client = StorageFake()
    _, _, before = apply(path, client, SPEC)
    sid = before.volumes["data"].storage_id
    _, result, after = apply(path, client, stack(dataclasses.replace(TRAINER, num_nodes=3), volumes={"data": DATA}))
    assert not result.failures
    new = after.resources["trainer"].cluster_id
    old = before.resources["trainer"].cluster_id
    assert new != old
    assert [c[0] for c in mutations(client)][-4:] == ["detach_storage", "delete", "create", "attach_storage"]
    assert client.volumes[sid]["cluster_ids"] == [new] and after.volumes["data"].attached == {"trainer": new}


def test_destroy_detaches_then_destroys_both(path):
    client = StorageFake()
    apply(path, client, SPEC)
    _, result, state = apply(path, client, SPEC, destroy_all=True)
    assert not result.failures
    tail = [c[0] for c in mutations(client)][-3:]
    assert tail[0] == "detach_storage" and sorted(tail[1:]) == ["delete", "delete_storage"]
    assert not client.live_volumes() and state.volumes == {} and state.resources == {}


def test_a_lost_create_answer_is_settled_by_name_never_a_second_volume(path):
    client = StorageFake()
    client.script["create_storage"] = ["drop"]
    _, result, state = apply(path, client, SPEC)
    assert not result.failures
    assert len(client.live_volumes()) == 1
    assert state.volumes["data"].storage_id == client.live_volumes()[0]["storage_id"]


def test_a_create_lost_before_the_engine_is_sent_again(path):
    client = StorageFake()
    client.script["create_storage"] = ["5xx"]
    _, result, _ = apply(path, client, SPEC)
    assert not result.failures and len(client.live_volumes()) == 1
    assert [c[0] for c in client.calls].count("create_storage") == 2


def test_a_failed_volume_create_leaves_its_attach_not_started_and_the_table_names_it(path):
    client = StorageFake()
    client.script["create_storage"] = [errors.BadRequest(400, "POST", "/storage/create", "quota exceeded")]
    plan, result, _ = apply(path, client, SPEC)
    assert "storage.data" in result.failures
    assert result.blocked_by == {"attach storage.data to trainer": "storage.data"}
    table = {r.address: (r.result, r.detail) for r in rows(plan, result)}
    assert table["attach storage.data to trainer"] == ("not started", "waits for storage.data, which did not succeed")
    assert table["trainer"][0] == "succeeded"  # the cluster did not depend on the volume
    assert not [c for c in client.calls if c[0] == "attach_storage"]


def test_a_stranger_volume_under_our_name_is_never_adopted(path):
    client = StorageFake()
    client.create_storage(size_gb=10, name="demo-data")
    sid = client.live_volumes()[0]["storage_id"]
    client.volumes[sid]["cluster_ids"].append("c-elsewhere")
    _, result, state = apply(path, client, SPEC)
    assert "taken by" in result.failures["storage.data"] and "tpdeclare import storage.data" in \
        result.failures["storage.data"]
    assert len(client.live_volumes()) == 1


def test_growing_edits_in_place(path):
    client = StorageFake()
    _, _, before = apply(path, client, SPEC)
    _, result, after = apply(path, client, stack(TRAINER, volumes={"data": dataclasses.replace(DATA, size_gb=900)}))
    assert not result.failures and result.volumes_changed == 1 and result.changed == 0
    sid = before.volumes["data"].storage_id
    assert client.volumes[sid]["size_gb"] == 900 and after.volumes["data"].spec["size_gb"] == 900


def test_a_detach_of_a_volume_already_detached_is_settled_by_reading_it(path):
    client = StorageFake()
    _, _, state = apply(path, client, SPEC)
    sid, cid = state.volumes["data"].storage_id, state.resources["trainer"].cluster_id
    client.volumes[sid]["cluster_ids"].remove(cid)  # detached outside tpdeclare; this run did not refresh
    _, result, after = apply(path, client, stack(dataclasses.replace(TRAINER, storage=()), volumes={"data": DATA}))
    assert not result.failures and after.volumes["data"].attached == {}


def left_creating(path, *, known_request=False, engine_status=None):
    """The trainer applied, and the volume `data` left `creating` in state by an earlier run, as the engine makes
    it (or with `engine_status`): (the fake, the create's answer)."""
    client = StorageFake()
    apply(path, client, stack(cluster("trainer", "8xH200", num_nodes=2)))
    made = client.create_storage(size_gb=500, name="demo-data")
    if engine_status is not None:
        client.volumes[made.storage_id]["status"] = engine_status
    left = LocalStateStore(path).read()
    LocalStateStore(path).write(dataclasses.replace(left, volumes={"data": VolumeRecord(
        "data", CREATING, "demo-data", {**DATA.fields(), "prevent_destroy": False}, storage_id=made.storage_id,
        request_id=made.request_id if known_request else None)}))
    return client, made


@pytest.mark.parametrize("known_request", [True, False], ids=["request-known", "adopted-by-name"])
def test_a_volume_an_earlier_run_left_creating_is_waited_for_before_its_attach(path, known_request):
    # The engine refuses to attach a volume that is not READY: the plan must wait for it first.
    client, made = left_creating(path, known_request=known_request)
    plan, result, state = apply(path, client, SPEC)
    assert plan.storage.waits == ("data",)
    assert not result.failures and result.linked == 1 and result.volumes_waited == 1 and result.waited == 0
    assert result.line().endswith("; Volumes: 0 added, 0 changed, 0 replaced, 0 destroyed, 1 attach/detach, "
                                  "1 finished from an earlier run")
    assert [c[0] for c in client.calls].count("create_storage") == 1  # only the earlier run's
    assert state.volumes["data"].status == READY
    assert state.volumes["data"].attached == {"trainer": state.resources["trainer"].cluster_id}
    assert client.volumes[made.storage_id]["cluster_ids"] == [state.resources["trainer"].cluster_id]
    assert ("wait" in {r.action for r in rows(plan, result) if r.address == "storage.data"})


def test_a_volume_left_creating_that_fails_is_tainted_and_its_attach_not_started(path):
    client, _ = left_creating(path, engine_status="FAILED")
    _, result, state = apply(path, client, SPEC)
    assert "the create FAILED" in result.failures["storage.data"]
    assert result.blocked_by == {"attach storage.data to trainer": "storage.data"}
    assert state.volumes["data"].status == TAINTED
    assert not [c for c in client.calls if c[0] == "attach_storage"]


def test_a_volume_left_creating_that_someone_destroys_ends_its_wait_saying_so(path):
    client, _ = left_creating(path, engine_status="DESTROYING")
    _, result, _ = apply(path, client, SPEC)
    assert "is being destroyed by someone else" in result.failures["storage.data"]
    assert result.blocked_by == {"attach storage.data to trainer": "storage.data"}
