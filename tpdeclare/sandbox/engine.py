"""The sandbox engine: turns one HTTP request into one response of the emulated TensorPool API.

`Engine.handle(method, target, headers, body)` is pure request handling (no sockets): the HTTP server
(`server.py`) and the in-process `requests` adapter (`inprocess.py`) are thin transports around it.
This module routes (`routes.py`), injects faults (`faults.py`), checks the key, and hands the request to
its handler (`queries.py`, `mutations.py`); request bodies are validated like FastAPI with pydantic v2
in lax mode (`lax_validation.py`) against `specs/tensorpool-api.json`. Statuses follow the time-based
state machine in `timeline.py`, computed from stored timestamps on every read, so no background thread
is needed and a restart over the same `FileWorld` keeps the timeline. A `Dialect` (`dialects.py`)
changes the assumed shapes; `GET /openapi.json` describes the dialect being spoken.

No input gives a 500: only an injected fault or an unusable world store (TpdeclareError) does.

Outside the API's paths, for tests and benchmarks (no auth, never faulted, not counted):
`GET /_sandbox/stats` (counters), `GET /_sandbox/log[?since=SEQ]` (the request log, `request_log.py`),
`POST /_sandbox/reset` (clear world, counters and log),
`POST /_sandbox/faults` with `{"spec": "..."}` (replace the fault plan; grammar in `faults.py`).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from tpdeclare.errors import TpdeclareError
from tpdeclare.sandbox import mutations, queries, routes, ssh_access, storage_routes
from tpdeclare.sandbox import request_log as rl
from tpdeclare.sandbox.billing import SpendBound
from tpdeclare.sandbox.call_context import Call, Settings
from tpdeclare.sandbox.dialects import Dialect, parse_dialect
from tpdeclare.sandbox.faults import RETRY_AFTER_STATUSES, FaultPlan
from tpdeclare.sandbox.responses import Drop, Response, detail, json_response, message, seconds
from tpdeclare.sandbox.world import MemoryWorld, WorldSession, WorldStore, fresh_counters, fresh_world

__all__ = ["DEFAULT_BALANCE", "Drop", "Engine", "Response", "coerce_seed"]

DEFAULT_BALANCE = 10_000.0
HANDLERS: dict[str, Callable[[Call], Response]] = {
    "openapi": queries.openapi,
    "health": queries.health,
    "healthz": queries.healthz,
    "request_info": queries.request_info,
    "list": queries.cluster_list,
    "info": queries.cluster_info,
    "ssh": ssh_access.ssh,
    "create": mutations.create,
    "edit": mutations.edit,
    "delete": mutations.delete,
    "storage_create": storage_routes.create,
    "storage_list": storage_routes.storage_list,
    "storage_info": storage_routes.info,
    "storage_edit": storage_routes.edit,
    "storage_delete": storage_routes.delete,
    "storage_attach": storage_routes.attach,
    "storage_detach": storage_routes.detach,
}
_FAULT_WORDS = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
    429: "Too many requests",
}


class Engine:
    """The emulated TensorPool API over a WorldStore."""

    def __init__(
        self,
        world: WorldStore | None = None,
        *,
        api_key: str | None = None,
        provision_seconds: float = 60.0,
        destroy_seconds: float | None = None,
        edit_seconds: float | None = None,
        retry_after: float | None = None,
        balance: float = DEFAULT_BALANCE,
        faults: FaultPlan | str | None = None,
        seed: int | str | None = None,
        dialect: Dialect | str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """`api_key=None` accepts any non-empty bearer key. `destroy_seconds=None` means the same as
        `provision_seconds`, `edit_seconds=None` the same as `destroy_seconds` (edits take time only in
        an async-edit dialect). `retry_after=None` means 1 s (0 when `provision_seconds` is 0). `seed`
        makes fault draws and generated IDs reproducible. `dialect` is a Dialect or a name for
        `parse_dialect` (TpdeclareError if unknown)."""
        destroy = provision_seconds if destroy_seconds is None else destroy_seconds
        edit = destroy if edit_seconds is None else edit_seconds
        if min(provision_seconds, destroy, edit) < 0:
            raise TpdeclareError("sandbox provisioning/destroy/edit times must be >= 0 seconds")
        if retry_after is None:
            retry_after = 1.0 if provision_seconds > 0 else 0.0
        if retry_after < 0:
            raise TpdeclareError("sandbox retry_after must be >= 0 seconds")
        self.world = world if world is not None else MemoryWorld()
        self.api_key = api_key
        self.settings = Settings(
            provision_seconds=float(provision_seconds), destroy_seconds=float(destroy), edit_seconds=float(edit),
            retry_after=float(retry_after), balance=float(balance), seed=seed,
            dialect=dialect if isinstance(dialect, Dialect) else parse_dialect(dialect),
        )
        self._faults = faults if isinstance(faults, FaultPlan) else FaultPlan.parse(faults)
        self._rng = random.Random(seed)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._spend = SpendBound()

    # The settings under their historical names (tests and `serve` read them).
    provision_seconds = property(lambda self: self.settings.provision_seconds)
    destroy_seconds = property(lambda self: self.settings.destroy_seconds)
    edit_seconds = property(lambda self: self.settings.edit_seconds)
    retry_after = property(lambda self: self.settings.retry_after)
    balance = property(lambda self: self.settings.balance)
    seed = property(lambda self: self.settings.seed)
    dialect = property(lambda self: self.settings.dialect)

    # ----------------------------------------------------------------------------------- control

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    def set_faults(self, faults: FaultPlan | str | None) -> None:
        """Replace the fault plan (a FaultPlan or a spec string; TpdeclareError if it does not parse)."""
        plan = faults if isinstance(faults, FaultPlan) else FaultPlan.parse(faults)
        with self._lock:
            self._faults = plan

    def stats(self) -> dict[str, Any]:
        """The counters and derived figures that `GET /_sandbox/stats` returns."""
        with self._lock, self.world.session() as s:
            return rl.stats_body(s, self._clock(), self.settings.balance, self._faults.spec)

    def log(self, since: int = 0) -> dict[str, Any]:
        """The request log that `GET /_sandbox/log` returns (entries after `since`)."""
        with self._lock, self.world.session() as s:
            return rl.log_body(s, self._clock(), since)

    def reset(self) -> None:
        """Forget every cluster, request, spend, counter and log entry (the fault plan stays)."""
        with self._lock, self.world.session() as s:
            _reset(s)
            self._spend.invalidate()

    # ----------------------------------------------------------------------------------- dispatch

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response | Drop:
        """Answer one request. `target` is the path with an optional query string.

        Never raises for anything a client sends; raises TpdeclareError only when the world store is
        unusable (e.g. an unreadable world file), which the HTTP server turns into a 500."""
        method = method.upper()
        path, query = routes.split_target(target)
        body = body or b""
        match = routes.route(method, path)
        endpoint = match.endpoint
        if endpoint is not None and endpoint.startswith("_"):
            return self._control(endpoint, query, body)
        lowered = {str(k).lower(): v for k, v in headers.items()}
        key, auth_problem = routes.bearer_problem(lowered.get("authorization"))
        if endpoint is None:
            allowed = match.allowed
            status, word = (405, "Method Not Allowed") if allowed else (404, "Not Found")
            response = detail(status, word, {"Allow": ", ".join(sorted(allowed))} if allowed else {})
            with self._lock, self.world.session() as s:
                rl.count(s, "unknown", status)
                self._record(s, method, path, query, "unknown", status, [], body, response, key)
            return response

        with self._lock:
            faults = self._faults.for_endpoint(endpoint)
            error_status = faults.pick_error(self._rng.random()) if faults.errors else None
            drop = faults.drop > 0 and self._rng.random() < faults.drop
        if faults.latency > 0:
            self._sleep(faults.latency)

        with self._lock, self.world.session() as s:
            call = Call(s, self._clock(), match.params, parse_qs(query, keep_blank_values=True), body,
                        self.settings, self._spend, self._rng.random, self._faults.provision_failed)
            if faults.latency > 0:
                call.count_fault("latency")
            if error_status is not None:
                call.count_fault(str(error_status))
                response = self._fault_response(error_status)
            elif endpoint not in routes.PUBLIC_ENDPOINTS and auth_problem is not None:
                response = detail(401, auth_problem, {"WWW-Authenticate": "Bearer"})
            elif endpoint not in routes.PUBLIC_ENDPOINTS and not routes.key_accepted(key or "", self.api_key):
                response = message(401, "Invalid or missing API key", {"WWW-Authenticate": "Bearer"})
            else:
                response = HANDLERS[endpoint](call)
            if endpoint in routes.MUTATING_ENDPOINTS:
                s.counters["mutating_requests"] += 1
            if drop:
                call.count_fault("drop")
            outcome: int | str = "dropped" if drop else response.status
            rl.count(s, endpoint, outcome)
            self._record(s, method, path, query, endpoint, outcome, call.injected, body, response, key)
        return Drop() if drop else response

    def _record(self, s: WorldSession, method: str, path: str, query: str, endpoint: str, status: int | str,
                injected: list[str], body: bytes, response: Response, key: str | None) -> None:
        rl.record(s, now=self._clock(), method=method, path=path, query=query,
                  endpoint=endpoint, status=status, faults=injected, body=body, response=response,
                  secret=self.api_key or key)

    def _fault_response(self, status: int) -> Response:
        headers = {"Retry-After": seconds(self.settings.retry_after)} if status in RETRY_AFTER_STATUSES else {}
        return message(status, f"{_FAULT_WORDS[status]} (sandbox fault injection)", headers)

    def _control(self, endpoint: str, query: str, body: bytes) -> Response:
        if endpoint == "_stats":
            return json_response(200, self.stats())
        if endpoint == "_log":
            since_text = (parse_qs(query).get("since") or ["0"])[-1]
            try:
                since = int(since_text)
            except ValueError:
                return message(400, f"since={since_text!r} is not a whole number (a log entry's seq)")
            return json_response(200, self.log(since))
        if endpoint == "_reset":
            self.reset()
            return json_response(200, {"message": "Sandbox world and counters cleared"})
        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("spec"), str):
            return message(400, 'Expected a JSON body {"spec": "<fault spec>"}')
        try:
            self.set_faults(data["spec"])
        except TpdeclareError as exc:
            return message(400, exc.message)
        return json_response(200, {"message": "Fault plan replaced", "faults": self._faults.spec})


def coerce_seed(value: int | str | None) -> int | str | None:
    """A seed from a command line or environment: digits become an int, anything else stays as is."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.lstrip("-").isdigit():
            return int(text)
    return value


def _reset(s: WorldSession) -> None:
    s.world.clear()
    s.world.update(fresh_world())
    s.counters.clear()
    s.counters.update(fresh_counters())
    s.clear_log()
    s.mark_dirty()
    s.mark_counters_dirty()
