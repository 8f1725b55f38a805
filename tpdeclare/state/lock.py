"""The local state lock: fcntl.flock on `<state>.lock`, recording and reporting who holds it."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tpdeclare.errors import LockError, StateError
from tpdeclare.frozen_values import frozen
from tpdeclare.identifiers import random_uuid

POLL_INTERVAL = 0.1  # seconds between attempts while waiting for --lock-timeout


@frozen
class LockInfo:
    """Who holds (or last held) a lock: written into the lock file by the holder."""

    id: str
    host: str
    pid: int
    command: str
    since: str  # ISO 8601, UTC

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "host": self.host, "pid": self.pid, "command": self.command,
                "since": self.since}

    @classmethod
    def from_json(cls, data: object) -> LockInfo | None:
        """Build from the lock file's JSON; None when it is not a complete record."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(id=str(data["id"]), host=str(data["host"]), pid=int(data["pid"]),
                       command=str(data["command"]), since=str(data["since"]))
        except (KeyError, TypeError, ValueError):
            return None

    def describe(self) -> str:
        return (f"pid {self.pid} on host {self.host} running '{self.command}' since {self.since}; "
                f"lock ID {self.id}")


@frozen
class LockWait:
    """A run is about to wait for the state lock: who holds it (if recorded) and for how long it will wait."""

    state: str
    holder: LockInfo | None
    timeout: float

    @property
    def message(self) -> str:
        """The words to show at once, before the wait: e.g. "waiting for the state lock held by pid 4242
        on host-a running 'tpdeclare apply' since 2026-11-27T10:00:00Z, up to 60s"."""
        if self.holder is None:
            who = f"on {self.state} (its holder is not recorded)"
        else:
            h = self.holder
            who = f"held by pid {h.pid} on {h.host} running '{h.command}' since {h.since}"
        return f"waiting for the state lock {who}, up to {self.timeout:g}s"


OnWait = Callable[[LockWait], None]


def _state_name(lock_path: Path) -> str:
    name = str(lock_path)
    return name[: -len(".lock")] if name.endswith(".lock") else name


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _host() -> str:
    # socket.gethostname() is uname's nodename on the POSIX systems fcntl locks run on; `socket` itself (with its
    # enums) would cost every run's start more than reading the state's lock does.
    return os.uname().nodename


def _open_lock_file(lock_path: Path) -> int:
    try:
        lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StateError(f"cannot open the state lock file {lock_path}: {exc.strerror or exc}",
                         hint="check that the directory exists and is writable") from exc
    return fd


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def read_lock_info(lock_path: Path | str, *, attempts: int = 3) -> LockInfo | None:
    """The holder recorded in the lock file, or None (no file, empty, or unreadable)."""
    for attempt in range(attempts):
        try:
            raw = Path(lock_path).read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            return None
        if raw.strip():
            try:
                info = LockInfo.from_json(json.loads(raw))
            except (ValueError, UnicodeDecodeError):
                info = None
            if info is not None:
                return info
        if attempt + 1 < attempts:
            time.sleep(0.01)  # the holder may be between truncating and writing its record
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StateLock:
    """An exclusive, process-death-safe lock on one state file.

    flock locks belong to an open file description, so two StateLock objects exclude each other
    even inside one process; the kernel drops the lock when its holder dies, so a stale lock file
    (info left behind, no flock) never blocks anyone.
    """

    def __init__(self, lock_path: Path | str, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, poll_interval: float = POLL_INTERVAL,
                 state_name: str | None = None):
        self.lock_path = Path(lock_path)
        self.state_name = state_name or _state_name(self.lock_path)  # the state, as messages name it
        self._sleep = sleep
        self._clock = clock
        self._poll_interval = poll_interval
        self._fd: int | None = None
        self.info: LockInfo | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, command: str, timeout: float = 0.0, *, on_wait: OnWait | None = None) -> LockInfo:
        """Take the lock, waiting up to `timeout` seconds; LockError names the holder otherwise.

        When the lock is taken and `timeout` allows a wait, `on_wait` hears so at once, before the
        first sleep (with who holds it), so that a waiting run never looks like a hung one."""
        if self._fd is not None:
            raise StateError(f"the state lock {self.lock_path} is already held by this run")
        fd = _open_lock_file(self.lock_path)
        deadline = self._clock() + max(0.0, timeout)
        try:
            told = on_wait is None
            while not _try_flock(fd):
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise self._locked_error(timeout)
                if not told and on_wait is not None:
                    on_wait(LockWait(self.state_name, read_lock_info(self.lock_path), timeout))
                    told = True
                self._sleep(min(self._poll_interval, remaining))
            info = LockInfo(id=random_uuid(), host=_host(), pid=os.getpid(), command=command,
                            since=_utc_now())
            data = json.dumps(info.to_json(), sort_keys=True).encode("utf-8") + b"\n"
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            os.fchmod(fd, 0o600)
        except BaseException:
            os.close(fd)  # closing drops the flock too, if it was taken
            raise
        self._fd = fd
        self.info = info
        return info

    def release(self) -> None:
        """Clear the recorded holder and drop the lock; a no-op when not held."""
        fd, self._fd = self._fd, None
        self.info = None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass  # the info is advisory; the flock below is what matters
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def _locked_error(self, timeout: float) -> LockError:
        state = self.state_name
        waited = f" (waited {timeout:g}s)" if timeout > 0 else ""
        info = read_lock_info(self.lock_path)
        if info is None:
            message = f"state {state} is locked by another process (its holder is not recorded){waited}"
        else:
            message = f"state {state} is locked by {info.describe()}{waited}"
        hint = ("wait for it to finish, or pass --lock-timeout 60 to wait; if that process is gone, "
                f"run `tpdeclare force-unlock {info.id if info else '<ID>'}`")
        return LockError(message, hint=hint)

    def __enter__(self) -> StateLock:
        if self._fd is None:
            raise StateError("StateLock used as a context manager before acquire()")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def force_unlock(lock_path: Path | str, lock_id: str, *, state_name: str | None = None) -> LockInfo:
    """Clear a lock record left behind, if `lock_id` matches it and no live process holds it."""
    lock_path = Path(lock_path)
    state = state_name or _state_name(lock_path)
    info = read_lock_info(lock_path)
    if info is None:
        raise LockError(f"state {state} has no recorded lock; nothing to unlock",
                        hint="the lock is free: just run the command again")
    if info.id != lock_id:
        raise LockError(
            f"lock ID {lock_id} does not match the lock on state {state}: its ID is {info.id} "
            f"({info.describe()})",
            hint=f"check the ID; to clear this lock run `tpdeclare force-unlock {info.id}`",
        )
    fd = _open_lock_file(lock_path)
    try:
        if not _try_flock(fd):
            here = info.host == _host()
            alive = here and _pid_alive(info.pid)
            who = (f"pid {info.pid} is still running on this host ({info.host})" if alive
                   else f"a live process holds it (recorded holder: pid {info.pid} on host {info.host})")
            raise LockError(
                f"refusing to force-unlock state {state}: lock {info.id} is actually held — {who}, "
                f"running '{info.command}' since {info.since}",
                hint="let that run finish or stop it; a local lock is released by itself when its "
                     "process exits",
            )
        try:
            current = read_lock_info(lock_path, attempts=1)
            if current is not None and current.id == lock_id:
                os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    return info
