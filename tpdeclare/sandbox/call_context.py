"""What an endpoint handler is given: the world session, the clock, the parsed request, the engine's settings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from tpdeclare.frozen_values import frozen
from tpdeclare.sandbox.billing import SpendBound
from tpdeclare.sandbox.contract import request_schema
from tpdeclare.sandbox.dialects import Dialect
from tpdeclare.sandbox.lax_validation import validated_body
from tpdeclare.sandbox.responses import Response
from tpdeclare.sandbox.world import JsonDict, WorldSession
from tpdeclare.sandbox.world_queries import new_id


@frozen
class Settings:
    """An engine's fixed configuration."""

    provision_seconds: float
    destroy_seconds: float
    edit_seconds: float
    retry_after: float
    balance: float
    seed: int | str | None
    dialect: Dialect


@dataclass
class Call:
    """One request, as a handler sees it."""

    session: WorldSession
    now: float
    params: dict[str, str]
    query: dict[str, list[str]]
    body: bytes
    settings: Settings
    spend: SpendBound
    draw: Callable[[], float]  # a uniform draw in [0, 1) from the engine's (seeded) generator
    provision_failed: float  # probability that a create's provisioning ends FAILED
    injected: list[str] = field(default_factory=list)  # the faults injected into this request, in order

    @property
    def world(self) -> JsonDict:
        return self.session.world

    def new_id(self, prefix: str, hex_digits: int) -> str:
        return new_id(self.world, prefix, hex_digits, self.settings.seed)

    def new_request(self, request_type: str, object_id: str, duration: float, **extra: object) -> str:
        """A request on `object_id` stored in the world, started now and lasting `duration` seconds; its ID."""
        request_id = self.new_id("r-", 12)
        self.world["requests"][request_id] = {
            "request_id": request_id, "request_type": request_type, "object_id": object_id,
            "created_at": self.now, "duration": duration, "fails": False, "cancelled_at": None, **extra,
        }
        return request_id

    @property
    def dialect(self) -> Dialect:
        return self.settings.dialect

    def count(self, counter: str) -> None:
        """Add one to a top-level counter (creates_accepted, ...)."""
        self.session.counters[counter] += 1
        self.session.mark_counters_dirty()

    def count_fault(self, kind: str) -> None:
        """Note an injected fault (counted, and named in the request log)."""
        self.injected.append(kind)
        faults = self.session.counters["faults_injected"]
        faults[kind] = faults.get(kind, 0) + 1
        self.session.mark_counters_dirty()


def with_body(schema: str) -> Callable[[Callable[[Call, JsonDict], Response]], Callable[[Call], Response]]:
    """An endpoint whose JSON body must first pass the contract's `schema` (else the 422 is the answer); the
    handler is given the validated body."""
    def decorate(handler: Callable[[Call, JsonDict], Response]) -> Callable[[Call], Response]:
        @functools.wraps(handler)
        def endpoint(call: Call) -> Response:
            data = validated_body(call.body, request_schema(schema))
            if isinstance(data, Response):
                return data
            return handler(call, data)
        return endpoint
    return decorate
