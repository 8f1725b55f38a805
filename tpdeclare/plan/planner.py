"""The planner: desired spec + recorded state (+ observed clusters) -> Plan. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from tpdeclare.catalog import PRICES_AS_OF
from tpdeclare.fields import FieldEffect
from tpdeclare.frozen_values import replace_fields
from tpdeclare.gc_pause import gc_paused
from tpdeclare.plan.cost import PriceBook, budget_violation
from tpdeclare.plan.diff import current_fields, field_changes, recorded_spec
from tpdeclare.plan.expiry import REASON_EXPIRED, Lifetimes, committed, expiry_blocks
from tpdeclare.plan.model import (
    CREATE,
    DELETE,
    NOOP,
    REPLACE,
    UPDATE,
    Change,
    Changes,
    Cost,
    Plan,
    PlanRequest,
    Untouched,
)
from tpdeclare.plan.policy import destroy_policy, renames, taken_names
from tpdeclare.plan.untouched import untouched
from tpdeclare.spec.model import ClusterSpec, StackSpec
from tpdeclare.spec.time_values import format_instant
from tpdeclare.state.model import CREATING, DELETING, EXPIRED, PENDING, TAINTED, Record, State

if TYPE_CHECKING:
    from tpdeclare.plan.storage_planner import ObservedVolumes

__all__ = ["make_plan", "recorded_spec"]

# Terraform's action_reason vocabulary, plus our own where Terraform has none.
REASON_CANNOT_UPDATE = "replace_because_cannot_update"
REASON_TAINTED = "replace_because_tainted"
REASON_REQUESTED = "replace_by_request"
REASON_NO_CONFIG = "delete_because_no_resource_config"
REASON_DELETED_OUTSIDE = "create_because_deleted_outside"
REASON_RETRY_CREATE = "create_because_interrupted"
REASON_INTERRUPTED_REPLACE = "replace_because_interrupted"

Observed = Mapping[str, Mapping[str, Any]]  # cluster_id -> observed fields, from one list call


def make_plan(
    spec: StackSpec,
    state: State | None,
    *,
    observed: Observed | None = None,
    targets: Iterable[str] = (),
    replace: Iterable[str] = (),
    destroy_all: bool = False,
    max_hourly_cost: float | None = None,
    prices: Mapping[str, float] | None = None,
    now: datetime | None = None,
    expire_only: bool = False,
    observed_volumes: ObservedVolumes | None = None,
) -> Plan:
    """Plan the changes that make the engine match `spec`.

    observed: cluster_id -> observed fields (from one list call) when refreshing; None otherwise.
    targets: limit the plan to these addresses. replace: force a replace of these addresses.
    destroy_all: plan the destruction of every recorded cluster (the `destroy` command).
    now: the clock lifetimes are judged by (an aware datetime; default: the system's, read once).
    expire_only: only destroy the clusters whose lifetime has ended (the `expire` command).
    observed_volumes: storage_id -> the engine's volume (one list call) when refreshing.
    Volumes and attachments are planned after the clusters, by plan/storage_planner.py.
    """
    options = PlanRequest(
        refresh=observed is not None, destroy_all=destroy_all, targets=tuple(targets), replace=tuple(replace),
        max_hourly_cost=max_hourly_cost, prices=tuple(sorted((prices or {}).items())), expire_only=expire_only,
    )
    # The cyclic GC is paused while planning: it builds a few acyclic objects per cluster (freed by
    # reference counting), and its scans of everything already loaded were up to half the plan time.
    with gc_paused():
        plan = _Planner(spec, state, observed, options, (now or datetime.now(UTC)).replace(microsecond=0)).plan()
    if expire_only:
        return plan  # lifetimes are clusters' only: `expire` leaves volumes alone
    if not spec.volumes and not (state and state.volumes) and not any(map(_STORAGE, spec.clusters.values())):
        return plan  # a stack without storage: plan/storage_planner.py (and its models) is not even imported
    from tpdeclare.plan.storage_planner import add_storage

    with gc_paused():  # the same few acyclic objects per volume
        return add_storage(plan, spec, state, observed=observed_volumes, replace=options.replace,
                           destroy_all=destroy_all, targets=options.targets)


_HOURLY_BEFORE = attrgetter("hourly_before")
_STORAGE = attrgetter("storage")


class _Planner:
    """One planning pass; the state it walks is never changed."""

    def __init__(self, spec: StackSpec, state: State | None, observed: Observed | None, options: PlanRequest,
                 now: datetime):
        self.spec = spec
        self.state = state
        self.observed = observed
        self.options = options
        self.now = now
        self.costs = PriceBook({**spec.prices, **dict(options.prices)})
        self.lifetimes = Lifetimes(now, self.costs)
        self.records: dict[str, Record] = dict(state.resources) if state else {}
        self.blocked: list[str] = []
        self.protected_expired: list[str] = []
        self.moved_from: dict[str, str] = {}

    def plan(self) -> Plan:
        self._apply_moves()
        desired: dict[str, ClusterSpec] = {} if self.options.destroy_all else dict(self.spec.clusters)
        targets, forced = set(self.options.targets), set(self.options.replace)
        changes: list[Change] = []  # every change but the untouched clusters' (`Changes.notable`)
        items: list[Change | Untouched] = []  # all of them in address order, the untouched as their rows
        hourlies: tuple[list[float | None], list[float | None]] = ([], [])  # before and after, in address order
        forget: list[str] = []
        drop_intents: list[str] = []
        state_sync: list[str] = []
        waits: list[str] = []
        fast = not self.options.expire_only  # plan/untouched.py may answer
        # The loop's own lookups bound once: it runs for every address of the stack.
        records, moved_from, costs, observed = self.records, self.moved_from, self.costs, self.observed
        keep, cost_before, cost_after = items.append, hourlies[0].append, hourlies[1].append
        for address in sorted(set(desired) | set(records)):
            if targets and address not in targets and moved_from.get(address) not in targets:
                continue
            want, rec = desired.get(address), records.get(address)
            if fast and address not in forced and address not in moved_from:
                kept = untouched(address, want, rec, costs, observed)
                if kept is not None:  # nothing to forget, sync, wait for or block: the general path's answer
                    keep(kept)
                    cost_before(kept[4])
                    cost_after(kept[4])
                    continue
            change = self._plan_address(address, want, rec, address in forced)
            if change is None:
                continue
            if rec is not None and self._forgotten(want, rec, change):
                forget.append(address)
                if rec.status == PENDING:
                    drop_intents.append(address)
            if (
                want is not None and rec is not None and change.action in (NOOP, UPDATE)
                and rec.status not in (PENDING, EXPIRED) and not self.options.expire_only
                and bool(rec.spec.get("prevent_destroy")) != want.prevent_destroy
            ):
                state_sync.append(address)
                change = replace_fields(change, notes=change.notes + (
                    f"lifecycle.prevent_destroy: {str(bool(rec.spec.get('prevent_destroy'))).lower()} -> "
                    f"{str(want.prevent_destroy).lower()} (recorded in state)",))
            if change.action is NOOP and address not in forget and rec is not None and rec.status == CREATING \
                    and not self.options.expire_only:
                waits.append(address)
            if self.moved_from.get(address):
                change = replace_fields(change, moved_from=self.moved_from[address])
            changes.append(change)
            items.append(change)
            hourlies[0].append(change.hourly_before)
            hourlies[1].append(change.hourly_after)
            self.blocked.extend(destroy_policy(change, self.spec.clusters.get(address), rec, self.options.destroy_all)
                                if change.reason != REASON_EXPIRED else ())
        self.blocked.extend(renames(changes, self.records))  # the untouched are no-ops: no rename among them
        conflicts = taken_names(changes, self.records, self.observed, self.spec.files) if self.observed else []
        planned = Changes(items, tuple(changes))
        cost, warnings = self._cost(planned, hourlies)
        return Plan(
            stack=self.spec.stack,
            changes=planned,
            cost=cost,
            blocked=tuple(self.blocked),
            conflicts=tuple(conflicts),
            warnings=tuple(warnings),
            state_lineage=self.state.lineage if self.state else None,
            state_serial=self.state.serial if self.state else None,
            max_hourly_cost=self._budget(),
            prices_as_of=PRICES_AS_OF,
            refreshed=self.observed is not None,
            forget=tuple(forget),
            drop_intents=tuple(drop_intents),
            state_sync=tuple(state_sync),
            waits=tuple(waits),
            spec_files=tuple(self.spec.files),
            request=self.options,
            now=format_instant(self.now),
            prices=tuple(sorted(self.costs.prices.items())),
            remember_expired=tuple(self.lifetimes.remember),
            protected_expired=tuple(self.protected_expired),
        )

    def _plan_address(self, address: str, want: ClusterSpec | None, rec: Record | None, forced: bool) -> Change | None:
        """One address's change, lifetimes included (None: `expire` has nothing to say of it)."""
        change = self.lifetimes.decide(address, want, rec, forced)
        if change is None:
            live = None if rec is not None and rec.status == EXPIRED else rec
            change = self._plan_one(address, want, live, forced)
            change = self.lifetimes.review(change, want, rec, forced, self._seen(rec) if rec else None)
        blocks = expiry_blocks(change, want)
        if blocks and change.expiry is not None:
            change = replace_fields(change, expiry=replace_fields(change.expiry, protected=True))
        if self.options.expire_only:
            gone = rec is None or rec.status == PENDING or self._gone_outside(rec)
            current = None if gone or rec is None else current_fields(rec, self._seen(rec))
            kept = self.lifetimes.expire_only(change, want, rec, current, self._seen(rec) if rec else None)
            if kept is not None and blocks:  # protection keeps it: say so, and leave it as it is
                self.protected_expired.extend(blocks)
                kept = replace_fields(kept, action=NOOP, after=kept.before, hourly_after=kept.hourly_before,
                                      reason=None, lift_protection=False,
                                      notes=tuple(b.split(": ", 1)[1] for b in blocks))
            return kept
        self.blocked.extend(blocks)
        return change

    # -- steps ----------------------------------------------------------------------------------
    def _apply_moves(self) -> None:
        """moved: rename recorded addresses first, so the rest of the plan sees the new names."""
        for move in self.spec.moves:
            if move.from_address not in self.records:
                continue
            if move.to_address in self.records:
                self.blocked.append(
                    f"moved: cannot move '{move.from_address}' to '{move.to_address}': both are recorded in state "
                    f"(remove one with `tpdeclare state rm`)"
                )
                continue
            self.records[move.to_address] = self.records.pop(move.from_address)
            self.moved_from[move.to_address] = move.from_address

    def _seen(self, rec: Record) -> Mapping[str, Any] | None:
        if self.observed is None or not rec.cluster_id:
            return None
        return self.observed.get(rec.cluster_id)

    def _forgotten(self, want: ClusterSpec | None, rec: Record, change: Change) -> bool:
        """Whether apply drops the record: an intent never made, an expiry's memory or a cluster gone outside,
        at an address the spec no longer has; or an intent whose cluster would be born expired."""
        if want is None:
            return rec.status in (PENDING, EXPIRED) or self._gone_outside(rec)
        return rec.status == PENDING and change.action is NOOP

    def _gone_outside(self, rec: Record) -> bool:
        return self.observed is not None and rec.status != PENDING and self._seen(rec) is None

    def _budget(self) -> float | None:
        return self.options.max_hourly_cost if self.options.max_hourly_cost is not None else self.spec.max_hourly_cost

    def _cost(self, changes: Changes, hourlies: tuple[list[float | None], list[float | None]]
              ) -> tuple[Cost, list[str]]:
        # The sums of the known hourly costs (`hourlies`: every change's, in address order), in C: leaving out the
        # Nones (and zeros) adds the same floats, and the start keeps the type `sum(c.hourly_before or 0.0 for c
        # in changes)` had (0 only for no change).
        zero = 0.0 if changes else 0
        before_total = sum(filter(None, hourlies[0]), zero)
        after_total = sum(filter(None, hourlies[1]), zero)
        if self.options.targets or self.options.expire_only:  # clusters left out still cost money: on both sides
            planned = {c.address for c in changes}
            for address, rec in self.records.items():
                if address not in planned and rec.status not in (PENDING, EXPIRED) and not self._gone_outside(rec):
                    hourly = self.costs(rec.spec) or 0.0
                    before_total += hourly
                    after_total += hourly
        # Unpriced: a side that counts towards the totals but whose type has no price. A side left out on
        # purpose (a cluster deleted outside, an intent never made) is not.
        # An untouched cluster of a type with no price is unpriced too: then every change is looked at, in order
        # (the Nones of `hourlies` beyond the notable changes' are the untouched ones').
        unpriced_untouched = hourlies[0].count(None) > list(map(_HOURLY_BEFORE, changes.notable)).count(None)
        unpriced = tuple(
            c.address for c in (changes if unpriced_untouched else changes.notable)
            if (c.after and c.hourly_after is None)
            or (c.before and c.hourly_before is None and self._counts_before(c))
        )
        warnings = []
        if unpriced:
            warnings.append(
                "no price known for the instance type of " + ", ".join(unpriced) + "; add it under `prices:` to cost it"
            )
        cost = committed(Cost(round(before_total, 6), round(after_total, 6), unpriced), changes)
        over = budget_violation(cost.before_hourly, cost.after_hourly, self._budget())
        if over:
            self.blocked.append(over)
        return cost, warnings + self.lifetimes.warnings

    def _counts_before(self, change: Change) -> bool:
        rec = self.records.get(change.address)
        return rec is not None and rec.status not in (PENDING, EXPIRED) and not self._gone_outside(rec)

    def _plan_one(self, address: str, want: ClusterSpec | None, rec: Record | None, force_replace: bool) -> Change:
        after = want.fields() if want else None
        hourly_after = self.costs(after)
        if rec is None:
            assert want is not None
            return Change(address, CREATE, None, after, hourly_after=hourly_after, desired=want)
        gone_outside = self._gone_outside(rec)
        before = current_fields(rec, self._seen(rec))
        hourly_before = None if rec.status == PENDING or gone_outside else self.costs(before)
        common: dict[str, Any] = dict(address=address, cluster_id=rec.cluster_id, hourly_before=hourly_before)
        if want is None:
            if rec.status == PENDING:
                # An interrupted create that recovery did not find: nothing exists to destroy.
                return Change(address, NOOP, None, None,
                              notes=("an interrupted create never reached the engine; its intent will be dropped",))
            if gone_outside:
                return Change(address, NOOP, None, None, cluster_id=rec.cluster_id,
                              notes=(f"{rec.cluster_id or 'the cluster'} no longer exists on the engine; "
                                     f"it will be forgotten",))
            return Change(action=DELETE, before=before, after=None, reason=REASON_NO_CONFIG, **common)
        if rec.status == PENDING:
            return Change(address, CREATE, None, after, reason=REASON_RETRY_CREATE,
                          notes=("an interrupted create was not found on the engine; it will be created again",),
                          hourly_after=hourly_after, desired=want)
        if gone_outside:
            return Change(address, CREATE, before, after, reason=REASON_DELETED_OUTSIDE,
                          notes=(f"{rec.cluster_id} was deleted outside tpdeclare; it will be created again",),
                          cluster_id=rec.cluster_id, hourly_after=hourly_after, desired=want)
        assert after is not None
        return self._plan_existing(address, want, rec, before, after, hourly_after, force_replace, common)

    def _plan_existing(
        self, address: str, want: ClusterSpec, rec: Record, before: dict[str, Any], after: dict[str, Any],
        hourly_after: float | None, force_replace: bool, common: dict[str, Any],
    ) -> Change:
        diffs = field_changes(before, after, want.ignore_changes)
        if not diffs and not force_replace and rec.status != TAINTED and rec.status != DELETING:
            # The common case, and the one to keep cheap on a large stack: nothing to do.
            return Change(address, NOOP, before, after, cluster_id=rec.cluster_id,
                          hourly_before=common["hourly_before"], hourly_after=hourly_after, desired=want)
        acted = [d for d in diffs if d.effect is not FieldEffect.IGNORED]
        replace_paths = tuple(d.field for d in acted if d.effect is FieldEffect.REPLACE)
        notes = []
        for d in diffs:
            if d.effect is FieldEffect.IGNORED:
                notes.append(f"{d.field} differs but is in lifecycle.ignore_changes; left as it is")
            elif d.effect is FieldEffect.CREATE_ONLY:
                notes.append(
                    f"{d.field} can only be set when a cluster is created; it applies on the next replace "
                    f"(force one with --replace {address})"
                )
        shared: dict[str, Any] = dict(before=before, after=after, field_changes=diffs, replace_paths=replace_paths,
                                      hourly_after=hourly_after, desired=want, **common)
        extra: tuple[str, ...]
        if rec.status == TAINTED:
            reason, extra = REASON_TAINTED, (f"provisioning failed earlier: {rec.message or 'no message'}",)
        elif rec.status == DELETING:
            reason, extra = REASON_INTERRUPTED_REPLACE, ("an earlier destroy of this cluster was interrupted",)
        elif force_replace or replace_paths:
            reason = REASON_CANNOT_UPDATE if replace_paths else REASON_REQUESTED
            extra = () if replace_paths else (f"replace requested with --replace {address}",)
        else:
            action = UPDATE if any(d.effect is FieldEffect.IN_PLACE for d in acted) else NOOP
            return Change(action=action, notes=tuple(notes), **shared)
        lift = bool(before.get("deletion_protection")) and not want.deletion_protection and bool(rec.cluster_id)
        return Change(action=REPLACE, reason=reason, notes=tuple(notes) + extra, lift_protection=lift,
                      **shared)
