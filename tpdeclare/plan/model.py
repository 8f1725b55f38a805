"""Plan values: actions, per-cluster changes and the plan as a whole (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


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
        return {
            Action.CREATE: ["create"],
            Action.UPDATE: ["update"],
            Action.REPLACE: ["delete", "create"],
            Action.DELETE: ["delete"],
            Action.NOOP: ["no-op"],
        }[self]


@dataclass(frozen=True)
class FieldChange:
    """One field whose desired value differs from the current one, and what that causes."""

    field: str
    before: object
    after: object
    effect: str  # "replace" | "in_place" | "create_only" | "ignored"
    detail: str | None = None  # for list fields: how the items changed ("1 added, 0 removed")


@dataclass(frozen=True)
class Change:
    """The planned action for one address."""

    address: str
    action: Action
    before: dict | None  # current fields (recorded, or observed with --refresh)
    after: dict | None  # desired fields
    field_changes: tuple[FieldChange, ...] = ()
    replace_paths: tuple[str, ...] = ()
    reason: str | None = None  # Terraform-style action_reason
    notes: tuple[str, ...] = ()
    cluster_id: str | None = None
    hourly_before: float | None = None
    hourly_after: float | None = None
    moved_from: str | None = None

    @property
    def is_change(self) -> bool:
        return self.action is not Action.NOOP


@dataclass(frozen=True)
class Cost:
    """Hourly cost of the stack before and after the plan (USD/hour)."""

    before_hourly: float
    after_hourly: float
    unpriced: tuple[str, ...] = ()  # addresses whose instance type has no known price

    @property
    def diff_hourly(self) -> float:
        return round(self.after_hourly - self.before_hourly, 6)


@dataclass(frozen=True)
class Plan:
    """Everything one run intends to do, and the state it was made against."""

    stack: str
    changes: tuple[Change, ...]
    cost: Cost
    blocked: tuple[str, ...] = ()  # policy violations; a blocked plan cannot be applied (exit 3)
    warnings: tuple[str, ...] = ()
    state_lineage: str | None = None
    state_serial: int | None = None
    max_hourly_cost: float | None = None
    prices_as_of: str = ""
    refreshed: bool = False
    forget: tuple[str, ...] = field(default_factory=tuple)  # records gone outside tpdeclare, dropped on apply
    state_sync: tuple[str, ...] = ()  # records whose lifecycle (prevent_destroy) changed: state-only updates

    @property
    def actionable(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.is_change)

    @property
    def has_changes(self) -> bool:
        return (
            bool(self.actionable) or any(c.moved_from for c in self.changes) or bool(self.forget)
            or bool(self.state_sync)
        )

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    def summary(self) -> dict:
        return {
            "add": self.count(Action.CREATE),
            "change": self.count(Action.UPDATE),
            "replace": self.count(Action.REPLACE),
            "destroy": self.count(Action.DELETE),
            "move": sum(1 for c in self.changes if c.moved_from),
        }
