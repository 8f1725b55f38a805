"""Shared helpers for sandbox tests: a fake clock, a tiny engine caller, and a served sandbox."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from tpdeclare.sandbox.engine import Drop, Engine, Response
from tpdeclare.sandbox.server import serve

START = 1_795_000_000.0  # 2026-11-18T...Z: any fixed instant works
KEY = "test-key"


class FakeClock:
    """A clock (and a sleep that advances it) under the test's control."""

    def __init__(self, start: float = START):
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_engine(world=None, *, clock: FakeClock | None = None, **kwargs) -> tuple[Engine, FakeClock]:
    """An Engine on a fake clock (and fake sleep); returns both."""
    clock = clock or FakeClock()
    kwargs.setdefault("sleep", clock.sleep)
    return Engine(world, clock=clock, **kwargs), clock


class Caller:
    """Calls Engine.handle like an HTTP client would: JSON bodies, bearer key."""

    def __init__(self, engine: Engine, key: str | None = KEY):
        self.engine = engine
        self.key = key

    def __call__(self, method: str, target: str, body=None, *, raw: bytes | None = None,
                 key: str | None = "default", headers: dict | None = None) -> Response | Drop:
        hdrs = dict(headers or {})
        key = self.key if key == "default" else key
        if key is not None:
            hdrs["Authorization"] = f"Bearer {key}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        if data:
            hdrs["Content-Type"] = "application/json"
        return self.engine.handle(method, target, hdrs, data)

    def create(self, instance_type: str = "1xH100", name: str | None = None, **fields) -> Response | Drop:
        body = {"instance_type": instance_type, **fields}
        if name is not None:
            body["tp_cluster_name"] = name
        return self("POST", "/cluster/create", body)

    def ok(self, method: str, target: str, body=None, status: int | None = None) -> dict:
        """Call and assert a 2xx (or the given status); returns the JSON body."""
        r = self(method, target, body)
        assert isinstance(r, Response), r
        assert (r.status == status) if status is not None else (200 <= r.status < 300), (r.status, r.body)
        return r.json()


@contextlib.contextmanager
def served_sandbox(world=None, **engine_kwargs) -> Iterator[tuple[str, Engine]]:
    """An Engine served over real HTTP on 127.0.0.1 (a free port) for the duration of the block."""
    engine = Engine(world, **engine_kwargs)
    server = serve("127.0.0.1", 0, engine)
    try:
        yield server.base_url, engine
    finally:
        server.stop()
