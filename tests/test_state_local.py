"""Tests for tpdeclare.state.local: atomic snapshots, backups, the journal and refusals."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from tpdeclare.errors import StateError
from tpdeclare.state.codec import dump_state
from tpdeclare.state.journal import Change, ChangeOp, scan_journal
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import FORMAT_VERSION, Record, State

from state_records import record


def rec(address: str, status: str = "ready", **kw) -> Record:
    return record(address, status, **kw)


put, remove, move = Change.put, Change.remove, Change.move


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "research.json"


@pytest.fixture
def store(path: Path):
    s = LocalStateStore(path)
    yield s
    s.close()


def fingerprint(p: Path) -> tuple[bytes, int]:
    return p.read_bytes(), os.stat(p).st_mtime_ns


# -- snapshot ------------------------------------------------------------------------------------


def test_read_absent_is_none(store):
    assert store.read() is None
    assert store.raw() is None


def test_write_read_round_trip(store, path):
    state = State(stack="research", serial=3, resources={"a": rec("a", cluster_id="c-1")})
    store.write(state)
    back = store.read()
    assert back.resources == state.resources
    assert (back.stack, back.lineage, back.serial) == ("research", state.lineage, 3)
    assert store.raw() == dump_state(state) == path.read_bytes()


def test_modes_and_directory_created(store, path):
    store.write(State(stack="research", serial=1))
    store.write(State(stack="research", lineage=store.read().lineage, serial=2))
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    assert mode(store.backup_path(1)) == 0o600
    store.append([remove(3, "x")], stack="research", lineage=store.read().lineage)
    assert mode(store.journal_path) == 0o600


def test_existing_loose_file_mode_is_tightened(store, path):
    state = State(stack="research", serial=1)
    path.parent.mkdir(parents=True)
    path.write_bytes(dump_state(state))
    os.chmod(path, 0o644)
    state = replace(state, serial=2)
    store.write(state)
    assert mode(path) == 0o600 and mode(store.backup_path(1)) == 0o600


def test_crash_during_replace_leaves_old_file_and_no_temp(store, path, monkeypatch):
    state = State(stack="research", serial=1, resources={"a": rec("a")})
    store.write(state)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    state = replace(state, serial=2)
    state = replace(state, resources={**state.resources, "b": rec("b")})
    with pytest.raises(StateError) as info:
        store.write(state)
    assert info.value.message == f"cannot write state {path}: No space left on device"
    assert "left intact" in info.value.hint
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["research.json", "research.json.1"]


def test_crash_with_non_os_error_also_cleans_the_temp_file(store, path, monkeypatch):
    store.write(State(stack="research", serial=1))
    before = path.read_bytes()

    def killed(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.write(State(stack="research", lineage=store.read().lineage, serial=2))
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_numbered_backups_rotate(path):
    store = LocalStateStore(path, backups=3)
    state = State(stack="research")
    for serial in range(1, 8):
        state = replace(state, serial=serial)
        store.write(state)
    serial_of = lambda p: json.loads(p.read_bytes())["serial"]  # noqa: E731
    assert serial_of(path) == 7
    assert [serial_of(store.backup_path(n)) for n in (1, 2, 3)] == [6, 5, 4]
    assert not store.backup_path(4).exists()


def test_default_keeps_five_backups(store, path):
    state = State(stack="research")
    for serial in range(1, 10):
        state = replace(state, serial=serial)
        store.write(state)
    assert [json.loads(store.backup_path(n).read_bytes())["serial"] for n in range(1, 6)] == [8, 7, 6, 5, 4]
    assert not store.backup_path(6).exists()


def test_rewriting_identical_state_keeps_backups(store, path):
    state = State(stack="research", serial=1)
    store.write(state)
    store.write(state)
    assert not store.backup_path(1).exists()
    assert store.snapshots == 1


def test_backups_zero(path):
    store = LocalStateStore(path, backups=0)
    state = State(stack="research", serial=1)
    store.write(state)
    state = replace(state, serial=2)
    store.write(state)
    assert sorted(p.name for p in path.parent.iterdir()) == ["research.json"]


@pytest.mark.parametrize(
    "content, words",
    [
        (lambda good: good[: len(good) // 2], "is truncated or corrupt"),
        (lambda good: b"", "is empty"),
        (lambda good: good.replace(b'"format_version": 1', b'"format_version": 99'),
         "was written by a newer tpdeclare"),
        (lambda good: good.replace(b'"ready"', b'"zombie"'), "unknown status 'zombie'"),
    ],
)
def test_unreadable_file_is_refused_and_never_overwritten(store, path, content, words):
    state = State(stack="research", serial=1, resources={"a": rec("a")})
    store.write(state)
    path.write_bytes(content(path.read_bytes()))
    os.chmod(path, 0o600)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = fingerprint(path)
    fresh = LocalStateStore(path)
    with pytest.raises(StateError) as info:
        fresh.read()
    assert words in info.value.message and str(path) in info.value.message
    for writer in (fresh, LocalStateStore(path)):  # with and without a prior read
        state = replace(state, serial=5)
        with pytest.raises(StateError) as info:
            writer.write(state)
        assert info.value.message.startswith("refusing to overwrite the state: ")
        assert words in info.value.message
    assert fingerprint(path) == before
    assert not store.backup_path(1).exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["research.json"]


def test_newer_format_message(store, path):
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format_version": FORMAT_VERSION + 1, "tool_version": "2.0.0"}))
    with pytest.raises(StateError) as info:
        store.read()
    assert info.value.message == (f"state file {path} was written by a newer tpdeclare 2.0.0 "
                                  f"(format {FORMAT_VERSION + 1}); this tpdeclare reads format "
                                  f"{FORMAT_VERSION} at most")


def test_write_refuses_another_lineage_or_an_older_serial(store, path):
    state = State(stack="research", serial=5)
    store.write(state)
    before = fingerprint(path)
    with pytest.raises(StateError, match="belongs to stack 'research' \\(lineage"):
        LocalStateStore(path).write(State(stack="research", serial=9))
    with pytest.raises(StateError, match="it is at serial 5, newer than the serial 4"):
        LocalStateStore(path).write(State(stack="research", lineage=state.lineage, serial=4))
    assert fingerprint(path) == before


def test_write_refuses_a_file_changed_since_read(store, path):
    state = State(stack="research", serial=1)
    store.write(state)
    other = LocalStateStore(path)
    other_state = other.read()
    other_state = replace(other_state, serial=2)
    other.write(other_state)
    state = replace(state, serial=3)
    with pytest.raises(StateError, match="changed on disk since this run read it"):
        store.write(state)
    assert json.loads(path.read_bytes())["serial"] == 2


def test_content_hash_covers_snapshot_and_journal(store, path):
    state = State(stack="research", serial=1)
    store.write(state)
    h1 = store.content_hash()
    assert h1 == hashlib.sha256(path.read_bytes()).hexdigest()
    store.append([put(2, rec("a"))], stack="research", lineage=state.lineage)
    h2 = store.content_hash()
    assert h2 != h1
    assert h2 == hashlib.sha256(path.read_bytes() + store.journal_path.read_bytes()).hexdigest()


# -- journal -------------------------------------------------------------------------------------


def test_journal_replay(store, path):
    state = State(stack="research", serial=1, resources={"a": rec("a")})
    store.write(state)
    store.append([put(2, rec("b", "pending")), put(3, rec("b", "creating", cluster_id="c-b"))])
    store.append([remove(4, "a")])
    back = LocalStateStore(path).read()
    assert back.serial == 4
    assert back.resources == {"b": rec("b", "creating", cluster_id="c-b")}
    lines = store.journal_path.read_bytes().splitlines()
    assert len(lines) == 4 and json.loads(lines[0]) == {
        "format_version": 1, "journal": 1, "lineage": state.lineage, "stack": "research"}


def test_journal_move(store, path):
    store.append([put(1, rec("a", cluster_id="c-1")), move(2, "a", "b")], stack="research", lineage="L")
    back = LocalStateStore(path).read()
    assert back.resources == {"b": replace(rec("a", cluster_id="c-1"), address="b")}
    with pytest.raises(ValueError, match="malformed 'move' change"):
        Change(3, ChangeOp.MOVE, "b")  # a change is typed: a move without its target cannot be made


def test_write_folds_and_removes_the_journal(store, path):
    state = State(stack="research", serial=1)
    store.write(state)
    store.append([put(2, rec("b"))])
    current = store.read()
    store.write(current)
    assert not store.journal_path.exists()
    assert LocalStateStore(path).read().resources == {"b": rec("b")}
    store.append([put(3, rec("c"))])  # a fresh journal starts after a snapshot
    assert set(LocalStateStore(path).read().resources) == {"b", "c"}


def test_journal_without_snapshot(store, path):
    """The first apply crashed before any snapshot: the header alone rebuilds the identity."""
    store.append([put(1, rec("a", "pending"))], stack="research", lineage="L-1")
    store.close()
    assert not path.exists()
    back = LocalStateStore(path).read()
    assert (back.stack, back.lineage, back.serial) == ("research", "L-1", 1)
    assert back.resources == {"a": rec("a", "pending")}


def test_torn_final_line_is_dropped(store, path):
    store.append([put(1, rec("a")), put(2, rec("b"))], stack="research", lineage="L")
    good = store.journal_path.read_bytes()
    torn_line = json.dumps(put(3, rec("c")).to_json()).encode()
    for tail in (torn_line[:17], torn_line, b"\0\0\0\0", torn_line[:17] + b"\n"):
        store.journal_path.write_bytes(good + tail)
        back = LocalStateStore(path).read()
        assert back.serial == 2 and set(back.resources) == {"a", "b"}


def test_torn_header_only_means_no_state(path):
    path.parent.mkdir(parents=True)
    Path(f"{path}.journal").write_bytes(b'{"format_version":1,"lin')
    assert LocalStateStore(path).read() is None


def test_append_after_a_torn_tail_repairs_it(store, path):
    store.append([put(1, rec("a"))], stack="research", lineage="L")
    store.close()
    with open(store.journal_path, "ab") as f:
        f.write(b'{"serial": 2, "op": "pu')
    second = LocalStateStore(path)
    state = second.read()
    assert state.serial == 1
    second.append([put(2, rec("b"))], stack=state.stack, lineage=state.lineage)
    second.close()
    assert set(LocalStateStore(path).read().resources) == {"a", "b"}


def test_invalid_line_in_the_middle_is_an_error(store, path):
    store.append([put(1, rec("a"))], stack="research", lineage="L")
    store.append([put(2, rec("b"))])
    lines = store.journal_path.read_bytes().splitlines(keepends=True)
    store.journal_path.write_bytes(lines[0] + b"garbage\n" + lines[1] + lines[2])
    before = fingerprint(store.journal_path)
    with pytest.raises(StateError) as info:
        LocalStateStore(path).read()
    assert info.value.message.startswith(f"state journal {store.journal_path} is corrupt at line 2: "
                                         f"not a JSON line")
    assert "left untouched" in info.value.hint
    with pytest.raises(StateError, match="refusing to overwrite the state"):
        LocalStateStore(path).write(State(stack="research", lineage="L", serial=9))
    store.close()
    with pytest.raises(StateError, match="is corrupt at line 2"):
        LocalStateStore(path).append([put(9, rec("z"))], stack="research", lineage="L")
    assert fingerprint(store.journal_path) == before


@pytest.mark.parametrize(
    "entry, problem",
    [
        ({"serial": 2, "op": "zap", "address": "a"},
         "'op' must be one of 'put', 'remove', 'move', 'put-volume', 'remove-volume', got 'zap'"),
        ({"serial": "2", "op": "remove", "address": "a"}, "'serial' must be a positive integer, got '2'"),
        ({"serial": 1, "op": "remove", "address": "a"}, "serial 1 does not follow serial 1"),
        ({"serial": 2, "op": "put", "address": "a"}, "a 'put' entry has no 'record'"),
        ({"serial": 2, "op": "remove", "address": ""},
         "'address' must be a valid address (lowercase letters, digits and hyphens), got ''"),
        ({"serial": 2, "op": "remove", "address": "../x"},
         "'address' must be a valid address (lowercase letters, digits and hyphens), got '../x'"),
        ({"serial": 2, "op": "move", "address": "a"},
         "a 'move' entry needs a valid 'to' (lowercase letters, digits and hyphens), got None"),
        ({"serial": 2, "op": "move", "address": "a", "to": "B B"},
         "a 'move' entry needs a valid 'to' (lowercase letters, digits and hyphens), got 'B B'"),
        ({"serial": 2, "op": "remove", "address": "a", "record": {}}, "a 'remove' entry carries a 'record'"),
        ({"serial": True, "op": "remove", "address": "a"}, "'serial' must be a positive integer, got True"),
        ({"serial": 2, "op": "remove", "address": "a", "when": 1}, "unknown key 'when'"),
        ({"serial": 2, "op": "remove", "address": "a", "to": "b"}, "a 'remove' entry carries a 'to'"),
    ],
)
def test_bad_entries_before_the_last_line_are_errors(store, path, entry, problem):
    store.append([put(1, rec("a"))], stack="research", lineage="L")
    data = store.journal_path.read_bytes() + json.dumps(entry).encode() + b"\n"
    data += json.dumps(put(9, rec("z")).to_json()).encode() + b"\n"
    store.journal_path.write_bytes(data)
    with pytest.raises(StateError) as info:
        LocalStateStore(path).read()
    assert info.value.message == f"state journal {store.journal_path} is corrupt at line 3: {problem}"


def test_bad_record_in_journal_names_the_line(store, path):
    store.append([put(1, rec("a"))], stack="research", lineage="L")
    bad = put(2, rec("b")).to_json()
    bad["record"]["status"] = "zombie"
    with open(store.journal_path, "ab") as f:
        f.write(json.dumps(bad).encode() + b"\n" + json.dumps(put(3, rec("c")).to_json()).encode() + b"\n")
    with pytest.raises(StateError) as info:
        LocalStateStore(path).read()
    assert info.value.message.startswith(f"state journal {store.journal_path} is invalid: line 3: "
                                         f"record.status: unknown status 'zombie'")


def test_journal_lineage_mismatch(store, path):
    state = State(stack="research", serial=1)
    store.write(state)
    Path(f"{path}.journal").write_bytes(
        b'{"format_version":1,"journal":1,"lineage":"OTHER","stack":"research"}\n'
        + json.dumps(put(2, rec("a")).to_json()).encode() + b"\n")
    with pytest.raises(StateError) as info:
        LocalStateStore(path).read()
    assert info.value.message == (
        f"state journal {store.journal_path} belongs to another state (stack 'research', lineage "
        f"OTHER) than {path} (stack 'research', lineage {state.lineage})")


def test_newer_journal_is_refused(store, path):
    path.parent.mkdir(parents=True)
    store.journal_path.write_bytes(b'{"format_version":7,"journal":1,"lineage":"L","stack":"s"}\n')
    with pytest.raises(StateError, match=r"state journal .* written by a newer tpdeclare \(format 7\)"):
        store.read()
    store.journal_path.write_bytes(b'{"journal":1,"lineage":"L","stack":"s"}\n')
    with pytest.raises(StateError, match=r"corrupt at line 1: header: 'format_version' must be a "
                                         r"positive integer, got None"):
        store.read()


def test_entries_already_in_the_snapshot_are_skipped(store, path):
    """A crash between replacing the snapshot and removing the journal leaves folded entries."""
    store.append([put(1, rec("a")), put(2, rec("b"))], stack="research", lineage="L")
    journal = store.journal_path.read_bytes()
    state = store.read()
    # changed after serial 2, by a snapshot at 3
    state = replace(state, resources={**state.resources, "b": rec("b", "tainted")})
    state = replace(state, serial=3)
    store.write(state)
    store.journal_path.write_bytes(journal)  # as if the journal removal never happened
    back = LocalStateStore(path).read()
    assert back.serial == 3 and back.resources["b"].status == "tainted"
    fresh = LocalStateStore(path)
    fresh.read()
    with pytest.raises(StateError, match="out-of-order change"):
        fresh.append([put(3, rec("c"))])  # must be newer than the snapshot, not only the journal
    fresh.append([put(4, rec("c"))])
    fresh.close()
    assert LocalStateStore(path).read().serial == 4


def test_append_refuses_out_of_order_and_foreign_lineage(store, path):
    store.append([put(1, rec("a"))], stack="research", lineage="L")
    with pytest.raises(StateError, match=r"out-of-order change \(serial 1 after 1\)"):
        store.append([put(1, rec("a"))])
    with pytest.raises(StateError, match="belongs to lineage L, not M"):
        store.append([put(2, rec("a"))], stack="research", lineage="M")
    store.close()
    with pytest.raises(StateError, match="belongs to lineage L, not M"):
        LocalStateStore(path).append([put(2, rec("a"))], stack="research", lineage="M")


def test_append_refuses_next_to_a_snapshot_of_another_lineage(store, path):
    store.write(State(stack="research", lineage="S", serial=1))
    with pytest.raises(StateError, match="refusing to journal changes of lineage J"):
        LocalStateStore(path).append([put(2, rec("a"))], stack="research", lineage="J")


def test_append_is_one_write_and_counts_bytes(store, path, monkeypatch):
    writes, syncs = [], []
    real_write, real_sync = os.write, os.fdatasync
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(len(data)) or real_write(fd, data))
    monkeypatch.setattr(os, "fdatasync", lambda fd: syncs.append(fd) or real_sync(fd))
    store.append([put(i, rec(f"c{i}")) for i in range(1, 11)], stack="research", lineage="L")
    assert len(writes) == 1 and len(syncs) == 1
    assert store.bytes_written == store.journal_path.stat().st_size == writes[0]
    assert store.appends == 1


def test_scan_journal_reports_good_length():
    data = b'{"format_version":1,"lineage":"L","stack":"s"}\n{"serial":1,"op":"remove","address":"a"}\n{"ser'
    scan = scan_journal(data, source="j")
    assert scan.torn and scan.good_len == data.rindex(b"\n") + 1 and scan.last_serial == 1


def test_store_lock_context_manager(store):
    with store.lock("tpdeclare apply") as held:
        assert held.info.command == "tpdeclare apply"
        assert json.loads(store.lock_path.read_bytes())["id"] == held.info.id
    assert store.lock_path.read_bytes() == b""
