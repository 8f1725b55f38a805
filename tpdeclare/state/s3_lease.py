"""The S3 state lock: a lease object `<key>.lock`, created with If-None-Match, renewed with If-Match, expiring.

The protocol (DESIGN §8), every step a conditional request, so two runs can never both hold it:

- Acquire: PUT `<key>.lock` with `If-None-Match: *`, holding the lock ID, host, pid, command, since and
  `expires_at` (now + lock_ttl). A 412 reads the lock back: our own ID there means the first answer
  was lost and boto3's retry met our own lock (OpenTofu's self-lock case), so we hold it.
- Take over: a lock past its `expires_at` (by this machine's clock) is replaced with `If-Match` on the
  ETag read, and `on_takeover` is told whose lock it was and how old.
- Renew: a heartbeat thread PUTs a fresh `expires_at` every lock_ttl/3 with `If-Match` on our last
  ETag. A 412 (taken over) or no renewal before the lease ends is a lost lease: `lost` is set and
  `on_lost` is called once; `check()` then refuses every state write.
- Release: DELETE with `If-Match` on our ETag, when the probe found the server honours it; otherwise
  read, compare the lock ID, then delete (a lease taken over in the instant between the read and the
  delete would be deleted: only a store whose probe said so takes that path).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from tpdeclare.errors import LockError, StateError
from tpdeclare.frozen_values import frozen
from tpdeclare.state.lock import LockInfo, LockWait, OnWait
from tpdeclare.state.s3_client import PreconditionFailed, S3Client

POLL_INTERVAL = 0.5  # seconds between attempts while waiting for --lock-timeout


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


@frozen
class Lease:
    """A lock object's record: its holder and when the lease ends (epoch seconds)."""

    info: LockInfo
    expires_at: float

    def to_bytes(self) -> bytes:
        doc = {**self.info.to_json(), "expires_at": iso(self.expires_at)}
        return json.dumps(doc, sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes) -> Lease | None:
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return None
        info = LockInfo.from_json(doc)
        expires = parse_iso(doc.get("expires_at", "")) if isinstance(doc, dict) else None
        return None if info is None or expires is None else cls(info, expires)


Takeover = Callable[[LockInfo, float], None]  # (the stale holder, seconds since its lease ended)


class S3Lease:
    """One run's hold on `<key>.lock` (see the module docstring)."""

    def __init__(self, client: S3Client, key: str, ttl: float, *, state_name: str,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 delete_if_match: bool = True, heartbeat: bool = True):
        self.client = client
        self.key = key
        self.ttl = float(ttl)
        self.state_name = state_name
        self._clock = clock
        self._sleep = sleep
        self._delete_if_match = delete_if_match
        self._heartbeat = heartbeat
        self.info: LockInfo | None = None
        self.etag: str | None = None
        self.expires_at = 0.0
        self.lost = threading.Event()
        self.on_lost: Callable[[str], None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._io = threading.Lock()

    # -- acquiring ------------------------------------------------------------------------------

    def acquire(self, command: str, timeout: float = 0.0, *, on_wait: OnWait | None = None,
                on_takeover: Takeover | None = None) -> LockInfo:
        now = self._clock()
        info = LockInfo(id=str(uuid.uuid4()), host=socket.gethostname(), pid=os.getpid(), command=command,
                        since=iso(now))
        deadline = now + max(0.0, timeout)
        told = on_wait is None
        while True:
            lease = Lease(info, self._clock() + self.ttl)
            try:
                self._take(lease, self.client.put(self.key, lease.to_bytes(), if_absent=True))
                return info
            except PreconditionFailed:
                pass
            current = self.client.get(self.key)
            if current is None:
                continue  # released between our PUT and our read: try again at once
            held = Lease.from_bytes(current.data)
            if held is not None and held.info.id == info.id:
                self._take(held, current.etag)  # our first PUT committed; its answer was lost
                return info
            if held is None or held.expires_at <= self._clock():
                try:
                    etag = self.client.put(self.key, lease.to_bytes(), if_match=current.etag)
                except PreconditionFailed:
                    continue  # someone else renewed or took it first
                self._take(lease, etag)
                if on_takeover is not None and held is not None:
                    on_takeover(held.info, self._clock() - held.expires_at)
                return info
            if not told and on_wait is not None and timeout > 0:  # said before the first wait, however short
                on_wait(LockWait(self.state_name, held.info, timeout))
                told = True
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._locked_error(held.info, timeout)
            self._sleep(min(POLL_INTERVAL, remaining))

    def _take(self, lease: Lease, etag: str) -> None:
        self.info, self.etag, self.expires_at = lease.info, etag, lease.expires_at
        self.lost.clear()
        self._stop.clear()
        if self._heartbeat:
            self._thread = threading.Thread(target=self._beat, name="tpdeclare-lease", daemon=True)
            self._thread.start()

    def _locked_error(self, holder: LockInfo, timeout: float) -> LockError:
        waited = f" (waited {timeout:g}s)" if timeout > 0 else ""
        return LockError(
            f"state {self.state_name} is locked by {holder.describe()}{waited}",
            hint="wait for it to finish, or pass --lock-timeout 60 to wait; its lease ends by itself "
                 f"{self.ttl:g}s after its last renewal; to clear it now run `tpdeclare force-unlock {holder.id}`",
        )

    # -- holding --------------------------------------------------------------------------------

    @property
    def held(self) -> bool:
        return self.info is not None

    def check(self, what: str = "write the state") -> None:
        """Refuse (StateError) unless the lease is ours and not past its end."""
        if self.info is None:
            return
        if self.lost.is_set() or self._clock() >= self.expires_at:
            self._lose("the lease ended before it could be renewed")
            raise StateError(
                f"refusing to {what}: this run lost its lock on {self.state_name}",
                hint="another run may hold it now; nothing more was written. Run the command again",
            )

    def renew(self) -> bool:
        """One renewal (the heartbeat's step); False once the lease is lost."""
        with self._io:
            if self.info is None or self.lost.is_set():
                return False
            if self._clock() >= self.expires_at:
                self._lose("the lease ended before it could be renewed")
                return False
            lease = Lease(self.info, self._clock() + self.ttl)
            try:
                self.etag = self.client.put(self.key, lease.to_bytes(), if_match=self.etag)
            except PreconditionFailed:
                self._lose("another run took the lock over")
                return False
            except StateError:
                return True  # try again at the next beat, while the lease lasts
            self.expires_at = lease.expires_at
            return True

    def _beat(self) -> None:
        interval = self.ttl / 3
        while not self._stop.wait(interval):
            if not self.renew():
                return

    def _lose(self, why: str) -> None:
        if not self.lost.is_set():
            self.lost.set()
            if self.on_lost is not None:
                self.on_lost(f"lost the state lock on {self.state_name}: {why}")

    # -- releasing ------------------------------------------------------------------------------

    def release(self) -> None:
        """Stop renewing and delete the lock if it is still ours; a no-op when not held."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        with self._io:
            info, etag, self.info = self.info, self.etag, None
            if info is None or etag is None or self.lost.is_set():
                return
            try:
                if self._delete_if_match:
                    self.client.delete(self.key, if_match=etag)
                else:
                    current = self.client.get(self.key)
                    held = Lease.from_bytes(current.data) if current is not None else None
                    if held is not None and held.info.id == info.id:
                        self.client.delete(self.key)
            except PreconditionFailed:
                pass  # no longer ours: another run took it over, and it is theirs to release


def force_unlock(client: S3Client, key: str, lock_id: str, *, state_name: str,
                 clock: Callable[[], float] = time.time) -> LockInfo:
    """Delete a lock whose lease has ended, if its ID is `lock_id` (a live lease is refused)."""
    current = client.get(key)
    held = Lease.from_bytes(current.data) if current is not None else None
    if current is None or held is None:
        raise LockError(f"state {state_name} has no recorded lock; nothing to unlock",
                        hint="the lock is free: just run the command again")
    if held.info.id != lock_id:
        raise LockError(
            f"lock ID {lock_id} does not match the lock on state {state_name}: its ID is {held.info.id} "
            f"({held.info.describe()})",
            hint=f"check the ID; to clear this lock run `tpdeclare force-unlock {held.info.id}`",
        )
    left = held.expires_at - clock()
    if left > 0:
        raise LockError(
            f"refusing to force-unlock state {state_name}: lock {lock_id} is actually held — its lease, "
            f"renewed by pid {held.info.pid} on host {held.info.host} running '{held.info.command}' since "
            f"{held.info.since}, lasts {left:.0f}s more",
            hint="let that run finish or stop it; a lease nobody renews ends by itself",
        )
    try:
        client.delete(key, if_match=current.etag)
    except PreconditionFailed:
        raise LockError(f"the lock on state {state_name} changed while being unlocked; nothing was deleted",
                        hint="another run took it: see `tpdeclare force-unlock` again") from None
    return held.info
