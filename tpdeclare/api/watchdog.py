"""One deadline per exchange, kept by a watchdog that cuts the connection when it passes.

`requests` bounds each socket read, not an exchange: a server that sends one byte a second, during the
status line, the headers or the body, would hold a call for ever. So every exchange runs inside
`watching(deadline, clock)`. The default session's connections (`watched_session()`) report their
sockets to the exchange running in their thread, and record whether a byte of the request was written;
when the deadline passes, one shared watchdog thread shuts those sockets down, so the blocked read ends
at once. The transport then treats the exchange as cut off, whatever `requests` made of the EOF.

The deadline is measured on the caller's clock. The watchdog waits in real seconds, re-reading that
clock at least every `CHECK_EVERY` seconds, so an injected clock only changes how promptly it notices.
Sessions other than `watched_session()` (a test's adapter, the in-process sandbox) have no sockets to
cut; for them the transport checks the deadline between body chunks. An exchange the watchdog fired on
counts as cut even if its last byte arrived in the same instant: the conservative reading.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
import requests.adapters
import urllib3
import urllib3.connection

CHECK_EVERY = 0.25  # seconds between the watchdog's looks at each exchange's clock

_current = threading.local()  # the exchange running in this thread, if any


class Watch:
    """One exchange's deadline: the sockets it used, whether a request byte was written, whether it fired."""

    def __init__(self, deadline: float, clock: Callable[[], float]):
        self.deadline = deadline
        self.clock = clock
        self.fired = False
        self.saw_connection = False  # a watched connection served this exchange
        self.sent = False  # ...and wrote at least one byte of the request
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []  # our own duplicates of the connection's descriptors
        self._fds: set[int] = set()  # the descriptors they duplicate
        self._done = False

    def attach(self, sock: socket.socket) -> None:
        """Watch `sock` (a duplicate descriptor is kept, so a later close or TLS wrap cannot fool it)."""
        try:
            fd = sock.fileno()
            if fd in self._fds:
                return
            dup = socket.socket(fileno=os.dup(fd))
        except OSError:
            return
        with self._lock:
            self.saw_connection = True
            self._fds.add(fd)
            if self._done:
                dup.close()
                return
            self._sockets.append(dup)
            if self.fired:
                _shut(dup)

    def mark_sent(self) -> None:
        self.saw_connection = True
        self.sent = True

    def fire(self) -> None:
        """The deadline passed: cut every socket of the exchange."""
        with self._lock:
            if self._done:
                return
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def finish(self) -> None:
        """The exchange is over: stop watching, release the duplicates."""
        with self._lock:
            self._done = True
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    """End every blocked or later read and write on the connection (the descriptor is closed by finish())."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected yet, or already gone


class Watchdog:
    """One daemon thread that fires every watch whose deadline passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[Watch] = set()
        self._thread: threading.Thread | None = None

    def arm(self, watch: Watch) -> None:
        with self._cond:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tpdeclare-api-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()

    def disarm(self, watch: Watch) -> None:
        with self._cond:
            self._watches.discard(watch)

    def _run(self) -> None:
        while True:
            with self._cond:
                left = {w: _left(w) for w in self._watches}
                due = [w for w, seconds in left.items() if seconds <= 0]
                self._watches.difference_update(due)
                if not due:
                    self._cond.wait(min([CHECK_EVERY, *left.values()]) if left else None)
                    continue
            for watch in due:  # outside the lock: firing takes each watch's own lock
                watch.fire()


def _left(watch: Watch) -> float:
    """Seconds until the watch is due; a clock that fails counts as due (the exchange is cut, not kept)."""
    try:
        return float(watch.deadline - watch.clock())
    except Exception:
        return 0.0


WATCHDOG = Watchdog()


@contextmanager
def watching(deadline: float, clock: Callable[[], float]) -> Iterator[Watch]:
    """Run an exchange under `deadline` (on `clock`); the connections it uses in this thread are watched."""
    watch = Watch(deadline, clock)
    previous = getattr(_current, "watch", None)
    _current.watch = watch
    WATCHDOG.arm(watch)
    try:
        yield watch
    finally:
        WATCHDOG.disarm(watch)
        watch.finish()
        _current.watch = previous


def _watch() -> Watch | None:
    watch = getattr(_current, "watch", None)
    return watch if isinstance(watch, Watch) else None


class _WatchedConnection:
    """Mixed into urllib3's connections: report sockets and written bytes to the exchange in this thread."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        watch = _watch()
        if watch is not None:
            watch.attach(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = _watch()
        if watch is not None and self.sock is not None:  # a kept-alive connection, connected earlier
            watch.attach(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self.sock is None:
            self.connect()  # type: ignore[attr-defined]  # as http.client would, before counting the byte
        watch = _watch()
        if watch is not None:
            watch.mark_sent()
        super().send(data)  # type: ignore[misc]


class _WatchedHTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose connections are watched, and which never retries on its own (create is
    sent exactly once)."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS managers need their own pools
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def watched_session() -> requests.Session:
    """The client's default session: watched connections, no adapter-level retries."""
    session = requests.Session()
    adapter = WatchedAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
