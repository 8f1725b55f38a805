"""Renders a plan's storage part: volume changes, the ordered steps (each attach and detach marked as restarting
the cluster's nodes), the storage cost line, and the same for plan JSON and the Markdown comment."""

from __future__ import annotations

import json
from typing import Any

from tpdeclare.plan.model import Action, Plan
from tpdeclare.plan.storage_model import HOURS_PER_MONTH, AttachmentStep, VolumeChange

VOLUME_TYPE = "tensorpool_storage"
_HEADLINE = {Action.CREATE: "will be created", Action.UPDATE: "will be updated in-place",
             Action.REPLACE: "must be replaced (its data is lost)", Action.DELETE: "will be destroyed"}
_FIELDS = ("size_gb", "name", "deletion_protection")


def _monthly(value: float) -> str:
    return f"${value:,.2f}/month"


def _hourly(value: float) -> str:
    return f"${value / HOURS_PER_MONTH:,.4f}/hr"


def storage_cost_line(plan: Plan) -> str | None:
    """`Storage: $50.00/month → $60.00/month (+$10.00/month; $0.0685/hr → $0.0822/hr)`, or None without volumes."""
    s = plan.storage
    if s is None or not s.volumes:
        return None
    diff = s.monthly_after - s.monthly_before
    sign = "+" if diff >= 0 else "-"
    return (f"Storage: {_monthly(s.monthly_before)} → {_monthly(s.monthly_after)} ({sign}{_monthly(abs(diff))}; "
            f"{_hourly(s.monthly_before)} → {_hourly(s.monthly_after)})  [$0.10 per GB-month]")


_VERBS = {Action.CREATE: "create", Action.UPDATE: "update", Action.REPLACE: "replace (destroy, then create)",
          Action.DELETE: "destroy", Action.NOOP: "keep"}


def step_text(plan: Plan, key: str) -> str:
    """One step of the order in words."""
    kind, _, rest = key.partition(":")
    if kind in ("attach", "detach"):
        volume, _, cluster = rest.partition(":")
        return (f"{kind} storage.{volume} {'to' if kind == 'attach' else 'from'} cluster {cluster}: "
                f"restarts all nodes of cluster {cluster}")
    if kind == "volume":
        change = plan.storage.volume(rest) if plan.storage else None
        return f"{_VERBS[change.action] if change else 'change'} storage.{rest}"
    found = plan.change(rest)
    return f"{_VERBS[found.action] if found else 'change'} cluster {rest}"


def storage_lines(plan: Plan) -> list[str]:
    """The text plan's storage part (empty when the plan has none to show)."""
    s = plan.storage
    if s is None:
        return []
    out: list[str] = []
    for v in s.volumes:
        out.extend(_volume_lines(v))
    if s.attachments:
        out.append("  # attachments (each restarts all nodes of its cluster):")
        for a in s.attachments:
            out.append(f"  {a.link.glyph} {_attachment_text(a)}")
        out.append("")
    if s.order:
        out.append("  # order:")
        number = {step.key: i for i, step in enumerate(s.order, 1)}
        for i, step in enumerate(s.order, 1):
            after = f"  (after {', '.join(str(number[k]) for k in step.after)})" if step.after else ""
            out.append(f"  {i:>3}. {step_text(plan, step.key)}{after}")
        out.append("")
    return out


def _attachment_text(a: AttachmentStep) -> str:
    where = "to" if a.link.value == "attach" else "from"
    return f"{a.link.value} storage.{a.volume} {where} cluster {a.cluster} ({a.reason}): {a.restart_note}"


def _volume_lines(v: VolumeChange) -> list[str]:
    if v.action is Action.NOOP:
        return [f"  # {v.shown}: {note}" for note in v.notes]
    out = [f"  # {v.shown} {_HEADLINE[v.action]}"] + [f"  # ({note})" for note in v.notes]
    out.append(f"{v.action.value:>3} storage \"{v.address}\" {{")
    if v.storage_id:
        tail = " -> (known after apply)" if v.action is Action.REPLACE else ""
        out.append(f"        {'id':<19} = {json.dumps(v.storage_id)}{tail}")
    elif v.action is Action.CREATE:
        out.append(f"      + {'id':<19} = (known after apply)")
    changed = {fc.field: fc for fc in v.field_changes}
    for f in _FIELDS:
        if v.action in (Action.CREATE, Action.DELETE):
            value = (v.after if v.action is Action.CREATE else v.before) or {}
            out.append(f"      {v.action.value} {f:<19} = {json.dumps(value.get(f))}")
        elif f in changed:
            fc = changed[f]
            tail = "  # ignored (lifecycle.ignore_changes)" if fc.effect.value == "ignored" else ""
            out.append(f"      ~ {f:<19} = {json.dumps(fc.before)} -> {json.dumps(fc.after)}{tail}")
    out.append(f"        {'cost':<19} = {_monthly(v.monthly_before)} -> {_monthly(v.monthly_after)}")
    out.append("    }")
    out.append("")
    return out


def storage_summary(plan: Plan) -> str | None:
    s = plan.storage
    if s is None or not s.has_changes:
        return None
    count = {a: sum(1 for v in s.volumes if v.action is a) for a in Action}
    attach = sum(1 for a in s.attachments if a.link.value == "attach")
    detach = len(s.attachments) - attach
    restarts = s.restarts()
    line = (f"Storage: {count[Action.CREATE]} to add, {count[Action.UPDATE]} to change, {count[Action.REPLACE]} to "
            f"replace, {count[Action.DELETE]} to destroy; {attach} to attach, {detach} to detach.")
    if restarts:
        line += f" Restarts all nodes of: {', '.join(restarts)}."
    return line


# -- JSON ------------------------------------------------------------------------------------------------

def storage_json(plan: Plan) -> dict[str, Any] | None:
    """The plan JSON's `storage` object: attachments (each with `restarts`), the step order and the cost."""
    s = plan.storage
    if s is None:
        return None
    return {
        "attachments": [{"action": a.link.value, "volume": f"storage.{a.volume}", "cluster": a.cluster,
                         "cluster_id": a.cluster_id, "storage_id": a.storage_id, "reason": a.reason,
                         "restarts": f"restarts all nodes of cluster {a.cluster}"} for a in s.attachments],
        "order": [{"step": st.key, "after": list(st.after), "text": step_text(plan, st.key)} for st in s.order],
        "cost": {"before_monthly": s.monthly_before, "after_monthly": s.monthly_after,
                 "before_hourly": round(s.monthly_before / HOURS_PER_MONTH, 6),
                 "after_hourly": round(s.monthly_after / HOURS_PER_MONTH, 6),
                 "price_per_gb_month": 0.10, "currency": "USD"},
    }


def volume_resource_changes(plan: Plan) -> list[dict[str, Any]]:
    """One Terraform-shaped `resource_changes` entry per volume (type tensorpool_storage)."""
    from tpdeclare.plan.render_json import MANAGED, PROVIDER_NAME, _masked, _sorted

    if plan.storage is None:
        return []
    out = []
    for v in plan.storage.volumes:
        before = None if v.action is Action.CREATE or v.before is None else _sorted({**v.before, "id": v.storage_id})
        after = None if v.action is Action.DELETE or v.after is None else _sorted(
            {**v.after, **({} if v.action in (Action.CREATE, Action.REPLACE) else {"id": v.storage_id})})
        unknown = v.action in (Action.CREATE, Action.REPLACE) and after is not None
        change: dict[str, Any] = {
            "actions": v.action.terraform_actions, "before": before, "after": after,
            "after_unknown": _sorted({**_masked(after), "id": True}) if unknown else {},
            "before_sensitive": _masked(before), "after_sensitive": _masked(after)}
        if v.replace_paths:
            change["replace_paths"] = [[f] for f in v.replace_paths]
        links = [a for a in plan.storage.attachments if a.volume == v.address]
        out.append({
            "address": v.shown, "mode": MANAGED, "type": VOLUME_TYPE, "name": v.address,
            "provider_name": PROVIDER_NAME, "change": change, "actions": v.action.terraform_actions,
            "before": v.before, "after": v.after,
            "field_changes": [{"field": fc.field, "before": fc.before, "after": fc.after, "effect": fc.effect.value,
                               "detail": fc.detail} for fc in v.field_changes],
            "action_reason": v.reason, "storage_id": v.storage_id, "notes": list(v.notes),
            "attachments": [{"action": a.link.value, "cluster": a.cluster,
                             "restarts": f"restarts all nodes of cluster {a.cluster}"} for a in links],
            "cost": {"before_monthly": v.monthly_before, "after_monthly": v.monthly_after},
        })
    return out


# -- Markdown --------------------------------------------------------------------------------------------

def storage_markdown(plan: Plan) -> list[str]:
    s = plan.storage
    if s is None or not s.has_changes:
        return []
    out: list[str] = []
    danger = [v for v in s.volumes if v.action in (Action.DELETE, Action.REPLACE)]
    if danger:
        out += ["> [!WARNING]", "> **This plan destroys storage volumes (and their data):**"]
        out += [f"> - `{v.shown}` ({v.storage_id or 'no id'}) will be **"
                f"{'destroyed' if v.action is Action.DELETE else 'replaced by a new, empty volume'}**" for v in danger]
        out.append("")
    if s.attachments:
        out += ["> [!NOTE]", "> **Attachments restart every node of their cluster:**"]
        out += [f"> - {_attachment_text(a)}" for a in s.attachments]
        out.append("")
    rows = [v for v in s.volumes if v.action is not Action.NOOP]
    if rows:
        out += ["| | volume | action | size_gb | cost |", "|---|---|---|---|---|"]
        for v in rows:
            size = f"{(v.before or {}).get('size_gb', '–')} → {(v.after or {}).get('size_gb', '–')}"
            out.append(f"| {v.action.value.strip() or '·'} | `{v.shown}` | {v.action.name.lower()} | {size} | "
                       f"{_monthly(v.monthly_before)} → {_monthly(v.monthly_after)} |")
        out.append("")
    line = storage_cost_line(plan)
    if line:
        out += [f"**{line.split(': ', 1)[0]}:** {line.split(': ', 1)[1]}", ""]
    return out
