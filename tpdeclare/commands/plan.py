"""`tpdeclare plan`: show what apply would do, as text, JSON or Markdown; optionally save it."""

from __future__ import annotations

from tpdeclare import errors
from tpdeclare.commands.common import Context
from tpdeclare.commands.workflow import prepared
from tpdeclare.plan import render


def emit_plan(ctx: Context, plan, fmt: str) -> None:
    """Print a plan in the chosen format, with its warnings."""
    if fmt == "json":
        ctx.console.print(render.render_json(plan), end="")
        return
    if fmt == "markdown":
        ctx.console.print(render.render_markdown(plan), end="")
        return
    ctx.console.print(render.render_text(plan, ctx.console.palette), end="")
    for w in plan.warnings:
        ctx.console.warn(w)


def blocked_error(plan) -> errors.PolicyError:
    return errors.PolicyError(
        "the plan is blocked by policy:\n  - " + "\n  - ".join(plan.blocked),
        hint="nothing was changed; fix the spec (or the budget) and plan again",
    )


def output_format(args) -> str:
    if getattr(args, "json", False):
        return "json"
    if getattr(args, "markdown", False):
        return "markdown"
    return "text"


def run(ctx: Context, args) -> int:
    with prepared(
        ctx, args.spec, command="tpdeclare plan", refresh=args.refresh, targets=args.target, replace=args.replace,
        destroy_all=getattr(args, "destroy", False),
    ) as p:
        plan = p.plan
        emit_plan(ctx, plan, output_format(args))
        if plan.blocked:
            if args.out:
                ctx.console.warn(f"the plan is blocked by policy, so it was not saved to {args.out}")
            raise blocked_error(plan)
        if args.out:
            from tpdeclare.planfile import save_plan

            save_plan(args.out, p, args, prices=ctx.prices())
            if output_format(args) == "text":
                ctx.console.print(f"\nSaved the plan to {args.out}. Apply exactly it with: tpdeclare apply {args.out}")
    if args.detailed_exitcode and plan.has_changes:
        return 2
    return 0
