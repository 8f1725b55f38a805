"""Every test fake of the ClusterApi is held to the same contract as the real client (tests/api_contract.py).

A fake that broke the contract would let an executor test pass against an engine that cannot exist.
"""

from __future__ import annotations

import pytest

from api_contract import ClusterApiContract, StorageApiContract
from storage_plan_fake import StorageFake
from test_executor import FakeClient


class TestExecutorFakeClientContract(ClusterApiContract):
    """tests/test_executor.py's in-memory TensorPool."""

    @pytest.fixture
    def api(self):
        return FakeClient()


class TestExecutorFakeClientStorageContract(StorageApiContract):
    """The same fake's volumes (tests/storage_fake.py), held to the storage contract."""

    @pytest.fixture
    def api(self):
        return FakeClient()


class TestStoragePlanFakeContract(ClusterApiContract):
    """tests/storage_plan_fake.py (the storage apply tests' fake): its clusters."""

    @pytest.fixture
    def api(self):
        return StorageFake()


class TestStoragePlanFakeStorageContract(StorageApiContract):
    """tests/storage_plan_fake.py's volumes, held to the storage contract."""

    @pytest.fixture
    def api(self):
        return StorageFake()


def test_the_fake_refuses_an_attach_before_the_volume_and_the_cluster_are_ready_as_the_sandbox_does():
    from tpdeclare.errors import Conflict

    fake = FakeClient()
    cluster = fake.create_cluster(instance_type="8xH200", num_nodes=2, tp_cluster_name="t")
    volume = fake.create_storage(size_gb=10, name="v")
    with pytest.raises(Conflict, match="not ready"):
        fake.attach_storage(volume.storage_id, [cluster.cluster_id])
    fake.wait_for_request(volume.request_id, deadline_seconds=1, what="the volume")
    with pytest.raises(Conflict, match="provisioning"):
        fake.attach_storage(volume.storage_id, [cluster.cluster_id])
    fake.wait_for_request(cluster.request_id, deadline_seconds=1, what="the cluster")
    assert len(fake.attach_storage(volume.storage_id, [cluster.cluster_id]).request_ids) == 1
