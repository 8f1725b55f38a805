"""The volumes' fast read (tpdeclare.state.fast_volumes) against the careful one: it reads what the careful path
reads, takes what dump_state writes, and never accepts a document the careful path refuses."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tpdeclare.state import codec, fast_read, fast_volumes, rules
from tpdeclare.state.codec import dump_state, parse_state
from tpdeclare.state.strict_json import decode

from state_records import KEY, set_at

SRC = "state/st.json"
ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,12}", fullmatch=True)
addresses = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
texts = st.text(alphabet="abcXYZ é✓-_:/\"\\ 0123", min_size=1, max_size=10)
times = st.sampled_from(["2026-01-01T00:00:00Z", "2024-02-29T23:59:59.5+05:30", "2026-11-26T10:00:00-08:00"])
VOLUME_STATUSES = ("pending", "creating", "ready", "deleting", "tainted")
volume_specs = st.fixed_dictionaries({
    "size_gb": st.integers(1, 4000), "name": texts, "deletion_protection": st.booleans(),
    "prevent_destroy": st.booleans()})
volumes = st.fixed_dictionaries({
    "status": st.sampled_from(VOLUME_STATUSES), "name": texts, "spec": volume_specs, "storage_id": ids,
    "attached": st.dictionaries(addresses, ids, max_size=3), "request_id": st.none() | ids,
    "intent_id": st.none() | ids, "created_at": st.none() | times, "updated_at": st.none() | times},
    optional={"message": st.none() | texts})
CLUSTER = {"status": "ready", "name": "st-trainer", "cluster_id": "c-1", "instance_ids": ["i-1"], "request_id": "r-1",
           "intent_id": "n-1", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
           "spec": {"instance_type": "8xH200", "num_nodes": 1, "name": "st-trainer", "container": None,
                    "deletion_protection": False, "public_keys": [KEY], "prevent_destroy": False}}
documents = st.fixed_dictionaries({
    "format_version": st.just(1), "tool_version": st.just("0.1.0"), "stack": st.just("st"), "engine": st.none(),
    "lineage": st.just("l-1"), "serial": st.integers(0, 99), "resources": st.just({"trainer": CLUSTER}),
    "volumes": st.dictionaries(addresses, volumes, min_size=1, max_size=5)})
VOLUME_FIELDS = ("status", "name", "spec", "storage_id", "attached", "request_id", "intent_id", "created_at",
                 "updated_at", "message")
SPEC_FIELDS = ("size_gb", "name", "deletion_protection", "prevent_destroy")


def unique_volumes(document: dict) -> dict:
    for i, data in enumerate(document["volumes"].values()):
        data["storage_id"] += f"-{i}"
    return document


def fast(raw: bytes):
    return fast_read.read_fast(decode(raw, source=SRC, what="state file", hint=""), raw)


@settings(max_examples=200, deadline=None)
@given(documents.map(unique_volumes))
def test_the_fast_volume_path_reads_what_the_careful_path_reads(document):
    raw = json.dumps(document, indent=2, ensure_ascii=False).encode()
    careful = codec._parse_carefully(raw, SRC, frozenset())
    assert parse_state(raw, source=SRC) == careful
    read = fast(raw)
    assert read is None or read == careful
    canonical = dump_state(careful)
    columns = fast_volumes.volume_records(json.loads(canonical)["volumes"], fast_read.Strings())
    noted = any("message" in v for v in json.loads(canonical)["volumes"].values())
    if not noted:  # dump_state's layout is read a column at a time, to the same records
        assert columns == careful.volumes
    if b'\\"' not in canonical:
        assert fast(canonical) == careful
    # a stamped document's volumes (no rule checked), in dump_state's layout and in another (its keys reversed)
    for raw_doc in (canonical, json.dumps({**document, "volumes": {a: dict(reversed(v.items())) for a, v in
                                                                   document["volumes"].items()}}).encode()):
        doc = decode(raw_doc, source=SRC, what="state file", hint="")
        assert fast_read.read_trusted(doc) == careful
        same_bytes = codec._parse_carefully(raw_doc, SRC, frozenset())  # its dicts' key order too
        assert repr(fast_volumes.trusted_volumes(doc["volumes"])) == repr(same_bytes.volumes)


leaves = (st.none() | st.booleans() | st.integers(-3, 70) | st.floats(allow_nan=False, allow_infinity=False) | texts
          | st.just([]) | st.just({}) | st.just({"Bad Address": "c-1"}) | st.just({"trainer": None})
          | st.sampled_from(["2026-02-30T00:00:00Z", "expired", "s-0", "pending", "a\nb", "bad id"]))


@settings(max_examples=400, deadline=None)
@given(documents.map(unique_volumes), st.lists(st.tuples(st.integers(0, 60), leaves | st.just(KeyError)),
                                                min_size=1, max_size=3))
def test_the_fast_volume_path_never_accepts_what_the_careful_path_refuses(document, damage):
    paths = [("volumes", a, k) for a in document["volumes"] for k in VOLUME_FIELDS]
    paths += [("volumes", a, "spec", k) for a in document["volumes"] for k in SPEC_FIELDS]
    paths += [("volumes", a, "attached", c) for a in document["volumes"] for c in document["volumes"][a]["attached"]]
    damaged = copy.deepcopy(document)
    for index, value in damage:
        set_at(damaged, paths[index % len(paths)], value)
    for raw in (json.dumps(damaged).encode(), json.dumps(damaged, sort_keys=True, indent=2).encode()):
        read = fast(raw)
        if read is not None:
            assert rules.check_document(json.loads(raw)) == []
            assert read == codec._parse_carefully(raw, SRC, frozenset())


def test_a_storage_id_at_two_addresses_is_left_to_the_careful_path():
    doc = {"a": dict(copy.deepcopy(CLUSTER_VOLUME)), "b": dict(copy.deepcopy(CLUSTER_VOLUME))}
    assert fast_volumes.volume_records(doc, fast_read.Strings()) is None
    doc["b"]["storage_id"] = "s-2"
    assert set(fast_volumes.volume_records(doc, fast_read.Strings()) or ()) == {"a", "b"}


CLUSTER_VOLUME = {"attached": {"trainer": "c-1"}, "created_at": None, "intent_id": None, "name": "st-a",
                  "request_id": None, "spec": {"deletion_protection": False, "name": "st-a", "prevent_destroy": False,
                                               "size_gb": 10}, "status": "ready", "storage_id": "s-1",
                  "updated_at": "2026-01-01T00:00:00Z"}


def _set(path: str, value):
    return lambda volume: set_at(volume, path.split("."), value)


DAMAGES = {
    "size 0": _set("spec.size_gb", 0), "size true": _set("spec.size_gb", True), "size text": _set("spec.size_gb", "9"),
    "spec name empty": _set("spec.name", ""), "spec name newline": _set("spec.name", "a\nb"),
    "protection 1": _set("spec.deletion_protection", 1), "prevent null": _set("spec.prevent_destroy", None),
    "spec key missing": _set("spec.name", KeyError), "spec key extra": _set("spec.size_tb", 1),
    "name empty": _set("name", ""), "name number": _set("name", 5), "name escape": _set("name", "a\x1b[2J"),
    "status expired": _set("status", "expired"), "status list": _set("status", []), "status word": _set("status", "x"),
    "storage_id bad": _set("storage_id", "bad id"), "storage_id null when ready": _set("storage_id", None),
    "request_id number": _set("request_id", 5), "intent_id newline": _set("intent_id", "a\nb"),
    "created_at 30 February": _set("created_at", "2026-02-30T00:00:00Z"), "updated_at text": _set("updated_at", "x"),
    "attached list": _set("attached", []), "attached bad address": _set("attached", {"Bad": "c-1"}),
    "attached null id": _set("attached", {"trainer": None}), "attached bad id": _set("attached", {"trainer": "a b"}),
    "key extra": _set("size_gb", 1), "key missing": _set("spec", KeyError), "message number": _set("message", 5),
}


@pytest.mark.parametrize("case", DAMAGES)
def test_the_fast_volume_path_refuses_each_broken_rule(case):
    volumes = {"a": copy.deepcopy(CLUSTER_VOLUME), "b": {**copy.deepcopy(CLUSTER_VOLUME), "storage_id": "s-2"}}
    assert fast_volumes.volume_records(volumes, fast_read.Strings()) is not None
    DAMAGES[case](volumes["b"])
    doc = {"format_version": 1, "tool_version": "0.1.0", "stack": "st", "engine": None, "lineage": "l-1",
           "serial": 1, "resources": {}, "volumes": volumes}
    assert rules.check_document(doc) != []  # the careful path refuses it: so must the fast one
    assert fast_volumes.volume_records(json.loads(json.dumps(volumes)), fast_read.Strings()) is None
    raw = json.dumps(doc, sort_keys=True, indent=2).encode()
    assert fast(raw) is None
