"""Tests for tpdeclare.state.codec: parsing, the rules of every record, the words, and both read paths agreeing."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tpdeclare.errors import StateError
from tpdeclare.state import codec, fast_read, rules
from tpdeclare.state.codec import dump_state, parse_state
from tpdeclare.state.model import FORMAT_VERSION, STATUSES, Record, State
from tpdeclare.state.strict_json import MAX_DEPTH, decode

from state_records import KEY, record, set_at, spec_of

SRC = "state/research.json"
RM_TRAINER = "[fix: `tpdeclare state rm trainer`]"


def sample_state() -> State:
    return State(
        stack="research",
        lineage="8f1c0000-0000-4000-8000-000000000001",
        serial=12,
        resources={
            "trainer": Record(
                address="trainer", status="ready", name="research-trainer",
                spec=spec_of(instance_type="8xH200", num_nodes=2, name="research-trainer",
                             deletion_protection=True, public_keys=["ssh-ed25519 AAAA alice"]),
                cluster_id="c-1", instance_ids=["i-1", "i-2"], request_id="r-1",
                intent_id="in-1", created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:01:00Z",
            ),
            "notebook": record("notebook", "tainted", name="nbé ✓", message="provisioning FAILED: no capacity"),
        },
    )


def sample_doc() -> dict:
    return json.loads(dump_state(sample_state()))


def doc(**changes) -> bytes:
    data = sample_doc()
    for key, value in changes.items():
        if value is KeyError:
            del data[key]
        else:
            data[key] = value
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


# -- JSON that cannot be read -----------------------------------------------------------------------


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


@pytest.mark.parametrize("raw, where", [
    (b"[" * 100_000, "line 1, column 65 (byte offset 64)"),  # the 65th opening bracket
    (b'{"a":' * 50_000, "line 1, column 321 (byte offset 320)"),
    (b'{"resources": ' + b'{"x": [' * 5000, "line 1, column 238 (byte offset 237)"),
    (b'["[[[[", ' + b"[" * 5000, "line 1, column 73 (byte offset 72)"),  # brackets in a string do not count
])
def test_deep_nesting_is_a_corrupt_file_not_a_crash(raw, where):
    err = error_of(raw)
    assert err.message == (f"state file {SRC} is corrupt: arrays or objects nested more than {MAX_DEPTH} "
                           f"levels deep at {where}")
    assert "left untouched" in err.hint


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(constant):
    assert error_of(doc().replace(b'"serial": 12', f'"serial": {constant}'.encode())).message == (
        f"state file {SRC} is corrupt: {constant} is not allowed in a state file")


def test_a_number_with_too_many_digits():
    err = error_of(doc().replace(b'"serial": 12', b'"serial": ' + b"9" * 5000))
    assert err.message == f"state file {SRC} is corrupt: a number has too many digits to read"


def test_top_level_must_be_an_object():
    assert error_of(b"[1]").message == (f"state file {SRC} is invalid: expected a JSON object at the "
                                        f"top level, got array [fix: restore a backup]")


# -- the document -----------------------------------------------------------------------------------


def test_missing_keys_all_reported():
    err = error_of(doc(lineage=KeyError, serial=KeyError))
    assert err.message == f"state file {SRC} is invalid: missing keys 'lineage', 'serial' [fix: restore a backup]"


def test_newer_format_is_refused_before_anything_else():
    raw = json.dumps({"format_version": FORMAT_VERSION + 1, "tool_version": "9.0.0", "whatever": []}).encode()
    err = error_of(raw)
    assert err.message == (f"state file {SRC} was written by a newer tpdeclare 9.0.0 "
                           f"(format {FORMAT_VERSION + 1}); this tpdeclare reads format "
                           f"{FORMAT_VERSION} at most")
    assert err.hint.startswith("upgrade tpdeclare")


@pytest.mark.parametrize("value", ["1", 0, True, None, 1.0])
def test_bad_format_version(value):
    err = error_of(doc(format_version=value))
    assert "format_version: expected a positive integer" in err.message


@pytest.mark.parametrize("changes, problem", [
    ({"serial": "3"}, "serial: expected a non-negative integer, got string '3'"),
    ({"serial": True}, "serial: expected a non-negative integer, got boolean"),
    ({"serial": -1}, "serial: expected a non-negative integer, got integer -1"),
    ({"serial": 1.5}, "serial: expected a non-negative integer, got number 1.5"),
    ({"stack": ""}, "stack: expected a stack name (lowercase letters, digits and hyphens), got string ''"),
    ({"stack": "Research"}, "stack: expected a stack name (lowercase letters, digits and hyphens), got string "
                            "'Research'"),
    ({"lineage": "a/b"}, "lineage: expected a lineage ID (letters, digits, '-' and '_'), got string 'a/b'"),
    ({"lineage": 7}, "lineage: expected a lineage ID (letters, digits, '-' and '_'), got integer 7"),
    ({"engine": ""}, "engine: expected an engine URL or 'sandbox' or null, got string ''"),
    ({"engine": "http://x\n"}, "engine: expected an engine URL or 'sandbox' or null, got string 'http://x\\n'"),
    ({"tool_version": 1}, "tool_version: expected a string, got integer 1"),
    ({"resources": []}, "resources: expected an object, got array"),
    ({"extra": 1}, "unknown top-level key 'extra' (written by a newer tpdeclare?)"),
])
def test_wrong_top_level_values(changes, problem):
    assert error_of(doc(**changes)).message == f"state file {SRC} is invalid: {problem} [fix: restore a backup]"


# -- every record field -----------------------------------------------------------------------------

P = "resources.trainer"
RECORD_CASES = [
    # (path of the value to change, new value or KeyError to delete it, the problem reported)
    ("status", "bogus", f"{P}.status: unknown status 'bogus' (expected one of {', '.join(STATUSES)})"),
    ("status", 3, f"{P}.status: expected a string, got integer 3"),
    ("status", ["ready"], f"{P}.status: expected a string, got array"),
    ("status", "READY", f"{P}.status: unknown status 'READY' (expected one of {', '.join(STATUSES)})"),
    ("status", KeyError, f"{P}: missing key 'status'"),
    ("name", None, f"{P}.name: expected a non-empty string of printable characters, got null"),
    ("name", "", f"{P}.name: expected a non-empty string of printable characters, got string ''"),
    ("name", "a\nb", f"{P}.name: expected a non-empty string of printable characters, got string 'a\\nb'"),
    ("name", "x\x1b[31m", f"{P}.name: expected a non-empty string of printable characters, got string "
                          f"'x\\x1b[31m'"),
    ("spec", [], f"{P}.spec: expected an object, got array"),
    ("spec", KeyError, f"{P}: missing key 'spec'"),
    ("cluster_id", 5, f"{P}.cluster_id: expected an engine ID (letters, digits, '-' and '_', at most 128) or "
                      f"null, got integer 5"),
    ("cluster_id", "../../x", f"{P}.cluster_id: expected an engine ID (letters, digits, '-' and '_', at most "
                              f"128) or null, got string '../../x'"),
    ("cluster_id", "c-1?x=y", f"{P}.cluster_id: expected an engine ID (letters, digits, '-' and '_', at most "
                              f"128) or null, got string 'c-1?x=y'"),
    ("cluster_id", "c" * 129, f"{P}.cluster_id: expected an engine ID (letters, digits, '-' and '_', at most "
                              f"128) or null, got string {repr('c' * 129)[:60]}…"),
    ("cluster_id", None, f"{P}.cluster_id: a 'ready' record needs its cluster_id, got null"),
    ("request_id", "r 1", f"{P}.request_id: expected an engine ID (letters, digits, '-' and '_', at most 128) "
                          f"or null, got string 'r 1'"),
    ("intent_id", "", f"{P}.intent_id: expected an engine ID (letters, digits, '-' and '_', at most 128) or "
                      f"null, got string ''"),
    ("instance_ids", "i-1", f"{P}.instance_ids: expected an array, got string 'i-1'"),
    ("instance_ids", ["i-1", 2], f"{P}.instance_ids[1]: expected an engine ID (letters, digits, '-' and '_', at "
                                 f"most 128) or null, got integer 2"),
    ("instance_ids", ["i/1"], f"{P}.instance_ids[0]: expected an engine ID (letters, digits, '-' and '_', at "
                              f"most 128) or null, got string 'i/1'"),
    ("created_at", "2026-01-01T00:00:00", f"{P}.created_at: expected an RFC 3339 time with a timezone, like "
                                          f"2026-11-26T10:00:00Z, or null, got string '2026-01-01T00:00:00'"),
    ("created_at", "2026-02-30T00:00:00Z", f"{P}.created_at: expected an RFC 3339 time with a timezone, like "
                                           f"2026-11-26T10:00:00Z, or null, got string '2026-02-30T00:00:00Z'"),
    ("updated_at", "yesterday", f"{P}.updated_at: expected an RFC 3339 time with a timezone, like "
                                f"2026-11-26T10:00:00Z, or null, got string 'yesterday'"),
    ("updated_at", 1700000000, f"{P}.updated_at: expected an RFC 3339 time with a timezone, like "
                               f"2026-11-26T10:00:00Z, or null, got integer 1700000000"),
    ("updated_at", "2026-01-01T24:00:00Z", f"{P}.updated_at: expected an RFC 3339 time with a timezone, like "
                                           f"2026-11-26T10:00:00Z, or null, got string '2026-01-01T24:00:00Z'"),
    ("message", 1, f"{P}.message: expected a string or null, got integer 1"),
    ("colour", "red", f"{P}: unknown key 'colour' (written by a newer tpdeclare?)"),
    ("address", "trainer", f"{P}: unknown key 'address' (written by a newer tpdeclare?)"),
    # The spec: what the planner compares with the desired cluster.
    ("spec.num_nodes", "2", f"{P}.spec.num_nodes: expected an integer of at least 1, got string '2'"),
    ("spec.num_nodes", 2.0, f"{P}.spec.num_nodes: expected an integer of at least 1, got number 2.0"),
    ("spec.num_nodes", True, f"{P}.spec.num_nodes: expected an integer of at least 1, got boolean"),
    ("spec.num_nodes", 0, f"{P}.spec.num_nodes: expected an integer of at least 1, got integer 0"),
    ("spec.num_nodes", None, f"{P}.spec.num_nodes: expected an integer of at least 1, got null"),
    ("spec.num_nodes", KeyError, f"{P}.spec: missing key 'num_nodes'"),
    ("spec.instance_type", "8xh200 ", f"{P}.spec.instance_type: expected an instance type like 8xH200, got "
                                      f"string '8xh200 '"),
    ("spec.instance_type", "100000000000000000000xH100", f"{P}.spec.instance_type: expected an instance type "
                                                         f"like 8xH200, got string '100000000000000000000xH100'"),
    ("spec.instance_type", 8, f"{P}.spec.instance_type: expected an instance type like 8xH200, got integer 8"),
    ("spec.name", 1, f"{P}.spec.name: expected a non-empty string of printable characters, got integer 1"),
    ("spec.container", "", f"{P}.spec.container: expected a container image without spaces (at most 512 "
                           f"characters) or null, got string ''"),
    ("spec.container", "a b", f"{P}.spec.container: expected a container image without spaces (at most 512 "
                              f"characters) or null, got string 'a b'"),
    ("spec.container", False, f"{P}.spec.container: expected a container image without spaces (at most 512 "
                              f"characters) or null, got boolean"),
    ("spec.deletion_protection", "true", f"{P}.spec.deletion_protection: expected true or false, got string "
                                         f"'true'"),
    ("spec.deletion_protection", 1, f"{P}.spec.deletion_protection: expected true or false, got integer 1"),
    ("spec.prevent_destroy", None, f"{P}.spec.prevent_destroy: expected true or false, got null"),
    ("spec.prevent_destroy", KeyError, f"{P}.spec: missing key 'prevent_destroy'"),
    ("spec.public_keys", KEY, f"{P}.spec.public_keys: expected an array, got string {repr(KEY)[:60]}…"),
    ("spec.public_keys", [KEY + "\nssh-ed25519 AAAA mallory"],
     f"{P}.spec.public_keys[0]: expected one OpenSSH public key on one line (<type> <key> [comment]), got "
     f"string {repr(KEY + chr(10) + 'ssh-ed25519 AAAA mallory')[:60]}…"),
    ("spec.public_keys", [1], f"{P}.spec.public_keys[0]: expected one OpenSSH public key on one line (<type> "
                              f"<key> [comment]), got integer 1"),
    ("spec.public_keys", ["not a key"], f"{P}.spec.public_keys[0]: expected one OpenSSH public key on one line "
                                        f"(<type> <key> [comment]), got string 'not a key'"),
    ("spec.lifetime", "8h", f"{P}.spec: unknown key 'lifetime'"),
]


def changed(path: str, value) -> bytes:
    data = sample_doc()
    target = data["resources"]["trainer"]
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return json.dumps(data, indent=2).encode()


@pytest.mark.parametrize("path, value, problem", RECORD_CASES, ids=[f"{c[0]}={c[1]!r}"[:40] for c in RECORD_CASES])
def test_every_record_field_is_checked(path, value, problem):
    err = error_of(changed(path, value))
    assert err.message.replace("\\\\", "\\") == f"state file {SRC} is invalid: {problem} {RM_TRAINER}"
    assert isinstance(err, codec.StateFileError) and err.damaged == ("trainer",)


@pytest.mark.parametrize("address", ["Trainer", "", "a b", "-x", "x" * 64, "../etc", "tr\u00e4iner"])
def test_addresses_keep_the_grammar(address):
    data = sample_doc()
    data["resources"][address] = data["resources"].pop("trainer")
    err = error_of(json.dumps(data).encode())
    path = rules.child("resources", address)
    assert f"{path}: the address is not valid: lowercase letters, digits and hyphens, starting with a letter, " \
           f"at most 63 [fix: restore a backup]" in err.message  # no command line should carry such an address
    assert "state rm" not in err.message and err.damaged == ()


def test_one_cluster_at_two_addresses_is_refused():
    data = sample_doc()
    data["resources"]["notebook"]["cluster_id"] = "c-1"
    err = error_of(json.dumps(data).encode())
    assert err.message == (f"state file {SRC} is invalid: resources.trainer.cluster_id: c-1 is also the "
                           f"cluster_id of resources.notebook; one cluster belongs to one address {RM_TRAINER}")


def test_many_problems_reported_at_once():
    data = sample_doc()
    data["resources"]["trainer"]["status"] = "x"
    data["resources"]["trainer"]["spec"]["num_nodes"] = "2"
    data["resources"]["notebook"]["spec"] = 1
    data["serial"] = "s"
    err = error_of(json.dumps(data).encode())
    assert err.message.splitlines() == [
        f"state file {SRC} is invalid (4 problems):",
        "  - serial: expected a non-negative integer, got string 's' [fix: restore a backup]",
        "  - resources.notebook.spec: expected an object, got integer 1 [fix: `tpdeclare state rm notebook`]",
        f"  - resources.trainer.status: unknown status 'x' (expected one of {', '.join(STATUSES)}) {RM_TRAINER}",
        f"  - resources.trainer.spec.num_nodes: expected an integer of at least 1, got string '2' {RM_TRAINER}",
    ]
    assert err.damaged == ("notebook", "trainer")


@pytest.mark.parametrize("text, problem", [
    (b'{"resources": {"trainer": {}, "trainer": {}}', "resources: duplicate key 'trainer' (two records at one "
                                                     "address) [fix: `tpdeclare state rm trainer`]"),
    (b'"serial": 12', "duplicate key 'serial' [fix: restore a backup]"),
    (b'"num_nodes": 2', f"{P}.spec: duplicate key 'num_nodes' {RM_TRAINER}"),
    (b'"status": "ready"', f"{P}: duplicate key 'status' {RM_TRAINER}"),
])
def test_duplicate_keys_are_found_wherever_they_are(text, problem):
    raw = dump_state(sample_state())
    if text.startswith(b'{"resources"'):
        raw = raw.replace(b'"resources": {', b'"resources": {\n    "trainer": {},', 1)
    else:
        raw = raw.replace(text, text + b", " + text, 1)
    assert json.loads(raw) is not None  # valid JSON: only a duplicate key is wrong
    assert problem in error_of(raw).message


# -- the fast path agrees with the careful one ------------------------------------------------------

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True)
texts = st.text(min_size=1, max_size=12).filter(str.isprintable)
times = st.sampled_from(["2026-01-01T00:00:00Z", "2024-02-29T23:59:59.123+05:30", "2026-11-26T10:00:00-08:00"])
SPEC_FIELDS = ("instance_type", "num_nodes", "name", "container", "deletion_protection", "public_keys",
               "prevent_destroy")
specs = st.fixed_dictionaries({
    "instance_type": st.sampled_from(["1xH100", "8xH200", "32xCPU"]), "num_nodes": st.integers(1, 64),
    "name": texts, "container": st.none() | st.sampled_from(["nvcr.io/nvidia/pytorch:25.01-py3", "a:b\"c"]),
    "deletion_protection": st.booleans(), "public_keys": st.lists(st.sampled_from([KEY, 'ssh-rsa AAA "x"']),
                                                                 max_size=2),
    "prevent_destroy": st.booleans()})
records = st.fixed_dictionaries({
    "status": st.sampled_from(STATUSES), "name": texts, "spec": specs, "cluster_id": ids,
    "instance_ids": st.lists(ids, max_size=3), "request_id": st.none() | ids, "intent_id": st.none() | ids,
    "created_at": st.none() | times, "updated_at": st.none() | times}, optional={"message": st.none() | texts})
documents = st.fixed_dictionaries({
    "format_version": st.just(1), "tool_version": st.just("0.1.0"), "stack": st.just("s"),
    "engine": st.none() | st.just("http://127.0.0.1:8080"), "lineage": ids, "serial": st.integers(0, 10**6),
    "resources": st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True), records, max_size=6)})


def unique_clusters(document: dict) -> dict:
    for i, data in enumerate(document["resources"].values()):
        data["cluster_id"] += f"-{i}"
    return document


@settings(max_examples=200, deadline=None)
@given(documents.map(unique_clusters))
def test_the_fast_path_reads_what_the_careful_path_reads(document):
    raw = json.dumps(document, indent=2, ensure_ascii=False).encode()
    careful = codec._parse_carefully(raw, SRC, frozenset())
    assert parse_state(raw, source=SRC) == careful
    fast = fast_read.read_fast(decode(raw, source=SRC, what="state file", hint=""), raw)
    assert fast is None or fast == careful
    canonical = dump_state(careful)
    fast = fast_read.read_fast(decode(canonical, source=SRC, what="state file", hint=""), canonical)
    expiries = any(r["status"] == "expired" for r in document["resources"].values())
    if b'\\"' not in canonical and not expiries:  # what tpdeclare writes takes the fast path (unless a string
        assert fast == careful                    # holds a quote, or the state remembers an expiry)
    assert dump_state(parse_state(canonical, source=SRC)) == canonical


@pytest.mark.parametrize("values", [["a\nb"], ["c-1\nc-2"], ["", "x"], ["x", "y\n"]])
def test_a_value_holding_a_newline_cannot_pass_for_two(values):
    assert not fast_read.lines_match(fast_read.ID_LINES, values, fast_read.Strings())
    assert fast_read.lines_match(fast_read.ID_LINES, ["a", "b"], fast_read.Strings())


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", fullmatch=True)
       | st.text(alphabet="0123456789-T:Z", min_size=20, max_size=20))
def test_the_fast_time_check_is_the_timestamp_rule(value):
    assert fast_read.times([value], fast_read.Strings()) == rules.is_timestamp(value)


leaves = (st.none() | st.booleans() | st.integers(-3, 70) | st.floats(allow_nan=False, allow_infinity=False) | texts
          | st.just([]) | st.just({})
          | st.sampled_from(["2026-02-30T00:00:00Z", "1xH100", "c-1", "pending", "a\nb", KEY + "\nx"]))


@settings(max_examples=300, deadline=None)
@given(documents.map(unique_clusters), st.lists(st.tuples(st.integers(0, 40), leaves | st.just(KeyError)),
                                                 min_size=1, max_size=3))
def test_the_fast_path_never_accepts_what_the_careful_path_refuses(document, damage):
    paths = [("resources", a, k) for a in document["resources"] for k in document["resources"][a]]
    paths += [("resources", a, "spec", k) for a in document["resources"] for k in SPEC_FIELDS] \
        if document["resources"] else []
    paths += [(k,) for k in document]
    damaged = copy.deepcopy(document)
    for index, value in damage:
        set_at(damaged, paths[index % len(paths)], value)
    raw = json.dumps(damaged).encode()
    fast = fast_read.read_fast(decode(raw, source=SRC, what="state file", hint=""), raw)
    if fast is not None:
        assert rules.check_document(json.loads(raw)) == []
        assert fast == codec._parse_carefully(raw, SRC, frozenset())


def test_records_the_fast_path_builds_are_real_records():
    state = parse_state(dump_state(sample_state()), source=SRC)
    trainer = state.resources["trainer"]
    assert trainer == sample_state().resources["trainer"] and hash(trainer.status) == hash("ready")
    assert trainer.instance_ids == ("i-1", "i-2") and type(trainer.instance_ids) is tuple
    assert type(trainer.status).__name__ == "RecordStatus"


def test_dropping_leaves_a_damaged_record_out():
    raw = changed("spec.num_nodes", "2")
    state = parse_state(raw, source=SRC, dropping={"trainer"})
    assert set(state.resources) == {"notebook"}
    with pytest.raises(StateError, match="serial: expected"):  # only that record's damage is forgiven
        parse_state(raw.replace(b'"serial": 12', b'"serial": -1'), source=SRC, dropping={"trainer"})


def test_a_state_that_would_not_read_back_is_found_before_writing():
    bad = State(stack="s", resources={"a": record("a", spec=spec_of(num_nodes="2"))})
    assert [str(p) for p in codec.state_problems(bad)] == [
        "resources.a.spec.num_nodes: expected an integer of at least 1, got string '2'"]
    assert codec.state_problems(sample_state()) == []
