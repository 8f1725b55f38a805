"""Renders a Plan as a Markdown pull-request comment: destroys first, a table with cost, the full plan folded."""

from __future__ import annotations

from tpdeclare.plan.expiry import REASON_EXPIRED
from tpdeclare.plan.model import Action, Plan
from tpdeclare.plan.render_lifetimes import dollars, hourly, lifetime_line, until_expiry_line, when, with_lifetime
from tpdeclare.plan.render_text import money, render_text, signed_money, unknown_after_apply


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
    soon = [(c, e) for c, e in with_lifetime(plan) if e.warn or (e.expired and e.protected)]
    if soon:
        out.append("> [!WARNING]")
        out.append("> **Lifetimes ending:**")
        for c, e in soon:
            tail = (f", {hourly(c.hourly_before)}, kept by protection" if e.expired
                    else f"; {dollars(e.spend)} until then")
            out.append(f"> - `{c.address}` {when(e)}{tail}")
        out.append("")
    danger = [c for c in plan.notable if c.action in (Action.DELETE, Action.REPLACE)]
    if danger:
        out.append("> [!WARNING]")
        out.append("> **This plan destroys clusters:**")
        for c in danger:
            what = "destroyed" if c.action is Action.DELETE else "replaced (destroyed, then created)"
            why = f" — `{'`, `'.join(c.replace_paths)}` forces replacement" if c.replace_paths else ""
            if c.reason == REASON_EXPIRED and c.expiry is not None:
                why = f" — its lifetime ended at {c.expiry.expires_at}"
            out.append(f"> - `{c.address}` ({c.cluster_id or 'no id'}) will be **{what}**{why}")
        out.append("")
    if plan.storage is not None:
        from tpdeclare.plan.render_storage import storage_markdown

        out.extend(storage_markdown(plan))
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
    committed = until_expiry_line(plan)
    if committed:
        out.append("")
        out.append(f"**Until expiry:** {committed.split(': ', 1)[1]}")
    out.append("")
    rows = [c for c in plan.notable if c.is_change]
    if rows:
        lifetimes = any(c.expiry is not None for c in rows)
        out.append("| action | cluster | instance | nodes | cost before | cost after |"
                   + (" lifetime |" if lifetimes else ""))
        out.append("|---|---|---|---|---:|---:|" + ("---|" if lifetimes else ""))
        order = {Action.DELETE: 0, Action.REPLACE: 1, Action.UPDATE: 2, Action.CREATE: 3}
        for c in sorted(rows, key=lambda c: (order[c.action], c.address)):
            f = c.after or c.before or {}
            out.append(
                f"| {c.action.terraform_actions[0] if c.action is not Action.REPLACE else 'replace'} "
                f"| `{c.address}` | {f.get('instance_type')} | {f.get('num_nodes')} "
                f"| {money(c.hourly_before) if c.before else '–'} | {money(c.hourly_after) if c.after else '–'} |"
                + (f" {lifetime_line(c, c.expiry) if c.expiry else '–'} |" if lifetimes else "")
            )
        out.append("")
    made = [c.address for c in plan.notable if unknown_after_apply(c)]
    if made:
        out.append(f"Outputs of {', '.join(f'`{a}`' for a in made)} (cluster ID, instances, IP addresses, SSH "
                   "command) will be known after apply: `tpdeclare output` shows them.")
        out.append("")
    out.append("<details><summary>Full plan</summary>")
    out.append("")
    out.append("```diff")
    out.append(render_text(plan).rstrip("\n"))
    out.append("```")
    out.append("")
    out.append("</details>")
    return "\n".join(out) + "\n"
