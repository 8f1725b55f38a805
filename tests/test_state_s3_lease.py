"""The S3 lease lock's protocol on a real moto server: lost answers, take-over, renewal, loss, release; faults."""

from __future__ import annotations

import dataclasses

import pytest
from tpdeclare.errors import StateError
from tpdeclare.state.journal import Change
from tpdeclare.state.lock import LockInfo
from tpdeclare.state.s3_lease import Lease, S3Lease
from tpdeclare.state.s3_location import S3Location
from tpdeclare.state.s3_store import S3StateStore

from s3_fixtures import s3_client
from state_store_contract import state


class Clock:
    """A clock the test moves; sleeping moves it too."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def new_store(moto_s3, bucket, tmp_path, clock):
    location = S3Location(bucket=bucket, key="tpdeclare/team.json", lock_ttl=30)

    def make(**kwargs):
        return S3StateStore(location, client=s3_client(moto_s3, location), probe_cache=tmp_path / "probe.json",
                            clock=clock, sleep=clock.sleep, heartbeat=False, **kwargs)
    return make


def test_a_lost_acquire_answer_is_resolved_by_reading_the_lock_back(new_store, moto_s3):
    store = new_store()
    store.probed()
    moto_s3.mode, moto_s3.faults = "lose_next_answer", 1  # the PUT commits, its answer is a 500: boto3 retries
    with store.lock("tpdeclare apply") as held:
        moto_s3.mode = ""
        assert held.info is not None and held.etag
        with pytest.raises(Exception, match="locked by pid"):
            with new_store().lock("tpdeclare plan"):
                pass
    with new_store().lock("tpdeclare plan"):
        pass  # released: the lease was ours all along


def test_an_expired_lease_is_taken_over_and_said_so(new_store, clock):
    dead = new_store()
    lease = S3Lease(dead.client, dead.lock_key, 30, state_name=dead.name, clock=clock, heartbeat=False)
    lease.acquire("tpdeclare apply")  # never renewed, never released: its holder died
    clock.now += 31
    told = []
    store = new_store(on_takeover=lambda holder, age: told.append((holder.id, round(age))))
    with store.lock("tpdeclare apply") as held:
        assert held.info.id != lease.info.id
    assert told == [(lease.info.id, 1)]


def test_a_live_lease_is_waited_for_and_named(new_store, clock):
    holder = new_store()
    with holder.lock("tpdeclare apply") as held:
        waits = []
        with pytest.raises(Exception, match=r"\(waited 5s\)"):
            with new_store().lock("tpdeclare plan", timeout=5, on_wait=waits.append):
                pass
        assert waits[0].holder == held.info


def test_renewal_keeps_the_lease_and_a_takeover_loses_it(new_store, clock):
    store = new_store()
    lost = []
    store.on_lost = lost.append
    with store.lock("tpdeclare apply") as lease:
        store.write(state(1))
        clock.now += 10
        assert lease.renew() and lease.expires_at == clock.now + 30
        clock.now += 31  # no renewal for longer than the lease: another run takes it over
        with new_store().lock("tpdeclare apply"):
            assert not lease.renew()
            assert lost and "lost the state lock" in lost[0]
            with pytest.raises(StateError, match="lost its lock"):
                store.write(state(2))
            with pytest.raises(StateError, match="lost its lock"):
                store.append([Change.remove(2, "a")])
    assert new_store().read().serial == 1


def test_a_frozen_holder_cannot_write_over_the_new_holders_state(new_store, clock):
    """The SIGSTOP case without a process: a holder whose clock says its lease is live (it was frozen
    before it could look) still cannot overwrite the state its successor wrote: the write is conditional."""
    frozen = new_store()
    with frozen.lock("tpdeclare apply") as lease:
        frozen.write(state(1))
        frozen.read()
        clock.now += 31
        with new_store().lock("tpdeclare apply"):
            successor = new_store()
            successor.write(dataclasses.replace(successor.read(), serial=2))
        lease.expires_at = clock.now + 30  # pretend it never noticed the time pass
        with pytest.raises(StateError, match="changed in the bucket since this run read it"):
            frozen.write(state(3))
    assert new_store().read().serial == 2


def test_release_never_deletes_another_runs_lock(new_store, clock):
    first = new_store()
    with first.lock("tpdeclare apply") as lease:
        clock.now += 31
        second = new_store()
        with second.lock("tpdeclare apply") as theirs:
            lease.lost.clear()  # the first run has not noticed yet, and releases
            lease.release()
            got = second.client.get(second.lock_key)
            assert got is not None and Lease.from_bytes(got.data).info.id == theirs.info.id


def test_server_errors_are_retried_and_writes_converge(new_store, moto_s3):
    store = new_store()
    store.probed()
    with store.lock("tpdeclare apply"):
        moto_s3.mode, moto_s3.faults = "fail_next", 2
        store.write(state(1, a={}))
        moto_s3.mode = ""
    assert new_store().read() == store.read()


def test_a_write_whose_answer_was_lost_is_not_taken_for_a_conflict_silently(new_store, moto_s3):
    """The snapshot PUT commits but its answer is lost: the retry's If-Match fails, and the run says so
    (a clear error); the state in the bucket is the one written, nothing is lost."""
    store = new_store()
    with store.lock("tpdeclare apply"):
        store.write(state(1))
        moto_s3.mode, moto_s3.faults = "lose_next_answer", 1
        try:
            store.write(state(2, a={}))
        except StateError as exc:
            assert "changed in the bucket" in exc.message
        moto_s3.mode = ""
    back = new_store().read()
    assert back.serial == 2 and set(back.resources) == {"a"}


def test_the_lock_record_names_its_holder(new_store):
    store = new_store()
    with store.lock("tpdeclare apply") as held:
        got = store.client.get(store.lock_key)
        lease = Lease.from_bytes(got.data)
        assert isinstance(lease.info, LockInfo) and lease.info == held.info
        assert lease.expires_at == held.expires_at
