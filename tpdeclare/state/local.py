"""The local state store: an atomic JSON snapshot, numbered backups and an append-only journal, under an flock.

Files, for a state at `state/research.json` (beside the link's target when it is a symbolic link:
tpdeclare.state.local_paths):

    state/research.json          the snapshot (format: tpdeclare.state.codec), mode 0600
    state/research.json.1 … .5   earlier snapshots, newest first
    state/research.json.journal  changes since the snapshot (format: tpdeclare.state.journal), mode 0600
    state/research.json.lock     the flock target, holding who has it (tpdeclare.state.lock)

`read()` = snapshot + the journal entries newer than it. `append()` is one write and one fsync for any
number of changes (the group-commit primitive); `write()` replaces the snapshot atomically and then
drops the journal, which it has just folded in. It implements tpdeclare.state.store.StateStore.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tpdeclare.errors import StateError
from tpdeclare.state import codec, local_backups
from tpdeclare.state.local_paths import LocalPaths, resolve
from tpdeclare.state.lock import LockInfo, OnWait, StateLock, force_unlock
from tpdeclare.state.model import State
from tpdeclare.state.rules import check_unique_cluster_ids
from tpdeclare.state.strict_json import DamagedState
from tpdeclare.state.verified import is_stamped, write_stamp

if TYPE_CHECKING:
    from tpdeclare.state.journal import Change
    from tpdeclare.state.journal_file import JournalFile

# The journal's modules (and atomic_files, with tempfile) are imported when first needed: a plan that
# only reads a state without a journal never needs them, and start-up time counts (DESIGN §3).

_UNSEEN = object()  # `_seen` before this store looked at the snapshot
Fingerprint = tuple[int, int, int, int, int]


def _fingerprint(info: os.stat_result) -> Fingerprint:
    """What changes whenever a file is replaced or written: its inode, size and times."""
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


class LocalStateStore:
    """One stack's state on the local disk (see the module docstring for the files)."""

    def __init__(self, path: Path | str, *, backups: int = 5):
        self.path = Path(path)  # as given: how messages name the state
        self.backups = max(0, int(backups))
        # Counters, for benchmarks and tests.
        self.bytes_written = 0  # snapshot + backups + journal
        self.appends = 0  # append() calls that wrote (each = one fsync)
        self.snapshots = 0  # snapshots written
        self._io = threading.RLock()
        self._paths: LocalPaths | None = None
        self._journal: JournalFile | None = None
        # (stack, lineage, serial) of the state last read or written: a new journal's header, and the
        # serial its appends must pass while the snapshot is unchanged since (`_seen`).
        self._identity: tuple[str, str, int] | None = None
        self._seen: object = _UNSEEN  # the snapshot's Fingerprint (None: absent) when this store last read or wrote it
        self._dropping: frozenset[str] = frozenset()  # addresses the last read() was told to leave out

    def __repr__(self) -> str:
        return f"LocalStateStore({str(self.path)!r})"

    # -- where ----------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def paths(self) -> LocalPaths:
        """The files, links resolved on first use (StateError for a path that cannot hold a state)."""
        if self._paths is None:
            self._paths = resolve(self.path)
        return self._paths

    @property
    def journal_path(self) -> Path:
        return self.paths.journal

    @property
    def lock_path(self) -> Path:
        return self.paths.lock

    def backup_path(self, n: int) -> Path:
        return self.paths.backup(n)

    # -- reading --------------------------------------------------------------------------------

    def _read_snapshot(self) -> tuple[bytes | None, Fingerprint | None, bool]:
        """The snapshot's bytes, the fingerprint of the very file they were read from, and whether that file
        carries the verified stamp of exactly these bytes (tpdeclare.state.verified)."""
        try:
            with open(self.paths.target, "rb") as f:
                raw = f.read()
                return raw, _fingerprint(os.fstat(f.fileno())), is_stamped(f.fileno(), raw)
        except FileNotFoundError:
            return None, None, False
        except OSError as exc:
            raise StateError(f"cannot read {self.paths.target}: {exc.strerror or exc}",
                             hint="check the path and its permissions") from exc

    def _snapshot_fingerprint(self) -> Fingerprint | None:
        try:
            return _fingerprint(os.stat(self.paths.target))
        except FileNotFoundError:
            return None

    def _read_bytes(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {path}: {exc.strerror or exc}",
                             hint="check the path and its permissions") from exc

    def _parse_snapshot(self, snap: bytes, dropping: Collection[str], verified: bool = False) -> State:
        try:
            return codec.parse_state(snap, source=self.name, dropping=dropping, verified=verified)
        except DamagedState as exc:
            raise exc.with_hint(self.restore_hint(exc.damaged)) from exc

    def _load(self, snap: bytes | None, journal: bytes | None, dropping: Collection[str],
              verified: bool = False) -> State | None:
        state = self._parse_snapshot(snap, dropping, verified) if snap is not None else None
        if not journal:
            return state
        from tpdeclare.state.journal import replay, scan_journal

        source = str(self.paths.journal)
        scan = scan_journal(journal, source=source, dropping=dropping)
        if scan.header is None:
            return state  # only a torn header: no change ever became durable
        header = scan.header
        if state is None:
            state = State(stack=header.stack, lineage=header.lineage, serial=0, tool_version="")
        elif header.lineage != state.lineage or header.stack != state.stack:
            raise StateError(
                f"state journal {source} belongs to another state (stack {header.stack!r}, lineage "
                f"{header.lineage}) than {self.name} (stack {state.stack!r}, lineage {state.lineage})",
                hint=f"{self.name} was probably replaced by hand; move the file that does not belong "
                     f"aside. Both files were left untouched",
            )
        state = replay(state, scan.entries, dropping=dropping)
        shared = check_unique_cluster_ids((a, r.cluster_id) for a, r in sorted(state.resources.items()))
        if shared:
            raise codec.StateFileError(f"{self.name} (with its journal)", shared,
                                       hint=self.restore_hint([p.address for p in shared if p.address]))
        return state

    def read(self, *, dropping: Collection[str] = ()) -> State | None:
        """The current state (snapshot + journal), or None when there is none yet.

        Records at the addresses in `dropping` are left out unchecked (and a later write() may
        replace a snapshot whose only damage was there): that is how `state rm` mends a state."""
        with self._io:
            snap, seen, verified = self._read_snapshot()
            state = self._load(snap, self._read_bytes(self.paths.journal), dropping, verified)
            self._seen = seen
            self._dropping = frozenset(dropping)
            if state is not None:
                self._identity = (state.stack, state.lineage, state.serial)
            return state

    def raw(self) -> bytes | None:
        """The snapshot's bytes, or None."""
        return self._read_bytes(self.paths.target)

    def content_hash(self) -> str:
        """sha256 (hex) of the snapshot's bytes followed by the journal's: what a saved plan binds."""
        import hashlib  # not at start-up: OpenSSL's set-up, for saved plans only

        with self._io:
            h = hashlib.sha256()
            h.update(self._read_bytes(self.paths.target) or b"")
            h.update(self._read_bytes(self.paths.journal) or b"")
            return h.hexdigest()

    def restore_hint(self, damaged: Collection[str]) -> str:
        """What to do about a snapshot that does not read (tpdeclare.state.local_backups)."""
        return local_backups.restore_hint(self.paths, self.backups, damaged)

    # -- writing the snapshot -------------------------------------------------------------------

    def _ensure_dir(self) -> None:
        directory = self.paths.target.parent
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create the state directory {directory}: {exc.strerror or exc}") from exc

    def write(self, state: State) -> None:
        """Replace the snapshot atomically (0600, numbered backup), then drop the folded journal.

        Refuses, leaving every file byte-identical, when `state` would not read back, or the
        existing snapshot or journal cannot be read, belongs to another lineage or stack, is newer
        than `state`, or changed on disk since this store read it."""
        from tpdeclare import atomic_files

        problems = codec.state_problems(state)
        if problems:
            raise codec.refuse_to_store(f"state {self.name}", problems)
        with self._io:
            self._ensure_dir()
            current, seen, verified = self._read_snapshot()
            try:
                existing = self._load(current, self._read_bytes(self.paths.journal), self._dropping, verified)
            except StateError as exc:
                raise StateError(f"refusing to overwrite the state: {exc.message}", hint=exc.hint) from exc
            self._check_overwrite(state, seen, existing)
            data = codec.dump_state(state)
            try:
                if current != data:
                    if current is not None:
                        self.bytes_written += local_backups.rotate(self.paths, self.backups, current)
                    # Checked by state_problems above: stamped as verified (state/verified.py) before the rename.
                    atomic_files.atomic_write(self.paths.target, data,
                                              before_rename=lambda fd: write_stamp(fd, data))
                    self.bytes_written += len(data)
                    self.snapshots += 1
                self._journal_file().remove()  # only now: the snapshot holding its entries is durable
            except OSError as exc:
                raise StateError(f"cannot write state {self.name}: {exc.strerror or exc}",
                                 hint="the previous state file was left intact; check free space "
                                      "and permissions, then run again") from exc
            self._seen = self._snapshot_fingerprint()
            self._identity = (state.stack, state.lineage, state.serial)
            self._dropping = frozenset()

    def _check_overwrite(self, state: State, seen: Fingerprint | None, existing: State | None) -> None:
        if self._seen is not _UNSEEN and seen != self._seen:
            raise StateError(
                f"state {self.name} changed on disk since this run read it; refusing to overwrite it",
                hint="another process wrote it (is every run taking the state lock?); run the "
                     "command again to start from the current state",
            )
        if existing is None:
            return
        if existing.lineage != state.lineage or existing.stack != state.stack:
            raise StateError(
                f"refusing to overwrite state {self.name}: it belongs to stack {existing.stack!r} "
                f"(lineage {existing.lineage}), not stack {state.stack!r} (lineage {state.lineage})",
                hint="use a different --state path for a different stack; the file was left untouched",
            )
        if existing.serial > state.serial:
            raise StateError(
                f"refusing to overwrite state {self.name}: it is at serial {existing.serial}, newer "
                f"than the serial {state.serial} being written",
                hint="another run changed the state since this one read it; run the command again",
            )

    # -- the journal ----------------------------------------------------------------------------

    def _journal_file(self) -> JournalFile:
        from tpdeclare.state.journal_file import JournalFile

        if self._journal is None:
            self._journal = JournalFile(self.paths.journal)
        return self._journal

    def _snapshot_identity(self) -> tuple[str, str, int] | None:
        """(stack, lineage, serial) of the snapshot on disk, parsed only if this store has not seen it."""
        if self._identity is not None and self._snapshot_fingerprint() == self._seen:
            return self._identity if self._seen is not None else None
        snap, _, verified = self._read_snapshot()
        if snap is None:
            return None
        state = self._parse_snapshot(snap, self._dropping, verified)
        return state.stack, state.lineage, state.serial

    def _open_journal(self, stack: str | None, lineage: str | None) -> JournalFile:
        from tpdeclare.state.journal import JournalHeader, journal_hint

        self._ensure_dir()
        snapshot = self._snapshot_identity()
        if stack is None or lineage is None:
            if self._identity is None:
                raise StateError(f"cannot start the state journal {self.paths.journal}: no stack or lineage given")
            stack, lineage = self._identity[:2]
        journal = self._journal_file()
        header = journal.open(new=JournalHeader(stack, lineage), after=snapshot[2] if snapshot else 0)
        if lineage != header.lineage:
            journal.close()
            raise StateError(f"state journal {journal.path} belongs to lineage {header.lineage}, not {lineage}; "
                             f"refusing to append", hint=journal_hint(str(journal.path)))
        if snapshot is not None and snapshot[:2] != (header.stack, header.lineage):
            journal.close()
            raise StateError(f"refusing to journal changes of lineage {header.lineage} next to state "
                             f"{self.name} of lineage {snapshot[1]}",
                             hint="use a different --state path for a different stack")
        return journal

    def append(self, changes: Sequence[Change], *, stack: str | None = None,
               lineage: str | None = None) -> None:
        """Make `changes` durable in the journal: one write of every line, then one fsync.

        Serials must increase, newer than anything stored; a put's record must read back. `stack`
        and `lineage` start a new journal's header (defaulting to the state this store last read or
        wrote)."""
        if not changes:
            return
        from tpdeclare.state.journal import encode_changes

        with self._io:
            journal = self._journal_file()
            if not journal.is_open:
                journal = self._open_journal(stack, lineage)
            elif lineage is not None and journal.header is not None and lineage != journal.header.lineage:
                raise StateError(f"state journal {journal.path} belongs to lineage {journal.header.lineage}, "
                                 f"not {lineage}; refusing to append")
            lines, last = encode_changes(changes, journal.last_serial, str(journal.path))
            self.bytes_written += journal.append(b"".join(lines), last)
            self.appends += 1

    def close(self) -> None:
        """Close the journal (it is kept open between appends)."""
        with self._io:
            if self._journal is not None:
                self._journal.close()

    def __enter__(self) -> LocalStateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- locking --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, command: str, timeout: float = 0.0, *, on_wait: OnWait | None = None) -> Iterator[StateLock]:
        """Hold the state lock for the block; LockError names the holder if another run has it.

        `on_wait` hears at once when the lock is taken and the run is going to wait for it."""
        self._ensure_dir()
        state_lock = StateLock(self.paths.lock, state_name=self.name)
        state_lock.acquire(command, timeout, on_wait=on_wait)
        try:
            yield state_lock
        finally:
            state_lock.release()

    def force_unlock(self, lock_id: str) -> LockInfo:
        """Clear a stale lock record whose ID is `lock_id` (refused while a live process holds it)."""
        return force_unlock(self.paths.lock, lock_id, state_name=self.name)
