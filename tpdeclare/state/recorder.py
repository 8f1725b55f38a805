"""The Recorder: thread-safe state changes, each durable before it returns, via group commit.

Every `put`/`remove`/`move` updates the in-memory State (serial += 1) and queues a journal entry under one
lock, so queue order is serial order. A caller then waits until its entry is durable: if no thread
is writing, it becomes the leader, takes the whole queue and hands it to `store.append` in one write
and one fsync, outside the lock; callers arriving meanwhile queue up behind it and the next leader
takes them all at once. N concurrent changes cost far fewer than N fsyncs, and a whole apply writes
bytes linear in the number of changes (plus one snapshot at `checkpoint`).

If an append fails, every caller whose entry was in (or queued behind) that batch gets a StateError,
and later changes are refused; `checkpoint()` can still save the in-memory state, which clears that.
A store with a `commit_window` (the S3 store: every append is a request) has each leader wait up to that
long for more changes before it writes, so that one PUT carries a whole wave of concurrent operations.
When the executor has said how many operations are in flight (`expect`), the window closes as soon as
that many callers wait in the queue: every operation of the wave has reached its step. There, a change
nothing depends on yet (a create's cluster ID and "ready") may be queued without waiting (`put(...,
wait=False)`): it rides with the next batch or the checkpoint, or `flush()` makes it durable when it is due.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from tpdeclare.errors import StateError
from tpdeclare.state import codec
from tpdeclare.state.model import Record, State
from tpdeclare.state.volumes import VolumeRecord

if TYPE_CHECKING:  # imported when the first change is made: a plan that changes nothing never needs it
    from tpdeclare.state.journal import Change


def _change() -> type[Change]:
    from tpdeclare.state.journal import Change

    return Change


class JournalStore(Protocol):
    """What the Recorder needs of a state store (every tpdeclare.state.store.StateStore has it)."""

    def append(self, changes: Sequence[Change], *, stack: str | None = None,
               lineage: str | None = None) -> None: ...

    def write(self, state: State) -> None: ...


class Recorder:
    """Records state changes for concurrent workers; `put`/`remove` return once durable (but see `wait`)."""

    def __init__(self, store: JournalStore, state: State, *, clock: Callable[[], float] = time.monotonic):
        self._store = store
        self._base = state  # identity (stack, lineage, engine) of what is recorded
        self._records: dict[str, Record] = dict(state.resources)  # frozen values: shared safely
        self._volumes: dict[str, VolumeRecord] = dict(state.volumes)
        self._addresses = {r.cluster_id: a for a, r in state.resources.items() if r.cluster_id}  # by cluster
        self._serial = state.serial
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[Change] = []
        self._writing = False  # a leader is inside store.append
        self._durable = state.serial  # every change up to this serial is durable
        self._failed_at: int | None = None  # first serial of a batch whose append failed
        self._failure: StateError | None = None
        self.batches = 0  # store.append calls made (for tests and benchmarks)
        # Seconds a leader waits for more changes before its append: 0 for a local store (an fsync is
        # cheap), a few ms for an S3 store (each append is one PUT: fewer, larger batches).
        self._window = float(getattr(store, "commit_window", 0.0))
        self._expected: int | None = None  # operations in flight that may record (None: not known)
        self._clock = clock
        self._gathering = False  # a leader is waiting in its commit window
        self._waiters = 0  # changes in the queue whose callers wait for them (not the deferred ones)

    # -- reads ----------------------------------------------------------------------------------

    @property
    def serial(self) -> int:
        with self._cond:
            return self._serial

    @property
    def durable_serial(self) -> int:
        with self._cond:
            return self._durable

    def snapshot(self) -> State:
        """The current state (a frozen value)."""
        with self._cond:
            return self._state()

    def _state(self) -> State:
        return dataclasses.replace(self._base, resources=dict(self._records), volumes=dict(self._volumes),
                                   serial=self._serial)

    def records(self) -> dict[str, Record]:
        """The current records, by address (a new dict of frozen values)."""
        with self._cond:
            return dict(self._records)

    def get(self, address: str) -> Record | None:
        """The record at `address`, or None."""
        with self._cond:
            return self._records.get(address)

    def volumes(self) -> dict[str, VolumeRecord]:
        """The current volume records, by address (a new dict of frozen values)."""
        with self._cond:
            return dict(self._volumes)

    def get_volume(self, address: str) -> VolumeRecord | None:
        """The volume record at `address`, or None (a stack has few volumes: read from a copy)."""
        return self.volumes().get(address)

    # -- changes --------------------------------------------------------------------------------

    def put_volume(self, volume: VolumeRecord) -> None:
        """Store a volume record at its address; returns once durable (a damaged one is refused first)."""
        from tpdeclare.state.volume_rules import volume_problems

        problems = volume_problems(volume)
        if problems:
            raise codec.refuse_to_store(f"the volume record at {volume.address!r}", problems)
        with self._cond:
            self._refuse_if_failed(volume.address)
            self._volumes[volume.address] = volume
            self._enqueue(lambda serial: _change().put(serial, volume), volume.address)

    def remove_volume(self, address: str) -> None:
        """Forget the volume record at `address` (a no-op if there is none); returns once durable."""
        with self._cond:
            self._refuse_if_failed(address)
            if address not in self._volumes:
                return
            del self._volumes[address]
            self._enqueue(lambda serial: _change().remove(serial, address, volume=True), address)

    def put(self, record: Record, *, wait: bool = True) -> None:
        """Store `record` at its address; returns once the change is durable (StateError if not).

        A record that would not read back (a bug, or what an engine sent) is refused at once with
        a StateError, before anything changes: a damaged record is never stored. `wait=False`, on a
        store with a commit window, returns at once: the change rides with the next batch (or the
        checkpoint, or `flush()`). Only for a change nothing depends on being durable yet, such as a create's
        cluster ID and "ready", which a run killed before they are written learns again from the engine (by
        the ID, or by the name of the durable intent)."""
        problems = codec.record_problems(record)
        if problems:
            raise codec.refuse_to_store(f"the record at {record.address!r}", problems)
        with self._cond:
            self._refuse_if_failed(record.address)
            self._claim(record)
            self._records[record.address] = record
            # a local store's fsync is cheap: its changes are never deferred
            self._enqueue(lambda serial: _change().put(serial, record), record.address,
                          wait=wait or self._window <= 0)

    def remove(self, address: str) -> None:
        """Forget the record at `address` (a no-op if there is none); returns once durable."""
        with self._cond:
            self._refuse_if_failed(address)
            if address not in self._records:
                return
            self._release(self._records.pop(address))
            self._enqueue(lambda serial: _change().remove(serial, address), address)

    def move(self, from_address: str, to_address: str) -> None:
        """Re-address a record (one atomic journal entry); a no-op if `from_address` has none.

        Refuses (StateError) to move onto an address that already holds a record: that record's
        cluster would be forgotten."""
        with self._cond:
            self._refuse_if_failed(from_address)
            record = self._records.get(from_address)
            if record is None or from_address == to_address:
                return
            if to_address in self._records:
                raise StateError(f"cannot move {from_address!r} to {to_address!r}: that address "
                                 f"already holds a cluster in the state",
                                 hint="remove or move the existing record first")
            del self._records[from_address]
            self._records[to_address] = dataclasses.replace(record, address=to_address)
            if record.cluster_id:
                self._addresses[record.cluster_id] = to_address
            self._enqueue(lambda serial: _change().move(serial, from_address, to_address), to_address)

    def flush(self) -> None:
        """Return once every change made so far is durable (leading a batch if needed): what `wait=False`
        queued, when something now depends on it."""
        with self._cond:
            if self._durable < self._serial:
                self._wait_durable(self._serial, "the state")

    def checkpoint(self) -> None:
        """Write the whole current state as the snapshot (the store then drops its journal)."""
        with self._cond:
            while self._writing:
                self._cond.wait()
            state = self._state()
            try:
                self._store.write(state)
            except StateError:
                raise
            except OSError as exc:
                raise StateError(f"cannot write the state snapshot: {exc}") from exc
            else:
                self._queue.clear()  # the snapshot holds those entries: their callers are done
                self._waiters = 0
                self._durable = state.serial
                self._failed_at = None
                self._failure = None
            finally:
                self._cond.notify_all()  # waiters decide again: done, or lead the next batch

    def _claim(self, record: Record) -> None:
        """Index `record`'s cluster at its address; refuse a cluster another address holds (one cluster,
        one address: a state that says otherwise would not read back)."""
        earlier = self._records.get(record.address)
        if record.cluster_id:
            holder = self._addresses.get(record.cluster_id)
            if holder is not None and holder != record.address:
                raise StateError(f"refusing to record {record.cluster_id} at {record.address!r}: it is already "
                                 f"recorded at {holder!r}", hint="one cluster belongs to one address; this is a bug")
        if earlier is not None and earlier.cluster_id != record.cluster_id:
            self._release(earlier)
        if record.cluster_id:
            self._addresses[record.cluster_id] = record.address

    def _release(self, record: Record) -> None:
        if record.cluster_id and self._addresses.get(record.cluster_id) == record.address:
            del self._addresses[record.cluster_id]

    # -- group commit ---------------------------------------------------------------------------

    def expect(self, operations: int | None) -> None:
        """How many concurrent operations may record a change from now on (None: not known). A leader's
        commit window then closes once that many callers wait in the queue: the whole wave is in the batch."""
        with self._cond:
            self._expected = operations
            self._cond.notify_all()  # a leader in its window decides again

    def _gather(self) -> None:
        """Called holding the lock, as a leader: wait up to the commit window for the wave's changes."""
        if self._window <= 0:
            return
        deadline = self._clock() + self._window
        self._gathering = True
        try:
            while self._expected is None or self._waiters < self._expected:
                left = deadline - self._clock()
                if left <= 0:
                    return
                self._cond.wait(left)
        finally:
            self._gathering = False

    def _enqueue(self, change: Callable[[int], Change], address: str, *, wait: bool = True) -> None:
        """Called holding the lock: queue the change made for the next serial; with `wait`, return once it is
        durable (leading a batch if needed)."""
        self._serial += 1
        serial = self._serial
        self._queue.append(change(serial))
        if wait:
            self._wait_durable(serial, address)

    def _refuse_if_failed(self, address: str) -> None:
        if self._failure is not None:
            raise self._error(address)

    def _error(self, address: str) -> StateError:
        cause = self._failure
        detail = cause.message if cause is not None else "the state journal failed"
        return StateError(f"could not record the change to {address!r} durably: {detail}",
                          hint=(cause.hint if cause is not None and cause.hint else
                                "check free space and permissions of the state directory"))

    def _wait_durable(self, serial: int, address: str) -> None:
        """Called holding the lock: return once `serial` is durable, leading a batch if needed."""
        self._waiters += 1  # one more queued change whose caller waits
        if self._gathering:
            self._cond.notify_all()  # a leader waiting for its wave: one more change has arrived
        while self._durable < serial:
            if self._failed_at is not None and serial >= self._failed_at:
                raise self._error(address)
            if self._writing:
                self._cond.wait()
                continue
            self._writing = True
            self._gather()  # a remote store: gather what concurrent operations record meanwhile
            batch, self._queue, self._waiters = self._queue, [], 0
            if not batch:  # cannot happen: our own entry is queued until made durable
                raise StateError(f"internal error: change {serial} to {address!r} was lost")
            self._writing = True
            error: BaseException | None = None
            self._cond.release()
            try:
                self._store.append(batch, stack=self._base.stack, lineage=self._base.lineage)
            except BaseException as exc:  # noqa: BLE001 - every waiter must learn of it
                error = exc
            finally:
                self._cond.acquire()
                self._writing = False
                self.batches += 1
                self._settle(batch, error)
                self._cond.notify_all()
            if error is not None and not isinstance(error, Exception):
                raise error  # KeyboardInterrupt and friends: the leader re-raises as is

    def _settle(self, batch: list[Change], error: BaseException | None) -> None:
        if error is None:
            self._durable = max(self._durable, batch[-1].serial)
            return
        first = batch[0].serial
        self._failed_at = first if self._failed_at is None else min(self._failed_at, first)
        if isinstance(error, StateError):
            self._failure = error
        else:
            self._failure = StateError(f"{type(error).__name__}: {error}")
        self._queue.clear()  # entries queued behind the failed batch fail with it
        self._waiters = 0
