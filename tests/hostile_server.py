"""A hostile HTTP server of the tests' own on 127.0.0.1: scripted answers per request, down to the byte.

Usage (a test, or the CLI end-to-end tests with `--engine server.url`):

    from hostile_server import ECHO_KEY, Drip, HostileServer, Json

    with HostileServer() as server:                       # a free port; everything stops on exit
        server.on("POST", "/cluster/create", Drip(Json(202, {"cluster_id": "c-1"}), every=0.2))
        server.on("GET", "/cluster/list", Json(200, {"clusters": []}))
        client = TensorPoolClient(server.url, KEY, timeout=1.0)
        ...
        assert server.count("POST", "/cluster/create") == 1

Scripting
    `on(method, pattern, *acts)`: `pattern` is an fnmatch pattern on the path without the query
    (`"/request/info/*"`). The acts answer the matching requests one each, in order; the last one
    repeats. A later `on()` for the same method and pattern replaces the earlier script; the first
    matching script (in the order they were added) answers. Unscripted requests get 404
    `{"detail": "Not Found"}`.
    `ECHO_KEY` anywhere in a body, a header or a reason phrase is replaced by the bearer key the
    request carried: how a server echoes the key back.

Acts (frozen values)
    Json(status, body, headers={}, reason=None)   a JSON answer with a correct Content-Length
    Raw(status, body, headers={}, content_length=AUTO, reason=None)
                                                  exact body bytes; `content_length` may lie (an int),
                                                  or be None (no header: the body ends when we close)
    Drip(act, every=0.2, during="body")           the act's bytes at once up to `during` ("status":
                                                  nothing first, "headers": after the status line,
                                                  "body": after the headers), then one byte every
                                                  `every` seconds
    Stall(act, during="body")                     the same bytes up to `during` ("body": and half the
                                                  body), then nothing: the connection stays open
    Close(act, during="body")                     the same, then the connection is closed (FIN)
    Reset()                                       the request is read, then the connection is reset (RST)
    Garbage(data)                                 exactly these bytes, then the connection is closed
    Huge(status, size, declared=True)             a body of `size` bytes made on the fly; `declared`:
                                                  with its Content-Length (else ended by closing)
    ManyHeaders(count, act)                       `count` extra header lines before the act's own
Every answer says `Connection: close`, so each request has its own connection.

Counters
    `server.seen`: every request as `Seen(method, path, query, headers, body)`, in arrival order;
    `server.count(method=None, pattern=None)`: how many matched.
"""

from __future__ import annotations

import fnmatch
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

ECHO_KEY = "@@BEARER-KEY@@"
AUTO = "auto"
MAX_REQUEST_BYTES = 1 << 20


# ------------------------------------------------------------------------------------------ acts
@dataclass(frozen=True)
class Json:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None

    def chunks(self, key: str) -> Iterator[bytes]:
        raw = json.dumps(self.body).encode()
        yield from Raw(self.status, raw, {"Content-Type": "application/json", **self.headers},
                       reason=self.reason).chunks(key)


@dataclass(frozen=True)
class Raw:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_length: int | str | None = AUTO
    reason: str | None = None

    def chunks(self, key: str) -> Iterator[bytes]:
        body = _echo(self.body, key)
        length = len(body) if self.content_length == AUTO else self.content_length
        yield _head(self.status, self.reason, self.headers, length, key)
        yield body


@dataclass(frozen=True)
class Garbage:
    data: bytes

    def chunks(self, key: str) -> Iterator[bytes]:
        yield _echo(self.data, key)


@dataclass(frozen=True)
class Huge:
    status: int
    size: int
    declared: bool = True

    def chunks(self, key: str) -> Iterator[bytes]:
        yield _head(self.status, None, {"Content-Type": "application/json"}, self.size if self.declared else None,
                    key)
        block = b'{"clusters": [' + b" " * 65000
        sent = 0
        while sent < self.size:
            piece = block[: self.size - sent]
            sent += len(piece)
            yield piece


@dataclass(frozen=True)
class ManyHeaders:
    count: int
    act: Any

    def chunks(self, key: str) -> Iterator[bytes]:
        first = True
        for chunk in self.act.chunks(key):
            if first:
                status_line, _, rest = chunk.partition(b"\r\n")
                pad = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 40) for i in range(self.count))
                chunk = status_line + b"\r\n" + pad + rest
                first = False
            yield chunk


@dataclass(frozen=True)
class Drip:
    act: Any
    every: float = 0.2
    during: str = "body"


@dataclass(frozen=True)
class Stall:
    act: Any
    during: str = "body"


@dataclass(frozen=True)
class Close:
    act: Any
    during: str = "body"


@dataclass(frozen=True)
class Reset:
    pass


def _echo(data: bytes, key: str) -> bytes:
    return data.replace(ECHO_KEY.encode(), key.encode())


def _head(status: int, reason: str | None, headers: dict[str, str], length: int | str | None, key: str) -> bytes:
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Whatever"
    lines = [f"HTTP/1.1 {status} {reason}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return _echo(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), key)


def _split(act: Any, key: str, during: str) -> tuple[bytes, bytes]:
    """The act's bytes cut where `during` begins: (sent at once, the rest)."""
    data = b"".join(act.chunks(key))
    head_end = data.find(b"\r\n\r\n") + 4
    if during == "status":
        cut = 0
    elif during == "headers":
        cut = data.find(b"\r\n") + 2
    elif during == "body":
        cut = head_end + (len(data) - head_end) // 2
    else:
        raise ValueError(during)
    return data[:cut], data[cut:]


# ------------------------------------------------------------------------------------------ the server
@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(30)
        owner = self.server.owner
        try:
            seen = _read_request(conn)
        except (OSError, ValueError):
            return
        if seen is None:
            return
        owner._record(seen)
        act = owner._next_act(seen.method, seen.path)
        auth = seen.headers.get("authorization", "")
        key = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        try:
            owner._perform(conn, act, key)
        except OSError:
            pass  # the client cut the connection: that is often the point


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: HostileServer


def _read_request(conn: socket.socket) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > MAX_REQUEST_BYTES:
            raise ValueError("request too large")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    split = urlsplit(target)
    return Seen(method, split.path, split.query, headers, body)


class HostileServer:
    """See the module docstring."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.seen: list[Seen] = []
        self._scripts: list[tuple[str, str, list[Any]]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------------------------- lifecycle
    def start(self) -> HostileServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------------------------- scripting
    def on(self, method: str, pattern: str, *acts: Any) -> HostileServer:
        if not acts:
            raise ValueError("on() needs at least one act")
        with self._lock:
            self._scripts = [s for s in self._scripts if (s[0], s[1]) != (method.upper(), pattern)]
            self._scripts.append((method.upper(), pattern, list(acts)))
        return self

    def empty_engine(self) -> HostileServer:
        """A healthy engine with no clusters: enough for a CLI command to start."""
        self.on("POST", "/health", Json(200, {"message": "ok"}))
        return self.on("GET", "/cluster/list", Json(200, {"clusters": [], "message": "no clusters"}))

    def count(self, method: str | None = None, pattern: str | None = None) -> int:
        with self._lock:
            return sum(1 for s in self.seen if (method is None or s.method == method.upper())
                       and (pattern is None or fnmatch.fnmatchcase(s.path, pattern)))

    # -------------------------------------------------------------------------------- internals
    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def _next_act(self, method: str, path: str) -> Any:
        with self._lock:
            for script_method, pattern, acts in self._scripts:
                if script_method == method and fnmatch.fnmatchcase(path, pattern):
                    return acts.pop(0) if len(acts) > 1 else acts[0]
        return Json(404, {"detail": "Not Found"})

    def _perform(self, conn: socket.socket, act: Any, key: str) -> None:
        if isinstance(act, Reset):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()  # with a zero linger: RST, not FIN
            return
        if isinstance(act, Drip):
            now, rest = _split(act.act, key, act.during)
            conn.sendall(now)
            for i in range(len(rest)):
                if self._stopping.wait(act.every):
                    return
                conn.sendall(rest[i:i + 1])
            return
        if isinstance(act, (Stall, Close)):
            now, _ = _split(act.act, key, act.during)
            conn.sendall(now)
            if isinstance(act, Stall):
                self._stopping.wait()
            return
        for chunk in act.chunks(key):
            conn.sendall(chunk)
