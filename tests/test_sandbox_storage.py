"""The sandbox's storage volumes on a fake clock: their timeline, the cluster's restart, the rules' edge cases,
billing, a cluster's destroy detaching its volumes, a FileWorld restart, faults, dialects, and the real client
reading every dialect's storage answers."""

from __future__ import annotations

import pytest
from tpdeclare.api.client import TensorPoolClient
from tpdeclare.api.polling import PollPolicy
from tpdeclare.errors import OutcomeUnknown, RateLimited
from tpdeclare.sandbox.storage_world import HOURS_PER_MONTH
from tpdeclare.sandbox.world import FileWorld

from sandbox_fixtures import KEY, Caller, make_engine, served_sandbox

TIMES = {"provision_seconds": 10, "destroy_seconds": 20, "edit_seconds": 4}


def _engine(**kw):
    engine, clock = make_engine(**{**TIMES, **kw})
    return Caller(engine), clock


def _running_cluster(call, clock, instance_type="8xH200", num_nodes=2, name="train"):
    cid = call.ok("POST", "/cluster/create", {"instance_type": instance_type, "num_nodes": num_nodes,
                                               "tp_cluster_name": name})["cluster_id"]
    return cid


def _ready_volume(call, clock, size=100, name="data", **fields):
    created = call.ok("POST", "/storage/create", {"size": size, "name": name, **fields})
    return created


def _status(call, path, key):
    return call.ok("GET", path)[key]["status"]


def test_a_volume_is_creating_then_ready_and_its_request_polls_like_a_clusters():
    call, clock = _engine()
    created = _ready_volume(call, clock)
    sid, rid = created["storage_id"], created["request_id"]
    assert sid.startswith("s-") and len(sid) == 10
    assert _status(call, f"/storage/info/{sid}", "storage_info") == "CREATING"
    assert call.ok("GET", f"/request/info/{rid}")["status"] == "PENDING"
    clock.advance(5)
    poll = call.ok("GET", f"/request/info/{rid}")
    assert (poll["status"], poll["request_type"], poll["object_id"]) == ("PROCESSING", "STORAGE_CREATE", sid)
    clock.advance(5)
    assert call.ok("GET", f"/request/info/{rid}")["status"] == "COMPLETED"
    assert _status(call, f"/storage/info/{sid}", "storage_info") == "READY"


def test_attach_restarts_every_node_then_the_cluster_runs_and_detach_does_the_same():
    call, clock = _engine()
    cid = _running_cluster(call, clock)
    sid = _ready_volume(call, clock)["storage_id"]
    clock.advance(10)
    [rid] = call.ok("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [cid]})["request_ids"]
    info = call.ok("GET", f"/cluster/info/{cid}")["cluster_info"]
    assert info["status"] == "RESTARTING" and {i["status"] for i in info["instances"]} == {"restarting"}
    assert call.ok("GET", f"/storage/info/{sid}")["storage_info"]["cluster_ids"] == [cid]  # at once
    clock.advance(4)
    assert call.ok("GET", f"/request/info/{rid}")["status"] == "COMPLETED"
    assert _status(call, f"/cluster/info/{cid}", "cluster_info") == "RUNNING"
    detach = call.ok("POST", "/storage/detach", {"storage_id": sid, "cluster_id": cid})
    assert _status(call, f"/cluster/info/{cid}", "cluster_info") == "RESTARTING"
    assert call.ok("GET", f"/storage/info/{sid}")["storage_info"]["cluster_ids"] == []
    clock.advance(4)
    assert call.ok("GET", f"/request/info/{detach['request_id']}")["request_type"] == "STORAGE_DETACH"
    assert _status(call, f"/cluster/info/{cid}", "cluster_info") == "RUNNING"


def test_two_volumes_attach_to_one_restarting_cluster_and_the_restart_lasts_to_the_last():
    call, clock = _engine()
    cid = _running_cluster(call, clock)
    a, b = _ready_volume(call, clock, name="a")["storage_id"], _ready_volume(call, clock, name="b")["storage_id"]
    clock.advance(10)
    call.ok("POST", "/storage/attach", {"storage_id": a, "cluster_ids": [cid]})
    clock.advance(2)
    call.ok("POST", "/storage/attach", {"storage_id": b, "cluster_ids": [cid]}, status=202)  # while RESTARTING
    clock.advance(3)
    assert _status(call, f"/cluster/info/{cid}", "cluster_info") == "RESTARTING"
    clock.advance(1)
    assert _status(call, f"/cluster/info/{cid}", "cluster_info") == "RUNNING"


def test_a_volume_serves_several_clusters_and_cpu_instances_of_any_size():
    call, clock = _engine()
    gpu = _running_cluster(call, clock)
    cpu = _running_cluster(call, clock, "64xCPU", 1, "cpu")
    sid = _ready_volume(call, clock)["storage_id"]
    clock.advance(10)
    answer = call.ok("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [gpu, cpu]})
    assert len(answer["request_ids"]) == 2 and len(set(answer["request_ids"])) == 2
    assert call.ok("GET", f"/storage/info/{sid}")["storage_info"]["cluster_ids"] == [gpu, cpu]


@pytest.mark.parametrize("body, status, words", [
    ({"cluster_ids": []}, 400, "cluster_ids is empty"),
    ({"cluster_ids": ["SINGLE"]}, 400, "single-node 1xH100 cluster"),
    ({"cluster_ids": ["GPU", "GPU"]}, 400, "more than once"),
    ({"cluster_ids": ["c-00000000"]}, 404, "Cluster c-00000000 not found"),
    ({"cluster_ids": ["GPU", "SINGLE"]}, 400, "single-node"),  # all or nothing
])
def test_attach_refusals_change_nothing(body, status, words):
    call, clock = _engine()
    ids = {"GPU": _running_cluster(call, clock), "SINGLE": _running_cluster(call, clock, "1xH100", 1, "one")}
    sid = _ready_volume(call, clock)["storage_id"]
    clock.advance(10)
    body = {"storage_id": sid, "cluster_ids": [ids.get(c, c) for c in body["cluster_ids"]]}
    r = call("POST", "/storage/attach", body)
    assert r.status == status and words in r.json()["message"]
    assert call.ok("GET", f"/storage/info/{sid}")["storage_info"]["cluster_ids"] == []
    assert {_status(call, f"/cluster/info/{c}", "cluster_info") for c in ids.values()} == {"RUNNING"}


def test_attach_waits_for_a_running_cluster_and_a_ready_volume():
    call, clock = _engine()
    cid = _running_cluster(call, clock)
    sid = _ready_volume(call, clock)["storage_id"]
    r = call("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [cid]})
    assert r.status == 409 and "not ready" in r.json()["message"]
    clock.advance(10)
    other = _running_cluster(call, clock, name="late")
    r = call("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [other]})
    assert r.status == 409 and "is provisioning" in r.json()["message"]


def test_destroying_a_cluster_detaches_its_volumes_and_cancels_its_pending_attach():
    call, clock = _engine()
    cid = _running_cluster(call, clock)
    sid = _ready_volume(call, clock)["storage_id"]
    clock.advance(10)
    [rid] = call.ok("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [cid]})["request_ids"]
    deleted = call.ok("DELETE", f"/cluster/{cid}")
    assert f"storage volume {sid} detached" in deleted["message"]
    volume = call.ok("GET", f"/storage/info/{sid}")["storage_info"]
    assert volume["cluster_ids"] == [] and volume["status"] == "READY"
    assert call.ok("GET", f"/request/info/{rid}")["status"] == "FAILED"
    clock.advance(30)
    assert call("GET", f"/cluster/info/{cid}").status == 404
    assert _status(call, f"/storage/info/{sid}", "storage_info") == "READY"  # the volume outlives the cluster
    call.ok("DELETE", f"/storage/{sid}", status=202)


def test_destroy_while_creating_fails_the_create_and_the_volume_is_gone_after_its_destroy():
    call, clock = _engine()
    created = _ready_volume(call, clock)
    sid = created["storage_id"]
    destroy = call.ok("DELETE", f"/storage/{sid}")
    assert call.ok("GET", f"/request/info/{created['request_id']}")["status"] == "FAILED"
    assert _status(call, f"/storage/info/{sid}", "storage_info") == "DESTROYING"
    assert call.ok("DELETE", f"/storage/{sid}")["request_id"] == destroy["request_id"]
    clock.advance(20)
    assert call("GET", f"/storage/info/{sid}").status == 404
    assert call.ok("GET", "/storage/list")["volumes"] == []
    assert call.ok("POST", "/storage/create", {"size": 10, "name": "data"})["storage_id"] != sid  # name free


def test_edit_rules_and_a_grown_volume_bills_its_new_size_from_then():
    call, clock = _engine(balance=10_000)
    sid = _ready_volume(call, clock, size=100)["storage_id"]
    r = call("PATCH", f"/storage/edit/{sid}", {"size_gb": 200})
    assert r.status == 409 and "creating" in r.json()["message"]
    clock.advance(10)
    assert call("PATCH", f"/storage/edit/{sid}", {}).status == 400
    assert call("PATCH", f"/storage/edit/{sid}", {"tp_storage_name": " "}).status == 400
    month = HOURS_PER_MONTH * 3600
    spent0 = call.ok("GET", "/_sandbox/stats")["spent"]
    clock.advance(month / 2 - 10)  # half a month of 100 GB since creation: $5
    assert call.ok("GET", "/_sandbox/stats")["spent"] - spent0 == pytest.approx(5.0 - 100 * 0.1 * 10 / month,
                                                                               abs=1e-6)
    call.ok("PATCH", f"/storage/edit/{sid}", {"size_gb": 300})
    clock.advance(month / 2)  # then half a month of 300 GB: $15
    assert call.ok("GET", "/_sandbox/stats")["spent"] - spent0 == pytest.approx(20.0 - 100 * 0.1 * 10 / month,
                                                                               abs=1e-6)


def test_a_balance_short_of_a_month_refuses_the_volume():
    call, clock = _engine(balance=5.0)
    r = call("POST", "/storage/create", {"size": 100, "name": "big"})  # $10 a month
    assert r.status == 402 and "$10.00 for its first month" in r.json()["message"]


def test_volumes_survive_a_restart_over_the_same_world_file(tmp_path):
    world = tmp_path / "world.json"
    call, clock = _engine(world=FileWorld(world))
    cid = _running_cluster(call, clock)
    sid = _ready_volume(call, clock)["storage_id"]
    clock.advance(10)
    call.ok("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [cid]})
    again, _ = make_engine(FileWorld(world), clock=clock, **TIMES)
    volume = Caller(again).ok("GET", f"/storage/info/{sid}")["storage_info"]
    assert volume["cluster_ids"] == [cid] and volume["status"] == "READY"
    assert Caller(again).ok("GET", f"/cluster/info/{cid}")["cluster_info"]["status"] == "RESTARTING"


def test_a_dropped_attach_is_committed_and_the_client_says_outcome_unknown():
    with served_sandbox(provision_seconds=0, retry_after=0, faults="storage_attach:drop=1") as (url, engine):
        client = TensorPoolClient(url, KEY, poll=PollPolicy(default_interval=0, min_interval=0))
        cid = client.create_cluster(instance_type="8xH200", num_nodes=2, tp_cluster_name="t").cluster_id
        sid = client.create_storage(size_gb=10, name="v").storage_id
        with pytest.raises(OutcomeUnknown, match="may or may not be being attached to"):
            client.attach_storage(sid, [cid])
        assert client.storage_info(sid).cluster_ids == (cid,)  # it took effect: recovery lists it
        stats = engine.stats()
        assert stats["requests"]["storage_attach"] == {"dropped": 1} and stats["storage_accepted"]["attach"] == 1


def test_a_rate_limited_create_is_tried_again_and_never_made_twice():
    with served_sandbox(provision_seconds=0, retry_after=0, faults="storage_create:429=1") as (url, engine):
        sleeps: list[float] = []
        client = TensorPoolClient(url, KEY, sleep=sleeps.append, max_retries=2)
        with pytest.raises(RateLimited):
            client.create_storage(size_gb=10, name="v")
        stats = engine.stats()
        assert len(sleeps) == 2 and stats["requests"]["storage_create"] == {"429": 3}
        assert stats["storage_accepted"] == {} and stats["volumes_alive"] == 0


@pytest.mark.parametrize("dialect", ["default", "aliased", "aliased-bare", "lowercase", "aliased+lowercase"])
def test_the_client_reads_every_dialects_storage_answers(dialect):
    with served_sandbox(provision_seconds=0, retry_after=0, dialect=dialect) as (url, _):
        warnings: list[str] = []
        client = TensorPoolClient(url, KEY, warn=warnings.append)
        cid = client.create_cluster(instance_type="8xH200", num_nodes=2, tp_cluster_name="t").cluster_id
        sid = client.create_storage(size_gb=10, name="v", deletion_protection=True).storage_id
        client.attach_storage(sid, [cid])
        [listed] = client.list_storage()
        assert (listed.storage_id, listed.name, listed.size_gb, listed.deletion_protection, listed.status,
                listed.cluster_ids) == (sid, "v", 10, True, "READY", (cid,))
        assert client.storage_info(sid) == listed
        renamed = [w for w in warnings if "storage answers name these fields" in w]
        assert bool(renamed) == dialect.startswith("aliased")


def test_the_text_only_dialect_lists_volumes_as_a_table_the_client_refuses_to_guess_from():
    from tpdeclare.errors import MalformedResponse

    with served_sandbox(provision_seconds=0, retry_after=0, dialect="text-only") as (url, _):
        client = TensorPoolClient(url, KEY)
        client.create_storage(size_gb=10, name="v")
        with pytest.raises(MalformedResponse, match="holds no list of volumes"):
            client.list_storage()
