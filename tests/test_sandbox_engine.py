"""Unit tests of the sandbox engine (Engine.handle), its fault plan, timeline and world stores."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import stat

import pytest
from tpdeclare import catalog
from tpdeclare.errors import TpdeclareError
from tpdeclare.sandbox.engine import Drop, Engine, Response
from tpdeclare.sandbox.faults import EndpointFaults, FaultPlan
from tpdeclare.sandbox.world import FileWorld, MemoryWorld

from sandbox_fixtures import KEY, Caller, FakeClock, make_engine


@pytest.fixture
def eng():
    engine, clock = make_engine(provision_seconds=100, destroy_seconds=20)
    return engine, clock, Caller(engine)


# ------------------------------------------------------------------------------------------ auth, routing


@pytest.mark.parametrize("headers, body", [
    ({}, {"detail": "Not authenticated"}),
    ({"Authorization": ""}, {"detail": "Not authenticated"}),
    ({"Authorization": "Bearer "}, {"detail": "Not authenticated"}),
    ({"Authorization": "Bearer"}, {"detail": "Not authenticated"}),
    ({"Authorization": KEY}, {"detail": "Not authenticated"}),  # a scheme and no credentials
    ({"authorization": "  "}, {"detail": "Not authenticated"}),
    ({"Authorization": "Basic abc"}, {"detail": "Invalid authentication credentials"}),
    ({"Authorization": "Token abc"}, {"detail": "Invalid authentication credentials"}),
])
def test_missing_auth_is_fastapis_401(eng, headers, body):
    engine, _, call = eng
    assert call.ok("POST", "/health") == {"message": "Sandbox engine is healthy"}
    r = engine.handle("POST", "/health", headers, b"")
    assert (r.status, r.json()) == (401, body)
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_a_wrong_key_is_the_apis_own_401():
    engine, _ = make_engine(api_key="s3cret")
    r = Caller(engine, key="other")("POST", "/health")
    assert (r.status, r.json()) == (401, {"message": "Invalid or missing API key"})
    assert Caller(engine, key="s3cret")("post", "/health").status == 200  # bearer is case-insensitive too
    r = engine.handle("POST", "/health", {"Authorization": "bearer s3cret"}, b"")
    assert r.status == 200


def test_configured_key_is_the_only_one_accepted():
    engine, _ = make_engine(api_key="s3cret")
    call = Caller(engine, key="s3cret")
    assert call("POST", "/health").status == 200
    assert call("POST", "/health", key="other").status == 401
    assert call("GET", "/cluster/list", key="other").status == 401
    assert call("POST", "/cluster/create", {"instance_type": "1xH100"}, key=None).status == 401


def test_healthz_needs_no_auth(eng):
    engine, _, _ = eng
    r = engine.handle("GET", "/healthz", {}, b"")
    assert (r.status, r.json()) == (200, {"status": "ok"})


def test_unknown_path_is_fastapi_404_and_wrong_method_405(eng):
    _, _, call = eng
    r = call("GET", "/nope")
    assert (r.status, r.json()) == (404, {"detail": "Not Found"})
    r = call("GET", "/cluster/c-12345678")  # only DELETE lives there
    assert (r.status, r.json()) == (405, {"detail": "Method Not Allowed"})
    assert r.headers["Allow"] == "DELETE"
    r = call("POST", "/cluster/list")
    assert r.status == 405 and r.headers["Allow"] == "DELETE, GET"  # DELETE matches /cluster/{cluster}
    r = call("DELETE", "/cluster/list")  # FastAPI would match /cluster/{cluster}
    assert (r.status, r.json()) == (404, {"message": "Cluster list not found"})
    assert call("GET", "/cluster/list/").status == 404


# ------------------------------------------------------------------------------------------ create


def test_create_answers_202_with_ids(eng):
    _, _, call = eng
    body = call.ok("POST", "/cluster/create", {"instance_type": "8xH200", "num_nodes": 3, "tp_cluster_name": "t"},
                   status=202)
    assert set(body) == {"cluster_id", "instance_ids", "request_id", "message"}
    assert re.fullmatch(r"c-[0-9a-f]{8}", body["cluster_id"])
    assert len(body["instance_ids"]) == 3 and len(set(body["instance_ids"])) == 3
    assert all(re.fullmatch(r"i-[0-9a-f]{8}", i) for i in body["instance_ids"])
    assert body["request_id"]
    info = call.ok("GET", f"/cluster/info/{body['cluster_id']}")["cluster_info"]
    assert info["tp_cluster_name"] == "t"
    # a multi-node cluster lists its jumphost (its login node) first, then its nodes
    assert [i["instance_id"] for i in info["instances"]] == [f"{body['cluster_id']}-jumphost", *body["instance_ids"]]


def test_create_defaults_and_generated_name(eng):
    _, _, call = eng
    a = call.ok("POST", "/cluster/create", {"instance_type": "1xH100"})
    b = call.ok("POST", "/cluster/create", {"instance_type": "1xH100", "tp_cluster_name": None, "num_nodes": None,
                                            "deletion_protection": None, "public_keys": None, "container": None})
    infos = {c["cluster_id"]: c for c in call.ok("GET", "/cluster/list")["clusters"]}
    first, second = infos[a["cluster_id"]], infos[b["cluster_id"]]
    assert first["tp_cluster_name"] and second["tp_cluster_name"]
    assert first["tp_cluster_name"] != second["tp_cluster_name"]
    assert (first["num_nodes"], first["deletion_protection"], first["container"]) == (1, False, None)


def test_create_stores_container_and_protection(eng):
    _, _, call = eng
    cid = call.create("1xH100", "p", container="nvcr.io/x:1", deletion_protection=True).json()["cluster_id"]
    info = call.ok("GET", f"/cluster/info/{cid}")["cluster_info"]
    assert (info["container"], info["deletion_protection"]) == ("nvcr.io/x:1", True)


def test_taken_name_is_400(eng):
    _, _, call = eng
    assert call.create("1xH100", "dup").status == 202
    r = call.create("2xH100", "dup")
    assert r.status == 400
    assert r.json() == {"message": "Cluster name 'dup' is already in use"}
    assert len(call.ok("GET", "/cluster/list")["clusters"]) == 1


def test_empty_name_is_400(eng):
    _, _, call = eng
    assert call.create("1xH100", "  ").status == 400


@pytest.mark.parametrize("instance_type", catalog.MULTI_NODE_TYPES)
def test_multi_node_allowed_on_8xh200_and_8xb200(eng, instance_type):
    _, _, call = eng
    assert call.create(instance_type, "m", num_nodes=4).status == 202


@pytest.mark.parametrize("instance_type", ["1xH100", "8xH100", "8xB300", "64xCPU"])
def test_multi_node_refused_elsewhere(eng, instance_type):
    _, _, call = eng
    r = call.create(instance_type, "m", num_nodes=2)
    assert r.status == 400
    assert "8xH200 or 8xB200" in r.json()["message"]
    assert call.create(instance_type, "m", num_nodes=1).status == 202


def test_unknown_instance_type_is_400(eng):
    _, _, call = eng
    r = call.create("8xH900", "x")
    assert r.status == 400
    assert r.json()["message"].startswith("Invalid instance type '8xH900'")
    assert call.ok("GET", "/cluster/list")["clusters"] == []


# ------------------------------------------------------------------------------------------ 422


def _detail(r: Response) -> list[dict]:
    assert r.status == 422, (r.status, r.body)
    detail = r.json()["detail"]
    for item in detail:
        assert {"loc", "msg", "type"} <= set(item)
    return detail


def test_422_missing_field(eng):
    _, _, call = eng
    [item] = _detail(call("POST", "/cluster/create", {"num_nodes": 1}))
    assert (item["loc"], item["type"], item["msg"]) == (["body", "instance_type"], "missing", "Field required")


def test_422_wrong_types_name_each_field(eng):
    _, _, call = eng
    detail = _detail(call("POST", "/cluster/create", {"instance_type": 8, "num_nodes": "two", "save_keys": "nope",
                                                      "public_keys": ["ok", 3], "container": [],
                                                      "deletion_protection": {}}))
    # pydantic's order: the model's fields in declaration order
    assert [(tuple(i["loc"]), i["type"]) for i in detail] == [
        (("body", "instance_type"), "string_type"),
        (("body", "public_keys", 1), "string_type"),
        (("body", "num_nodes"), "int_parsing"),
        (("body", "container"), "string_type"),
        (("body", "deletion_protection"), "bool_type"),
        (("body", "save_keys"), "bool_parsing"),
    ]
    by_loc = {tuple(i["loc"]): i for i in detail}
    assert by_loc[("body", "num_nodes")]["msg"] == (
        "Input should be a valid integer, unable to parse string as an integer")
    assert by_loc[("body", "num_nodes")]["input"] == "two"
    [item] = _detail(call("POST", "/cluster/create", {"instance_type": "1xH100", "num_nodes": [2]}))
    assert (item["type"], item["msg"]) == ("int_type", "Input should be a valid integer")


def test_422_num_nodes_below_one(eng):
    _, _, call = eng
    [item] = _detail(call.create("8xH200", "x", num_nodes=0))
    assert item == {"type": "greater_than_equal", "loc": ["body", "num_nodes"],
                    "msg": "Input should be greater than or equal to 1", "input": 0, "ctx": {"ge": 1}}
    [item] = _detail(call.create("8xH200", "x", num_nodes=1.5))
    assert item["type"] == "int_from_float"


def test_422_bad_json_empty_body_and_non_object(eng):
    _, _, call = eng
    [item] = _detail(call("POST", "/cluster/create", raw=b'{"instance_type": '))
    assert item["type"] == "json_invalid" and item["loc"][0] == "body" and isinstance(item["loc"][1], int)
    [item] = _detail(call("POST", "/cluster/create"))
    assert (item["loc"], item["type"]) == (["body"], "missing")
    [item] = _detail(call("POST", "/cluster/create", ["1xH100"]))
    assert (item["loc"], item["type"]) == (["body"], "model_attributes_type")


def test_422_comes_before_business_rules_and_changes_nothing(eng):
    engine, _, call = eng
    _detail(call.create("1xH100", "x", deletion_protection="sure"))
    assert call.ok("GET", "/cluster/list")["clusters"] == []
    assert engine.stats()["creates_accepted"] == 0


def test_422_on_edit_body_and_list_query(eng):
    _, _, call = eng
    cid = call.create("1xH100", "e").json()["cluster_id"]
    [item] = _detail(call("PATCH", f"/cluster/edit/{cid}", {"cluster_name": 5}))
    assert item["loc"] == ["body", "cluster_name"]
    [item] = _detail(call("GET", "/cluster/list?include_org=maybe"))
    assert (item["loc"], item["type"]) == (["query", "include_org"], "bool_parsing")
    assert call("GET", "/cluster/list?include_org=true").status == 200


def test_extra_fields_are_ignored_like_pydantic(eng):
    _, _, call = eng
    assert call.create("1xH100", "x", future_field=1).status == 202


# ------------------------------------------------------------------------------------------ balance


def test_balance_must_cover_one_hour_else_402():
    engine, _ = make_engine(balance=10.0)
    call = Caller(engine)
    r = call.create("8xH200", "big")  # 8 x 2.99 = 23.92/h
    assert r.status == 402
    assert r.json()["message"] == (
        "Insufficient balance: $10.00 available, but 1 x 8xH200 needs $23.92 for its first hour"
    )
    assert call.create("1xH100", "small").status == 202


def test_cost_accrues_while_clusters_exist_and_stops_when_gone():
    engine, clock = make_engine(balance=3.0, provision_seconds=0, destroy_seconds=60)
    call = Caller(engine)
    cid = call.create("1xH100", "a").json()["cluster_id"]  # 1.99/h
    clock.advance(3600)
    stats = engine.stats()
    assert stats["spent"] == pytest.approx(1.99)
    assert stats["balance"] == pytest.approx(1.01)
    assert stats["hourly_cost"] == pytest.approx(1.99)
    assert call.create("1xH100", "b").status == 402  # 1.01 left < 1.99
    call.ok("DELETE", f"/cluster/{cid}", status=202)
    clock.advance(60)  # destroy completes: billed until then
    spent = engine.stats()["spent"]
    assert spent == pytest.approx(1.99 * 3660 / 3600)
    clock.advance(7200)
    assert engine.stats()["spent"] == pytest.approx(spent)
    call.ok("POST", "/health")  # a GET/POST that does not mutate keeps the figure too
    call.create("32xCPU", "c")  # a mutating request folds the gone cluster into `spent`
    assert engine.stats()["spent"] == pytest.approx(spent)


def test_failed_provisioning_stops_billing_at_failure():
    engine, clock = make_engine(provision_seconds=100, faults="provision:failed=1")
    call = Caller(engine)
    call.create("8xH100", "f")
    clock.advance(100_000)
    assert engine.stats()["spent"] == pytest.approx(8 * 1.99 * 100 / 3600)


# ------------------------------------------------------------------------------------------ timeline


def _poll(call, request_id):
    r = call("GET", f"/request/info/{request_id}")
    assert r.status == 200
    return r.json(), r.headers


def test_create_request_state_machine(eng):
    _, clock, call = eng  # provision_seconds=100
    created = call.create("8xB200", "sm", num_nodes=2).json()
    rid, cid = created["request_id"], created["cluster_id"]
    expected = [
        (0, "PENDING", "PROVISIONING"),
        (9.9, "PENDING", "PROVISIONING"),
        (10, "PROCESSING", "PROVISIONING"),
        (69.9, "PROCESSING", "PROVISIONING"),
        (70, "PROCESSING", "CONFIGURING"),
        (99.9, "PROCESSING", "CONFIGURING"),
        (100, "COMPLETED", "RUNNING"),
        (5000, "COMPLETED", "RUNNING"),
    ]
    start = clock.now
    for offset, req_status, cluster_status in expected:
        clock.now = start + offset
        body, headers = _poll(call, rid)
        assert body["status"] == req_status, offset
        assert headers["Retry-After"] == "1"
        info = call.ok("GET", f"/cluster/info/{cid}")["cluster_info"]
        assert info["status"] == cluster_status, offset
        assert {i["status"] for i in info["instances"]} == {cluster_status.lower()}
    assert body == {
        "request_id": rid, "request_type": "CLUSTER_CLAIM", "status": "COMPLETED",
        "created_at": body["created_at"], "object_id": cid,
        "external_message": f"Cluster {cid} (sm) is ready",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["created_at"])


def test_zero_provision_seconds_completes_at_once_with_retry_after_0():
    engine, _ = make_engine(provision_seconds=0)
    call = Caller(engine)
    rid = call.create("1xH100", "z").json()["request_id"]
    body, headers = _poll(call, rid)
    assert (body["status"], headers["Retry-After"]) == ("COMPLETED", "0")


def test_retry_after_is_configurable():
    engine, _ = make_engine(provision_seconds=10, retry_after=2.5)
    call = Caller(engine)
    rid = call.create("1xH100", "z").json()["request_id"]
    assert _poll(call, rid)[1]["Retry-After"] == "2.5"


def test_unknown_request_is_404(eng):
    _, _, call = eng
    r = call("GET", "/request/info/r-000000000000")
    assert (r.status, r.json()) == (404, {"message": "Request r-000000000000 not found"})


def test_provisioning_failure_decided_at_create():
    engine, clock = make_engine(provision_seconds=10, faults="provision:failed=1")
    call = Caller(engine)
    created = call.create("1xH100", "f").json()
    assert _poll(call, created["request_id"])[0]["status"] == "PENDING"
    clock.advance(10)
    body, _ = _poll(call, created["request_id"])
    assert body["status"] == "FAILED"
    assert "failed" in body["external_message"]
    info = call.ok("GET", f"/cluster/info/{created['cluster_id']}")["cluster_info"]
    assert info["status"] == "FAILED"
    assert engine.stats()["faults_injected"] == {"provision_failed": 1}
    # a FAILED cluster keeps its name until it is destroyed
    assert call.create("1xH100", "f").status == 400
    call.ok("DELETE", f"/cluster/{created['cluster_id']}", status=202)


def test_restart_with_same_file_keeps_the_timeline(tmp_path):
    path = tmp_path / "world.json"
    clock = FakeClock()
    first = Engine(FileWorld(path), provision_seconds=100, clock=clock)
    created = Caller(first).create("1xH100", "persist").json()
    clock.advance(50)
    Caller(first).ok("GET", "/cluster/list")
    first.world.close()

    second = Engine(FileWorld(path), provision_seconds=1, clock=clock)  # new settings: old requests keep theirs
    call = Caller(second)
    assert _poll(call, created["request_id"])[0]["status"] == "PROCESSING"
    assert call.ok("GET", f"/cluster/info/{created['cluster_id']}")["cluster_info"]["status"] == "PROVISIONING"
    clock.advance(50)
    assert _poll(call, created["request_id"])[0]["status"] == "COMPLETED"
    assert call.create("1xH100", "persist").status == 400  # names survive too
    stats = second.stats()
    assert stats["creates_accepted"] == 1  # counters persist with the world
    assert stats["requests"]["list"] == {"200": 1}


# ------------------------------------------------------------------------------------------ edit


def test_edit_renames_and_toggles_protection_at_once(eng):
    _, _, call = eng
    cid = call.create("1xH100", "old").json()["cluster_id"]
    body = call.ok("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "new", "deletion_protection": True}, status=202)
    assert set(body) == {"message"}
    info = call.ok("GET", f"/cluster/info/{cid}")["cluster_info"]
    assert (info["tp_cluster_name"], info["deletion_protection"]) == ("new", True)
    assert call.create("1xH100", "old").status == 202  # the old name is free again
    call.ok("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "new"}, status=202)  # own name: fine


def test_edit_conflict_unknown_empty_and_destroying(eng):
    _, _, call = eng
    a = call.create("1xH100", "a").json()["cluster_id"]
    call.create("1xH100", "b")
    r = call("PATCH", f"/cluster/edit/{a}", {"cluster_name": "b"})
    assert (r.status, r.json()) == (400, {"message": "Cluster name 'b' is already in use"})
    r = call("PATCH", "/cluster/edit/c-00000000", {"deletion_protection": True})
    assert (r.status, r.json()) == (404, {"message": "Cluster c-00000000 not found"})
    assert call("PATCH", f"/cluster/edit/{a}", {}).status == 400
    assert call("PATCH", f"/cluster/edit/{a}", {"cluster_name": ""}).status == 400
    call.ok("DELETE", f"/cluster/{a}", status=202)
    assert call("PATCH", f"/cluster/edit/{a}", {"deletion_protection": True}).status == 409


# ------------------------------------------------------------------------------------------ delete


def test_delete_protected_is_409(eng):
    _, _, call = eng
    cid = call.create("1xH100", "p", deletion_protection=True).json()["cluster_id"]
    r = call("DELETE", f"/cluster/{cid}")
    assert r.status == 409
    assert "deletion protection" in r.json()["message"]
    assert call.ok("GET", f"/cluster/info/{cid}")["cluster_info"]["status"] != "DESTROYING"


def test_delete_lifecycle(eng):
    _, clock, call = eng  # provision 100, destroy 20
    cid = call.create("1xH100", "d").json()["cluster_id"]
    clock.advance(100)
    body = call.ok("DELETE", f"/cluster/{cid}", status=202)
    assert set(body) == {"cluster_id", "request_id", "message"} and body["cluster_id"] == cid
    rid = body["request_id"]
    again = call.ok("DELETE", f"/cluster/{cid}", status=202)
    assert again["request_id"] == rid  # already destroying: same request
    req, headers = _poll(call, rid)
    assert (req["request_type"], req["status"], req["object_id"]) == ("CLUSTER_RELEASE", "PENDING", cid)
    assert "Retry-After" in headers
    assert call.ok("GET", f"/cluster/info/{cid}")["cluster_info"]["status"] == "DESTROYING"
    assert call.create("1xH100", "d").status == 400  # name held while destroying
    clock.advance(10)
    assert _poll(call, rid)[0]["status"] == "PROCESSING"
    clock.advance(10)
    assert _poll(call, rid)[0]["status"] == "COMPLETED"
    assert call("GET", f"/cluster/info/{cid}").status == 404
    assert call("DELETE", f"/cluster/{cid}").status == 404
    assert call.ok("GET", "/cluster/list")["clusters"] == []
    assert call.create("1xH100", "d").status == 202  # name free again


def test_delete_unknown_is_404(eng):
    _, _, call = eng
    r = call("DELETE", "/cluster/c-deadbeef")
    assert (r.status, r.json()) == (404, {"message": "Cluster c-deadbeef not found"})


def test_delete_during_provisioning_fails_the_claim(eng):
    _, clock, call = eng
    created = call.create("1xH100", "early").json()
    clock.advance(30)
    call.ok("DELETE", f"/cluster/{created['cluster_id']}", status=202)
    body, _ = _poll(call, created["request_id"])
    assert body["status"] == "FAILED"
    assert "destroyed before provisioning finished" in body["external_message"]


# ------------------------------------------------------------------------------------------ list/info text


def test_list_and_info_messages_are_readable_tables(eng):
    _, clock, call = eng
    assert call.ok("GET", "/cluster/list") == {"clusters": [], "message": "No clusters found."}
    call.create("8xH200", "trainer", num_nodes=2, deletion_protection=True)
    clock.advance(100)
    listing = call.ok("GET", "/cluster/list")
    lines = listing["message"].splitlines()
    assert lines[0].split() == ["ID", "NAME", "TYPE", "NODES", "STATUS", "PROTECTED", "CREATED"]
    assert lines[1].split()[1:6] == ["trainer", "8xH200", "2", "RUNNING", "yes"]
    assert lines[-1] == "1 cluster"
    cluster = listing["clusters"][0]
    assert set(cluster) == {"cluster_id", "tp_cluster_name", "instance_type", "num_nodes", "container",
                            "deletion_protection", "status", "instances", "created_at"}
    info = call.ok("GET", f"/cluster/info/{cluster['cluster_id']}")
    assert info["cluster_info"] == cluster
    assert "Type       8xH200 x 2 nodes" in info["message"]


# ------------------------------------------------------------------------------------------ faults


def test_fault_plan_grammar():
    plan = FaultPlan.parse("*:latency=0.05,500=0.1,503=0.05; create:drop=0.2,429=0.1 ;provision:failed=0.2")
    assert plan.provision_failed == 0.2
    create = plan.for_endpoint("create")
    assert create == EndpointFaults(latency=0.05, errors=((500, 0.1), (503, 0.05), (429, 0.1)), drop=0.2)
    assert plan.for_endpoint("list") == EndpointFaults(latency=0.05, errors=((500, 0.1), (503, 0.05)))
    assert plan.for_endpoint("healthz") == EndpointFaults()  # * leaves healthz alone
    override = FaultPlan.parse("*:500=0.5;list|info:500=0,latency=1")
    assert override.for_endpoint("list") == EndpointFaults(latency=1.0)
    assert override.for_endpoint("edit").errors == ((500, 0.5),)
    assert not FaultPlan.parse("") and not FaultPlan.parse(None) and not FaultPlan.parse("  ")
    assert FaultPlan.parse("healthz:503=1").for_endpoint("healthz").errors == ((503, 1.0),)


@pytest.mark.parametrize(
    "spec, bad_part",
    [
        ("creat:500=0.1", "'creat'"),
        ("create:501=0.1", "'501=0.1'"),
        ("create:500=1.5", "'500=1.5'"),
        ("create:500=abc", "'500=abc'"),
        ("create:500=-1", "'500=-1'"),
        ("create", "'create'"),
        ("create:500", "'500'"),
        ("list:failed=0.1", "'failed=0.1'"),
        ("provision:drop=0.1", "'drop=0.1'"),
        ("create:500=0.6,503=0.6", "'create'"),
        ("*:500=0.6;create:429=0.6", "'create'"),
    ],
)
def test_fault_plan_errors_name_the_bad_part(spec, bad_part):
    with pytest.raises(TpdeclareError) as info:
        FaultPlan.parse(spec)
    assert bad_part in info.value.message
    assert info.value.hint and "latency" in info.value.hint


def _statuses(seed, n=40):
    engine, _ = make_engine(seed=seed, faults="create:500=0.2,503=0.2,429=0.1,drop=0.1", provision_seconds=1)
    call = Caller(engine)
    out = []
    for i in range(n):
        r = call.create("1xH100", f"n{i}")
        out.append("drop" if isinstance(r, Drop) else r.status)
    return out, engine


def test_faults_are_seeded_and_reproducible():
    a, _ = _statuses(7)
    b, _ = _statuses(7)
    c, _ = _statuses(8)
    assert a == b
    assert a != c
    assert {500, 503, 429, 202, "drop"} <= set(a)


def test_error_faults_happen_before_any_state_change_and_carry_retry_after():
    engine, _ = make_engine(faults="create:500=1", seed=1)
    call = Caller(engine)
    r = call.create("1xH100", "x")
    assert (r.status, r.json()) == (500, {"message": "Internal server error (sandbox fault injection)"})
    assert "Retry-After" not in r.headers
    assert call.ok("GET", "/cluster/list")["clusters"] == []
    for status in (429, 503):
        engine.set_faults(f"create:{status}=1")
        r = call.create("1xH100", "x")
        assert r.status == status and r.headers["Retry-After"] == "1"
    engine.set_faults("create:502=1")
    assert call.create("1xH100", "x").status == 502
    engine.set_faults("create:504=1")
    assert call.create("1xH100", "x").status == 504
    stats = engine.stats()
    assert stats["faults_injected"] == {"500": 1, "429": 1, "503": 1, "502": 1, "504": 1}
    assert stats["creates_accepted"] == 0 and stats["clusters_alive"] == 0


def test_faults_come_before_auth():
    engine, _ = make_engine(faults="health:503=1")
    assert engine.handle("POST", "/health", {}, b"").status == 503


def test_drop_commits_the_create_then_drops():
    engine, _ = make_engine(faults="create:drop=1")
    call = Caller(engine)
    assert isinstance(call.create("1xH100", "ghost"), Drop)
    clusters = call.ok("GET", "/cluster/list")["clusters"]
    assert [c["tp_cluster_name"] for c in clusters] == ["ghost"]
    stats = engine.stats()
    assert stats["requests"]["create"] == {"dropped": 1}
    assert stats["creates_accepted"] == 1
    assert stats["faults_injected"] == {"drop": 1}
    engine.set_faults(None)
    assert call.create("1xH100", "ghost").status == 400  # a blind retry is refused by name


def test_drop_on_delete_commits_the_delete():
    engine, _ = make_engine(faults="delete:drop=1", provision_seconds=0, destroy_seconds=10)
    call = Caller(engine)
    cid = call.create("1xH100", "d").json()["cluster_id"]
    assert isinstance(call("DELETE", f"/cluster/{cid}"), Drop)
    assert call.ok("GET", f"/cluster/info/{cid}")["cluster_info"]["status"] == "DESTROYING"


def test_latency_uses_the_injected_sleep():
    engine, clock = make_engine(faults="list:latency=0.5")
    call = Caller(engine)
    call.ok("GET", "/cluster/list")
    call.ok("POST", "/health")
    assert clock.sleeps == [0.5]
    assert engine.stats()["faults_injected"] == {"latency": 1}


def test_star_faults_spare_healthz_and_control_paths():
    engine, _ = make_engine(faults="*:500=1")
    assert engine.handle("GET", "/healthz", {}, b"").status == 200
    assert engine.handle("GET", "/_sandbox/stats", {}, b"").status == 200
    assert Caller(engine)("POST", "/health").status == 500


def test_control_endpoints():
    engine, _ = make_engine()
    call = Caller(engine, key=None)
    r = call("POST", "/_sandbox/faults", {"spec": "create:500=1"})
    assert (r.status, r.json()) == (200, {"message": "Fault plan replaced", "faults": "create:500=1"})
    assert Caller(engine).create().status == 500
    r = call("POST", "/_sandbox/faults", {"spec": "create:nope=1"})
    assert r.status == 400 and "'nope=1'" in r.json()["message"]
    assert engine.faults.spec == "create:500=1"  # unchanged
    assert call("POST", "/_sandbox/faults", {"nope": 1}).status == 400
    call.ok("POST", "/_sandbox/faults", {"spec": ""})
    Caller(engine).create("1xH100", "x")
    assert call.ok("GET", "/_sandbox/stats")["clusters_alive"] == 1
    assert call.ok("POST", "/_sandbox/reset") == {"message": "Sandbox world and counters cleared"}
    stats = call.ok("GET", "/_sandbox/stats")
    assert (stats["clusters_alive"], stats["requests"], stats["creates_accepted"]) == (0, {}, 0)
    assert Caller(engine).create("1xH100", "x").status == 202  # the name is free after a reset


def test_stats_counters():
    engine, clock = make_engine(provision_seconds=10)
    call = Caller(engine)
    cid = call.create("1xH100", "a").json()["cluster_id"]
    call.create("1xH100", "a")
    rid = call.create("8xH200", "b", num_nodes=2).json()["request_id"]
    call("GET", f"/request/info/{rid}")
    call("GET", f"/request/info/{rid}")
    call("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "c"})
    call("DELETE", f"/cluster/{cid}")
    call("GET", "/nowhere")
    call("POST", "/health", key=None)
    stats = engine.stats()
    assert stats["requests"] == {
        "create": {"202": 2, "400": 1}, "request_info": {"200": 2}, "edit": {"202": 1}, "delete": {"202": 1},
        "unknown": {"404": 1}, "health": {"401": 1},
    }
    assert stats["requests_total"] == 9 and stats["polls"] == 2
    assert (stats["creates_accepted"], stats["edits_accepted"], stats["deletes_accepted"]) == (2, 1, 1)
    assert stats["mutating_requests"] == 5
    assert stats["clusters_alive"] == 2
    assert stats["clusters_by_status"] == {"DESTROYING": 1, "PROVISIONING": 1}
    assert stats["hourly_cost"] == pytest.approx(1.99 + 2 * 8 * 2.99)
    stats["requests"]["create"]["202"] = 99  # a copy, not the live counters
    assert engine.stats()["requests"]["create"]["202"] == 2


def test_seeded_ids_are_deterministic_and_unseeded_unique():
    ids = []
    for _ in range(2):
        engine, _ = make_engine(seed="s")
        ids.append(Caller(engine).create("1xH100", "x").json())
    assert ids[0] == ids[1]
    engine, _ = make_engine()
    call = Caller(engine)
    got = {call.create("1xH100", f"n{i}").json()["cluster_id"] for i in range(50)}
    assert len(got) == 50


def test_seeded_ids_do_not_repeat_after_restart(tmp_path):
    path = tmp_path / "w.json"
    first = Caller(Engine(FileWorld(path), seed=3)).create("1xH100", "a").json()
    second = Caller(Engine(FileWorld(path), seed=3)).create("1xH100", "b").json()
    assert first["cluster_id"] != second["cluster_id"]
    assert first["request_id"] != second["request_id"]


# ------------------------------------------------------------------------------------------ world stores


def test_file_world_reads_do_not_rewrite_the_world(tmp_path):
    path = tmp_path / "w.json"
    engine = Engine(FileWorld(path), provision_seconds=0)
    call = Caller(engine)
    rid = call.create("1xH100", "a").json()["request_id"]
    before = os.stat(path)
    counters_before = os.stat(engine.world.counters_path).st_mtime_ns
    for _ in range(5):
        call("GET", "/cluster/list")
        call("GET", f"/request/info/{rid}")
    after = os.stat(path)
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert os.stat(engine.world.counters_path).st_mtime_ns >= counters_before
    assert engine.stats()["polls"] == 5
    assert stat.S_IMODE(after.st_mode) == 0o600
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_file_world_sees_other_writers(tmp_path):
    path = tmp_path / "w.json"
    a = Caller(Engine(FileWorld(path), provision_seconds=0))
    b = Caller(Engine(FileWorld(path), provision_seconds=0))
    a.create("1xH100", "one")
    assert [c["tp_cluster_name"] for c in b.ok("GET", "/cluster/list")["clusters"]] == ["one"]
    assert b.create("1xH100", "one").status == 400
    b.create("1xH100", "two")
    assert len(a.ok("GET", "/cluster/list")["clusters"]) == 2


def test_file_world_refuses_a_bad_file(tmp_path):
    path = tmp_path / "w.json"
    path.write_text("{not json")
    with pytest.raises(TpdeclareError, match="unreadable"):
        Engine(FileWorld(path)).stats()
    path.write_text(json.dumps({"format": "tpdeclare-sandbox-world", "version": 99}))
    with pytest.raises(TpdeclareError, match="newer"):
        Engine(FileWorld(path)).stats()
    path.write_text(json.dumps({"something": "else"}))
    with pytest.raises(TpdeclareError, match="not a sandbox world"):
        Engine(FileWorld(path)).stats()
    assert json.loads(path.read_text()) == {"something": "else"}  # never overwritten


def test_memory_world_is_the_default():
    assert isinstance(Engine().world, MemoryWorld)


def _create_in_child(path, name, queue):
    engine = Engine(FileWorld(path), provision_seconds=0)
    queue.put(Caller(engine).create("1xH100", name).status)


def test_file_world_is_safe_across_processes(tmp_path):
    path = str(tmp_path / "w.json")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    children = [ctx.Process(target=_create_in_child, args=(path, "shared", queue)) for _ in range(6)]
    for child in children:
        child.start()
    for child in children:
        child.join(20)
    statuses = sorted(queue.get(timeout=5) for _ in children)
    assert statuses == [202, 400, 400, 400, 400, 400]
    stats = Engine(FileWorld(path)).stats()
    assert stats["creates_accepted"] == 1 and stats["requests"]["create"] == {"202": 1, "400": 5}
