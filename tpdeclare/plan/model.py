"""Plan values: actions, field effects, per-address changes and the plan as a whole (pure, frozen data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from itertools import compress
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from tpdeclare.fields import FieldEffect
from tpdeclare.spec.model import ClusterSpec

if TYPE_CHECKING:
    from tpdeclare.plan.storage_model import StoragePlan

__all__ = ["Action", "Change", "Cost", "Expiry", "FieldChange", "FieldEffect", "Plan", "PlanRequest"]


class Action(Enum):
    """What happens to one cluster; the value is the glyph users see."""

    CREATE = "+"
    UPDATE = "~"
    REPLACE = "-/+"
    DELETE = "-"
    NOOP = " "

    @property
    def terraform_actions(self) -> list[str]:
        """Terraform's JSON `actions` vocabulary, so policy tools work on our plans."""
        return list(_TERRAFORM_ACTIONS[self])


_TERRAFORM_ACTIONS: dict[Action, tuple[str, ...]] = {
    Action.CREATE: ("create",),
    Action.UPDATE: ("update",),
    Action.REPLACE: ("delete", "create"),
    Action.DELETE: ("delete",),
    Action.NOOP: ("no-op",),
}


@dataclass(frozen=True)
class FieldChange:
    """One field whose desired value differs from the current one, and what that causes."""

    field: str
    before: Any
    after: Any
    effect: FieldEffect
    detail: str | None = None  # for list fields: how the items changed ("1 added, 0 removed")


@dataclass(frozen=True)
class Expiry:
    """A cluster's lifetime as one plan sees it (DESIGN §10): when it ends, what is left, what it costs until then."""

    lifetime: str  # `Lifetime.key`: `expires_after 8h` or `expires_at 2026-12-05T18:00:00Z`
    expires_at: str | None  # RFC 3339 UTC; None when the cluster's creation time is unknown
    seconds_left: float | None  # from the plan's clock (negative: past); None with expires_at
    spend: float | None = None  # USD from now until it ends, at its hourly cost; None when unpriced or unknown
    warn: bool = False  # within the lifetime's warn_before of its end
    expired: bool = False  # the end has passed
    from_creation: bool = False  # counted from a creation this plan makes: expires_at is its earliest estimate
    protected: bool = False  # expired, but prevent_destroy or deletion_protection keeps it (never destroyed for it)


@dataclass(frozen=True)
class Change:
    """The planned action for one address, with everything the executor needs to carry it out."""

    address: str
    action: Action
    before: dict[str, Any] | None  # current fields (recorded, or observed with --refresh)
    after: dict[str, Any] | None  # desired fields, as shown
    field_changes: tuple[FieldChange, ...] = ()
    replace_paths: tuple[str, ...] = ()
    reason: str | None = None  # Terraform-style action_reason
    notes: tuple[str, ...] = ()
    cluster_id: str | None = None
    hourly_before: float | None = None
    hourly_after: float | None = None
    moved_from: str | None = None
    desired: ClusterSpec | None = None  # the cluster to create or keep (None for a destroy)
    lift_protection: bool = False  # a replace (or an expiry's destroy) that turns deletion protection off first
    expiry: Expiry | None = None  # the cluster's lifetime, when the spec gives it one

    @property
    def is_change(self) -> bool:
        return self.action is not Action.NOOP


@dataclass(frozen=True)
class Cost:
    """Hourly cost of the stack before and after the plan (USD/hour)."""

    before_hourly: float
    after_hourly: float
    unpriced: tuple[str, ...] = ()  # addresses whose instance type has no known price
    # Money committed by lifetimes, from the plan's clock: what the clusters with one cost until each ends, when
    # the last ends, and the hourly cost of those with none (it has no end). None/0 when no cluster has one.
    until_expiry: float | None = None
    last_expiry: str | None = None
    hourly_without_expiry: float = 0.0

    @property
    def diff_hourly(self) -> float:
        return round(self.after_hourly - self.before_hourly, 6)


@dataclass(frozen=True)
class PlanRequest:
    """What a plan was asked for (recorded with it, and shown by a saved plan)."""

    refresh: bool = False
    destroy_all: bool = False
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    max_hourly_cost: float | None = None
    prices: tuple[tuple[str, float], ...] = ()  # --prices overrides, sorted by kind
    expire_only: bool = False  # `tpdeclare expire`: only the destroys of expired clusters


@dataclass(frozen=True)
class Plan:
    """Everything one run intends to do, and the state it was made against.

    The executor carries out exactly this: the changes, the state-only steps (`moves` in the changes,
    `forget`, `drop_intents`, `state_sync`) and `waits`; it decides nothing again.
    """

    stack: str
    changes: tuple[Change, ...]
    cost: Cost
    blocked: tuple[str, ...] = ()  # policy violations; a blocked plan cannot be applied (exit 3)
    conflicts: tuple[str, ...] = ()  # creates the engine would refuse (a taken name); cannot be applied (exit 1)
    warnings: tuple[str, ...] = ()
    state_lineage: str | None = None
    state_serial: int | None = None
    max_hourly_cost: float | None = None
    prices_as_of: str = ""
    refreshed: bool = False
    forget: tuple[str, ...] = field(default_factory=tuple)  # records dropped on apply: gone outside, or intents
    drop_intents: tuple[str, ...] = ()  # of `forget`: interrupted creates looked up once more before dropping
    state_sync: tuple[str, ...] = ()  # records whose lifecycle (prevent_destroy) changed: state-only updates
    waits: tuple[str, ...] = ()  # unchanged addresses still being created by an earlier run: apply waits
    spec_files: tuple[str, ...] = ()  # the spec arguments the plan was made from (for hints)
    request: PlanRequest = field(default_factory=PlanRequest)
    now: str = ""  # the plan's clock (RFC 3339 UTC): lifetimes are judged, and their times left counted, from it
    prices: tuple[tuple[str, float], ...] = ()  # the price overrides it was costed with (spec, then --prices)
    remember_expired: tuple[str, ...] = ()  # expired clusters already gone from the engine: recorded as expired
    # `tpdeclare expire` only: expired clusters that protection keeps (why, and what they cost). They block
    # nothing else there (each is left as it is); in every other plan they are in `blocked`.
    protected_expired: tuple[str, ...] = ()
    storage: StoragePlan | None = None  # volumes, attachments and the step order (plan/storage_planner.py)

    @property
    def actionable(self) -> tuple[Change, ...]:
        # The changes whose action is not NOOP; the loop over 10,000 of them in C, not a property call each.
        return tuple(compress(self.changes, [a is not Action.NOOP for a in map(_ACTION, self.changes)]))

    @property
    def has_changes(self) -> bool:
        return (
            any(a is not Action.NOOP for a in map(_ACTION, self.changes)) or any(map(_MOVED_FROM, self.changes))
            or bool(self.forget)
            or bool(self.state_sync) or bool(self.remember_expired)
            or (self.storage is not None and self.storage.has_changes)
        )

    def change(self, address: str) -> Change | None:
        for c in self.changes:
            if c.address == address:
                return c
        return None

    def count(self, action: Action) -> int:
        return list(map(_ACTION, self.changes)).count(action)  # Action members are singletons: `is` and `==` agree

    def summary(self) -> dict[str, int]:
        actions = list(map(_ACTION, self.changes))
        return {
            "add": actions.count(Action.CREATE),
            "change": actions.count(Action.UPDATE),
            "replace": actions.count(Action.REPLACE),
            "destroy": actions.count(Action.DELETE),
            "move": sum(map(bool, map(_MOVED_FROM, self.changes))),
        }


_ACTION = attrgetter("action")
_MOVED_FROM = attrgetter("moved_from")
