"""Refusing a plan that cannot be applied (blocked by policy, or refused by the engine), for every planning command."""

from __future__ import annotations

from tpdeclare import errors
from tpdeclare.plan.model import Plan


def check_applicable(plan: Plan) -> None:
    """Refuse a plan that cannot be applied: blocked by policy (exit 3), or refused by the engine (exit 1)."""
    if plan.blocked:
        raise errors.PolicyError(
            "the plan is blocked by policy:\n  - " + "\n  - ".join(plan.blocked),
            hint="nothing was changed; fix the spec (or the budget) and plan again",
        )
    if plan.conflicts:
        raise errors.TpdeclareError(
            "the plan cannot be applied:\n  - " + "\n  - ".join(plan.conflicts),
            hint="nothing was changed",
        )
