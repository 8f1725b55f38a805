"""The StateStore contract (tests/state_store_contract.py) run against the S3 store on a real moto server."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from tpdeclare.errors import StateError
from tpdeclare.state.journal import Change
from tpdeclare.state.lock import LockInfo
from tpdeclare.state.s3_lease import Lease
from tpdeclare.state.s3_location import S3Location
from tpdeclare.state.s3_store import S3StateStore

from s3_fixtures import s3_client
from state_records import record
from state_store_contract import StateStoreContract, state


class TestS3StateStore(StateStoreContract):
    @pytest.fixture
    def new_store(self, moto_s3, bucket, tmp_path: Path):
        location = S3Location(bucket=bucket, key="tpdeclare/contract.json", lock_ttl=30)
        return lambda: S3StateStore(location, client=s3_client(moto_s3, location),
                                    probe_cache=tmp_path / "probe.json")

    @pytest.fixture
    def leave_stale_lock(self):
        def leave(store: S3StateStore) -> str:
            """A lease its holder stopped renewing an hour ago."""
            info = LockInfo(id="stale-0001", host="elsewhere", pid=999_999, command="tpdeclare apply",
                            since="2026-01-01T00:00:00Z")
            lease = Lease(info, time.time() - 3600)
            store.client.put(store.lock_key, lease.to_bytes(), if_absent=True)
            return info.id
        return leave


def test_a_segment_a_lost_run_wrote_after_the_new_holder_moved_on_is_ignored_in_whole(moto_s3, bucket, tmp_path):
    """S3 has no fencing across objects: a run frozen between its lease check and its PUT can land one segment
    after another run took over. That segment starts at or below the state's serial; none of it may apply."""
    location = S3Location(bucket=bucket, key="tpdeclare/late.json", lock_ttl=30)

    def handle() -> S3StateStore:
        return S3StateStore(location, client=s3_client(moto_s3, location), probe_cache=tmp_path / "probe.json")

    lost = handle()
    lost.write(state(1, a={}, b={}))
    lost.append([Change.put(2, record("c", "pending"))])
    # The new holder reads (serial 2), makes one change (serial 3) and folds everything into the snapshot.
    new = handle()
    taken = new.read()
    new.write(dataclasses.replace(taken, serial=3, resources={**taken.resources, "d": record("d")}))
    # The lost run wakes and sends the segment it had ready: serials 3-5, one past what it last wrote.
    lost.append([Change.put(3, record("c")), Change.remove(4, "a"), Change.remove(5, "b")])
    late = [k for k in _keys(moto_s3, bucket) if ".journal/" in k]
    assert late == ["tpdeclare/late.json.journal/000000000003"]
    back = handle().read()
    assert back.serial == 3 and set(back.resources) == {"a", "b", "c", "d"}
    assert back.resources["c"].status == "pending"  # the new holder's view, not the lost run's
    # The next write folds the stale segment away.
    reader = handle()
    reader.write(dataclasses.replace(reader.read(), serial=4))
    assert [k for k in _keys(moto_s3, bucket) if ".journal/" in k] == []
    assert set(handle().read().resources) == {"a", "b", "c", "d"}


def test_a_late_segment_landing_during_the_new_holders_run_does_not_stop_its_write(moto_s3, bucket, tmp_path):
    location = S3Location(bucket=bucket, key="tpdeclare/late2.json", lock_ttl=30)

    def handle() -> S3StateStore:
        return S3StateStore(location, client=s3_client(moto_s3, location), probe_cache=tmp_path / "probe.json")

    lost = handle()
    lost.write(state(1, a={}))
    new = handle()
    taken = new.read()
    lost.append([Change.remove(2, "a")])  # lands after the new holder read, before it writes
    new.write(dataclasses.replace(taken, serial=2, resources={**taken.resources, "d": record("d")}))
    assert [k for k in _keys(moto_s3, bucket) if k.startswith("tpdeclare/late2.json.journal/")] == []
    assert set(handle().read().resources) == {"a", "d"}
    # A segment above the serial being written is not a late one: the write is refused, nothing lost.
    other = handle()
    seen = other.read()
    handle().append([Change.put(3, record("e"))])
    with pytest.raises(StateError, match="changed in the bucket since this run read it"):
        other.write(dataclasses.replace(seen, serial=2, resources={}))
    assert set(handle().read().resources) == {"a", "d", "e"}


def _keys(moto_s3, bucket) -> list[str]:
    from s3_fixtures import boto_client

    return [o["Key"] for o in boto_client(moto_s3).list_objects_v2(Bucket=bucket).get("Contents", [])]
