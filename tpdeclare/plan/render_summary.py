"""Renders a Plan as `plan --summary`: one line per change, destroys and replaces first, then the cost lines.

The terminal's counterpart of the Markdown comment: what a reviewer reads first, without the field-by-field
detail (the lifetime warnings at the top, the `Plan:` line, `Cost:` and `Until expiry:`).
"""

from __future__ import annotations

from tpdeclare.fields import FieldEffect
from tpdeclare.plan.model import Action, Change, Plan
from tpdeclare.plan.render_lifetimes import hourly, lifetime_line, top_lines
from tpdeclare.plan.render_text import Palette, cost_lines, summary_line

_ORDER = {Action.DELETE: 0, Action.REPLACE: 1, Action.UPDATE: 2, Action.CREATE: 3}
_WORDS = {Action.DELETE: "destroy", Action.REPLACE: "replace", Action.UPDATE: "update", Action.CREATE: "create"}
_COLOURS = {Action.CREATE: "32", Action.UPDATE: "33", Action.REPLACE: "35", Action.DELETE: "31"}


def render_summary(plan: Plan, palette: Palette | None = None) -> str:
    """One line per change (destroys, replaces, updates, creates), then `Plan:`, `Cost:` and `Until expiry:`."""
    p = palette or Palette(False)
    lines = [p.paint("33", line) for line in top_lines(plan)]
    if lines:
        lines.append("")
    rows = sorted(plan.actionable, key=lambda c: (_ORDER[c.action], c.address))
    width = max((len(c.address) for c in rows), default=0)
    for c in rows:
        shape = c.after or c.before or {}
        what = f"{shape.get('num_nodes')} × {shape.get('instance_type')}"
        line = (f"{c.action.value:<3} {c.address:<{width}}  {_WORDS[c.action]:<7}  {what:<12}  "
                f"{_cost(c):<21}  {_why(c)}").rstrip()
        lines.append(p.paint(_COLOURS[c.action], line))
    for c in plan.notable:
        if c.moved_from:
            lines.append(f"    {c.address}: moved from {c.moved_from}")
    storage = []
    if plan.storage is not None:  # issue 15: each volume change and each attach/detach, in the plan's order
        from tpdeclare.plan.render_storage import step_text, storage_summary

        storage = [f"{v.action.value:<3} {v.shown}  {v.action.name.lower()}" for v in plan.storage.volumes
                   if v.action is not Action.NOOP]
        storage += [f"    {i}. {step_text(plan, st.key)}" for i, st in enumerate(plan.storage.order, 1)]
        storage += [f"{a.link.glyph:<3} {a.link.value} storage.{a.volume} / {a.cluster}: {a.restart_note}"
                    for a in plan.storage.attachments if all(st.key != a.key for st in plan.storage.order)]
        lines.extend(storage)
    if rows or storage or any(c.moved_from for c in plan.notable):
        lines.append("")
    lines.append(p.bold(summary_line(plan)) if plan.has_changes else
                 p.bold("No changes.") + " Your clusters match the configuration.")
    if plan.storage is not None and storage_summary(plan):
        lines.append(p.bold(storage_summary(plan) or ""))
    lines.extend(cost_lines(plan))
    return "\n".join(lines) + "\n"


def _cost(c: Change) -> str:
    before = hourly(c.hourly_before) if c.before is not None and c.action is not Action.CREATE else "–"
    after = hourly(c.hourly_after) if c.after is not None else "$0.00/hr"
    return after if c.action is Action.CREATE else f"{before} → {after}"


def _why(c: Change) -> str:
    """The reason in a few words: the fields that force a replace or change in place, the lifetime."""
    parts = []
    if c.replace_paths:
        parts.append(", ".join(c.replace_paths) + " forces replacement")
    edits = [fc.field for fc in c.field_changes if fc.effect is FieldEffect.IN_PLACE]
    if c.action is Action.UPDATE and edits:
        parts.append(", ".join(edits))
    if c.expiry is not None:
        parts.append(lifetime_line(c, c.expiry))
    elif c.reason and not c.replace_paths and c.action is not Action.UPDATE:
        parts.append(c.reason.replace("_", " "))
    return "; ".join(parts)
