"""Tests for the Recorder's commit window (a store with `commit_window`, like S3): a wave of concurrent
changes goes in one append, the window closes once the whole wave has arrived, and a deferred change
(`put(..., wait=False)`) rides with the next batch."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import State
from tpdeclare.state.recorder import Recorder

from test_state_recorder import CountingStore, assert_same, rec

HOUR = 3600.0  # a window nobody waits out: a test that had to would hang instead of passing
LIVENESS = 60.0  # seconds a thread may take to get past a window that should have closed at once


class WindowedStore(CountingStore):
    """A CountingStore with the S3 store's `commit_window` attribute."""

    def __init__(self, inner: LocalStateStore, window: float):
        super().__init__(inner)
        self.commit_window = window


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "research.json"


def wave(recorder: Recorder, addresses: list[str]) -> list[threading.Thread]:
    threads = [threading.Thread(target=recorder.put, args=(rec(a),), daemon=True) for a in addresses]
    for t in threads:
        t.start()
    return threads


def finished(threads: list[threading.Thread]) -> bool:
    for t in threads:
        t.join(LIVENESS)
    return not any(t.is_alive() for t in threads)


def test_the_window_closes_once_every_expected_operation_has_its_change_queued(path):
    store = WindowedStore(LocalStateStore(path), window=HOUR)
    recorder = Recorder(store, State(stack="research"))
    recorder.expect(5)
    threads = wave(recorder, [f"c{i}" for i in range(5)])
    assert finished(threads), "the leader waited out its window although the whole wave had arrived"
    assert store.batch_sizes == [5]  # one append for the wave
    recorder.expect(None)
    assert_same(LocalStateStore(path).read(), recorder.snapshot())


def test_fewer_operations_left_close_the_window_too(path):
    store = WindowedStore(LocalStateStore(path), window=HOUR)
    recorder = Recorder(store, State(stack="research"))
    recorder.expect(3)
    threads = wave(recorder, ["a", "b"])  # the third operation finishes without recording anything
    recorder.expect(2)
    assert finished(threads)
    assert store.batch_sizes == [2]


def test_a_deferred_change_rides_with_the_next_batch(path):
    store = WindowedStore(LocalStateStore(path), window=HOUR)
    recorder = Recorder(store, State(stack="research"))
    recorder.expect(1)
    recorder.put(rec("a", "creating"))
    recorder.put(rec("a", "ready"), wait=False)  # returns at once: nothing written yet
    assert store.batch_sizes == [1] and recorder.durable_serial == 1 and recorder.serial == 2
    recorder.put(rec("b", "pending"))  # one waiting change: the window closes at once, both go
    assert store.batch_sizes == [1, 2] and recorder.durable_serial == 3
    after_crash = LocalStateStore(path).read()
    assert after_crash.resources["a"].status == "ready"
    assert_same(after_crash, recorder.snapshot())


def test_a_deferred_change_is_in_the_checkpoint(path):
    store = WindowedStore(LocalStateStore(path), window=HOUR)
    recorder = Recorder(store, State(stack="research"))
    recorder.expect(1)
    recorder.put(rec("a", "creating"))
    recorder.put(rec("a", "ready"), wait=False)
    recorder.checkpoint()
    assert LocalStateStore(path).read().resources["a"].status == "ready"
    assert recorder.durable_serial == recorder.serial == 2


def test_a_deferred_change_on_a_store_without_a_window_is_durable_at_once(path):
    store = CountingStore(LocalStateStore(path))  # a local store: no commit window, every change waits
    recorder = Recorder(store, State(stack="research"))
    recorder.put(rec("a", "ready"), wait=False)
    assert store.batch_sizes == [1] and recorder.durable_serial == 1
    assert LocalStateStore(path).read().resources["a"].status == "ready"
