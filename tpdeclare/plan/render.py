"""Renders a Plan as Terraform-like text, as Terraform-shaped JSON, or as a Markdown PR comment."""

from __future__ import annotations

import json

from tpdeclare.fields import MANAGED_FIELDS
from tpdeclare.plan.model import Action, Change, Cost, FieldChange, Plan

JSON_FORMAT_VERSION = "1.0"

_HEADLINE = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in-place",
    Action.REPLACE: "must be replaced",
    Action.DELETE: "will be destroyed",
}
_COLOURS = {Action.CREATE: "32", Action.UPDATE: "33", Action.REPLACE: "35", Action.DELETE: "31"}


class Palette:
    """ANSI colour, or none (not a TTY, NO_COLOR, --no-color)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled and code else text

    def bold(self, text: str) -> str:
        return self.paint("1", text)


def money(value: float | None) -> str:
    """`$47.84/hr`; `$?/hr` when unknown."""
    return "$?/hr" if value is None else f"${value:,.2f}/hr"


def signed_money(value: float) -> str:
    sign = "+" if value >= 0 else "-"
    return f"{sign}${abs(value):,.2f}/hr"


def _value(field: str, value) -> str:
    if value is None:
        return "(none)"
    if field == "public_keys":
        return "[" + ", ".join(json.dumps(_short_key(k), ensure_ascii=False) for k in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _short_key(key: str) -> str:
    parts = str(key).split()
    if len(parts) >= 2 and len(parts[1]) > 16:
        parts[1] = parts[1][:12] + "…"
    return " ".join(parts)


def render_text(plan: Plan, palette: Palette | None = None) -> str:
    """The human plan, ending with the `Plan:` and `Cost:` lines."""
    p = palette or Palette(False)
    lines: list[str] = []
    shown = [c for c in plan.changes if c.is_change or c.moved_from or c.notes]
    if not plan.has_changes:
        lines.append(p.bold("No changes.") + " Your clusters match the configuration.")
        for c in shown:
            for note in c.notes:
                lines.append(f"  # {c.address}: {note}")
        lines.append("")
        lines.append(cost_line(plan))
        return "\n".join(lines) + "\n"

    lines.append("tpdeclare will perform the following actions:")
    lines.append("")
    for c in shown:
        lines.extend(_render_change(c, p))
        lines.append("")
    lines.append(p.bold(summary_line(plan)))
    lines.append(cost_line(plan))
    return "\n".join(lines) + "\n"


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    line = (
        f"Plan: {s['add']} to add, {s['change']} to change, {s['replace']} to replace, {s['destroy']} to destroy."
    )
    extras = []
    if s["move"]:
        extras.append(f"{s['move']} to move")
    if plan.forget:
        extras.append(f"{len(plan.forget)} to forget")
    if plan.state_sync:
        extras.append(f"{len(plan.state_sync)} lifecycle change{'s' if len(plan.state_sync) != 1 else ''} to record")
    if extras:
        line = line[:-1] + ", " + ", ".join(extras) + "."
    return line


def cost_line(plan: Plan) -> str:
    c = plan.cost
    line = f"Cost: {money(c.before_hourly)} → {money(c.after_hourly)} ({signed_money(c.diff_hourly)})"
    if plan.max_hourly_cost is not None:
        line += f", budget {money(plan.max_hourly_cost)}"
    return line + f"  [prices as of {plan.prices_as_of}]"


def _render_change(c: Change, p: Palette) -> list[str]:
    out: list[str] = []
    colour = _COLOURS.get(c.action, "")
    if c.moved_from:
        out.append(f"  # {c.moved_from} has moved to {c.address}")
    if c.action is Action.NOOP:
        for note in c.notes:
            out.append(f"  # {c.address}: {note}")
        return out
    out.append(p.bold(f"  # {c.address} {_HEADLINE[c.action]}"))
    for note in c.notes:
        out.append(f"  # ({note})")
    glyph = c.action.value
    out.append(p.paint(colour, f"{glyph:>3} cluster \"{c.address}\" {{"))
    width = max(len(f) for f in MANAGED_FIELDS + ("id", "cost"))
    if c.cluster_id and c.action is not Action.CREATE:
        out.append(f"        {'id':<{width}} = {json.dumps(c.cluster_id)}")
    if c.action is Action.CREATE:
        for f in MANAGED_FIELDS:
            out.append(p.paint(colour, f"      + {f:<{width}} = {_value(f, (c.after or {}).get(f))}"))
    elif c.action is Action.DELETE:
        for f in MANAGED_FIELDS:
            out.append(p.paint(colour, f"      - {f:<{width}} = {_value(f, (c.before or {}).get(f))}"))
    else:
        changed = {fc.field: fc for fc in c.field_changes}
        for f in MANAGED_FIELDS:
            fc = changed.get(f)
            if fc is None:
                continue
            tail = {
                "replace": " # forces replacement",
                "ignored": " # ignored (lifecycle.ignore_changes)",
                "create_only": " # applies on the next replace",
            }.get(fc.effect, "")
            if fc.detail:
                tail = f" # {fc.detail}" + (f";{tail[2:]}" if tail else "")
            out.append(
                p.paint(
                    "33", f"      ~ {f:<{width}} = {_value(f, fc.before)} -> {_value(f, fc.after)}{tail}"
                )
            )
        hidden = len(MANAGED_FIELDS) - len(changed)
        if hidden:
            out.append(f"        # ({hidden} unchanged attribute{'s' if hidden != 1 else ''} hidden)")
    out.append(f"        {'cost':<{width}} = {_cost_change(c)}")
    out.append("    }")
    return out


def _cost_change(c: Change) -> str:
    if c.action is Action.CREATE:
        return money(c.hourly_after)
    if c.action is Action.DELETE:
        return f"{money(c.hourly_before)} -> $0.00/hr"
    if c.action is Action.REPLACE:
        return f"{money(c.hourly_before)} torn down -> {money(c.hourly_after)}"
    return money(c.hourly_after)


def plan_to_json(plan: Plan) -> dict:
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
                    {"field": fc.field, "before": fc.before, "after": fc.after, "effect": fc.effect,
                     "detail": fc.detail}
                    for fc in c.field_changes
                ],
                "action_reason": c.reason,
                "cluster_id": c.cluster_id,
                "previous_address": c.moved_from,
                "notes": list(c.notes),
                "cost": {"before_hourly": c.hourly_before, "after_hourly": c.hourly_after},
            }
            for c in plan.changes
        ],
        "forget": list(plan.forget),
        "state_sync": list(plan.state_sync),
        "cost": {
            "before_hourly": plan.cost.before_hourly,
            "after_hourly": plan.cost.after_hourly,
            "diff_hourly": plan.cost.diff_hourly,
            "currency": "USD",
            "prices_as_of": plan.prices_as_of,
            "max_hourly_cost": plan.max_hourly_cost,
            "unpriced": list(plan.cost.unpriced),
        },
        "summary": plan.summary(),
        "blocked": list(plan.blocked),
        "warnings": list(plan.warnings),
    }


def plan_from_json(doc: dict) -> Plan:
    """Rebuild a Plan from `plan_to_json` output (for `show PLANFILE`)."""
    by_glyph = {tuple(a.terraform_actions): a for a in Action}
    changes = tuple(
        Change(
            address=rc["address"],
            action=by_glyph[tuple(rc["actions"])],
            before=rc["before"],
            after=rc["after"],
            field_changes=tuple(
                FieldChange(fc["field"], fc["before"], fc["after"], fc["effect"], fc.get("detail"))
                for fc in rc.get("field_changes", ())
            ),
            replace_paths=tuple(p[0] for p in rc.get("replace_paths", ())),
            reason=rc.get("action_reason"),
            notes=tuple(rc.get("notes", ())),
            cluster_id=rc.get("cluster_id"),
            hourly_before=rc.get("cost", {}).get("before_hourly"),
            hourly_after=rc.get("cost", {}).get("after_hourly"),
            moved_from=rc.get("previous_address"),
        )
        for rc in doc["resource_changes"]
    )
    cost = doc["cost"]
    return Plan(
        stack=doc["stack"],
        changes=changes,
        cost=Cost(cost["before_hourly"], cost["after_hourly"], tuple(cost.get("unpriced", ()))),
        blocked=tuple(doc.get("blocked", ())),
        warnings=tuple(doc.get("warnings", ())),
        state_lineage=doc.get("state", {}).get("lineage"),
        state_serial=doc.get("state", {}).get("serial"),
        max_hourly_cost=cost.get("max_hourly_cost"),
        prices_as_of=cost.get("prices_as_of", ""),
        refreshed=doc.get("refreshed", False),
        forget=tuple(doc.get("forget", ())),
        state_sync=tuple(doc.get("state_sync", ())),
    )


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2, sort_keys=False) + "\n"


def render_markdown(plan: Plan) -> str:
    """A PR comment: destroys/replaces first, a table of changes with cost, the full plan folded."""
    s = plan.summary()
    out = [f"### tpdeclare plan: `{plan.stack}`", ""]
    if plan.blocked:
        out.append("> [!CAUTION]")
        out.append("> **This plan is blocked by policy and cannot be applied:**")
        for b in plan.blocked:
            out.append(f"> - {b}")
        out.append("")
    danger = [c for c in plan.changes if c.action in (Action.DELETE, Action.REPLACE)]
    if danger:
        out.append("> [!WARNING]")
        out.append("> **This plan destroys clusters:**")
        for c in danger:
            what = "destroyed" if c.action is Action.DELETE else "replaced (destroyed, then created)"
            why = f" — `{'`, `'.join(c.replace_paths)}` forces replacement" if c.replace_paths else ""
            out.append(f"> - `{c.address}` ({c.cluster_id or 'no id'}) will be **{what}**{why}")
        out.append("")
    if not plan.has_changes:
        out.append("**No changes.** The clusters match the configuration.")
    else:
        out.append(
            f"**{s['add']}** to add, **{s['change']}** to change, **{s['replace']}** to replace, "
            f"**{s['destroy']}** to destroy."
        )
    out.append("")
    out.append(
        f"**Cost:** {money(plan.cost.before_hourly)} → {money(plan.cost.after_hourly)} "
        f"(**{signed_money(plan.cost.diff_hourly)}**)"
        + (f", budget {money(plan.max_hourly_cost)}" if plan.max_hourly_cost is not None else "")
        + f" · prices as of {plan.prices_as_of}"
    )
    out.append("")
    rows = [c for c in plan.changes if c.is_change]
    if rows:
        out.append("| action | cluster | instance | nodes | cost before | cost after |")
        out.append("|---|---|---|---|---:|---:|")
        order = {Action.DELETE: 0, Action.REPLACE: 1, Action.UPDATE: 2, Action.CREATE: 3}
        for c in sorted(rows, key=lambda c: (order[c.action], c.address)):
            f = c.after or c.before or {}
            out.append(
                f"| {c.action.terraform_actions[0] if c.action is not Action.REPLACE else 'replace'} "
                f"| `{c.address}` | {f.get('instance_type')} | {f.get('num_nodes')} "
                f"| {money(c.hourly_before) if c.before else '–'} | {money(c.hourly_after) if c.after else '–'} |"
            )
        out.append("")
    out.append("<details><summary>Full plan</summary>")
    out.append("")
    out.append("```diff")
    out.append(render_text(plan).rstrip("\n"))
    out.append("```")
    out.append("")
    out.append("</details>")
    return "\n".join(out) + "\n"
