"""The words every plan format says about lifetimes: the warnings at the top, one line per lifetime, the spend."""

from __future__ import annotations

from itertools import compress
from operator import attrgetter

from tpdeclare.plan.expiry import REASON_EXPIRED
from tpdeclare.plan.model import Action, Change, Expiry, Plan
from tpdeclare.spec.time_values import format_span


def dollars(value: float | None) -> str:
    """`$191.36`; `$?` when unknown."""
    return "$?" if value is None else f"${value:,.2f}"


def hourly(value: float | None) -> str:
    return "$?/hr" if value is None else f"${value:,.2f}/hr"


def when(e: Expiry) -> str:
    """When a lifetime ends, from the plan's clock: `expires at T, in 5h30m`, `expired at T, 2h ago`."""
    if e.expires_at is None:
        return f"{e.lifetime}, from a creation time that is not known"
    left = e.seconds_left or 0.0
    if e.expired:
        return f"expired at {e.expires_at}, {format_span(-left)} ago"
    if e.from_creation:
        return f"expires {e.lifetime.split(' ', 1)[1]} after it is created, at {e.expires_at} at the earliest"
    return f"expires at {e.expires_at}, in {format_span(left)}"


def lifetime_line(c: Change, e: Expiry) -> str:
    """One cluster's lifetime: when it ends, and what it costs until then."""
    if c.action is Action.NOOP and c.after is None and c.before is None:
        return f"not created: its lifetime ended at {e.expires_at}"
    if c.reason == REASON_EXPIRED:
        return when(e)
    if e.expired:
        return f"{when(e)}, and still running at {hourly(c.hourly_after)}"
    return when(e) + ("" if e.expires_at is None else f"; {dollars(e.spend)} until then")


def with_lifetime(plan: Plan) -> list[tuple[Change, Expiry]]:
    # Those with an expiry, found in C (an Expiry is always true); then the pairs, for those few only.
    shown = plan.notable  # an untouched cluster has no lifetime
    return [(c, c.expiry) for c in compress(shown, map(_EXPIRY, shown)) if c.expiry is not None]


_EXPIRY = attrgetter("expiry")


def top_lines(plan: Plan) -> list[str]:
    """The clusters whose lifetime has ended or ends within its warn_before, for the top of a plan."""
    soon = [(c, e) for c, e in with_lifetime(plan) if e.warn]
    ended = [(c, e) for c, e in with_lifetime(plan) if e.expired and c.before is not None]
    out: list[str] = []
    if ended:
        out.append("Expired (their lifetime has ended):")
        for c, e in ended:
            fate = ("kept by protection" + (": the plan is blocked" if plan.blocked else "") if e.protected
                    else "not destroyed: the plan is blocked" if plan.blocked else "destroyed by this plan")
            out.append(f"  {c.address}: {when(e)}, {hourly(c.hourly_before)}: {fate}")
    if soon:
        out.append("Expiring soon (within warn_before):")
        for c, e in soon:
            out.append(f"  {c.address}: {when(e)}; {dollars(e.spend)} until then")
    return out


def until_expiry_line(plan: Plan) -> str | None:
    """`Until expiry: $X committed until T; …`: the money lifetimes commit, beside the hourly cost line."""
    if not with_lifetime(plan):
        return None
    c = plan.cost
    line = f"Until expiry: {dollars(c.until_expiry)} committed"
    line += f" until {c.last_expiry} (the last lifetime's end)" if c.last_expiry else " (no lifetime is running)"
    if c.hourly_without_expiry:
        line += (f"; {hourly(c.hourly_without_expiry)} runs on with no end (clusters without a lifetime, or kept "
                 f"past it)")
    return line
