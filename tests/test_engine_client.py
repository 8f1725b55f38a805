"""The API client with discovery (what every CLI run uses): the document read once, fields mapped from it and
settled against real answers, lookup by name before any change, asynchronous edits polled to their end,
unknown status words warned once and never read as "gone". Scripted transport, fake clock."""

from __future__ import annotations

import json

import pytest
from tpdeclare.api.capabilities import EngineIncompatible
from tpdeclare.api.discovery import Discovery
from tpdeclare.errors import ApiConnectionError, ApiError, MalformedResponse, PollTimeout
from tpdeclare.sandbox.dialects import parse_dialect
from tpdeclare.sandbox.openapi_doc import served_document

from api_transport_fakes import BASE, CLUSTER, CREATED, KEY, Reply, make, refused

TEXT_LIST = Reply(200, {"message": "ID  NAME\nc-1 lab\n1 cluster"})
NO_DOC = Reply(404, {"detail": "Not Found"})
ALIASED = {"id": "c-3f9a1b2c", "name": "research-trainer", "instance_type": "8xH200", "node_count": 2,
           "container": None, "deletion_protection": True, "state": "running",
           "instances": [{"id": "i-1", "state": "running"}], "created_at": "2026-11-26T10:00:00Z"}


def doc(dialect: str) -> Reply:
    return Reply(200, served_document(parse_dialect(dialect)))


def client(script, **kw):
    said: list[str] = []
    c, adapter, t = make(script, discovery=Discovery(BASE, None), warn=said.append, **kw)
    return c, adapter, t, said


def sent(adapter) -> list[str]:
    return [f"{r.method} {r.path_url.split('?')[0]}" for r, _ in adapter.sent]


def test_the_document_is_read_once_before_the_first_call():
    c, adapter, _, said = client([doc("aliased"), Reply(200, {"clusters": [ALIASED], "message": "t"})])
    [info] = c.list_clusters()
    c.list_clusters()
    assert sent(adapter) == ["GET /openapi.json", "GET /cluster/list", "GET /cluster/list"]
    assert (info.cluster_id, info.name, info.num_nodes, info.status, info.instance_ids) == (
        "c-3f9a1b2c", "research-trainer", 2, "RUNNING", ("i-1",))
    assert said == []  # the document said so: nothing to warn about
    assert c.discovered.found and c.field_map.mapped("cluster_id").origin == "document"
    assert c.lookup_by_name().name_field.name == "name"


def test_without_a_document_the_contract_is_checked_against_the_answer():
    c, adapter, _, said = client([NO_DOC, Reply(200, {"clusters": [ALIASED], "message": "t"})])
    [info] = c.list_clusters()
    assert info.cluster_id == "c-3f9a1b2c" and info.name == "research-trainer"
    assert c.discovered.reason == "GET /openapi.json answered HTTP 404"
    assert len(said) == 2  # the cluster's fields, then the instance's: each answer warns once
    assert "'id' (not 'cluster_id')" in said[0] and "the built-in contract says" in said[0]


def test_an_engine_that_cannot_be_reached_fails_at_discovery():
    c, adapter, _, _ = client([refused()], max_retries=0)
    with pytest.raises(ApiConnectionError):
        c.list_clusters()


def test_a_text_only_list_is_refused_and_nothing_is_ever_sent_that_changes_a_cluster():
    c, adapter, _, _ = client([doc("text-only"), TEXT_LIST])
    with pytest.raises(EngineIncompatible) as info:
        c.list_clusters()
    message = str(info.value)
    assert message.startswith("the engine's cluster list (GET /cluster/list) cannot be read as clusters with an ID "
                              "and a name: it answered only a text message ('message').")
    assert "both would bill" in message and message.endswith("nothing was changed")
    assert "tpdeclare doctor" in info.value.hint
    for change in (lambda: c.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="lab"),
                   lambda: c.edit_cluster("c-1", deletion_protection=False),
                   lambda: c.delete_cluster("c-1")):
        with pytest.raises(EngineIncompatible):
            change()
    assert all(line.startswith("GET ") for line in sent(adapter))


def test_listed_clusters_without_a_name_field_are_refused():
    nameless = {k: v for k, v in ALIASED.items() if k != "name"}
    c, _, _, _ = client([NO_DOC, Reply(200, {"clusters": [nameless], "message": "t"})])
    with pytest.raises(EngineIncompatible, match=r"it answered 1 cluster with no field tpdeclare can read as a "
                                                 r"name \(a cluster has 'id', 'instance_type'"):
        c.list_clusters()


def test_an_empty_list_is_enough_when_nothing_contradicts_the_names():
    c, _, _, _ = client([NO_DOC, Reply(200, {"clusters": [], "message": "No clusters"})])
    lookup = c.lookup_by_name()
    assert lookup.clusters_seen == 0 and lookup.name_field.origin == "contract"


def test_a_create_is_sent_only_after_lookup_by_name_was_established():
    c, adapter, _, _ = client([doc("default"), Reply(200, {"clusters": [], "message": "t"}), Reply(202, CREATED)])
    c.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="lab")
    assert sent(adapter) == ["GET /openapi.json", "GET /cluster/list", "POST /cluster/create"]


def test_an_ambiguous_answer_is_refused_not_guessed():
    both = {**ALIASED, "cluster_name": "other"}
    c, _, _, _ = client([NO_DOC, Reply(200, {"clusters": [both], "message": "t"})])
    with pytest.raises(MalformedResponse, match="cannot tell which field in clusters\\[0\\] is the cluster's name"):
        c.list_clusters()


# ------------------------------------------------------------------------------------------ async edits
def poll(status: str, retry_after: str = "1") -> Reply:
    return Reply(200, {"request_id": "r-9", "request_type": "CLUSTER_EDIT", "status": status,
                       "created_at": "2026-11-26T10:00:00Z", "object_id": "c-1", "external_message": "edit"},
                 headers={"Retry-After": retry_after})


EDIT_ACCEPTED = Reply(202, {"cluster_id": "c-1", "request_id": "r-9", "message": "Edit accepted"})
LISTED = Reply(200, {"clusters": [], "message": "t"})


def test_an_asynchronous_edit_returns_only_once_its_request_completed():
    c, adapter, t, _ = client([doc("async-edit"), LISTED, EDIT_ACCEPTED, poll("pending"), poll("processing"),
                               poll("completed")])
    assert c.edit_cluster("c-1", deletion_protection=False) == "Edit accepted"
    assert sent(adapter) == ["GET /openapi.json", "GET /cluster/list", "PATCH /cluster/edit/c-1",
                             "GET /request/info/r-9", "GET /request/info/r-9", "GET /request/info/r-9"]
    assert t.sleeps == [1.0, 1.0]


def test_an_edit_whose_request_failed_is_an_error():
    c, _, _, _ = client([doc("async-edit"), LISTED, EDIT_ACCEPTED, poll("FAILED")])
    with pytest.raises(ApiError, match=r"the edit of c-1 failed \(request r-9\): edit"):
        c.edit_cluster("c-1", cluster_name="new")


def test_an_edit_request_stuck_in_an_unknown_status_times_out_naming_the_word():
    c, _, _, said = client([doc("async-edit"), LISTED, EDIT_ACCEPTED, poll("QUEUED", "5")], edit_wait=12)
    with pytest.raises(PollTimeout) as info:
        c.edit_cluster("c-1", cluster_name="new")
    assert str(info.value) == ("timed out after 12s waiting for the edit of c-1 to take effect (request r-9, last "
                               "status QUEUED, a status tpdeclare does not know)")
    assert said == ["request r-9 has an unknown status 'QUEUED' (a word tpdeclare does not know); still polling "
                    "until it is COMPLETED or FAILED, or the deadline passes"]


def test_a_synchronous_edit_is_one_call():
    c, adapter, _, _ = client([doc("default"), LISTED, Reply(202, {"message": "updated"})])
    assert c.edit_cluster("c-1", cluster_name="x") == "updated"
    assert sent(adapter)[-1] == "PATCH /cluster/edit/c-1" and len(adapter.sent) == 3


# ------------------------------------------------------------------------------------------ statuses
@pytest.mark.parametrize("word", ["HIBERNATING", "deleted", "Terminated", "GONE", "archived"])
def test_an_unknown_cluster_status_is_never_gone_and_is_warned_once(word):
    listed = Reply(200, {"clusters": [{**CLUSTER, "status": word}, {**CLUSTER, "cluster_id": "c-2",
                                                                     "tp_cluster_name": "b", "status": word}]})
    c, _, _, said = client([doc("default"), listed])
    clusters = c.list_clusters() + c.list_clusters()
    assert all(not (x.is_destroyed or x.is_destroying or x.is_running) for x in clusters)
    assert said == [f"cluster c-3f9a1b2c has an unknown status {word.upper()!r} (a word tpdeclare does not know); "
                    f"it is treated as still existing, never as gone"]
    assert c.unknown_words.seen() == {"cluster": [word.upper()]}


@pytest.mark.parametrize("word", ["destroyed", "Destroyed", " DESTROYED "])
def test_the_destroyed_word_is_gone_in_any_case(word):
    c, _, _, said = client([doc("default"), Reply(200, {"clusters": [{**CLUSTER, "status": word}]})])
    [info] = c.list_clusters()
    assert info.is_destroyed and said == []


def test_the_key_is_in_no_warning_or_refusal():
    hostile = {**ALIASED, "state": "WEIRD"}
    c, _, _, said = client([NO_DOC, Reply(200, {"clusters": [hostile], "message": KEY})])
    c.list_clusters()
    c2, _, _, _ = client([NO_DOC, Reply(200, {KEY: "x"})])
    with pytest.raises(EngineIncompatible) as info:
        c2.list_clusters()
    assert KEY not in json.dumps(said) + str(info.value) + repr(c.field_map.report())
