"""Printing a plan in the chosen format (text, JSON or Markdown), with its warnings."""

from __future__ import annotations

from tpdeclare.commands.console import Console
from tpdeclare.options import OutputFormat
from tpdeclare.plan.model import Plan

DIGEST_LINE = "Plan digest: "  # what scripts grep for: `Plan digest: sha256:<hex>`, the output's last line


def emit_plan(console: Console, plan: Plan, fmt: OutputFormat, *, digest: bool = False) -> None:
    """Print a plan in the chosen format; the text forms add its warnings on stderr.

    With `digest`, the plan digest (tpdeclare/plan/digest.py) too: a top-level `digest` in JSON, else a
    last line `Plan digest: sha256:<hex>` on stdout (after the plan, before any warning on stderr).
    """
    if fmt == "json":
        from tpdeclare.plan.render_json import render_json

        console.print(render_json(plan, digest=_digest(plan) if digest else None), end="")
        return
    if fmt == "markdown":
        from tpdeclare.plan.render_markdown import render_markdown

        console.print(render_markdown(plan), end="")
        if digest:
            print_digest(console, plan)
        return
    if fmt == "summary":
        from tpdeclare.plan.render_summary import render_summary

        text = render_summary(plan, console.palette)
    else:
        from tpdeclare.plan.render_text import render_text

        text = render_text(plan, console.palette)
    console.print(text, end="")
    if digest:
        print_digest(console, plan)
    for w in plan.warnings:
        console.warn(w)


def print_digest(console: Console, plan: Plan) -> None:
    """`Plan digest: sha256:<hex>` on stdout, after a blank line."""
    console.print(f"\n{DIGEST_LINE}{_digest(plan)}")


def _digest(plan: Plan) -> str:
    from tpdeclare.plan.digest import plan_digest

    return plan_digest(plan)
