"""The local state store: an atomic JSON snapshot, numbered backups and an append-only journal.

Files, for a state at `state/research.json`:

    state/research.json          the snapshot (format: tpdeclare.state.codec), mode 0600
    state/research.json.1 … .5   earlier snapshots, newest first
    state/research.json.journal  changes since the snapshot, one JSON line each, mode 0600:
                                   {"format_version": 1, "journal": 1, "lineage": …, "stack": …}   (header)
                                   {"serial": n, "op": "put", "address": a, "record": {…}}
                                   {"serial": n, "op": "remove", "address": a}
                                   {"serial": n, "op": "move", "address": a, "to": b}
    state/research.json.lock     the flock target, holding who has it (tpdeclare.state.lock)

`read()` = snapshot + the journal entries newer than it. `append()` is one write and one fsync for any
number of entries (the group-commit primitive); `write()` replaces the snapshot atomically and then
drops the journal, which it has just folded in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from tpdeclare.errors import StateError
from tpdeclare.state import codec
from tpdeclare.state.lock import LockInfo, StateLock, force_unlock
from tpdeclare.state.model import FORMAT_VERSION, Record, State

JOURNAL_VERSION = 1
OPS = ("put", "remove", "move")
_ENTRY_KEYS = frozenset({"serial", "op", "address", "record", "to"})
_UNSEEN = object()  # `_seen_hash` before this store looked at the snapshot


@dataclasses.dataclass(frozen=True)
class JournalEntry:
    """One replayable change: put a record at an address, remove it, or move it to `to`."""

    serial: int
    op: str
    address: str
    record: Record | None
    line: int
    to: str | None = None


@dataclasses.dataclass(frozen=True)
class JournalScan:
    """What a journal file holds: its header, its valid entries, and where valid data ends."""

    header: dict | None
    entries: tuple[JournalEntry, ...]
    good_len: int  # bytes of complete, valid lines; a torn tail after it is ignored
    torn: bool  # True when a torn final line was dropped

    @property
    def last_serial(self) -> int:
        return self.entries[-1].serial if self.entries else 0


def _journal_hint(source: str) -> str:
    return (f"the journal was left untouched; move {source} aside to fall back to the snapshot "
            f"(changes recorded only in the journal are then lost — check them by hand first)")


def _journal_error(source: str, line: int, problem: str) -> StateError:
    return StateError(f"state journal {source} is corrupt at line {line}: {problem}",
                      hint=_journal_hint(source))


def _check_header(doc: dict, *, source: str, line: int) -> dict:
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _journal_error(source, line, f"header: 'format_version' must be a positive integer, "
                                           f"got {version!r}")
    if version > FORMAT_VERSION:
        raise codec.newer_format_error(source, version, what="state journal")
    for key in ("stack", "lineage"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise _journal_error(source, line, f"header: {key!r} must be a non-empty string")
    return doc


def _check_entry(doc: dict, *, source: str, line: int) -> JournalEntry:
    unknown = sorted(set(doc) - _ENTRY_KEYS)
    if unknown:
        raise _journal_error(source, line, f"unknown key {unknown[0]!r}")
    serial, op, address = doc.get("serial"), doc.get("op"), doc.get("address")
    if not isinstance(serial, int) or isinstance(serial, bool) or serial < 1:
        raise _journal_error(source, line, f"'serial' must be a positive integer, got {serial!r}")
    if op not in OPS:
        raise _journal_error(source, line, f"'op' must be 'put', 'remove' or 'move', got {op!r}")
    if not isinstance(address, str) or not address:
        raise _journal_error(source, line, f"'address' must be a non-empty string, got {address!r}")
    record = None
    if op == "put":
        if "record" not in doc:
            raise _journal_error(source, line, "a 'put' entry has no 'record'")
        record = codec.parse_record(address, doc["record"], source=source,
                                    where=f"line {line}: record", what="state journal",
                                    hint=_journal_hint(source))
    elif "record" in doc:
        raise _journal_error(source, line, f"a '{op}' entry carries a 'record'")
    to = doc.get("to")
    if op == "move":
        if not isinstance(to, str) or not to:
            raise _journal_error(source, line, f"a 'move' entry needs a non-empty 'to', got {to!r}")
    elif "to" in doc:
        raise _journal_error(source, line, f"a '{op}' entry carries a 'to'")
    return JournalEntry(serial=serial, op=op, address=address, record=record, line=line, to=to)


def scan_journal(data: bytes, *, source: str) -> JournalScan:
    """Parse journal bytes. A torn final line (no newline, or not JSON) is dropped: it is what a
    crash in the middle of an append leaves. Anything wrong before it is a StateError."""
    spans: list[tuple[int, int]] = []  # [start, end) of each newline-terminated line
    pos = 0
    while True:
        nl = data.find(b"\n", pos)
        if nl == -1:
            break
        spans.append((pos, nl + 1))
        pos = nl + 1
    torn = pos < len(data)  # bytes after the last newline: an unfinished line
    good_len = pos
    header: dict | None = None
    entries: list[JournalEntry] = []
    for index, (start, end) in enumerate(spans):
        line = index + 1
        try:
            doc = json.loads(data[start:end].decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            if index == len(spans) - 1 and not torn:
                good_len, torn = start, True  # a torn final line that happens to end in "\n"
                break
            raise _journal_error(source, line, f"not a JSON line ({exc})") from exc
        if not isinstance(doc, dict):
            raise _journal_error(source, line, "expected a JSON object")
        if index == 0:
            if "op" in doc or "lineage" not in doc:
                raise _journal_error(source, line, "the first line is not a journal header")
            header = _check_header(doc, source=source, line=line)
            continue
        entry = _check_entry(doc, source=source, line=line)
        if entries and entry.serial <= entries[-1].serial:
            raise _journal_error(source, line, f"serial {entry.serial} does not follow serial "
                                               f"{entries[-1].serial}")
        entries.append(entry)
    return JournalScan(header=header, entries=tuple(entries), good_len=good_len, torn=torn)


def replay(state: State, entries: tuple[JournalEntry, ...] | list[JournalEntry]) -> State:
    """`state` with the journal entries newer than its serial applied (a new State)."""
    resources = dict(state.resources)
    serial = state.serial
    for entry in entries:
        if entry.serial <= serial:
            continue  # already folded into the snapshot
        if entry.op == "put":
            assert entry.record is not None  # _check_entry guarantees it
            resources[entry.address] = entry.record
        elif entry.op == "remove":
            resources.pop(entry.address, None)
        else:
            moved = resources.pop(entry.address, None)
            if moved is not None and entry.to is not None:
                resources[entry.to] = dataclasses.replace(moved, address=entry.to)
        serial = entry.serial
    if serial == state.serial:
        return state
    return dataclasses.replace(state, resources=resources, serial=serial)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_data(fd: int) -> None:
    """fdatasync where the platform has it (enough for appended data), else fsync."""
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:
        os.fsync(fd)


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


class LocalStateStore:
    """One stack's state on the local disk (see the module docstring for the files)."""

    def __init__(self, path: Path | str, *, backups: int = 5):
        self.path = Path(path)
        self.journal_path = Path(f"{self.path}.journal")
        self.lock_path = Path(f"{self.path}.lock")
        self.backups = max(0, int(backups))
        # Counters, for benchmarks and tests.
        self.bytes_written = 0  # snapshot + backups + journal
        self.appends = 0  # append() calls that wrote (each = one fsync)
        self.snapshots = 0  # snapshots written
        self._io = threading.RLock()
        self._jfd: int | None = None
        self._jlineage: str | None = None
        self._jlast = 0  # entries must be newer than this (journal's last serial, or snapshot's)
        self._identity: tuple[str, str] | None = None  # (stack, lineage) once known
        self._seen_hash: object = _UNSEEN  # snapshot hash when this store last read or wrote it

    def __repr__(self) -> str:
        return f"LocalStateStore({str(self.path)!r})"

    def backup_path(self, n: int) -> Path:
        return Path(f"{self.path}.{n}")

    # -- reading --------------------------------------------------------------------------------

    def _read_bytes(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {path}: {exc.strerror or exc}",
                             hint="check the path and its permissions") from exc

    def _load(self, snap: bytes | None, journal: bytes | None) -> State | None:
        state = codec.parse_state(snap, source=str(self.path)) if snap is not None else None
        if not journal:
            return state
        scan = scan_journal(journal, source=str(self.journal_path))
        if scan.header is None:
            return state  # only a torn header: no change ever became durable
        header = scan.header
        if state is None:
            state = State(stack=header["stack"], lineage=header["lineage"], serial=0,
                          tool_version="")
        elif header["lineage"] != state.lineage or header["stack"] != state.stack:
            raise StateError(
                f"state journal {self.journal_path} belongs to another state (stack "
                f"{header['stack']!r}, lineage {header['lineage']}) than {self.path} (stack "
                f"{state.stack!r}, lineage {state.lineage})",
                hint=f"{self.path} was probably replaced by hand; move the file that does not belong "
                     f"aside. Both files were left untouched",
            )
        return replay(state, scan.entries)

    def read(self) -> State | None:
        """The current state (snapshot + journal), or None when there is none yet."""
        with self._io:
            snap = self._read_bytes(self.path)
            state = self._load(snap, self._read_bytes(self.journal_path))
            self._seen_hash = _sha256(snap)
            if state is not None:
                self._identity = (state.stack, state.lineage)
            return state

    def raw(self) -> bytes | None:
        """The snapshot's bytes, or None."""
        return self._read_bytes(self.path)

    def content_hash(self) -> str:
        """sha256 (hex) of the snapshot's bytes followed by the journal's: what a saved plan binds."""
        with self._io:
            h = hashlib.sha256()
            h.update(self._read_bytes(self.path) or b"")
            h.update(self._read_bytes(self.journal_path) or b"")
            return h.hexdigest()

    # -- writing the snapshot -------------------------------------------------------------------

    def _ensure_dir(self) -> None:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create the state directory {self.path.parent}: "
                             f"{exc.strerror or exc}") from exc

    def _atomic_write(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                os.fchmod(f.fileno(), 0o600)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.bytes_written += len(data)
        _fsync_dir(path.parent)

    def _rotate_backups(self, current: bytes) -> None:
        """Shift `<path>.1…` up by one (dropping the oldest) and keep `current` as `<path>.1`."""
        if self.backups <= 0:
            return
        for n in range(self.backups - 1, 0, -1):
            src = self.backup_path(n)
            if src.exists():
                os.replace(src, self.backup_path(n + 1))
        newest = self.backup_path(1)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(newest)
        try:
            os.link(self.path, newest)  # the old snapshot's inode lives on as .1: no bytes copied
        except OSError:
            self._atomic_write(newest, current)  # filesystems without hard links
        os.chmod(newest, 0o600)

    def _drop_journal(self) -> None:
        self._close_journal()
        try:
            os.unlink(self.journal_path)
        except FileNotFoundError:
            return
        _fsync_dir(self.journal_path.parent)

    def write(self, state: State) -> None:
        """Replace the snapshot atomically (0600, numbered backup), then drop the folded journal.

        Refuses — leaving every file byte-identical — when the existing snapshot or journal cannot
        be read, belongs to another lineage or stack, is newer than `state`, or changed on disk
        since this store read it."""
        with self._io:
            self._ensure_dir()
            current = self._read_bytes(self.path)
            try:
                existing = self._load(current, self._read_bytes(self.journal_path))
            except StateError as exc:
                raise StateError(f"refusing to overwrite the state: {exc.message}",
                                 hint=exc.hint) from exc
            self._check_overwrite(state, current, existing)
            data = codec.dump_state(state)
            try:
                if current != data:
                    if current is not None:
                        self._rotate_backups(current)
                    self._atomic_write(self.path, data)
                    self.snapshots += 1
                self._drop_journal()  # only now: the snapshot holding its entries is durable
            except OSError as exc:
                raise StateError(f"cannot write state {self.path}: {exc.strerror or exc}",
                                 hint="the previous state file was left intact; check free space "
                                      "and permissions, then run again") from exc
            self._seen_hash = _sha256(data)
            self._identity = (state.stack, state.lineage)

    def _check_overwrite(self, state: State, current: bytes | None, existing: State | None) -> None:
        if self._seen_hash is not _UNSEEN and _sha256(current) != self._seen_hash:
            raise StateError(
                f"state {self.path} changed on disk since this run read it; refusing to overwrite it",
                hint="another process wrote it (is every run taking the state lock?); run the "
                     "command again to start from the current state",
            )
        if existing is None:
            return
        if existing.lineage != state.lineage or existing.stack != state.stack:
            raise StateError(
                f"refusing to overwrite state {self.path}: it belongs to stack {existing.stack!r} "
                f"(lineage {existing.lineage}), not stack {state.stack!r} (lineage {state.lineage})",
                hint="use a different --state path for a different stack; the file was left untouched",
            )
        if existing.serial > state.serial:
            raise StateError(
                f"refusing to overwrite state {self.path}: it is at serial {existing.serial}, newer "
                f"than the serial {state.serial} being written",
                hint="another run changed the state since this one read it; run the command again",
            )

    # -- the journal ----------------------------------------------------------------------------

    def _open_journal(self, stack: str | None, lineage: str | None) -> bytes:
        """Open the journal for appending (repairing a torn tail); return the header line to write
        first, or b"" when the journal already has one."""
        self._ensure_dir()
        snap = self._read_bytes(self.path)
        snapshot = codec.parse_state(snap, source=str(self.path)) if snap is not None else None
        existed = self.journal_path.exists()
        try:
            fd = os.open(self.journal_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(f"cannot open the state journal {self.journal_path}: "
                             f"{exc.strerror or exc}") from exc
        try:
            data = self._read_bytes(self.journal_path) or b""
            scan = scan_journal(data, source=str(self.journal_path))
            if scan.good_len < len(data):
                os.ftruncate(fd, scan.good_len)  # drop a torn line left by a crash
            os.fchmod(fd, 0o600)
            if not existed:
                _fsync_dir(self.journal_path.parent)
            if scan.header is not None:
                jstack, jlineage = scan.header["stack"], scan.header["lineage"]
                header = b""
            else:
                if stack is None or lineage is None:
                    if self._identity is None:
                        raise StateError(f"cannot start the state journal {self.journal_path}: "
                                         "no stack or lineage given")
                    stack, lineage = self._identity
                jstack, jlineage = stack, lineage
                header = codec.dump_line({"format_version": FORMAT_VERSION, "journal": JOURNAL_VERSION,
                                          "lineage": jlineage, "stack": jstack})
            if lineage is not None and lineage != jlineage:
                raise StateError(f"state journal {self.journal_path} belongs to lineage {jlineage}, "
                                 f"not {lineage}; refusing to append", hint=_journal_hint(str(self.journal_path)))
            if snapshot is not None and (snapshot.lineage != jlineage or snapshot.stack != jstack):
                raise StateError(f"refusing to journal changes of lineage {jlineage} next to state "
                                 f"{self.path} of lineage {snapshot.lineage}",
                                 hint="use a different --state path for a different stack")
        except BaseException:
            os.close(fd)
            raise
        self._jfd = fd
        self._jlineage = jlineage
        self._jlast = max(scan.last_serial, snapshot.serial if snapshot is not None else 0)
        return header

    def _close_journal(self) -> None:
        fd, self._jfd = self._jfd, None
        self._jlineage = None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def append(self, entries: list[dict], *, stack: str | None = None,
               lineage: str | None = None) -> None:
        """Make `entries` durable in the journal: one write of every line, then one fsync.

        Each entry is {"serial", "op": "put"|"remove"|"move", "address", "record" (put only),
        "to" (move only)}, serials
        increasing and newer than anything stored. `stack` and `lineage` start a new journal's
        header (defaulting to the state this store last read or wrote)."""
        if not entries:
            return
        with self._io:
            try:
                header = b"" if self._jfd is not None else self._open_journal(stack, lineage)
            except OSError as exc:
                raise StateError(f"cannot open the state journal {self.journal_path}: "
                                 f"{exc.strerror or exc}") from exc
            if lineage is not None and lineage != self._jlineage:
                raise StateError(f"state journal {self.journal_path} belongs to lineage "
                                 f"{self._jlineage}, not {lineage}; refusing to append")
            lines = [header]
            last = self._jlast
            for entry in entries:
                unknown = set(entry) - _ENTRY_KEYS
                serial = entry.get("serial")
                if (unknown or entry.get("op") not in OPS or not isinstance(serial, int)
                        or isinstance(serial, bool) or serial <= last
                        or ("record" in entry) != (entry["op"] == "put")
                        or ("to" in entry) != (entry["op"] == "move")):
                    raise StateError(f"refusing to journal a malformed or out-of-order entry "
                                     f"(serial {serial!r} after {last}): {sorted(entry)}")
                last = serial
                lines.append(codec.dump_line(entry))
            data = b"".join(lines)
            try:
                _write_all(self._jfd, data)
                _sync_data(self._jfd)
            except OSError as exc:
                self._close_journal()  # the next append reopens and repairs a torn tail
                raise StateError(f"cannot append to the state journal {self.journal_path}: "
                                 f"{exc.strerror or exc}",
                                 hint="the change may not be recorded; check free space and "
                                      "permissions") from exc
            self._jlast = last
            self.bytes_written += len(data)
            self.appends += 1

    def close(self) -> None:
        """Close the journal (it is kept open between appends)."""
        with self._io:
            self._close_journal()

    def __enter__(self) -> "LocalStateStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- locking --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, command: str, timeout: float = 0.0) -> Iterator[StateLock]:
        """Hold the state lock for the block; LockError names the holder if another run has it."""
        self._ensure_dir()
        state_lock = StateLock(self.lock_path)
        state_lock.acquire(command, timeout)
        try:
            yield state_lock
        finally:
            state_lock.release()

    def force_unlock(self, lock_id: str) -> LockInfo:
        """Clear a stale lock record whose ID is `lock_id` (refused while a live process holds it)."""
        return force_unlock(self.lock_path, lock_id)
