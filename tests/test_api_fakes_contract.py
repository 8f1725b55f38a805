"""Every test fake of the ClusterApi is held to the same contract as the real client (tests/api_contract.py).

A fake that broke the contract would let an executor test pass against an engine that cannot exist.
"""

from __future__ import annotations

import pytest

from api_contract import ClusterApiContract, StorageApiContract
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
