"""The storage endpoints' answers a server can get wrong (beyond the shared corpus of tests/test_hostile_api.py,
which runs every lost, unreadable and key-echoing answer on them too): wrong types, missing IDs, unsafe
attachments, text-only lists; and the names a differing engine plausibly uses, which are read."""

from __future__ import annotations

import pytest
from tpdeclare.errors import MalformedAcceptance, MalformedResponse

from hostile_server import ECHO_KEY, Json
from test_hostile_api import VOLUME, _with, expect, run, server  # noqa: F401 - server is a fixture

BAD_VOLUMES = {  # a change to one listed volume -> the words of the refusal
    "size-a-string": (("size_gb",), "100", "can be read as the volume's size in GB (looked for 'size_gb'"),
    "size-zero": (("size_gb",), 0, "should be at least 1 (GB), not 0"),
    "protection-a-string": (("deletion_protection",), "no", "can be read as the deletion protection flag"),
    "status-null": (("status",), None, "no field in volumes[0] can be read as the volume's status"),
    "attachment-a-number": (("cluster_ids",), [7], "volumes[0].cluster_ids[0] should be a cluster ID"),
    "attachment-unsafe": (("cluster_ids",), ["../c-1"], "field 'volumes[0].cluster_ids[0]' is not a valid ID"),
    "attachment-the-key": (("cluster_ids",), [ECHO_KEY], "is an ID containing the API key"),
    "attachments-an-object": (("cluster_ids",), {"c-1": True}, "should be an array, not an object"),
    "id-unsafe": (("storage_id",), "s-1/../x", "field 'volumes[0].storage_id' is not a valid ID"),
    "name-escape": (("tp_storage_name",), "vol\x1b[2J", "holds control or invisible formatting characters"),
}


@pytest.mark.parametrize("case", sorted(BAD_VOLUMES))
def test_a_wrong_volume_field_is_a_clear_malformed_response(server, case, caplog):  # noqa: F811
    path, value, words = BAD_VOLUMES[case]
    outcome = run(server, "storage_list", Json(200, {"volumes": [_with(VOLUME, path, value)]}), caplog=caplog)
    err = expect(outcome, MalformedResponse, "GET /storage/list answered HTTP 200 but", words)
    assert "\x1b" not in str(err)


def test_a_volume_without_its_id_is_refused_naming_the_names_looked_for(server, caplog):  # noqa: F811
    body = {"volumes": [{k: v for k, v in VOLUME.items() if k != "storage_id"}]}
    expect(run(server, "storage_list", Json(200, body), caplog=caplog), MalformedResponse,
           "no field in volumes[0] can be read as the volume's ID", "'storage_id', 'id'")


def test_a_text_only_list_is_refused_not_read_as_empty(server, caplog):  # noqa: F811
    expect(run(server, "storage_list", Json(200, {"message": "ID NAME\ns-1 vol-a"}), caplog=caplog),
           MalformedResponse, "holds no list of volumes tpdeclare can read", "only a text message")


def test_an_engines_other_names_are_read_and_warned_about_once(server, caplog):  # noqa: F811
    other = {"id": "s-1", "name": "vol-a", "size": 100, "protected": True, "state": "ready",
             "attached_to": [{"cluster_id": "c-9"}, "c-8"]}
    outcome = run(server, "storage_list", Json(200, {"storage": [other, dict(other, id="s-2", name="vol-b")]}),
                  caplog=caplog)
    assert outcome.error is None
    first, second = outcome.result
    assert (first.storage_id, first.name, first.size_gb, first.deletion_protection, first.status,
            first.cluster_ids) == ("s-1", "vol-a", 100, True, "READY", ("c-9", "c-8"))
    assert second.storage_id == "s-2"
    warned = [r.getMessage() for r in caplog.records if "storage answers name these fields" in r.getMessage()]
    assert len(warned) == 1 and "the volume's size in GB 'size' (not 'size_gb')" in warned[0]


def test_an_info_answering_the_volume_itself_is_read(server, caplog):  # noqa: F811
    outcome = run(server, "storage_info", Json(200, {**VOLUME, "message": "a table"}), caplog=caplog)
    assert outcome.error is None and outcome.result.storage_id == "s-1" and outcome.result.cluster_ids == ("c-9",)


@pytest.mark.parametrize("body, words", [
    ({"message": "attaching"}, "field 'request_ids' is missing"),
    ({"request_ids": "r-1"}, "field 'request_ids' should be an array of strings"),
    ({"request_ids": ["r-1", "../r"]}, "field 'request_ids[1]' is not a valid ID"),
])
def test_an_accepted_attach_that_cannot_be_followed_is_malformed_acceptance(server, body, words, caplog):  # noqa: F811
    err = expect(run(server, "storage_attach", Json(202, body), caplog=caplog), MalformedAcceptance, words,
                 "is probably being attached, but the requests to poll are unknown")
    assert "looks the volume up" in err.hint
    assert server.count() == 1  # never sent twice


def test_an_attach_answering_a_single_request_id_is_read(server, caplog):  # noqa: F811
    outcome = run(server, "storage_attach", Json(202, {"request_id": "r-7"}), caplog=caplog)
    assert outcome.error is None and outcome.result.request_ids == ("r-7",)


def test_a_created_volume_without_its_id_is_malformed_acceptance(server, caplog):  # noqa: F811
    expect(run(server, "storage_create", Json(202, {"request_id": "r-1", "message": "ok"}), caplog=caplog),
           MalformedAcceptance, "field 'storage_id' is missing", "was probably created, but its ID is unknown")
