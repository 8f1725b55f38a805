"""The sandbox engine over real HTTP: a threaded HTTP/1.1 keep-alive server around Engine.handle."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tpdeclare.sandbox.engine import Drop, Engine

log = logging.getLogger("tpdeclare.sandbox.server")

MAX_BODY_BYTES = 1_000_000


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tpdeclare-sandbox"
    sys_version = ""
    timeout = 300  # an idle keep-alive connection is closed after this many seconds
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed ACK
    # (~40 ms per answer on a keep-alive connection, i.e. on every request but a connection's first).
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            return
        headers = {k: v for k, v in self.headers.items()}
        try:
            result = self.server.engine.handle(self.command, self.path, headers, body)
        except Exception as exc:  # an engine bug or an unreadable world file: answer 500, keep serving
            log.exception("sandbox engine failed on %s %s", self.command, self.path)
            self._send(500, {"Content-Type": "application/json"},
                       json.dumps({"message": f"Sandbox engine error: {exc!s}"}).encode())
            return
        if isinstance(result, Drop):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(result.status, result.headers, result.body)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        """Any other method (`do_FOO`) goes to the engine too, which answers 405 or 404 as FastAPI does,
        instead of http.server's 501."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length", "0") or "0"
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(400, {"Content-Type": "application/json"}, b'{"detail": "Bad Content-Length"}')
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            except ValueError:
                size = -1
            if size < 0 or total + size > MAX_BODY_BYTES:
                self.close_connection = True
                self._send(400, {"Content-Type": "application/json"}, b'{"detail": "Bad chunked body"}')
                return None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(3)  # CRLF after the chunk
            total += size

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def version_string(self) -> str:  # the base class appends " " + sys_version even when it is empty
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        log.debug("%s - " + format, self.address_string(), *args)


class SandboxHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer (daemon threads) that knows its engine and can stop its open connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 makes bursts of clients wait for SYN retries

    def __init__(self, address: tuple[str, int], engine: Engine):
        self.engine = engine
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__(address, _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{text}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)

    def start(self) -> SandboxHTTPServer:
        """Serve in a background daemon thread."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="tpdeclare-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every open keep-alive connection, release the port."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._connections_lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()


def make_server(host: str, port: int, engine: Engine) -> SandboxHTTPServer:
    """Bind (port 0 = any free port) without serving yet."""
    return SandboxHTTPServer((host, port), engine)


def serve(host: str, port: int, engine: Engine) -> SandboxHTTPServer:
    """Bind and serve in a background thread; call `.stop()` on the result to end it."""
    return make_server(host, port, engine).start()
