"""Plan values: actions, field effects, per-address changes and the plan as a whole (pure, frozen data)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import Enum
from itertools import compress
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from tpdeclare.fields import MANAGED_FIELDS, FieldEffect
from tpdeclare.frozen_values import field, from_fields, frozen
from tpdeclare.spec.model import ClusterSpec

if TYPE_CHECKING:
    from tpdeclare.plan.storage_model import StoragePlan

__all__ = ["Action", "Change", "Changes", "Cost", "Expiry", "FieldChange", "FieldEffect", "Plan", "PlanRequest",
           "Untouched", "notable", "CREATE", "UPDATE", "REPLACE", "DELETE", "NOOP"]


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


# The members as module constants, for the loops that run per change: on Python 3.11 `Action.CREATE` goes through
# the enum metaclass's attribute hook (~0.17 µs, ~1,500 instructions), a global costs a tenth of that.
CREATE, UPDATE, REPLACE, DELETE, NOOP = Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE, Action.NOOP

_TERRAFORM_ACTIONS: dict[Action, tuple[str, ...]] = {
    Action.CREATE: ("create",),
    Action.UPDATE: ("update",),
    Action.REPLACE: ("delete", "create"),
    Action.DELETE: ("delete",),
    Action.NOOP: ("no-op",),
}


@frozen
class FieldChange:
    """One field whose desired value differs from the current one, and what that causes."""

    field: str
    before: Any
    after: Any
    effect: FieldEffect
    detail: str | None = None  # for list fields: how the items changed ("1 added, 0 removed")


@frozen
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


@frozen
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


# An untouched cluster as the planner keeps it (plan/untouched.py): address, cluster ID, the cluster as wanted,
# its recorded managed fields (in the field table's order) and its hourly cost. Its Change is built from these.
Untouched = tuple[str, str | None, ClusterSpec, tuple[Any, ...], float | None]
_NOOP = vars(Change("", Action.NOOP, None, None)).copy()  # every field's default: new fields come along


def _built(row: Untouched) -> Change:
    """The no-op Change of an untouched cluster: what the general path plans for it, field for field."""
    address, cluster_id, want, recorded, hourly = row
    fields = _NOOP.copy()  # Change(...) with these fields, 4x faster than its frozen __init__
    fields["address"], fields["cluster_id"], fields["desired"] = address, cluster_id, want
    fields["before"], fields["after"] = dict(zip(MANAGED_FIELDS, recorded, strict=True)), want.fields()
    fields["hourly_before"] = fields["hourly_after"] = hourly
    return from_fields(Change, fields)


class Changes(Sequence[Change]):
    """A plan's changes in address order, each untouched cluster kept as its `Untouched` row until the whole
    sequence is read (then every Change is built, once): a plan of 10,000 clusters with nothing to do builds no
    Change for the text output. `notable` is every change but those, all that a reader which skips no-op
    changes without notes, move or lifetime needs (the summary, the text, the cost, the policies). Equal to,
    hashed and shown as the tuple of its Changes."""

    __slots__ = ("_items", "_all", "_index", "notable")

    def __init__(self, items: list[Change | Untouched], notable: Sequence[Change]):
        self._items = items  # the caller's list, kept: every Change of `notable` and every row, in address order
        self._all: tuple[Change, ...] | None = None
        self._index: dict[str, int] | None = None
        self.notable = notable

    def _every(self) -> tuple[Change, ...]:
        if self._all is None:
            self._all = tuple(_built(c) if type(c) is tuple else c for c in self._items)  # type: ignore[misc]
        return self._all

    def _position(self, address: str) -> int | None:
        if self._index is None:
            self._index = {(c[0] if type(c) is tuple else c.address): i  # type: ignore[union-attr]
                           for i, c in enumerate(self._items)}
        return self._index.get(address)

    def get(self, address: str) -> Change | None:
        """The change at `address` (only that one built, when it is an untouched row), or None."""
        i = self._position(address)
        if i is None:
            return None
        if self._all is not None:
            return self._all[i]
        item = self._items[i]
        if type(item) is tuple:
            item = self._items[i] = _built(item)
        return item  # type: ignore[return-value]

    def outline(self, address: str) -> Outline | None:
        """The change at `address` as its `Outline`, building no Change for an untouched row, or None."""
        i = self._position(address)
        if i is None:
            return None
        item = self._items[i] if self._all is None else self._all[i]
        if type(item) is tuple:
            return Outline(Action.NOOP, True, item[1])  # _built(item): a no-op with the recorded fields as `before`
        return outline(item)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, i: int) -> Change: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Change, ...]: ...
    def __getitem__(self, i: int | slice) -> Change | tuple[Change, ...]:
        return self._every()[i]

    def __iter__(self) -> Iterator[Change]:
        return iter(self._every())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Changes):
            other = other._every()
        return self._every() == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._every())

    def __repr__(self) -> str:
        return repr(self._every())


class Outline(NamedTuple):
    """What the storage planner reads of a cluster's change: its action, whether it has a `before` (a cluster
    exists now), and its cluster ID."""

    action: Action
    has_before: bool
    cluster_id: str | None


def outline(change: Change) -> Outline:
    return Outline(change.action, change.before is not None, change.cluster_id)


def notable(changes: Sequence[Change]) -> Sequence[Change]:
    """Every change but the untouched clusters' (`Changes.notable`); all of them for any other sequence."""
    return changes.notable if isinstance(changes, Changes) else changes


@frozen
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


@frozen
class PlanRequest:
    """What a plan was asked for (recorded with it, and shown by a saved plan)."""

    refresh: bool = False
    destroy_all: bool = False
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    max_hourly_cost: float | None = None
    prices: tuple[tuple[str, float], ...] = ()  # --prices overrides, sorted by kind
    expire_only: bool = False  # `tpdeclare expire`: only the destroys of expired clusters


@frozen
class Plan:
    """Everything one run intends to do, and the state it was made against.

    The executor carries out exactly this: the changes, the state-only steps (`moves` in the changes,
    `forget`, `drop_intents`, `state_sync`) and `waits`; it decides nothing again.
    """

    stack: str
    changes: Sequence[Change]  # a `Changes` from the planner, a tuple from a saved plan
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
    def notable(self) -> Sequence[Change]:
        """Every change but the untouched clusters' (no-op, no note, no move, no lifetime): `model.notable`."""
        return notable(self.changes)

    @property
    def actionable(self) -> tuple[Change, ...]:
        # The changes whose action is not NOOP; the loop over the notable ones in C, not a property call each.
        shown = self.notable
        return tuple(compress(shown, [a is not Action.NOOP for a in map(_ACTION, shown)]))

    @property
    def has_changes(self) -> bool:
        shown = self.notable
        return (
            any(a is not Action.NOOP for a in map(_ACTION, shown)) or any(map(_MOVED_FROM, shown))
            or bool(self.forget)
            or bool(self.state_sync) or bool(self.remember_expired)
            or (self.storage is not None and self.storage.has_changes)
        )

    def change(self, address: str) -> Change | None:
        if isinstance(self.changes, Changes):
            return self.changes.get(address)
        for c in self.changes:
            if c.address == address:
                return c
        return None

    def outline(self, address: str) -> Outline | None:
        """`Outline` of `change(address)`, without building the Change of an untouched cluster."""
        if isinstance(self.changes, Changes):
            return self.changes.outline(address)
        found = self.change(address)
        return None if found is None else outline(found)

    def count(self, action: Action) -> int:
        return list(map(_ACTION, self.notable)).count(action) if action is not Action.NOOP else \
            list(map(_ACTION, self.changes)).count(action)  # Action members are singletons: `is` and `==` agree

    def summary(self) -> dict[str, int]:
        actions = list(map(_ACTION, self.notable))
        return {
            "add": actions.count(Action.CREATE),
            "change": actions.count(Action.UPDATE),
            "replace": actions.count(Action.REPLACE),
            "destroy": actions.count(Action.DELETE),
            "move": sum(map(bool, map(_MOVED_FROM, self.notable))),
        }


_ACTION = attrgetter("action")
_MOVED_FROM = attrgetter("moved_from")
