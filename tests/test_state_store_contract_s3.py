"""The StateStore contract (tests/state_store_contract.py) run against the S3 store on a real moto server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tpdeclare.state.lock import LockInfo
from tpdeclare.state.s3_lease import Lease
from tpdeclare.state.s3_location import S3Location
from tpdeclare.state.s3_store import S3StateStore

from s3_fixtures import s3_client
from state_store_contract import StateStoreContract


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
            store.client.put(store.location.lock_key, lease.to_bytes(), if_absent=True)
            return info.id
        return leave
