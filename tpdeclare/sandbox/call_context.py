"""What an endpoint handler is given: the world session, the clock, the parsed request, the engine's settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tpdeclare.sandbox.billing import SpendBound
from tpdeclare.sandbox.dialects import Dialect
from tpdeclare.sandbox.world import JsonDict, WorldSession
from tpdeclare.sandbox.world_queries import new_id


@dataclass(frozen=True)
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

    @property
    def dialect(self) -> Dialect:
        return self.settings.dialect

    def new_id(self, prefix: str, hex_digits: int) -> str:
        return new_id(self.world, prefix, hex_digits, self.settings.seed)

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
