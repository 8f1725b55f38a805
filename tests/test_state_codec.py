"""Tests for tpdeclare.state.codec: parsing, validation messages and stable serialisation."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpdeclare.errors import StateError
from tpdeclare.state.codec import dump_state, parse_state
from tpdeclare.state.model import FORMAT_VERSION, STATUSES, Record, State

SRC = "state/research.json"


def sample_state() -> State:
    return State(
        stack="research",
        lineage="8f1c0000-0000-4000-8000-000000000001",
        serial=12,
        resources={
            "trainer": Record(
                address="trainer", status="ready", name="research-trainer",
                spec={"instance_type": "8xH200", "num_nodes": 2, "container": None,
                      "deletion_protection": True, "public_keys": ["ssh-ed25519 AAAA alice"]},
                cluster_id="c-1", instance_ids=["i-1", "i-2"], request_id="r-1",
                intent_id="in-1", created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:01:00Z",
            ),
            "notebook": Record(address="notebook", status="tainted", name="nbé ✓",
                               spec={"instance_type": "1xH100"}, message="provisioning FAILED: no capacity"),
        },
    )


def doc(**changes) -> bytes:
    data = json.loads(dump_state(sample_state()))
    for key, value in changes.items():
        if value is KeyError:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data).encode()


def record_doc(**changes) -> bytes:
    data = json.loads(dump_state(sample_state()))
    for key, value in changes.items():
        if value is KeyError:
            del data["resources"]["trainer"][key]
        else:
            data["resources"]["trainer"][key] = value
    return json.dumps(data).encode()


def error_of(raw: bytes) -> StateError:
    with pytest.raises(StateError) as info:
        parse_state(raw, source=SRC)
    return info.value


def test_round_trip_is_exact():
    state = sample_state()
    raw = dump_state(state)
    back = parse_state(raw, source=SRC)
    assert back.resources == state.resources
    assert (back.stack, back.lineage, back.serial) == (state.stack, state.lineage, state.serial)
    assert back.tool_version == "0.1.0"
    assert dump_state(back) == raw


def test_dump_is_stable_sorted_indented_with_trailing_newline():
    raw = dump_state(sample_state())
    assert raw.endswith(b"}\n")
    assert raw.startswith(b'{\n  "engine": null,\n  "format_version": 1,\n  "lineage"')
    assert raw == (json.dumps(json.loads(raw), sort_keys=True, indent=2) + "\n").encode()
    assert "message" not in json.loads(raw)["resources"]["trainer"]


def test_truncated_file_names_line_offset_and_backups():
    raw = dump_state(sample_state())
    err = error_of(raw[:100])
    assert err.message == (f"state file {SRC} is truncated or corrupt: the JSON ends early at "
                           f"line 5, column 5 (byte offset 100, the end of the file)")
    assert error_of(raw[:-3]).message.startswith(f"state file {SRC} is truncated or corrupt: the JSON ends early")
    assert f"{SRC}.1" in err.hint and "left untouched" in err.hint


def test_corrupt_middle_names_exact_position():
    err = error_of(b'{"a": 1,\n "b": x}')
    assert err.message == (f"state file {SRC} is truncated or corrupt: invalid JSON at line 2, "
                           f"column 7 (byte offset 15): Expecting value")


def test_empty_file():
    assert error_of(b"").message == f"state file {SRC} is empty (truncated or corrupt)"
    assert error_of(b"  \n").message == f"state file {SRC} is empty (truncated or corrupt)"


def test_not_utf8_names_the_byte_offset():
    err = error_of(b'{"stack": "\xff"}')
    assert err.message == (f"state file {SRC} is truncated or corrupt: not UTF-8 text "
                           f"(invalid byte at offset 11)")


def test_byte_offset_counts_bytes_not_characters():
    err = error_of('{"é": 1,, }'.encode())
    assert "byte offset 9" in err.message  # "é" is two bytes


def test_top_level_must_be_an_object():
    assert error_of(b"[1]").message == (f"state file {SRC} is invalid: expected a JSON object at the "
                                        f"top level, got array")


def test_missing_keys_all_reported():
    err = error_of(doc(lineage=KeyError, serial=KeyError))
    assert err.message == (f"state file {SRC} is invalid (2 problems):\n"
                           f"  - missing key 'lineage'\n  - missing key 'serial'")


def test_newer_format_is_refused_before_anything_else():
    raw = json.dumps({"format_version": FORMAT_VERSION + 1, "tool_version": "9.0.0",
                      "whatever": []}).encode()
    err = error_of(raw)
    assert err.message == (f"state file {SRC} was written by a newer tpdeclare 9.0.0 "
                           f"(format {FORMAT_VERSION + 1}); this tpdeclare reads format "
                           f"{FORMAT_VERSION} at most")
    assert err.hint.startswith("upgrade tpdeclare")


@pytest.mark.parametrize("value", ["1", 0, True, None, 1.0])
def test_bad_format_version(value):
    err = error_of(doc(format_version=value))
    assert "format_version: expected a positive integer" in err.message


def test_unknown_status():
    err = error_of(record_doc(status="bogus"))
    assert err.message == (f"state file {SRC} is invalid: resources.trainer.status: unknown status "
                           f"'bogus' (expected one of {', '.join(STATUSES)})")


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"status": 3}, "resources.trainer.status: expected a string, got integer"),
        ({"name": None}, "resources.trainer.name: expected a string, got null"),
        ({"spec": []}, "resources.trainer.spec: expected an object, got array"),
        ({"cluster_id": 5}, "resources.trainer.cluster_id: expected a string or null, got integer"),
        ({"instance_ids": "i-1"}, "resources.trainer.instance_ids: expected an array, got string"),
        ({"instance_ids": ["i-1", 2]}, "resources.trainer.instance_ids[1]: expected a string, got integer"),
        ({"spec": KeyError}, "resources.trainer: missing key 'spec'"),
        ({"colour": "red"}, "resources.trainer: unknown key 'colour' (written by a newer tpdeclare?)"),
    ],
)
def test_wrong_record_types(changes, problem):
    assert error_of(record_doc(**changes)).message == f"state file {SRC} is invalid: {problem}"


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"serial": "3"}, "serial: expected a non-negative integer, got '3'"),
        ({"serial": True}, "serial: expected a non-negative integer, got True"),
        ({"serial": -1}, "serial: expected a non-negative integer, got -1"),
        ({"stack": ""}, "stack: expected a non-empty string, got ''"),
        ({"resources": []}, "resources: expected an object, got array"),
        ({"extra": 1}, "unknown top-level key 'extra' (written by a newer tpdeclare?)"),
    ],
)
def test_wrong_top_level_types(changes, problem):
    assert error_of(doc(**changes)).message == f"state file {SRC} is invalid: {problem}"


def test_record_not_an_object():
    data = json.loads(dump_state(sample_state()))
    data["resources"]["trainer"] = "ready"
    err = error_of(json.dumps(data).encode())
    assert err.message == f"state file {SRC} is invalid: resources.trainer: expected an object, got string"


def test_duplicate_address_is_refused():
    raw = b'{"resources": {"a": {}, "a": {}}}'
    assert error_of(raw).message == f"state file {SRC} is corrupt: duplicate key 'a'"


def test_nan_is_refused():
    assert "NaN is not allowed" in error_of(b'{"serial": NaN}').message


def test_many_problems_reported_at_once():
    data = json.loads(dump_state(sample_state()))
    data["resources"]["trainer"]["status"] = "x"
    data["resources"]["notebook"]["spec"] = 1
    data["serial"] = "s"
    err = error_of(json.dumps(data).encode())
    assert "(3 problems)" in err.message


texts = st.text(max_size=12)
opt_text = st.none() | texts
json_leaf = st.none() | st.booleans() | st.integers(-10**6, 10**6) | texts
records = st.builds(
    lambda status, name, spec, cid, ids, rid, iid, ca, ua, msg: dict(
        status=status, name=name, spec=spec, cluster_id=cid, instance_ids=ids, request_id=rid,
        intent_id=iid, created_at=ca, updated_at=ua, message=msg),
    st.sampled_from(STATUSES), texts,
    st.dictionaries(texts, json_leaf | st.lists(json_leaf, max_size=3), max_size=4),
    opt_text, st.lists(texts, max_size=3), opt_text, opt_text, opt_text, opt_text, opt_text,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True), records, max_size=5),
       st.integers(0, 10**9))
def test_round_trip_property(resources, serial):
    state = State(stack="s", serial=serial,
                  resources={a: Record(address=a, **fields) for a, fields in resources.items()})
    raw = dump_state(state)
    back = parse_state(raw, source=SRC)
    assert back.resources == state.resources
    assert back.serial == serial and back.lineage == state.lineage
    assert dump_state(back) == raw
