"""Renders a Plan as machine-readable JSON in the shape of Terraform's plan JSON, plus tpdeclare's cost.

The shape is `terraform show -json PLANFILE`'s (Terraform's "JSON Output Format", written by its
internal/command/jsonplan and jsonstate packages): every `resource_changes[]` entry names its resource
(`address`, `mode`, `type`, `name`, `provider_name`) and nests the change under `change` (`actions`,
`before`, `after`, `after_unknown`, `before_sensitive`, `after_sensitive`, `replace_paths`), with
`action_reason` beside it; `planned_values` and `prior_state` hold the resources' values after and
before the plan. A policy written for Terraform plans reads these and nothing else. What tpdeclare adds
(the flat `actions`/`before`/`after` each entry has always had, `field_changes`, `cost`, `summary`, ...)
stays where it always was, so nothing that reads those breaks.
"""

from __future__ import annotations

import json
from typing import Any

from tpdeclare.fields import FieldEffect
from tpdeclare.plan.model import Action, Change, Expiry, Plan
from tpdeclare.plan.planner import REASON_TAINTED

JSON_FORMAT_VERSION = "1.0"
STATE_FORMAT_VERSION = "1.0"  # Terraform's jsonstate format, used by `prior_state`
RESOURCE_TYPE = "tensorpool_cluster"
PROVIDER_NAME = "tpdeclare.dev/tensorpool/tensorpool"
MANAGED = "managed"
ID = "id"  # the attribute every Terraform resource has: the cluster's ID, known after apply for a new cluster

# Fields an in-place update leaves as they are on the live cluster: after apply they still hold today's value.
_KEPT_BY_AN_UPDATE = frozenset({FieldEffect.IGNORED, FieldEffect.CREATE_ONLY})
_NEW_OBJECT = (Action.CREATE, Action.REPLACE)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The machine-readable plan: Terraform's plan JSON shape plus tpdeclare's cost, summary and notes."""
    doc: dict[str, Any] = {
        "format_version": JSON_FORMAT_VERSION,
        "stack": plan.stack,
        "state": {"lineage": plan.state_lineage, "serial": plan.state_serial},
        "refreshed": plan.refreshed,
        "planned_values": {"root_module": _module(_planned_resource(c) for c in plan.changes)},
        "resource_changes": [_resource_change(c, plan.now) for c in plan.changes],
    }
    if plan.storage is not None:  # volumes: their own resource type, after the clusters (plan/render_storage.py)
        from tpdeclare.plan.render_storage import storage_json, volume_resource_changes

        doc["resource_changes"] += volume_resource_changes(plan)
        doc["storage"] = storage_json(plan)
    prior = _module(_prior_resource(c) for c in plan.changes)
    if prior:  # Terraform leaves prior_state out when the state holds no resources
        doc["prior_state"] = {"format_version": STATE_FORMAT_VERSION, "values": {"root_module": prior}}
    doc.update({
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
        "applyable": plan.has_changes and not plan.blocked and not plan.conflicts,
        "complete": True,
        "errored": False,
    })
    return doc


def _expiry(e: Expiry | None, now: str) -> dict[str, Any] | None:
    """A cluster's lifetime in a plan: when it ends, seconds left from `as_of` (the plan's clock), spend."""
    if e is None:
        return None
    return {"lifetime": e.lifetime, "expires_at": e.expires_at, "as_of": now, "seconds_left": e.seconds_left,
            "spend_until_expiry": e.spend, "expired": e.expired, "warning": e.warn, "protected": e.protected,
            "from_creation": e.from_creation}


def render_json(plan: Plan, *, digest: str | None = None) -> str:
    """The plan JSON; with `digest` (plan --digest) a top-level `digest` beside `format_version`."""
    doc = plan_to_json(plan)
    if digest is not None:
        doc = {"format_version": doc.pop("format_version"), "digest": digest, **doc}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def _resource_change(c: Change, now: str) -> dict[str, Any]:
    return {
        **_identity(c),
        "change": terraform_change(c),
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
        "expiry": _expiry(c.expiry, now),
    }


def terraform_change(c: Change) -> dict[str, Any]:
    """The `change` object exactly as Terraform writes it: values with `id`, and the masks beside them.

    `before` is the cluster as it is (null for a create); `after` is the cluster as apply leaves it
    (null for a destroy; on an in-place update, ignored and create-only fields keep today's value).
    A new cluster's `id` is unknown until apply: left out of `after`, true in `after_unknown`. Nothing
    tpdeclare manages is sensitive, so the sensitive masks hold only `false` leaves, in Terraform's form.
    """
    before, after = prior_values(c), planned_values(c)
    change: dict[str, Any] = {
        "actions": c.action.terraform_actions,
        "before": before,
        "after": after,
        # Terraform: {} when `after` is wholly known, else the mask of its leaves with the unknown ones true.
        "after_unknown": _sorted({**_masked(after), ID: True}) if _id_unknown(c) else {},
        "before_sensitive": _masked(before),
        "after_sensitive": _masked(after),
    }
    if c.replace_paths:  # Terraform leaves it out when no field forced the replace (tainted, requested)
        change["replace_paths"] = [[f] for f in c.replace_paths]
    return change


def prior_values(c: Change) -> dict[str, Any] | None:
    """The cluster's attributes before the plan, as Terraform's `before`: None when nothing exists yet."""
    if c.action is Action.CREATE or c.before is None:
        return None
    return _sorted({**c.before, ID: c.cluster_id})


def planned_values(c: Change) -> dict[str, Any] | None:
    """The cluster's known attributes after apply, as Terraform's `after`: None when it will not exist."""
    if c.action is Action.DELETE or c.after is None:
        return None
    values = dict(c.after)
    if c.action in _NEW_OBJECT:
        return _sorted(values)
    for fc in c.field_changes:
        if fc.effect in _KEPT_BY_AN_UPDATE:
            values[fc.field] = fc.before
    values[ID] = c.cluster_id
    return _sorted(values)


def _id_unknown(c: Change) -> bool:
    return c.action in _NEW_OBJECT and c.after is not None


def _identity(c: Change) -> dict[str, Any]:
    return {"address": c.address, "mode": MANAGED, "type": RESOURCE_TYPE, "name": c.address,
            "provider_name": PROVIDER_NAME}


def _planned_resource(c: Change) -> dict[str, Any] | None:
    values = planned_values(c)
    return None if values is None else _state_resource(c, values)


def _prior_resource(c: Change) -> dict[str, Any] | None:
    values = prior_values(c)
    if values is None:
        return None
    resource = _state_resource(c, values)
    if c.reason == REASON_TAINTED:
        resource["tainted"] = True  # as Terraform's state marks an object whose creation failed
    return resource


def _state_resource(c: Change, values: dict[str, Any]) -> dict[str, Any]:
    """One resource of `planned_values` or `prior_state`, in Terraform's jsonstate shape."""
    return {**_identity(c), "schema_version": 0, "values": values, "sensitive_values": _masked(values)}


def _module(resources: Any) -> dict[str, Any]:
    """A root module: its resources, the key left out when there are none (as Terraform does)."""
    listed = [r for r in resources if r is not None]
    return {"resources": listed} if listed else {}


def _masked(value: Any) -> Any:
    """Terraform's mask of a value with no leaf marked: `false` for a scalar or null, a list of masks for a
    list, and for a mapping the masks that are not `false`."""
    if isinstance(value, dict):
        return {k: m for k, m in ((k, _masked(v)) for k, v in value.items()) if m is not False}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return False


def _sorted(values: dict[str, Any]) -> dict[str, Any]:
    """Attributes in name order, as Terraform writes an object."""
    return dict(sorted(values.items()))
