"""Where the sandbox keeps its world (clusters, volumes, requests, spend), counters and request log: in memory
or in files.

A store hands out one `WorldSession` at a time (`with store.session() as s:`): exclusive access to the
world document, the counters and the log for the duration of one request. The caller mutates
`s.world` / `s.counters` in place and calls `s.mark_dirty()` / `s.mark_counters_dirty()`, and adds log
entries with `s.log(entry)`; on a clean exit the store persists what changed, on an exception nothing.

`FileWorld(path)` keeps the world in one JSON file and the counters in a sibling
`<path>.counters.json` (both replaced atomically and durably by `tpdeclare.atomic_files`), and appends
the log to `<path>.log.jsonl`, all guarded by an `fcntl` lock on the sibling `<path>.lock`, so several
processes can share one world. A request that changes nothing but counters (every GET) rewrites only
the small counters file. The parsed world is cached and re-read only when the file changed on disk
(another process wrote it). `MemoryWorld` keeps the last MEMORY_LOG_LIMIT log entries.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tpdeclare.atomic_files import atomic_write
from tpdeclare.errors import TpdeclareError

JsonDict = dict[str, Any]  # a JSON object: the world document, its records, counters, log entries

WORLD_FORMAT = "tpdeclare-sandbox-world"
WORLD_VERSION = 1
MEMORY_LOG_LIMIT = 100_000


def fresh_world() -> JsonDict:
    """An empty world document."""
    return {"format": WORLD_FORMAT, "version": WORLD_VERSION, "clusters": {}, "volumes": {}, "requests": {},
            "spent": 0.0, "seq": 0}


def fresh_counters() -> JsonDict:
    """Zeroed counters."""
    return {
        "requests": {},
        "creates_accepted": 0,
        "deletes_accepted": 0,
        "edits_accepted": 0,
        "mutating_requests": 0,
        "storage_accepted": {},
        "faults_injected": {},
        "log_seq": 0,
    }


class WorldSession:
    """Exclusive access to the world, counters and request log for one request."""

    def __init__(self, world: JsonDict, counters: JsonDict, read_log: Callable[[], list[Any]] = list,
                 dropped: int = 0):
        self.world = world
        self.counters = counters
        self.dirty = False
        self.counters_dirty = False
        self.log_added: list[JsonDict] = []
        self.log_cleared = False
        self._read_log = read_log
        self._dropped = dropped

    def mark_dirty(self) -> None:
        self.dirty = True

    def mark_counters_dirty(self) -> None:
        self.counters_dirty = True

    def log(self, entry: JsonDict) -> None:
        """Append an entry to the request log."""
        self.log_added.append(entry)

    def clear_log(self) -> None:
        self.log_cleared = True
        self.log_added.clear()

    def log_entries(self) -> list[Any]:
        """Every log entry kept, oldest first (this session's included)."""
        return ([] if self.log_cleared else self._read_log()) + self.log_added

    def log_dropped(self) -> int:
        """How many of the oldest entries were forgotten to bound memory."""
        return 0 if self.log_cleared else self._dropped


class WorldStore:
    """The interface: `session()` yields a WorldSession under mutual exclusion."""

    def session(self) -> contextlib.AbstractContextManager[WorldSession]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Release any held resources (file descriptors)."""


class MemoryWorld(WorldStore):
    """A world that lives as long as the process; nothing is written anywhere."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._world = fresh_world()
        self._counters = fresh_counters()
        self._log: deque[JsonDict] = deque(maxlen=MEMORY_LOG_LIMIT)
        self._logged = 0

    @contextlib.contextmanager
    def session(self) -> Iterator[WorldSession]:
        with self._lock:
            s = WorldSession(self._world, self._counters, lambda: list(self._log), self._logged - len(self._log))
            yield s
            if s.log_cleared:
                self._log.clear()
                self._logged = 0
            self._log.extend(s.log_added)
            self._logged += len(s.log_added)


class FileWorld(WorldStore):
    """A world persisted to one JSON file, shareable between processes."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).absolute()
        self.counters_path = self.path.with_name(self.path.name + ".counters.json")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.log_path = self.path.with_name(self.path.name + ".log.jsonl")
        self._tlock = threading.Lock()
        self._lock_fd: int | None = None
        self._world: JsonDict | None = None
        self._world_sig: tuple[Any, ...] | None = None
        self._counters: JsonDict | None = None
        self._counters_sig: tuple[Any, ...] | None = None

    def __repr__(self) -> str:
        return f"FileWorld({str(self.path)!r})"

    @contextlib.contextmanager
    def session(self) -> Iterator[WorldSession]:
        import fcntl

        with self._tlock:
            fd = self._open_lock()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                world = self._load_world()
                counters = self._load_counters()
                s = WorldSession(world, counters, self._read_log)
                try:
                    yield s
                except BaseException:
                    self._world = self._counters = None  # the cached copies may be half-mutated
                    self._world_sig = self._counters_sig = None
                    raise
                if s.dirty:
                    self._world_sig = self._write(self.path, world, "world")
                if s.counters_dirty:
                    self._counters_sig = self._write(self.counters_path, counters, "counters")
                if s.log_cleared or s.log_added:
                    self._append_log(s.log_added, truncate=s.log_cleared)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._tlock:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _open_lock(self) -> int:
        if self._lock_fd is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise TpdeclareError(f"cannot open the sandbox lock file {self.lock_path}: {exc.strerror}") from exc
        return self._lock_fd

    def _load_world(self) -> JsonDict:
        sig = _signature(self.path)
        if self._world is not None and sig == self._world_sig:
            return self._world
        if sig is None:
            world = fresh_world()
        else:
            doc = self._read(self.path, required=True)
            if not isinstance(doc, dict) or doc.get("format") != WORLD_FORMAT:
                raise TpdeclareError(
                    f"{self.path} is not a sandbox world file",
                    hint="point the sandbox at another file, or delete this one to start a fresh sandbox",
                )
            if not isinstance(doc.get("version"), int) or doc["version"] > WORLD_VERSION:
                raise TpdeclareError(
                    f"{self.path} was written by a newer tpdeclare (world version {doc.get('version')!r})",
                    hint="upgrade tpdeclare, or delete the file to start a fresh sandbox",
                )
            for key, value in fresh_world().items():
                doc.setdefault(key, value)
            world = doc
        self._world, self._world_sig = world, sig
        return world

    def _load_counters(self) -> JsonDict:
        sig = _signature(self.counters_path)
        if self._counters is not None and sig == self._counters_sig:
            return self._counters
        counters = self._read(self.counters_path, required=False) if sig is not None else None
        if not isinstance(counters, dict):
            counters = fresh_counters()  # statistics only: a damaged file restarts them at zero
        for key, value in fresh_counters().items():
            counters.setdefault(key, copy.deepcopy(value))
        self._counters, self._counters_sig = counters, sig
        return counters

    def _read(self, path: Path, *, required: bool) -> object:
        try:
            with path.open("rb") as fh:
                return json.load(fh)
        except (OSError, ValueError) as exc:
            if not required:
                return None
            raise TpdeclareError(
                f"the sandbox world file {path} is unreadable: {exc}",
                hint="delete it to start a fresh sandbox",
            ) from exc

    def _write(self, path: Path, doc: JsonDict, what: str) -> tuple[Any, ...] | None:
        data = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
        try:
            atomic_write(path, data)
        except OSError as exc:
            raise TpdeclareError(f"cannot write the sandbox {what} file {path}: {exc.strerror or exc}") from exc
        return _signature(path)

    def _read_log(self) -> list[Any]:
        try:
            with self.log_path.open("rb") as fh:
                lines = fh.readlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise TpdeclareError(f"cannot read the sandbox log {self.log_path}: {exc.strerror}") from exc
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue  # statistics only: a torn line (a crash mid-append) is skipped
        return entries

    def _append_log(self, entries: list[JsonDict], *, truncate: bool) -> None:
        data = b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in entries)
        try:
            flags = os.O_RDWR | os.O_CREAT | (os.O_TRUNC if truncate else os.O_APPEND)
            fd = os.open(self.log_path, flags, 0o600)
            with os.fdopen(fd, "r+b") as fh:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a torn last line (a crash mid-append) stays on its own line
                fh.write(data)
        except OSError as exc:
            raise TpdeclareError(f"cannot write the sandbox log {self.log_path}: {exc.strerror}") from exc


def _signature(path: Path) -> tuple[Any, ...] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TpdeclareError(f"cannot read the sandbox world file {path}: {exc.strerror}") from exc
    return (st.st_ino, st.st_mtime_ns, st.st_size)
