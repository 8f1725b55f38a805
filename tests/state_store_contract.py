"""The StateStore contract as tests every store runs (Terraform's statemgr.TestFull, in pytest form).

A store's test module subclasses StateStoreContract and gives two fixtures:

    class TestLocalStateStore(StateStoreContract):
        @pytest.fixture
        def new_store(self, tmp_path):      # a fresh handle on one (initially absent) state, per call
            return lambda: LocalStateStore(tmp_path / "s.json")

        @pytest.fixture
        def leave_stale_lock(self):         # a lock record its holder left behind; returns its ID
            ...

Each test uses handles the way separate runs would: one writes, another reads, a third holds the
lock. Nothing here knows how a store keeps its bytes; the words checked are the contract's own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from tpdeclare.errors import LockError, StateError
from tpdeclare.state.journal import Change
from tpdeclare.state.model import State
from tpdeclare.state.store import StateStore

from state_records import record, spec_of

LINEAGE = "00000000-0000-4000-8000-00000000c0de"


def state(serial: int = 1, **records) -> State:
    return State(stack="contract", lineage=LINEAGE, serial=serial,
                 resources={a: record(a, **fields) for a, fields in records.items()})


class StateStoreContract:
    """Every behaviour a StateStore promises (tpdeclare.state.store)."""

    @pytest.fixture
    def store(self, new_store: Callable[[], StateStore]):
        handle = new_store()
        yield handle
        handle.close()

    # -- reading and writing --------------------------------------------------------------------

    def test_it_is_a_state_store_with_a_name(self, store):
        assert isinstance(store, StateStore)
        assert isinstance(store.name, str) and store.name

    def test_no_state_reads_as_none(self, store):
        assert store.read() is None

    def test_what_is_written_reads_back_from_another_handle(self, store, new_store):
        written = state(3, a={"status": "ready"}, b={"status": "pending"})
        store.write(written)
        back = new_store().read()
        assert back == dataclasses.replace(written, tool_version=back.tool_version)

    def test_a_write_over_a_newer_serial_is_refused(self, store, new_store):
        store.write(state(5))
        before = store.content_hash()
        with pytest.raises(StateError, match="newer than the serial 4"):
            new_store().write(state(4))
        assert store.content_hash() == before

    @pytest.mark.parametrize("other", [
        State(stack="contract", lineage="another-lineage", serial=9),
        State(stack="another", lineage=LINEAGE, serial=9),
    ])
    def test_a_write_of_another_state_is_refused(self, store, new_store, other):
        store.write(state(1))
        before = store.content_hash()
        with pytest.raises(StateError, match="belongs to stack 'contract'"):
            new_store().write(other)
        assert store.content_hash() == before

    def test_a_stale_writer_never_overwrites_newer_state(self, store, new_store):
        store.write(state(1))
        stale, fresh = new_store(), new_store()
        stale.read()
        fresh.write(dataclasses.replace(fresh.read(), serial=2))
        with pytest.raises(StateError, match="changed .* since this run read it"):
            stale.write(state(3))
        assert new_store().read().serial == 2

    def test_a_state_that_would_not_read_back_is_never_written(self, store, new_store):
        store.write(state(1, a={}))
        before = store.content_hash()
        bad = state(2, a={"spec": spec_of(num_nodes="2")})
        with pytest.raises(StateError, match=r"refusing to store .*spec\.num_nodes: expected an integer"):
            store.write(bad)
        assert store.content_hash() == before and new_store().read() == store.read()

    def test_content_hash_follows_every_change(self, store, new_store):
        hashes = {store.content_hash()}
        store.write(state(1))
        hashes.add(store.content_hash())
        store.append([Change.put(2, record("a"))], stack="contract", lineage=LINEAGE)
        hashes.add(store.content_hash())
        assert len(hashes) == 3
        assert new_store().content_hash() == store.content_hash()

    def test_dropping_leaves_records_out(self, store, new_store):
        store.write(state(1, a={}, b={}))
        assert set(new_store().read(dropping={"a"}).resources) == {"b"}
        assert set(new_store().read().resources) == {"a", "b"}

    # -- the journal ----------------------------------------------------------------------------

    def test_appended_changes_are_read_back(self, store, new_store):
        store.write(state(1, a={}))
        store.append([Change.put(2, record("b", "pending")), Change.move(3, "a", "c")], stack="contract",
                     lineage=LINEAGE)
        store.append([Change.remove(4, "b")])
        back = new_store().read()
        assert back.serial == 4 and set(back.resources) == {"c"}
        assert back.resources["c"] == dataclasses.replace(record("a"), address="c")

    def test_appends_start_a_state_of_their_own(self, store, new_store):
        store.append([Change.put(1, record("a", "pending"))], stack="contract", lineage=LINEAGE)
        back = new_store().read()
        assert (back.stack, back.lineage, back.serial, set(back.resources)) == ("contract", LINEAGE, 1, {"a"})

    def test_appends_must_be_newer_than_everything_stored(self, store, new_store):
        store.write(state(5))
        other = new_store()
        other.read()
        with pytest.raises(StateError, match="out-of-order"):
            other.append([Change.put(5, record("a"))])
        other.append([Change.put(6, record("a"))])
        with pytest.raises(StateError, match="out-of-order"):
            other.append([Change.put(6, record("b"))])
        assert new_store().read().serial == 6

    def test_a_damaged_record_is_never_appended(self, store, new_store):
        store.write(state(1))
        before = store.content_hash()
        bad = dataclasses.replace(record("a"), cluster_id="../../x")
        with pytest.raises(StateError, match=r"refusing to store .*cluster_id: expected an engine ID"):
            store.append([Change.put(2, bad)])
        assert store.content_hash() == before

    def test_a_write_folds_the_journal_in(self, store, new_store):
        store.write(state(1))
        store.append([Change.put(2, record("a"))])
        current = new_store().read()
        writer = new_store()
        writer.read()
        writer.write(current)
        assert new_store().read() == current
        writer.append([Change.put(3, record("b"))])
        assert set(new_store().read().resources) == {"a", "b"}

    # -- the lock -------------------------------------------------------------------------------

    def test_the_lock_is_exclusive_and_names_its_holder(self, store, new_store):
        with store.lock("tpdeclare apply") as held:
            assert held.info is not None and held.info.command == "tpdeclare apply"
            with pytest.raises(LockError) as info:
                with new_store().lock("tpdeclare plan"):
                    pass
            assert "tpdeclare apply" in info.value.message and held.info.id in info.value.hint
        with new_store().lock("tpdeclare plan"):
            pass  # released at the end of the block

    def test_a_waiting_run_is_told_at_once(self, store, new_store):
        waits = []
        with store.lock("tpdeclare apply") as held:
            holder = held.info
            with pytest.raises(LockError, match=r"\(waited 0\.05s\)"):
                with new_store().lock("tpdeclare plan", timeout=0.05, on_wait=waits.append):
                    pass
        assert len(waits) == 1 and waits[0].holder == holder and waits[0].timeout == 0.05
        assert waits[0].message.startswith(f"waiting for the state lock held by pid {holder.pid} on "
                                           f"{holder.host} running 'tpdeclare apply' since {holder.since}")
        assert waits[0].message.endswith(", up to 0.05s")

    def test_no_wait_no_word(self, store, new_store):
        waits = []
        with new_store().lock("tpdeclare plan", timeout=5, on_wait=waits.append):
            pass
        with store.lock("tpdeclare apply"), pytest.raises(LockError):
            with new_store().lock("tpdeclare plan", timeout=0, on_wait=waits.append):
                pass
        assert waits == []

    def test_force_unlock_never_breaks_a_held_lock(self, store, new_store):
        with store.lock("tpdeclare apply") as held:
            with pytest.raises(LockError, match="actually held"):
                new_store().force_unlock(held.info.id)
            with pytest.raises(LockError, match="does not match"):
                new_store().force_unlock("not-the-id")

    def test_force_unlock_clears_a_lock_left_behind(self, store, new_store, leave_stale_lock):
        lock_id = leave_stale_lock(store)
        assert new_store().force_unlock(lock_id).id == lock_id
        with pytest.raises(LockError, match="nothing to unlock"):
            new_store().force_unlock(lock_id)
        with new_store().lock("tpdeclare plan"):
            pass
