"""The StateStore Protocol: what every home of a stack's state (a local file, an S3 object) offers its users.

The contract, checked for every implementation by tests/state_store_contract.py:

- `read()` is the current state (snapshot plus journal) or None when none was ever written; a state
  that breaks a rule is a StateError naming every problem, and nothing is ever written after one.
  `read(dropping=ADDRS)` leaves those records out unchecked (how `state rm` forgets a damaged one);
  a `write` of the same store may then replace a file whose only damage was there.
- `write(state)` replaces the whole state durably; it refuses (StateError, nothing written) a state
  of another stack or lineage, an older serial, a store changed since this one read it, a current
  state it cannot read, and a state that would not read back.
- `append(changes, stack=, lineage=)` makes a batch of changes durable in one step (group commit);
  serials must increase past everything stored; `read()` then includes them; `write` folds them in.
- `lock(command, timeout, on_wait=)` holds the state's lock for a `with` block, exclusive across
  processes and across stores in one process; a second holder gets a LockError naming the first,
  after waiting up to `timeout` seconds and telling `on_wait` at once that it waits.
- `force_unlock(lock_id)` clears a lock its holder left behind, never one still held.
- `content_hash()` changes whenever what `read()` returns may have changed (a saved plan binds it).
- `name` is how messages name the store; `close()` releases what the store keeps open.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from tpdeclare.state.journal import Change
from tpdeclare.state.lock import LockInfo, OnWait
from tpdeclare.state.model import State


@runtime_checkable
class HeldLock(Protocol):
    """A lock while it is held: who holds it (this run)."""

    @property
    def info(self) -> LockInfo | None: ...


@runtime_checkable
class StateStore(Protocol):
    """One stack's state, wherever it is kept (see the module docstring for the contract)."""

    @property
    def name(self) -> str: ...

    def read(self, *, dropping: Collection[str] = ()) -> State | None: ...

    def write(self, state: State) -> None: ...

    def append(self, changes: Sequence[Change], *, stack: str | None = None,
               lineage: str | None = None) -> None: ...

    def lock(self, command: str, timeout: float = 0.0, *,
             on_wait: OnWait | None = None) -> AbstractContextManager[HeldLock]: ...

    def force_unlock(self, lock_id: str) -> LockInfo: ...

    def content_hash(self) -> str: ...

    def close(self) -> None: ...
