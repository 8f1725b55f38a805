"""The S3 state store: a snapshot object, journal-segment objects and a lease lock, every write conditional.

Objects, for a state at s3://team-state/tpdeclare/research.json:

    tpdeclare/research.json                   the snapshot (format: tpdeclare.state.codec)
    tpdeclare/research.json.journal/<serial>  one segment per append(): a journal (tpdeclare.state.journal)
                                              of one batch of changes, created with If-None-Match
    tpdeclare/research.json.lock              the lease (tpdeclare.state.s3_lease)
    tpdeclare/research.json.backup/<serial>   earlier snapshots (server-side copies, the newest 5), unless
                                              the bucket keeps object versions: then those are the backups

`read()` = snapshot + the segments newer than it (one GET, one LIST, one GET per segment). `write()`
PUTs the snapshot with If-Match on the ETag read (If-None-Match for a first one), so a writer that
lost its lease can never overwrite a newer state, then deletes the folded segments. Before the first
write the bucket must pass tpdeclare.state.s3_probe. It implements tpdeclare.state.store.StateStore.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tpdeclare.errors import StateError
from tpdeclare.state import codec
from tpdeclare.state.lock import LockInfo, OnWait
from tpdeclare.state.model import State
from tpdeclare.state.rules import check_unique_cluster_ids
from tpdeclare.state.s3_client import PreconditionFailed, S3Client
from tpdeclare.state.s3_lease import S3Lease, Takeover, force_unlock
from tpdeclare.state.s3_location import S3Location
from tpdeclare.state.s3_probe import ProbeResult, probe
from tpdeclare.state.strict_json import DamagedState

if TYPE_CHECKING:
    from tpdeclare.state.journal import Change

BACKUPS = 5
COMMIT_WINDOW = 0.02  # seconds the Recorder's leader gathers changes before one append (one PUT)
_UNSEEN = object()


class S3StateStore:
    """One stack's state in a bucket (see the module docstring for the objects)."""

    def __init__(self, location: S3Location, *, client: S3Client | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, probe_cache: Path | None = None,
                 on_takeover: Takeover | None = None, heartbeat: bool = True):
        self.location = location
        # Its objects: the snapshot, the journal segments, the backups and the lock object.
        self.key = location.key
        self.journal_prefix, self.backup_prefix = f"{location.key}.journal/", f"{location.key}.backup/"
        self.lock_key = f"{location.key}.lock"
        self.client = client if client is not None else S3Client(location)
        self._clock = clock
        self._sleep = sleep
        self._probe_cache = probe_cache
        self._probed: ProbeResult | None = None
        self.on_takeover = on_takeover
        self.on_lost: Callable[[str], None] | None = None
        self._heartbeat = heartbeat
        self._io = threading.RLock()
        self._etag: object = _UNSEEN  # the snapshot's ETag when last read or written (None: absent)
        self._snapshot: bytes | None = None
        self._segments: list[str] = []  # segment keys read or written since
        self._identity: tuple[str, str, int] | None = None
        self._last_serial = 0
        self._dropping: frozenset[str] = frozenset()
        self.lease: S3Lease | None = None
        self.commit_window = COMMIT_WINDOW

    def __repr__(self) -> str:
        return f"S3StateStore({self.name!r})"

    @property
    def name(self) -> str:
        return self.location.url

    def probed(self) -> ProbeResult:
        """The bucket's conditional-write probe (tpdeclare.state.s3_probe), run once per bucket and prefix."""
        if self._probed is None:
            self._probed = probe(self.client, self.location.prefix, cache=self._probe_cache)
        return self._probed

    @property
    def backups(self) -> str:
        """How earlier snapshots are kept: "object versions" or "numbered objects"."""
        return "object versions" if self.probed().versioning else "numbered objects"

    # -- reading --------------------------------------------------------------------------------

    def _fetch(self) -> tuple[Any, list[tuple[str, bytes]]]:
        snap = self.client.get(self.key)
        segments = []
        for key in self.client.list(self.journal_prefix):
            got = self.client.get(key)
            if got is not None:
                segments.append((key, got.data))
        return snap, segments

    def _load(self, snap: bytes | None, segments: list[tuple[str, bytes]], dropping: Collection[str]) -> State | None:
        try:
            state = codec.parse_state(snap, source=self.name, dropping=dropping) if snap is not None else None
        except DamagedState as exc:
            raise exc.with_hint(f"restore an earlier snapshot from {self.backup_prefix} (or an object version) "
                                f"with `tpdeclare state push`") from exc
        if not segments:
            return state
        from tpdeclare.state.journal import replay, scan_journal

        entries: list[Change] = []
        serial = state.serial if state is not None else 0
        for key, data in segments:
            scan = scan_journal(data, source=f"s3://{self.client.bucket}/{key}", dropping=dropping)
            if scan.header is None:
                continue
            if scan.entries and scan.entries[0].serial <= serial:
                # A stale segment, in whole: a run that lost its lease wrote it after the new holder had moved
                # the state past its first serial (a live segment starts above everything before it). Applying
                # its tail would put a lost run's view over the new holder's; the next write deletes it.
                continue
            if state is None:
                state = State(stack=scan.header.stack, lineage=scan.header.lineage, serial=0, tool_version="")
            elif (scan.header.lineage, scan.header.stack) != (state.lineage, state.stack):
                raise StateError(
                    f"state journal segment s3://{self.client.bucket}/{key} belongs to another state (stack "
                    f"{scan.header.stack!r}, lineage {scan.header.lineage}) than {self.name}",
                    hint="the state was probably replaced by hand; delete the segment that does not belong")
            entries.extend(scan.entries)
            serial = max(serial, scan.entries[-1].serial) if scan.entries else serial
        entries.sort(key=lambda c: c.serial)
        assert state is not None
        state = replay(state, entries, dropping=dropping)
        shared = check_unique_cluster_ids((a, r.cluster_id) for a, r in sorted(state.resources.items()))
        if shared:
            raise codec.StateFileError(f"{self.name} (with its journal)", shared)
        return state

    def read(self, *, dropping: Collection[str] = ()) -> State | None:
        with self._io:
            snap, segments = self._fetch()
            state = self._load(snap.data if snap else None, segments, dropping)
            self._etag = snap.etag if snap else None
            self._snapshot = snap.data if snap else None
            self._segments = [k for k, _ in segments]
            self._dropping = frozenset(dropping)
            if state is not None:
                self._identity = (state.stack, state.lineage, state.serial)
                self._last_serial = state.serial
            return state

    def raw(self) -> bytes | None:
        got = self.client.get(self.key)
        return got.data if got else None

    def content_hash(self) -> str:
        with self._io:
            snap, segments = self._fetch()
            h = hashlib.sha256()
            h.update(snap.data if snap else b"")
            for key, data in segments:
                h.update(key.encode() + b"\0" + data)
            return h.hexdigest()

    # -- writing --------------------------------------------------------------------------------

    def _check_lease(self, what: str) -> None:
        if self.lease is not None:
            self.lease.check(what)

    def write(self, state: State) -> None:
        problems = codec.state_problems(state)
        if problems:
            raise codec.refuse_to_store(f"state {self.name}", problems)
        with self._io:
            self._check_lease("write the state")
            self.probed()
            if self._etag is _UNSEEN:
                self.read(dropping=self._dropping)
            existing = self._identity if self._etag is not None or self._segments else None
            if existing is not None:
                if existing[:2] != (state.stack, state.lineage):
                    raise StateError(
                        f"refusing to overwrite state {self.name}: it belongs to stack {existing[0]!r} "
                        f"(lineage {existing[1]}), not stack {state.stack!r} (lineage {state.lineage})",
                        hint="use a different --state for a different stack; the object was left untouched")
                if max(existing[2], self._last_serial) > state.serial:
                    raise StateError(
                        f"refusing to overwrite state {self.name}: it is at serial "
                        f"{max(existing[2], self._last_serial)}, newer than the serial {state.serial} being written",
                        hint="another run changed the state since this one read it; run the command again")
            listed = self.client.list(self.journal_prefix)
            if listed != sorted(self._segments):
                late = set(listed) - set(self._segments)
                if set(self._segments) - set(listed) or not all(self._stale(k, state.serial) for k in late):
                    raise self._changed()
                self._segments = listed  # stale segments of a run that lost its lease: folded away below
            data = codec.dump_state(state)
            if data != self._snapshot:
                self._backup()
                self._check_lease("write the state")
                try:
                    etag = (self.client.put(self.key, data, if_absent=True) if self._etag is None
                            else self.client.put(self.key, data, if_match=str(self._etag)))
                except PreconditionFailed:
                    raise self._changed() from None
                self._etag, self._snapshot = etag, data
            if self._segments:
                self.client.delete_many(self._segments)  # only now: the snapshot holding them is durable
                self._segments = []
            self._identity = (state.stack, state.lineage, state.serial)
            self._last_serial = state.serial
            self._dropping = frozenset()

    def _stale(self, key: str, serial: int) -> bool:
        """Whether a segment that appeared since this run read the state starts at or below `serial`, the
        serial being written: only a run that lost its lease writes one while this run holds it, and once the
        snapshot is at `serial` no read applies it (a segment's key is its first serial)."""
        suffix = key[len(self.journal_prefix):]
        return suffix.isdigit() and int(suffix) <= serial

    def _changed(self) -> StateError:
        return StateError(
            f"state {self.name} changed in the bucket since this run read it; refusing to overwrite it",
            hint="another run wrote it (did this run lose its lock?); run the command again to start from "
                 "the current state")

    def _backup(self) -> None:
        """Keep the snapshot about to be replaced (a server-side copy), unless the bucket keeps versions."""
        if self._snapshot is None or self._etag is None or self.probed().versioning or self._identity is None:
            return
        target = f"{self.backup_prefix}{self._identity[2]:012d}"
        try:
            self.client.copy(self.key, target, if_match=str(self._etag))
        except PreconditionFailed:
            raise self._changed() from None
        old = self.client.list(self.backup_prefix)[:-BACKUPS]
        if old:
            self.client.delete_many(old)

    def append(self, changes: Sequence[Change], *, stack: str | None = None, lineage: str | None = None) -> None:
        if not changes:
            return
        from tpdeclare.state.journal import JournalHeader, encode_changes

        with self._io:
            self._check_lease("journal a change")
            self.probed()
            if self._etag is _UNSEEN:
                self.read(dropping=self._dropping)
            if self._identity is not None:
                if lineage is not None and lineage != self._identity[1]:
                    raise StateError(f"refusing to journal changes of lineage {lineage} next to state "
                                     f"{self.name} of lineage {self._identity[1]}",
                                     hint="use a different --state for a different stack")
                stack, lineage = self._identity[:2]
            if stack is None or lineage is None:
                raise StateError(f"cannot start the state journal of {self.name}: no stack or lineage given")
            entries, last = encode_changes(changes, self._last_serial, f"of {self.name}")
            lines = [JournalHeader(stack, lineage).line(), *entries]
            key = f"{self.journal_prefix}{changes[0].serial:012d}"
            try:
                self.client.put(key, b"".join(lines), if_absent=True)
            except PreconditionFailed:
                raise StateError(f"refusing to journal serial {changes[0].serial} to {self.name}: another "
                                 "run journalled it first", hint="run the command again") from None
            self._segments.append(key)
            if self._identity is None:
                self._identity = (stack, lineage, 0)
            self._last_serial = last

    def close(self) -> None:
        """Nothing is kept open between calls (a held lease is released by its `with` block)."""

    # -- locking --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, command: str, timeout: float = 0.0, *, on_wait: OnWait | None = None) -> Iterator[S3Lease]:
        result = self.probed()
        lease = S3Lease(self.client, self.lock_key, self.location.lock_ttl, state_name=self.name,
                        clock=self._clock, sleep=self._sleep, delete_if_match=result.delete_if_match,
                        heartbeat=self._heartbeat)
        lease.on_lost = self.on_lost
        lease.acquire(command, timeout, on_wait=on_wait, on_takeover=self.on_takeover)
        self.lease = lease
        try:
            yield lease
        finally:
            self.lease = None
            lease.release()

    def force_unlock(self, lock_id: str) -> LockInfo:
        return force_unlock(self.client, self.lock_key, lock_id, state_name=self.name, clock=self._clock)
