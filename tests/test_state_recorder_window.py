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


def test_flush_makes_what_was_deferred_durable(path):
    store = WindowedStore(LocalStateStore(path), window=HOUR)
    recorder = Recorder(store, State(stack="research"))
    recorder.expect(1)
    recorder.flush()  # nothing queued: no append
    assert store.batch_sizes == []
    recorder.put(rec("a", "creating"), wait=False)
    recorder.put(rec("a", "ready"), wait=False)
    recorder.flush()
    assert store.batch_sizes == [2] and recorder.durable_serial == recorder.serial == 2
    assert LocalStateStore(path).read().resources["a"].status == "ready"


def test_an_apply_on_a_windowed_store_writes_one_batch_per_wave_and_every_intent_before_its_post(path):

    from test_executor import FakeClient, on_disk

    client = FakeClient()
    not_durable: list[str] = []

    def before_create(name):
        rec = on_disk(path).resources.get(name.removeprefix("demo-"))
        if rec is None or rec.status != "pending":
            not_durable.append(name)

    client.hooks = {"create": before_create}
    store, recorder, result = _windowed_apply(path, client, clusters=23, parallelism=5)
    assert result.added == 23 and not not_durable
    # The fake's clusters are up at the first poll: each wave of 5 is one append of its intents, with the
    # last wave's cluster IDs and "ready"s; the last wave's ride with the checkpoint.
    assert len(store.batch_sizes) == 5
    recorder.checkpoint()
    assert {r.status for r in LocalStateStore(path).read().resources.values()} == {"ready"}


def test_a_cluster_id_is_durable_before_a_poll_that_says_wait_is_followed(path):

    from test_executor import FakeClient, on_disk

    client = FakeClient(polls_to_finish=2)  # the first poll says PROCESSING (no Retry-After): polling waits
    polls: dict[str, int] = {}
    not_durable: list[str] = []

    def before_poll(request_id):
        polls[request_id] = polls.get(request_id, 0) + 1
        if polls[request_id] == 2:
            ids = {r.request_id for r in on_disk(path).resources.values()}
            if request_id not in ids:
                not_durable.append(request_id)

    client.hooks = {"request_info": before_poll}
    _, _, result = _windowed_apply(path, client, clusters=7, parallelism=3)
    assert result.added == 7 and len(polls) == 7 and not not_durable


def _windowed_apply(path, client, *, clusters: int, parallelism: int):
    """Apply `clusters` new clusters through a store whose commit window only a complete wave closes in time
    (an hour): (the store, the recorder, the result); fails if a window waited for an operation not coming."""
    from tpdeclare.plan.planner import make_plan

    from plan_helpers import cluster, stack
    from test_executor import executor_for

    store = WindowedStore(LocalStateStore(path), window=HOUR)
    recorder = Recorder(store, State(stack="demo"))
    plan = make_plan(stack(*(cluster(f"c{i:02d}") for i in range(clusters))), None)
    outcome: dict[str, object] = {}
    runner = threading.Thread(target=lambda: outcome.update(
        result=executor_for(client, recorder, parallelism=parallelism).run(plan)), daemon=True)
    runner.start()
    assert finished([runner]), "a commit window waited for an operation that was not coming"
    return store, recorder, outcome["result"]
