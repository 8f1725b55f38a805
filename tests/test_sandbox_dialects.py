"""The sandbox's dialects: each plausible variant of the real API behaves as documented, and is selectable by
flag, environment variable and in-process option. (That each one's answers match its own /openapi.json is
tests/test_api_contract_doc.py's conformance run.)"""

from __future__ import annotations

import pytest
import requests
from tpdeclare.errors import TpdeclareError
from tpdeclare.sandbox.dialects import DEFAULT, PRESETS, parse_dialect
from tpdeclare.sandbox.engine import Engine
from tpdeclare.sandbox.inprocess import INPROCESS_BASE_URL, make_inprocess_engine, make_inprocess_session
from tpdeclare.sandbox.openapi_doc import served_document
from tpdeclare.sandbox.world import FileWorld

from sandbox_fixtures import Caller, FakeClock, make_engine, served_sandbox

T = 5


def _engine(dialect: str, **kwargs):
    kwargs.setdefault("provision_seconds", 10)
    kwargs.setdefault("destroy_seconds", 10)
    kwargs.setdefault("edit_seconds", 6)
    engine, clock = make_engine(dialect=dialect, **kwargs)
    return engine, clock, Caller(engine)


# ------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize("text, name", [
    (None, "default"), ("", "default"), ("default", "default"), ("aliased", "aliased"),
    ("aliased+lowercase+async-edit", "aliased+lowercase+async-edit"), ("default+lowercase", "lowercase"),
    (" text-only + async-edit ", "text-only+async-edit"), ("lowercase+lowercase", "lowercase+lowercase"),
])
def test_dialect_names_and_combinations(text, name):
    assert parse_dialect(text).name == name


def test_a_combination_has_every_part():
    d = parse_dialect("aliased-bare+lowercase+async-edit")
    assert (d.cluster_key("cluster_id"), d.info_wrapper, d.lowercase_statuses, d.async_edits, d.text_only) == (
        "id", None, True, True, False)
    assert parse_dialect("default") is DEFAULT


@pytest.mark.parametrize("text, words", [
    ("aliassed", ["unknown dialect 'aliassed'", "did you mean aliased"]),
    ("nope", ["unknown dialect 'nope'"]),
    ("aliased+aliased-bare", ["aliased-bare cannot be combined with aliased"]),
    ("aliased+text-only", ["text-only cannot be combined with aliased"]),
    ("text-only+aliased-bare", ["aliased-bare cannot be combined with text-only"]),
    ("lowercase+", ["an empty dialect name"]),
])
def test_bad_dialects_are_refused_with_the_names(text, words):
    with pytest.raises(TpdeclareError) as info:
        parse_dialect(text, source="--dialect")
    for word in words:
        assert word in info.value.message
    assert info.value.message.startswith("--dialect")
    assert all(name in info.value.hint for name in PRESETS)


# ------------------------------------------------------------------------------------------ shapes


def _one_cluster(call, clock, **fields):
    created = call.ok("POST", "/cluster/create", {"instance_type": "8xH200", "num_nodes": 2,
                                                  "tp_cluster_name": "trainer", **fields}, status=202)
    clock.advance(10)
    return created


def test_default_dialect_is_the_contract():
    _, clock, call = _engine("default")
    created = _one_cluster(call, clock)
    cluster = call.ok("GET", "/cluster/list")["clusters"][0]
    assert list(cluster) == ["cluster_id", "tp_cluster_name", "instance_type", "num_nodes", "container",
                             "deletion_protection", "status", "instances", "created_at"]
    assert call.ok("GET", f"/cluster/info/{created['cluster_id']}")["cluster_info"] == cluster


def test_aliased_renames_fields_and_wraps_info_in_cluster():
    _, clock, call = _engine("aliased")
    created = _one_cluster(call, clock)
    cluster = call.ok("GET", "/cluster/list")["clusters"][0]
    assert list(cluster) == ["id", "name", "instance_type", "node_count", "container", "deletion_protection",
                             "state", "instances", "created_at"]
    assert (cluster["id"], cluster["name"], cluster["node_count"], cluster["state"]) == (
        created["cluster_id"], "trainer", 2, "RUNNING")
    jumphost = f"{created['cluster_id']}-jumphost"  # a 2-node cluster lists its login node first
    assert [(i["id"], i["state"]) for i in cluster["instances"]] == [
        (i, "running") for i in [jumphost, *created["instance_ids"]]]
    assert [i["public_ip"] is None for i in cluster["instances"]] == [False, True, True]  # addresses are not renamed
    info = call.ok("GET", f"/cluster/info/{created['cluster_id']}")
    assert set(info) == {"cluster", "message"} and info["cluster"] == cluster
    # what is published stays as published: create, request and delete answers
    assert set(created) == {"cluster_id", "instance_ids", "request_id", "message"}
    assert "request_id" in call.ok("GET", f"/request/info/{created['request_id']}")


def test_aliased_bare_answers_info_as_the_object_itself():
    _, clock, call = _engine("aliased-bare")
    created = _one_cluster(call, clock)
    cluster = call.ok("GET", "/cluster/list")["clusters"][0]
    assert list(cluster) == ["id", "cluster_name", "instance_type", "nodes", "container", "deletion_protection",
                             "status", "instances", "created_at"]
    assert cluster["instances"][1] == {"instance_id": created["instance_ids"][0], "status": "running",
                                       "public_ip": None, "private_ip": cluster["instances"][1]["private_ip"]}
    info = call.ok("GET", f"/cluster/info/{created['cluster_id']}")
    message = info.pop("message")
    assert info == cluster and "trainer" in message


def test_lowercase_spells_request_and_cluster_statuses_in_lower_case():
    _, clock, call = _engine("lowercase", faults="provision:failed=1")
    created = call.create("1xH100", "low").json()
    seen = []
    for _ in range(4):
        seen.append((call.ok("GET", f"/request/info/{created['request_id']}")["status"],
                     call.ok("GET", f"/cluster/info/{created['cluster_id']}")["cluster_info"]["status"]))
        clock.advance(4)
    assert seen == [("pending", "provisioning"), ("processing", "provisioning"), ("processing", "configuring"),
                    ("failed", "failed")]
    release = call.ok("DELETE", f"/cluster/{created['cluster_id']}", status=202)
    assert call.ok("GET", "/cluster/list")["clusters"][0]["status"] == "destroying"
    clock.advance(10)
    assert call.ok("GET", f"/request/info/{release['request_id']}")["status"] == "completed"
    assert "destroying" not in call.ok("GET", "/cluster/list")["message"]


def test_text_only_list_and_info_carry_only_a_message():
    _, clock, call = _engine("text-only")
    created = _one_cluster(call, clock)
    listing = call.ok("GET", "/cluster/list")
    assert list(listing) == ["message"] and "trainer" in listing["message"]
    info = call.ok("GET", f"/cluster/info/{created['cluster_id']}")
    assert list(info) == ["message"] and created["cluster_id"] in info["message"]
    assert call("GET", "/cluster/info/c-00000000").status == 404


# ------------------------------------------------------------------------------------------ async edits


def test_an_async_edit_is_a_request_and_takes_effect_when_it_completes():
    _, clock, call = _engine("async-edit")  # edits take 6 s
    cid = _one_cluster(call, clock, deletion_protection=True)["cluster_id"]
    answer = call.ok("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "renamed", "deletion_protection": False},
                     status=202)
    assert set(answer) == {"cluster_id", "request_id", "message"} and answer["cluster_id"] == cid
    rid = answer["request_id"]
    req = call.ok("GET", f"/request/info/{rid}")
    assert (req["request_type"], req["status"], req["object_id"]) == ("CLUSTER_EDIT", "PENDING", cid)

    def info():
        return call.ok("GET", f"/cluster/info/{cid}")["cluster_info"]

    assert (info()["tp_cluster_name"], info()["deletion_protection"]) == ("trainer", True)
    r = call("DELETE", f"/cluster/{cid}")
    assert r.status == 409  # protection is still on: the edit that lifts it has not completed
    assert call.create("1xH100", "renamed").status == 400  # the new name is reserved already
    assert call.create("1xH100", "trainer").status == 400  # and the old one is still held
    clock.advance(3)
    assert call.ok("GET", f"/request/info/{rid}")["status"] == "PROCESSING"
    assert info()["tp_cluster_name"] == "trainer"
    clock.advance(3)
    assert call.ok("GET", f"/request/info/{rid}") | {"created_at": None} == {
        "request_id": rid, "request_type": "CLUSTER_EDIT", "status": "COMPLETED", "created_at": None,
        "object_id": cid, "external_message": f"Cluster {cid} (renamed) was edited"}
    assert (info()["tp_cluster_name"], info()["deletion_protection"]) == ("renamed", False)
    assert call.create("1xH100", "trainer").status == 202  # the old name is free now
    assert call("DELETE", f"/cluster/{cid}").status == 202


def test_edits_apply_in_order_and_a_destroy_cancels_the_pending_ones():
    engine, clock, call = _engine("async-edit")
    cid = _one_cluster(call, clock)["cluster_id"]
    first = call.ok("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "one"}, status=202)["request_id"]
    clock.advance(1)
    second = call.ok("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "two"}, status=202)["request_id"]
    clock.advance(5)  # the first completed, the second not
    assert call.ok("GET", f"/cluster/info/{cid}")["cluster_info"]["tp_cluster_name"] == "one"
    call.ok("DELETE", f"/cluster/{cid}", status=202)
    cancelled = call.ok("GET", f"/request/info/{second}")
    assert cancelled["status"] == "FAILED" and "cancelled" in cancelled["external_message"]
    assert call.ok("GET", f"/request/info/{first}")["status"] == "COMPLETED"
    clock.advance(100)
    assert call.ok("GET", f"/request/info/{second}")["status"] == "FAILED"  # never completes later
    assert engine.stats()["edits_accepted"] == 2


def test_async_edit_refusals_come_before_any_request():
    engine, clock, call = _engine("async-edit")
    a = _one_cluster(call, clock)["cluster_id"]
    call.ok("POST", "/cluster/create", {"instance_type": "1xH100", "tp_cluster_name": "other"}, status=202)
    assert call("PATCH", f"/cluster/edit/{a}", {"cluster_name": "other"}).status == 400
    assert call("PATCH", f"/cluster/edit/{a}", {}).status == 400
    assert call("PATCH", "/cluster/edit/c-00000000", {"cluster_name": "x"}).status == 404
    assert call("PATCH", f"/cluster/edit/{a}", {"deletion_protection": "sure"}).status == 422
    assert engine.stats()["edits_accepted"] == 0
    assert {r["request_type"] for r in engine.log()["requests"]} == {"CLUSTER_CLAIM"}


def test_pending_edits_survive_a_restart_over_the_same_file(tmp_path):
    clock = FakeClock()
    path = tmp_path / "w.json"
    first = Caller(Engine(FileWorld(path), provision_seconds=0, edit_seconds=10, dialect="async-edit", clock=clock))
    cid = first.create("1xH100", "keep").json()["cluster_id"]
    rid = first.ok("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "kept"}, status=202)["request_id"]
    second = Caller(Engine(FileWorld(path), provision_seconds=0, clock=clock))  # default dialect now
    clock.advance(10)
    assert second.ok("GET", f"/request/info/{rid}")["status"] == "COMPLETED"
    assert second.ok("GET", f"/cluster/info/{cid}")["cluster_info"]["tp_cluster_name"] == "kept"


def test_the_default_dialect_still_edits_at_once():
    _, clock, call = _engine("default")
    cid = _one_cluster(call, clock, deletion_protection=True)["cluster_id"]
    answer = call.ok("PATCH", f"/cluster/edit/{cid}", {"deletion_protection": False}, status=202)
    assert answer == {"message": f"Cluster {cid} updated: deletion protection off"}
    assert call("DELETE", f"/cluster/{cid}").status == 202


@pytest.mark.parametrize("dialect", [*sorted(PRESETS), "aliased+lowercase+async-edit"])
def test_contract_validators_per_dialect_accept_its_answers_and_not_the_defaults(dialect):
    from tpdeclare.sandbox.contract import dialect_contract, load_contract

    _, clock, call = _engine(dialect)
    created = _one_cluster(call, clock)
    mine = dialect_contract(parse_dialect(dialect))
    answers = {
        ("GET", "/cluster/list"): call.ok("GET", "/cluster/list"),
        ("GET", "/cluster/info/{cluster}"): call.ok("GET", f"/cluster/info/{created['cluster_id']}"),
        ("GET", "/request/info/{request_id}"): call.ok("GET", f"/request/info/{created['request_id']}"),
        ("PATCH", "/cluster/edit/{cluster}"): call.ok("PATCH", f"/cluster/edit/{created['cluster_id']}",
                                                      {"cluster_name": "x"}, status=202),
    }
    status = {"PATCH": 202, "GET": 200}
    differs_from_default = set()
    for (method, template), body in answers.items():
        validator = mine.response_validator(method, template, status[method])
        assert list(validator.iter_errors(body)) == [], (dialect, template)
        strict = load_contract().response_validator(method, template, status[method])
        if list(strict.iter_errors(body)):
            differs_from_default.add(template)
    expected = {
        "default": set(), "async-edit": set(), "lowercase": {"/cluster/list", "/cluster/info/{cluster}",
                                                            "/request/info/{request_id}"},
        "aliased": {"/cluster/list", "/cluster/info/{cluster}"}, "aliased-bare": {"/cluster/list",
                                                                                   "/cluster/info/{cluster}"},
        "text-only": {"/cluster/list", "/cluster/info/{cluster}"},
    }.get(dialect, {"/cluster/list", "/cluster/info/{cluster}", "/request/info/{request_id}"})
    assert differs_from_default == expected


# ------------------------------------------------------------------------------------------ selection


@pytest.mark.parametrize("dialect", sorted(PRESETS))
def test_the_openapi_document_is_served_without_a_key_and_describes_the_dialect(dialect):
    engine, _, _ = _engine(dialect)
    r = engine.handle("GET", "/openapi.json", {}, b"")
    assert r.status == 200
    doc = r.json()
    assert doc == served_document(parse_dialect(dialect))
    assert doc["info"]["x-sandbox-dialect"] == dialect
    assert not any(path.startswith("/_sandbox/") or path == "/openapi.json" for path in doc["paths"])
    assert '"x-provenance":' not in r.body.decode()
    schemas = doc["components"]["schemas"]
    if dialect == "text-only":
        assert "ClusterInfo" not in schemas and schemas["ClusterListResponse"]["required"] == ["message"]
    else:
        assert schemas["ClusterInfo"]["required"][0] == ("id" if "aliased" in dialect else "cluster_id")
    edit_answer = schemas["ClusterEditResponse"]["properties"]
    assert ("request_id" in edit_answer) == (dialect == "async-edit")
    status_words = schemas["RequestInfo"]["properties"]["status"]["enum"]
    assert ("completed" in status_words) == (dialect == "lowercase")


def test_serve_dialect_flag_over_http(capsys):
    import threading
    import time

    from tpdeclare.sandbox.serve import run_serve

    stop = threading.Event()
    thread = threading.Thread(target=run_serve, kwargs={"args": {"port": 0, "dialect": "aliased+lowercase",
                                                                 "provision_seconds": 0}, "stop_event": stop})
    thread.start()
    try:
        out, end = "", time.monotonic() + T
        while "listening on" not in out and time.monotonic() < end:
            time.sleep(0.02)
            out += capsys.readouterr().out
        base = out.split("listening on ")[1].split()[0]
        auth = {"Authorization": "Bearer k"}
        requests.post(f"{base}/cluster/create", json={"instance_type": "1xH100", "tp_cluster_name": "s"},
                      headers=auth, timeout=T)
        [cluster] = requests.get(f"{base}/cluster/list", headers=auth, timeout=T).json()["clusters"]
        assert (cluster["name"], cluster["state"]) == ("s", "running")
        doc = requests.get(f"{base}/openapi.json", timeout=T).json()
        assert doc["info"]["x-sandbox-dialect"] == "aliased+lowercase"
    finally:
        stop.set()
        thread.join(T)


def test_serve_refuses_a_bad_dialect_before_listening():
    from tpdeclare.sandbox.serve import run_serve

    with pytest.raises(TpdeclareError, match="--dialect: unknown dialect 'lowercased'"):
        run_serve({"port": 0, "dialect": "lowercased"})


def test_the_inprocess_engine_takes_the_dialect_from_the_environment(tmp_path):
    env = {"TPDECLARE_SANDBOX_DIALECT": "text-only", "TPDECLARE_SANDBOX_PROVISION_SECONDS": "0"}
    s = make_inprocess_session(tmp_path / "w.json", env=env)
    s.post(f"{INPROCESS_BASE_URL}/cluster/create", json={"instance_type": "1xH100"}, timeout=T)
    assert list(s.get(f"{INPROCESS_BASE_URL}/cluster/list", timeout=T).json()) == ["message"]
    engine = make_inprocess_engine(tmp_path / "w.json", env={"TPDECLARE_SANDBOX_DIALECT": "async-edit",
                                                             "TPDECLARE_SANDBOX_EDIT_SECONDS": "2.5"})
    assert (engine.dialect.async_edits, engine.edit_seconds) == (True, 2.5)
    with pytest.raises(TpdeclareError, match="TPDECLARE_SANDBOX_DIALECT: unknown dialect 'bogus'"):
        make_inprocess_engine(tmp_path / "w.json", env={"TPDECLARE_SANDBOX_DIALECT": "bogus"})
    with pytest.raises(TpdeclareError, match="TPDECLARE_SANDBOX_EDIT_SECONDS"):
        make_inprocess_engine(tmp_path / "w.json", env={"TPDECLARE_SANDBOX_EDIT_SECONDS": "-1"})


def test_served_sandbox_fixture_and_engine_option_take_a_dialect():
    with served_sandbox(dialect="aliased-bare", provision_seconds=0) as (base, engine):
        assert engine.dialect.name == "aliased-bare"
        assert requests.get(f"{base}/openapi.json", timeout=T).json()["info"]["x-sandbox-dialect"] == "aliased-bare"
    with pytest.raises(TpdeclareError, match="unknown dialect"):
        Engine(dialect="bare")
