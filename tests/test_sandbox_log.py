"""The sandbox's request log (GET /_sandbox/log): what it records, that it proves ordering, that it keeps no
secret, and how it persists, resets and stays bounded."""

from __future__ import annotations

import json

import pytest
import requests
from tpdeclare.sandbox import world as world_mod
from tpdeclare.sandbox.engine import Engine
from tpdeclare.sandbox.world import FileWorld, MemoryWorld

from sandbox_fixtures import KEY, Caller, FakeClock, make_engine, served_sandbox

T = 5


def _entries(engine, **kw):
    return engine.log(**kw)["entries"]


def test_every_api_request_is_an_entry_in_order_with_its_outcome():
    engine, clock = make_engine(provision_seconds=10, seed=3)
    call = Caller(engine)
    created = call.create("8xH200", "logged", num_nodes=2, public_keys=["ssh-ed25519 AAAA x"]).json()
    clock.advance(1)
    call("GET", f"/request/info/{created['request_id']}")
    call("GET", "/cluster/list?include_org=true")
    call("GET", "/nowhere")
    call("POST", "/health", key=None)
    call("GET", "/_sandbox/stats")  # control paths are not logged
    entries = _entries(engine)
    assert [(e["seq"], e["method"], e["path"], e["endpoint"], e["status"]) for e in entries] == [
        (1, "POST", "/cluster/create", "create", 202),
        (2, "GET", f"/request/info/{created['request_id']}", "request_info", 200),
        (3, "GET", "/cluster/list", "list", 200),
        (4, "GET", "/nowhere", "unknown", 404),
        (5, "POST", "/health", "health", 401),
    ]
    first = entries[0]
    assert first["body"] == {"instance_type": "8xH200", "tp_cluster_name": "logged", "num_nodes": 2,
                             "public_keys": "<list of 1>"}
    assert first["result"] == {"cluster_id": created["cluster_id"], "request_id": created["request_id"]}
    assert (first["time"], first["at"], first["faults"]) == (FakeClock().now, "2026-11-18T11:06:40Z", [])
    assert entries[1]["result"] == {"request_id": created["request_id"], "status": "PROCESSING"}
    assert entries[2]["query"] == "include_org=true" and entries[1]["time"] == first["time"] + 1
    assert [e["seq"] for e in _entries(engine, since=3)] == [4, 5]


def test_faults_are_named_in_the_entries():
    engine, _ = make_engine(faults="create:drop=1;list:503=1;provision:failed=1", seed=1)
    call = Caller(engine)
    call.create("1xH100", "ghost")
    call("GET", "/cluster/list")
    entries = _entries(engine)
    assert (entries[0]["status"], entries[0]["faults"]) == ("dropped", ["provision_failed", "drop"])
    assert (entries[1]["status"], entries[1]["faults"]) == (503, ["503"])
    assert engine.stats()["faults_injected"] == {"provision_failed": 1, "drop": 1, "503": 1}


def test_request_transitions_prove_a_delete_came_after_the_edit_completed():
    """The ordering a client must keep with asynchronous edits, read back from the log alone."""
    engine, clock = make_engine(provision_seconds=10, edit_seconds=6, dialect="async-edit")
    call = Caller(engine)
    cid = call.create("1xH100", "guarded", deletion_protection=True).json()["cluster_id"]
    clock.advance(10)
    edit = call.ok("PATCH", f"/cluster/edit/{cid}", {"deletion_protection": False}, status=202)["request_id"]
    clock.advance(2)
    assert call("DELETE", f"/cluster/{cid}").status == 409  # too early: refused
    clock.advance(4)
    call("GET", f"/request/info/{edit}")
    assert call("DELETE", f"/cluster/{cid}").status == 202
    log = engine.log()
    transitions = {r["request_id"]: r["transitions"] for r in log["requests"]}
    assert [t["status"] for t in transitions[edit]] == ["PENDING", "PROCESSING", "COMPLETED"]
    edit_done = transitions[edit][-1]["time"]
    deletes = [e for e in log["entries"] if e["method"] == "DELETE"]
    assert [(d["status"], d["time"] >= edit_done) for d in deletes] == [(409, False), (202, True)]
    polls = [e for e in log["entries"] if e["endpoint"] == "request_info"]
    assert polls[-1]["result"]["status"] == "COMPLETED" and polls[-1]["seq"] < deletes[-1]["seq"]


def test_transitions_of_a_cancelled_claim_and_an_instant_request():
    engine, clock = make_engine(provision_seconds=10, destroy_seconds=0)
    call = Caller(engine)
    created = call.create("1xH100", "early").json()
    clock.advance(5)
    release = call.ok("DELETE", f"/cluster/{created['cluster_id']}", status=202)["request_id"]
    by_id = {r["request_id"]: r for r in engine.log()["requests"]}
    start = by_id[created["request_id"]]["created_at"]
    assert by_id[created["request_id"]]["transitions"] == [
        {"status": "PENDING", "time": start}, {"status": "PROCESSING", "time": start + 1},
        {"status": "FAILED", "time": start + 5}]
    assert by_id[release]["transitions"] == [{"status": "COMPLETED", "time": start + 5}]
    assert by_id[release]["request_type"] == "CLUSTER_RELEASE"


@pytest.mark.parametrize("configured", [None, KEY])
def test_the_key_never_reaches_the_log(configured):
    engine, _ = make_engine(api_key=configured)
    call = Caller(engine)
    call("GET", f"/cluster/info/{KEY}")
    call("POST", "/cluster/create", {"instance_type": KEY, "tp_cluster_name": f"x-{KEY}-y", KEY: 1})
    call("GET", f"/cluster/list?token={KEY}")
    text = json.dumps(engine.log())
    assert KEY not in text
    entries = _entries(engine)
    assert entries[0]["path"] == "/cluster/info/***"
    assert entries[1]["body"] == {"instance_type": "***", "tp_cluster_name": "x-***-y", "***": 1}
    assert entries[2]["query"] == "token=***"


def test_bodies_are_summarised_short():
    engine, _ = make_engine()
    call = Caller(engine)
    many = {f"f{i}": i for i in range(40)}
    call("POST", "/cluster/create", {"instance_type": "x" * 500, "container": {"a": 1}, **many})
    call("POST", "/cluster/create", raw=b"[" * 5000)
    call("POST", "/cluster/create", raw=b"\xff not json")
    call("POST", "/cluster/create", [1, 2, 3])
    call("POST", "/cluster/create", raw=b'{"num_nodes": NaN}')
    first, deep, binary, array, nan = (e["body"] for e in _entries(engine))
    assert first["instance_type"] == "x" * 120 + "…" and first["container"] == "<object of 1 fields>"
    assert len(first) == 33 and first["…"] == "<10 more fields>"
    assert deep == "<5000 bytes of JSON nested too deep>" and binary == "<10 bytes, not JSON>"
    assert array == "<list of 3>" and nan == {"num_nodes": "nan"}
    json.dumps(engine.log(), allow_nan=False)  # strict JSON throughout


def test_reset_clears_the_log_and_restarts_seq():
    engine, _ = make_engine()
    call = Caller(engine)
    call("POST", "/health")
    call("POST", "/_sandbox/reset", key=None)
    call("POST", "/health")
    assert [e["seq"] for e in _entries(engine)] == [1]
    assert engine.log()["requests"] == []


def test_log_over_http_with_since_and_a_bad_since():
    with served_sandbox(provision_seconds=0) as (base, _):
        auth = {"Authorization": f"Bearer {KEY}"}
        requests.post(f"{base}/cluster/create", json={"instance_type": "1xH100"}, headers=auth, timeout=T)
        requests.post(f"{base}/health", headers=auth, timeout=T)
        log = requests.get(f"{base}/_sandbox/log", timeout=T).json()
        assert [e["endpoint"] for e in log["entries"]] == ["create", "health"]
        assert [r["request_type"] for r in log["requests"]] == ["CLUSTER_CLAIM"] and log["dropped"] == 0
        assert [e["seq"] for e in requests.get(f"{base}/_sandbox/log?since=1", timeout=T).json()["entries"]] == [2]
        r = requests.get(f"{base}/_sandbox/log?since=first", timeout=T)
        assert r.status_code == 400 and "since" in r.json()["message"]


def test_file_world_log_is_shared_persisted_and_survives_a_torn_line(tmp_path):
    path = tmp_path / "w.json"
    clock = FakeClock()
    a = Engine(FileWorld(path), clock=clock)
    b = Engine(FileWorld(path), clock=clock)
    Caller(a)("POST", "/health")
    Caller(b)("POST", "/health", key=None)
    assert [(e["seq"], e["status"]) for e in _entries(a)] == [(1, 200), (2, 401)]
    log_file = path.with_name(path.name + ".log.jsonl")
    with log_file.open("ab") as fh:
        fh.write(b'{"seq": 3, "trunc')  # a crash mid-append
    Caller(a)("POST", "/health")
    assert [e["seq"] for e in _entries(Engine(FileWorld(path), clock=clock))] == [1, 2, 3]
    a.reset()
    assert _entries(b) == [] and log_file.read_bytes() == b""


def test_memory_log_is_bounded_and_says_what_it_forgot(monkeypatch):
    monkeypatch.setattr(world_mod, "MEMORY_LOG_LIMIT", 3)
    engine = Engine(MemoryWorld())
    call = Caller(engine)
    for _ in range(5):
        call("POST", "/health")
    log = engine.log()
    assert [e["seq"] for e in log["entries"]] == [3, 4, 5] and log["dropped"] == 2
    assert engine.stats()["requests"]["health"] == {"200": 5}  # the counters forget nothing
