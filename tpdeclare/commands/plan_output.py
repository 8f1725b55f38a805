"""Printing a plan in the chosen format (text, JSON or Markdown), with its warnings."""

from __future__ import annotations

from tpdeclare.commands.console import Console
from tpdeclare.options import OutputFormat
from tpdeclare.plan.model import Plan


def emit_plan(console: Console, plan: Plan, fmt: OutputFormat) -> None:
    """Print a plan in the chosen format; the text forms add its warnings on stderr."""
    if fmt == "json":
        from tpdeclare.plan.render_json import render_json

        console.print(render_json(plan), end="")
        return
    if fmt == "markdown":
        from tpdeclare.plan.render_markdown import render_markdown

        console.print(render_markdown(plan), end="")
        return
    if fmt == "summary":
        from tpdeclare.plan.render_summary import render_summary

        text = render_summary(plan, console.palette)
    else:
        from tpdeclare.plan.render_text import render_text

        text = render_text(plan, console.palette)
    console.print(text, end="")
    for w in plan.warnings:
        console.warn(w)
