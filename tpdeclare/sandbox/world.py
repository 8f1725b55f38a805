"""Where the sandbox keeps its world (clusters, requests, spend) and counters: in memory or in a file.

A store hands out one `WorldSession` at a time (`with store.session() as s:`): exclusive access to the
world document and the counters for the duration of one request. The caller mutates `s.world` /
`s.counters` in place and calls `s.mark_dirty()` / `s.mark_counters_dirty()`; on a clean exit the
store persists what changed, on an exception it persists nothing.

`FileWorld(path)` keeps the world in one JSON file (written atomically: temp file in the same
directory, fsync, `os.replace`, fsync of the directory) and the counters in a sibling
`<path>.counters.json` (atomic replace, no fsync: they are statistics), both guarded by an `fcntl`
lock on the sibling `<path>.lock`, so several processes can share one world. A request that changes
nothing but counters (every GET) rewrites only the small counters file. The parsed world is cached and
re-read only when the file changed on disk (another process wrote it).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from tpdeclare.errors import TpdeclareError

WORLD_FORMAT = "tpdeclare-sandbox-world"
WORLD_VERSION = 1


def fresh_world() -> dict:
    """An empty world document."""
    return {"format": WORLD_FORMAT, "version": WORLD_VERSION, "clusters": {}, "requests": {}, "spent": 0.0, "seq": 0}


def fresh_counters() -> dict:
    """Zeroed counters."""
    return {
        "requests": {},
        "creates_accepted": 0,
        "deletes_accepted": 0,
        "edits_accepted": 0,
        "mutating_requests": 0,
        "faults_injected": {},
    }


class WorldSession:
    """Exclusive access to the world and counters for one request."""

    def __init__(self, world: dict, counters: dict):
        self.world = world
        self.counters = counters
        self.dirty = False
        self.counters_dirty = False

    def mark_dirty(self) -> None:
        self.dirty = True

    def mark_counters_dirty(self) -> None:
        self.counters_dirty = True


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

    @contextlib.contextmanager
    def session(self) -> Iterator[WorldSession]:
        with self._lock:
            yield WorldSession(self._world, self._counters)


class FileWorld(WorldStore):
    """A world persisted to one JSON file, shareable between processes."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).absolute()
        self.counters_path = self.path.with_name(self.path.name + ".counters.json")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._tlock = threading.Lock()
        self._lock_fd: int | None = None
        self._world: dict | None = None
        self._world_sig: tuple | None = None
        self._counters: dict | None = None
        self._counters_sig: tuple | None = None

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
                s = WorldSession(world, counters)
                try:
                    yield s
                except BaseException:
                    self._world = self._counters = None  # the cached copies may be half-mutated
                    self._world_sig = self._counters_sig = None
                    raise
                if s.dirty:
                    self._world_sig = self._write(self.path, world, durable=True)
                if s.counters_dirty:
                    self._counters_sig = self._write(self.counters_path, counters, durable=False)
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

    def _load_world(self) -> dict:
        sig = _signature(self.path)
        if self._world is not None and sig == self._world_sig:
            return self._world
        if sig is None:
            world = fresh_world()
        else:
            world = self._read(self.path, required=True)
            if not isinstance(world, dict) or world.get("format") != WORLD_FORMAT:
                raise TpdeclareError(
                    f"{self.path} is not a sandbox world file",
                    hint="point the sandbox at another file, or delete this one to start a fresh sandbox",
                )
            if not isinstance(world.get("version"), int) or world["version"] > WORLD_VERSION:
                raise TpdeclareError(
                    f"{self.path} was written by a newer tpdeclare (world version {world.get('version')!r})",
                    hint="upgrade tpdeclare, or delete the file to start a fresh sandbox",
                )
            for key, value in fresh_world().items():
                world.setdefault(key, value)
        self._world, self._world_sig = world, sig
        return world

    def _load_counters(self) -> dict:
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

    def _write(self, path: Path, doc: dict, *, durable: bool) -> tuple | None:
        data = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    if durable:
                        fh.flush()
                        os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            if durable:
                _fsync_dir(path.parent)
        except OSError as exc:
            raise TpdeclareError(f"cannot write the sandbox world file {path}: {exc.strerror or exc}") from exc
        return _signature(path)


def _signature(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TpdeclareError(f"cannot read the sandbox world file {path}: {exc.strerror}") from exc
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
