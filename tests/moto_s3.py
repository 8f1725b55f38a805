"""A real S3 server for the tests: moto's WSGI app over real HTTP on 127.0.0.1, started and stopped by the tests.

Moto checks a PUT's condition (If-None-Match / If-Match) and then stores the object with no lock in
between, so two truly concurrent conditional PUTs could both pass the check. An 8-way race of
If-None-Match PUTs on one key found no double winner in 30 trials here (the GIL rarely switches in
that gap), but the lock's tests must not rest on luck: this server serialises moto's request handling
with one lock around the WSGI app, as a real S3 serialises writes to one key (each request's body is read
first, outside the lock).

`mode` turns on faults for the tests of the store's failure handling:
  "drop_conditions"  strip If-Match / If-None-Match before moto sees them (a store that ignores them)
  "fail_next"        answer the next `faults` requests with 500 before moto sees them
  "lose_next_answer" let moto commit the next `faults` PUTs, then answer each with a 500 instead of
                     moto's answer (the lost-412 case: boto3's retry finds the object already there)
  "slow"             delay every answer by `delay` seconds
Requests and uploaded bytes are counted (`requests`, `uploaded`).
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import make_server

CONDITIONS = ("HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH")


class MotoS3:
    """moto's S3, served from a thread; `url` is its endpoint."""

    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app

        self._app = DomainDispatcherApplication(create_backend_app)
        self._serial = threading.Lock()
        self.mode = ""
        self.faults = 0
        self.delay = 0.0
        self.requests = 0
        self.uploaded = 0
        self.log: list[tuple[str, str]] = []
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # The body is read before the lock is taken: a client stopped (SIGSTOP) in the middle of sending one
        # must hold up only its own request, never every other client's behind the lock.
        length = environ.get("CONTENT_LENGTH")
        if length:
            environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(int(length)))
        elif environ.get("wsgi.input_terminated"):  # chunked: werkzeug's stream ends with the last chunk
            environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read())
        with self._serial:
            self.requests += 1
            self.uploaded += int(environ.get("CONTENT_LENGTH") or 0)
            self.log.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
            if self.mode == "drop_conditions":
                for name in CONDITIONS:
                    environ.pop(name, None)
            if self.mode == "fail_next" and self.faults > 0:
                self.faults -= 1
                start_response("500 Internal Server Error", [("Content-Type", "application/xml")])
                return [b"<Error><Code>InternalError</Code><Message>injected</Message></Error>"]
            answer: list[Any] = []
            body = b"".join(self._app(environ, lambda *args: answer.append(args)))
            if self.mode == "lose_next_answer" and environ["REQUEST_METHOD"] == "PUT" and self.faults > 0:
                self.faults -= 1  # committed by moto; the client never learns it
                start_response("500 Internal Server Error", [("Content-Type", "application/xml")])
                return [b"<Error><Code>InternalError</Code><Message>answer lost</Message></Error>"]
        if self.delay:
            time.sleep(self.delay)
        start_response(*answer[0])
        return [body]

    def start(self) -> MotoS3:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
