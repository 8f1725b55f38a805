"""Tests for tpdeclare.state.recorder: durability, group commit, failures, crash recovery, bytes."""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tpdeclare.errors import StateError
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import STATUSES, Record, State
from tpdeclare.state.recorder import Recorder

from state_records import record, spec_of


def rec(address: str, status: str = "ready", name: str | None = None, **kw) -> Record:
    return record(address, status, name=name, spec=spec_of(instance_type="8xH200", num_nodes=2), **kw)


class CountingStore:
    """Wraps a real store: counts appends, remembers what became durable, can be slowed down."""

    def __init__(self, inner: LocalStateStore, delay: float = 0.0):
        self.inner = inner
        self.delay = delay
        self.batch_sizes: list[int] = []
        self.durable_names: set[str] = set()
        self._lock = threading.Lock()

    def append(self, entries, **kw):
        time.sleep(self.delay)
        self.inner.append(entries, **kw)
        with self._lock:
            self.batch_sizes.append(len(entries))
            self.durable_names.update(e.record.name for e in entries if e.record is not None)

    def write(self, state):
        self.inner.write(state)


def assert_same(a: State, b: State) -> None:
    assert (a.stack, a.lineage, a.serial) == (b.stack, b.lineage, b.serial)
    assert a.resources == b.resources


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "research.json"


def test_put_remove_snapshot_records(path):
    store = LocalStateStore(path)
    recorder = Recorder(store, State(stack="research"))
    r = rec("a", "pending")
    recorder.put(r)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.status = "mutated-after-put"  # records are frozen values: nothing can change one behind the recorder
    recorder.put(rec("b"))
    recorder.remove("a")
    recorder.remove("missing")  # nothing to do: no serial, no entry
    assert recorder.serial == 3 == recorder.durable_serial
    assert recorder.records() == {"b": rec("b")}
    assert recorder.get("b") == rec("b") and recorder.get("a") is None
    snap = recorder.snapshot()
    dict.clear(snap.resources)  # type: ignore[arg-type]  # a snapshot is the recorder's no longer
    assert recorder.records() == {"b": rec("b")}
    assert_same(LocalStateStore(path).read(), recorder.snapshot())


def test_move_is_one_atomic_entry(path):
    store = LocalStateStore(path)
    recorder = Recorder(store, State(stack="research"))
    recorder.put(rec("old", cluster_id="c-1"))
    recorder.put(rec("other"))
    recorder.move("old", "new")
    assert recorder.get("new").address == "new" and recorder.get("new").cluster_id == "c-1"
    assert recorder.get("old") is None and recorder.serial == 3
    assert store.journal_path.read_bytes().splitlines()[-1] == (
        b'{"address":"old","op":"move","serial":3,"to":"new"}')
    with pytest.raises(StateError, match="cannot move 'new' to 'other': that address already holds"):
        recorder.move("new", "other")
    recorder.move("missing", "x")  # nothing to move
    assert recorder.serial == 3
    assert_same(LocalStateStore(path).read(), recorder.snapshot())


def test_the_given_state_is_not_mutated(path):
    state = State(stack="research")
    Recorder(LocalStateStore(path), state).put(rec("a"))
    assert state.serial == 0 and state.resources == {}


def test_checkpoint_writes_snapshot_and_clears_the_journal(path):
    store = LocalStateStore(path)
    recorder = Recorder(store, State(stack="research"))
    recorder.put(rec("a"))
    assert store.journal_path.exists() and not path.exists()
    recorder.checkpoint()
    assert path.exists() and not store.journal_path.exists()
    recorder.put(rec("b"))  # journaling goes on after a checkpoint
    assert_same(LocalStateStore(path).read(), recorder.snapshot())


def test_fifty_threads_group_commit(path):
    inner = LocalStateStore(path)
    store = CountingStore(inner, delay=0.01)  # slow appends: batching has to happen
    recorder = Recorder(store, State(stack="research"))
    errors: list[BaseException] = []
    not_durable: list[str] = []
    start = threading.Barrier(50)

    def worker(t: int):
        start.wait()
        for i in range(20):
            name = f"t{t}-{i}"
            try:
                recorder.put(rec(f"t{t}", STATUSES[i % len(STATUSES)], name=name))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
                return
            if name not in store.durable_names:
                not_durable.append(name)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not not_durable
    assert recorder.serial == 1000 == recorder.durable_serial
    assert sum(store.batch_sizes) == 1000
    assert len(store.batch_sizes) == recorder.batches == inner.appends
    assert len(store.batch_sizes) < 1000 / 5, "group commit should batch many entries per fsync"
    inner.close()
    # A crash now (no checkpoint): the journal alone reproduces the recorder's state exactly.
    after_crash = LocalStateStore(path).read()
    assert_same(after_crash, recorder.snapshot())
    assert len(after_crash.resources) == 50


def test_append_failure_reaches_every_waiter_of_the_batch(path):
    release_first = threading.Event()

    class FailingStore:
        def __init__(self):
            self.inner = LocalStateStore(path)
            self.calls = 0

        def append(self, entries, **kw):
            self.calls += 1
            if self.calls == 1:
                release_first.wait(10)
                return self.inner.append(entries, **kw)
            raise OSError(28, "No space left on device")

        def write(self, state):
            self.inner.write(state)

    store = FailingStore()
    recorder = Recorder(store, State(stack="research"))
    outcomes: dict[str, object] = {}

    def worker(address: str):
        try:
            recorder.put(rec(address))
            outcomes[address] = "ok"
        except StateError as exc:
            outcomes[address] = exc

    leader = threading.Thread(target=worker, args=("first",))
    leader.start()
    deadline = time.monotonic() + 10
    while recorder.serial < 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    others = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(10)]
    for t in others:
        t.start()
    while recorder.serial < 11 and time.monotonic() < deadline:
        time.sleep(0.001)  # all ten are queued behind the blocked first batch
    release_first.set()
    for t in [leader, *others]:
        t.join()
    assert outcomes["first"] == "ok"
    failed = [outcomes[f"w{i}"] for i in range(10)]
    assert all(isinstance(e, StateError) for e in failed)
    assert failed[0].message.startswith("could not record the change to 'w")
    assert "No space left on device" in failed[0].message
    assert store.calls == 2  # the ten went in one failed batch
    with pytest.raises(StateError, match="could not record the change to 'later' durably"):
        recorder.put(rec("later"))  # refused until a checkpoint saves the state
    assert recorder.serial == 11
    recorder.checkpoint()
    assert_same(LocalStateStore(path).read(), recorder.snapshot())
    store.calls = 0  # appends work again after the checkpoint (the first call is the good one)
    release_first.set()
    recorder.put(rec("later"))
    assert "later" in LocalStateStore(path).read().resources


def test_keyboard_interrupt_in_the_leader_is_reraised(path):
    class InterruptedStore:
        def append(self, entries, **kw):
            raise KeyboardInterrupt

        def write(self, state):
            pass

    recorder = Recorder(InterruptedStore(), State(stack="research"))
    with pytest.raises(KeyboardInterrupt):
        recorder.put(rec("a"))
    with pytest.raises(StateError):
        recorder.put(rec("b"))


def test_crash_without_checkpoint_then_resume(path):
    store = LocalStateStore(path)
    recorder = Recorder(store, State(stack="research"))
    recorder.put(rec("a", "pending"))
    recorder.checkpoint()
    recorder.put(rec("a", "creating", cluster_id="c-1"))
    recorder.put(rec("b", "pending"))
    with open(store.journal_path, "ab") as f:
        f.write(b'{"address":"b","op":"put","rec')  # killed mid-append
    # The next run reads, resumes, and appends after the torn line.
    store2 = LocalStateStore(path)
    state = store2.read()
    assert_same(state, recorder.snapshot())
    recorder2 = Recorder(store2, state)
    recorder2.put(rec("b", "creating", cluster_id="c-2"))
    recorder2.remove("a")
    store2.close()
    assert_same(LocalStateStore(path).read(), recorder2.snapshot())


def clusters_bytes(tmp: Path, n: int) -> int:
    store = LocalStateStore(tmp / f"bench-{n}.json")
    store.write(State(stack="bench", lineage="00000000-0000-4000-8000-000000000000", serial=1))
    recorder = Recorder(store, store.read())
    for i in range(n):
        address = f"c{i:04d}"
        recorder.put(rec(address, "pending", intent_id="x" * 36))
        recorder.put(rec(address, "creating", intent_id="x" * 36, cluster_id=f"c-{i:020d}",
                         request_id="r" * 36))
        recorder.put(rec(address, "ready", intent_id="x" * 36, cluster_id=f"c-{i:020d}",
                         request_id="r" * 36, instance_ids=["i-0001", "i-0002"]))
    recorder.checkpoint()
    store.close()
    return store.bytes_written


def test_bytes_written_grow_linearly(tmp_path):
    small, large = clusters_bytes(tmp_path, 50), clusters_bytes(tmp_path, 500)
    per_small, per_large = small / 50, large / 500
    assert 0.9 < per_large / per_small < 1.1, (per_small, per_large)
    assert large < 11 * small  # rewriting the whole file on every put would be ~100x
    assert per_large < 4000  # ~3 journal lines + one snapshot entry per cluster


ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from("abcde"), st.sampled_from(STATUSES)),
        st.tuples(st.just("remove"), st.sampled_from("abcde")),
        st.tuples(st.just("move"), st.sampled_from("abcde"), st.sampled_from("abcde")),
        st.tuples(st.just("checkpoint")),
    ),
    max_size=25,
)


def run(recorder: Recorder, steps) -> None:
    for step in steps:
        if step[0] == "put":  # a fresh cluster each time: one cluster never sits at two addresses
            recorder.put(rec(step[1], step[2], cluster_id=f"c-{step[1]}-{step[2]}-{recorder.serial}"))
        elif step[0] == "remove":
            recorder.remove(step[1])
        elif step[0] == "move":
            if step[2] not in recorder.records():
                recorder.move(step[1], step[2])
        else:
            recorder.checkpoint()


@settings(max_examples=120, deadline=None)
@given(ops, ops, st.binary(max_size=40).filter(lambda b: b"\n" not in b), st.booleans())
def test_crash_anywhere_recovers_the_last_durable_state(first, second, torn_tail, snapshot_first):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.json"
        store = LocalStateStore(path)
        initial = State(stack="s")
        if snapshot_first:
            store.write(initial)
        recorder = Recorder(store, initial)
        run(recorder, first)
        store.close()  # crash: no checkpoint, maybe half a line written
        if torn_tail and store.journal_path.exists():
            with open(store.journal_path, "ab") as f:
                f.write(torn_tail)
        expected = recorder.snapshot()
        store2 = LocalStateStore(path)
        got = store2.read()
        if got is None:
            assert expected.serial == 0 and not snapshot_first
            got = initial
        else:
            assert_same(got, expected)
        recorder2 = Recorder(store2, got)  # the next run resumes and crashes again
        run(recorder2, second)
        store2.close()
        again = LocalStateStore(path).read()
        if again is None:
            assert recorder2.serial == 0
        else:
            assert_same(again, recorder2.snapshot())


@pytest.mark.parametrize("damage, words", [
    ({"spec": spec_of(num_nodes="2")}, "spec.num_nodes: expected an integer of at least 1, got string '2'"),
    ({"cluster_id": "../../x"}, "cluster_id: expected an engine ID"),
    ({"created_at": "2026-01-01 10:00"}, "created_at: expected an RFC 3339 time with a timezone"),
    ({"name": "a\nb"}, "name: expected a non-empty string of printable characters"),
    ({"cluster_id": None}, "a 'ready' record needs its cluster_id, got null"),
])
def test_a_record_that_would_not_read_back_is_refused_before_anything_changes(path, damage, words):
    store = LocalStateStore(path)
    recorder = Recorder(store, State(stack="research"))
    recorder.put(rec("a"))
    before = (recorder.serial, recorder.records(), store.journal_path.read_bytes())
    with pytest.raises(StateError) as info:
        recorder.put(dataclasses.replace(rec("b"), **damage))
    assert info.value.message.startswith("refusing to store the record at 'b': it would not read back (")
    assert words in info.value.message and "nothing was written" in info.value.hint
    assert (recorder.serial, recorder.records(), store.journal_path.read_bytes()) == before
    recorder.put(rec("c"))  # the recorder is not poisoned: later changes go on
    assert set(LocalStateStore(path).read().resources) == {"a", "c"}


def test_one_cluster_is_never_recorded_at_two_addresses(path):
    recorder = Recorder(LocalStateStore(path), State(stack="research"))
    recorder.put(rec("a", cluster_id="c-1"))
    with pytest.raises(StateError, match="refusing to record c-1 at 'b': it is already recorded at 'a'"):
        recorder.put(rec("b", cluster_id="c-1"))
    recorder.move("a", "b")  # moving it is one cluster at one address
    recorder.put(rec("a", cluster_id="c-2"))
    with pytest.raises(StateError, match="already recorded at 'b'"):
        recorder.put(rec("a", cluster_id="c-1"))
    recorder.remove("b")
    recorder.put(rec("a", cluster_id="c-1"))  # free again once removed
    recorder.put(rec("a", cluster_id="c-3"))  # a replace: the record's old cluster is released
    recorder.put(rec("z", cluster_id="c-1"))
    assert {a: r.cluster_id for a, r in LocalStateStore(path).read().resources.items()} == {"a": "c-3", "z": "c-1"}
