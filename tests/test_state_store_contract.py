"""The StateStore contract (tests/state_store_contract.py) run against the local store, plain and through links."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.lock import LockInfo

from state_store_contract import StateStoreContract


def stale_lock(store: LocalStateStore) -> str:
    """A lock record whose holder died (no flock held on it)."""
    info = LockInfo(id="stale-0001", host="elsewhere", pid=999_999, command="tpdeclare apply",
                    since="2026-01-01T00:00:00Z")
    store.lock_path.parent.mkdir(parents=True, exist_ok=True)
    store.lock_path.write_text(json.dumps(info.to_json()))
    return info.id


class TestLocalStateStore(StateStoreContract):
    @pytest.fixture
    def new_store(self, tmp_path: Path):
        return lambda: LocalStateStore(tmp_path / "state" / "contract.json")

    @pytest.fixture
    def leave_stale_lock(self):
        return stale_lock


class TestLocalStateStoreThroughSymlinks(StateStoreContract):
    """Every handle names the state by another link (a relative one, a chain): one state all the same."""

    @pytest.fixture
    def new_store(self, tmp_path: Path):
        real = tmp_path / "shared" / "contract.json"
        real.parent.mkdir()
        links = tmp_path / "links"
        links.mkdir()
        (links / "a.json").symlink_to(real)
        (links / "b.json").symlink_to(os.path.relpath(real, links))
        (links / "c.json").symlink_to(links / "b.json")
        # A link to a file that does not exist is refused unless the state's journal does: an empty one
        # is what a first apply leaves when it dies before its first change is durable.
        (real.parent / "contract.json.journal").write_bytes(b"")
        names = iter(["a.json", "b.json", "c.json"] * 100)
        return lambda: LocalStateStore(links / next(names))

    @pytest.fixture
    def leave_stale_lock(self):
        return stale_lock
