"""The planner's lifetime rules (DESIGN §10): which clusters have expired, what each lifetime still costs.

- A cluster whose lifetime has ended is destroyed (`delete_because_expired`); its record then becomes an
  `expired` one, and the address is not created again while the spec gives the same lifetime, unless
  `--replace ADDR` asks. A cluster whose lifetime would end before it could be created is not created.
- `expires_after` counts from the cluster's creation: the engine's `created_at` when the plan read the
  engine, else the one recorded in state. A creation this plan makes counts from the plan's clock.
- Protection always wins: an expired cluster that `prevent_destroy` or `deletion_protection: true` keeps
  is never destroyed for expiry, and never skipped silently: the plan is blocked, saying what it costs.
Pure: the clock is the `now` the planner was given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from tpdeclare.frozen_values import replace_fields as replace
from tpdeclare.plan.cost import PriceBook
from tpdeclare.plan.model import CREATE, DELETE, NOOP, REPLACE, Change, Cost, Expiry, notable
from tpdeclare.spec.model import ClusterSpec, Lifetime
from tpdeclare.spec.time_values import format_instant, format_span, later, parse_instant, read_time
from tpdeclare.state.model import DELETING, EXPIRED, PENDING, Record

REASON_EXPIRED = "delete_because_expired"
REASON_LIFETIME_CHANGED = "create_because_lifetime_changed"
REASON_REQUESTED = "replace_by_request"  # the planner's word for --replace, here for a remembered expiry


def usd_hourly(value: float | None) -> str:
    return "$?/hr" if value is None else f"${value:,.2f}/hr"


class Lifetimes:
    """The lifetime decisions of one planning pass, on one clock."""

    def __init__(self, now: datetime, costs: PriceBook):
        self.now = now
        self.costs = costs
        self.remember: list[str] = []  # expired clusters already gone from the engine: recorded as expired
        self.warnings: list[str] = []

    # -- before the usual planning ---------------------------------------------------------------
    def decide(self, address: str, want: ClusterSpec | None, rec: Record | None, forced: bool) -> Change | None:
        """The change when a lifetime alone decides it: a remembered expiry, or a creation that would come after
        the lifetime's end. None: plan the address as usual (an `expired` record then counts as none)."""
        if rec is not None and rec.status == EXPIRED:
            if want is None:
                return Change(address, NOOP, None, None,
                              notes=(f"the record that it expired ({rec.lifetime}) is forgotten: it left the spec",))
            if not forced and want.lifetime is not None and want.lifetime.key == rec.lifetime:
                return Change(address, NOOP, None, None, notes=(remembered(address, rec),))
        if want is None or want.lifetime is None or (rec is not None and rec.status not in (PENDING, EXPIRED)):
            return None
        expiry = self.expiry(want.lifetime, None, self.costs(want.fields()), planned=True)
        if not expiry.expired:
            return None
        return Change(address, NOOP, None, None, expiry=expiry,
                      notes=(f"not created: its lifetime ended at {expiry.expires_at}, before it could be created",))

    # -- after it ----------------------------------------------------------------------------------
    def review(self, change: Change, want: ClusterSpec | None, rec: Record | None, forced: bool,
               seen: Mapping[str, Any] | None) -> Change:
        """`change` with its cluster's lifetime attached; a destroy instead, when the lifetime has ended."""
        if want is None:
            return change
        if want.lifetime is None:
            return self._again(change, rec, forced, None) if change.action is CREATE else change
        life = want.lifetime
        if change.action is CREATE:
            if rec is not None and rec.status not in (PENDING, EXPIRED):  # deleted outside; its clock still runs
                ended = self.expiry(life, read_time(rec.created_at), None, planned=False)
                if ended.expired:
                    self.remember.append(change.address)
                    return Change(change.address, NOOP, None, None, cluster_id=rec.cluster_id, expiry=ended,
                                  notes=(f"{rec.cluster_id} is gone from the engine, and its lifetime ended at "
                                         f"{ended.expires_at}: it is recorded as expired, not created again",))
            return self._again(replace(change, expiry=self.expiry(life, None, change.hourly_after, planned=True)),
                               rec, forced, life)
        if rec is None or rec.status in (PENDING, EXPIRED):
            return change
        created = self.created(rec, seen)
        current = self.expiry(life, created, change.hourly_after if change.action is not REPLACE
                              else change.hourly_before, planned=False)
        if current.expires_at is None:
            self.warnings.append(
                f"{change.address}: cannot tell when {rec.cluster_id} was created, so its lifetime ({life.key}) is not "
                f"enforced; plan with --refresh to read the engine's created_at"
            )
            return replace(change, expiry=current)
        if current.expired:
            return self._destroy(change, want, rec, current)
        if change.action is REPLACE:  # the new cluster's lifetime starts when it is created
            return replace(change, expiry=self.expiry(life, None, change.hourly_after, planned=True))
        return replace(change, expiry=current)

    def _again(self, change: Change, rec: Record | None, forced: bool, life: Lifetime | None) -> Change:
        """A create at an address remembered as expired says why it is made again."""
        if rec is None or rec.status != EXPIRED:
            return change
        why = (f"replace requested with --replace {change.address}" if forced
               else f"its lifetime changed from {rec.lifetime} to {life.key if life else 'none'}")
        return replace(change, reason=REASON_REQUESTED if forced else REASON_LIFETIME_CHANGED,
                       notes=change.notes + (f"it expired at {rec.expired_at}; created again: {why}",))

    def _destroy(self, change: Change, want: ClusterSpec, rec: Record, expiry: Expiry) -> Change:
        before = change.before or {}
        notes = [f"expired at {expiry.expires_at}, {format_span(-(expiry.seconds_left or 0))} ago; its lifetime was "
                 f"{expiry.lifetime}"]
        if rec.status == DELETING:
            notes.append("an earlier destroy of this cluster was interrupted")
        lift = bool(before.get("deletion_protection")) and not want.deletion_protection and bool(rec.cluster_id)
        if lift:
            notes.append("the spec turns deletion protection off: it is turned off first")
        return Change(change.address, DELETE, change.before, None, reason=REASON_EXPIRED, notes=tuple(notes),
                      cluster_id=rec.cluster_id, hourly_before=change.hourly_before, moved_from=change.moved_from,
                      lift_protection=lift, expiry=replace(expiry, spend=0.0))

    # -- `tpdeclare expire` ------------------------------------------------------------------------
    def expire_only(self, change: Change, want: ClusterSpec | None, rec: Record | None,
                    current: dict[str, Any] | None, seen: Mapping[str, Any] | None) -> Change | None:
        """What `tpdeclare expire` makes of a planned change: the destroy of an expired cluster, and every other
        cluster left as it is (with its lifetime); nothing created, edited or replaced. None: no cluster."""
        if change.reason == REASON_EXPIRED or change.address in self.remember:
            return change  # a destroy for expiry, or an expired cluster already gone: recorded as expired
        if rec is None or rec.status in (PENDING, EXPIRED) or current is None:
            return None  # no cluster (or one gone from the engine): nothing to expire, nothing to show
        expiry = None
        if want is not None and want.lifetime is not None:
            expiry = self.expiry(want.lifetime, self.created(rec, seen), change.hourly_before, planned=False)
        return Change(change.address, NOOP, current, current, cluster_id=rec.cluster_id,
                      hourly_before=change.hourly_before, hourly_after=change.hourly_before,
                      moved_from=change.moved_from, expiry=expiry)

    # -- values ------------------------------------------------------------------------------------
    def created(self, rec: Record, seen: Mapping[str, Any] | None) -> datetime | None:
        """When the cluster was made: the engine's word (refresh), else the recorded one."""
        engine = read_time(seen.get("created_at")) if seen is not None else None
        return engine or read_time(rec.created_at)

    def expiry(self, life: Lifetime, created: datetime | None, hourly: float | None, *, planned: bool) -> Expiry:
        """The lifetime seen from the plan's clock; `planned`: for a cluster this plan creates (from now)."""
        if life.expires_at is not None:
            end = parse_instant(life.expires_at)
        elif life.expires_after is not None and (created is not None or planned):
            end = later(created if created is not None else self.now, life.expires_after)
        else:
            end = None
        if end is None:
            return Expiry(life.key, None, None)
        left = (end - self.now).total_seconds()
        spend = None if hourly is None else round(hourly * max(0.0, left) / 3600, 6)
        warn = life.warn_before is not None and 0 < left <= life.warn_before
        return Expiry(life.key, format_instant(end), left, spend, warn=warn, expired=left <= 0,
                      from_creation=planned and life.expires_after is not None)


def remembered(address: str, rec: Record) -> str:
    """The one line a plan says for an address destroyed because it expired."""
    return (f"destroyed because its lifetime ({rec.lifetime}) ended at {rec.expired_at}; not created again until "
            f"its lifetime in the spec changes (or --replace {address})")


def expiry_blocks(change: Change, want: ClusterSpec | None) -> list[str]:
    """Why an expired cluster may not be destroyed: the spec protects it. Protection always wins."""
    if change.reason != REASON_EXPIRED or want is None or change.expiry is None:
        return []
    ended = (f"{change.address}: its lifetime ended at {change.expiry.expires_at} and it costs "
             f"{usd_hourly(change.hourly_before)}, but")
    out = []
    if want.prevent_destroy:
        out.append(f"{ended} lifecycle.prevent_destroy forbids destroying it ({change.cluster_id}); set "
                   f"prevent_destroy: false to let it expire, or give it a later lifetime")
    if want.deletion_protection:
        out.append(f"{ended} deletion protection is on for {change.cluster_id}; set deletion_protection: false to "
                   f"let it expire (the plan then turns protection off first), or give it a later lifetime")
    return out


def committed(cost: Cost, changes: Sequence[Change]) -> Cost:
    """`cost` with what lifetimes commit: the spend of every cluster with one until it ends, the last end, and
    the hourly cost of the clusters that run on with no end (no lifetime, or kept by protection past it)."""
    if not any(map(_EXPIRY, notable(changes))):  # no cluster has a lifetime (an Expiry is always true)
        return cost
    spends: list[float | None] = []
    ends: list[str] = []
    open_ended = 0.0
    for c in changes:
        if c.after is None:
            continue  # destroyed by the plan, or never there
        if c.expiry is not None and c.expiry.expires_at is not None and not c.expiry.expired:
            spends.append(c.expiry.spend)
            ends.append(c.expiry.expires_at)
        else:
            open_ended += c.hourly_after or 0.0
    total = None if any(s is None for s in spends) else round(sum(s or 0.0 for s in spends), 6)
    return replace(cost, until_expiry=total, last_expiry=max(ends, default=None),
                   hourly_without_expiry=round(open_ended, 6))


_EXPIRY = attrgetter("expiry")
