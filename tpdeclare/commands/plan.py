"""`tpdeclare plan`: show what apply would do, as text, JSON or Markdown; optionally save it for apply."""

from __future__ import annotations

from tpdeclare.commands.applicable import check_applicable
from tpdeclare.commands.context import Context
from tpdeclare.commands.plan_output import emit_plan, print_digest
from tpdeclare.commands.plan_session import planned
from tpdeclare.commands.prices_file import load_prices_file
from tpdeclare.options import PlanOptions


def run(ctx: Context, opts: PlanOptions) -> int:
    spec = ctx.load_spec(opts.specs)
    prices = load_prices_file(opts.planning.prices_file) if opts.planning.prices_file else None
    with planned(ctx, spec, opts.planning, command="tpdeclare plan", prices=prices) as session:
        plan = session.plan
        # The digest is the output's last line: after the "Saved the plan" line, when there is one.
        saved_line = bool(opts.out) and opts.output in ("text", "summary") and not (plan.blocked or plan.conflicts)
        emit_plan(ctx.console, plan, opts.output, digest=opts.digest and not saved_line)
        if opts.out and (plan.blocked or plan.conflicts):
            ctx.console.warn(f"the plan cannot be applied, so it was not saved to {opts.out}")
        check_applicable(plan)
        if opts.out:
            from tpdeclare.planfile import save_plan

            save_plan(opts.out, plan, spec_args=opts.specs, spec_hash=session.spec.content_hash, engine=session.engine,
                      state=session.state, store=session.store)
            if opts.output in ("text", "summary"):
                ctx.console.print(f"\nSaved the plan to {opts.out}. Apply exactly it with: tpdeclare apply {opts.out}")
            if opts.digest and saved_line:
                print_digest(ctx.console, plan)
    if opts.detailed_exitcode and plan.has_changes:
        return 2
    return 0
