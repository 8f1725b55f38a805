"""Renders a Plan as machine-readable JSON: Terraform's `resource_changes`/`actions` vocabulary plus cost."""

from __future__ import annotations

import json
from typing import Any

from tpdeclare.plan.model import Expiry, Plan

JSON_FORMAT_VERSION = "1.0"


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The machine-readable plan: Terraform's `resource_changes`/`actions` vocabulary plus cost."""
    return {
        "format_version": JSON_FORMAT_VERSION,
        "stack": plan.stack,
        "state": {"lineage": plan.state_lineage, "serial": plan.state_serial},
        "refreshed": plan.refreshed,
        "resource_changes": [
            {
                "address": c.address,
                "actions": c.action.terraform_actions,
                "before": c.before,
                "after": c.after,
                "replace_paths": [[f] for f in c.replace_paths],
                "field_changes": [
                    {"field": fc.field, "before": fc.before, "after": fc.after, "effect": fc.effect.value,
                     "detail": fc.detail}
                    for fc in c.field_changes
                ],
                "action_reason": c.reason,
                "cluster_id": c.cluster_id,
                "previous_address": c.moved_from,
                "notes": list(c.notes),
                "cost": {"before_hourly": c.hourly_before, "after_hourly": c.hourly_after},
                "expires_at": c.expiry.expires_at if c.expiry else None,
                "expiry": _expiry(c.expiry, plan.now),
            }
            for c in plan.changes
        ],
        "forget": list(plan.forget),
        "conflicts": list(plan.conflicts),
        "state_sync": list(plan.state_sync),
        "cost": {
            "before_hourly": plan.cost.before_hourly,
            "after_hourly": plan.cost.after_hourly,
            "diff_hourly": plan.cost.diff_hourly,
            "currency": "USD",
            "prices_as_of": plan.prices_as_of,
            "max_hourly_cost": plan.max_hourly_cost,
            "unpriced": list(plan.cost.unpriced),
            "until_expiry": plan.cost.until_expiry,
            "last_expiry": plan.cost.last_expiry,
            "hourly_without_expiry": plan.cost.hourly_without_expiry,
        },
        "summary": plan.summary(),
        "blocked": list(plan.blocked),
        "warnings": list(plan.warnings),
    }


def _expiry(e: Expiry | None, now: str) -> dict[str, Any] | None:
    """A cluster's lifetime in a plan: when it ends, seconds left from `as_of` (the plan's clock), spend."""
    if e is None:
        return None
    return {"lifetime": e.lifetime, "expires_at": e.expires_at, "as_of": now, "seconds_left": e.seconds_left,
            "spend_until_expiry": e.spend, "expired": e.expired, "warning": e.warn, "protected": e.protected,
            "from_creation": e.from_creation}


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2, sort_keys=False) + "\n"


