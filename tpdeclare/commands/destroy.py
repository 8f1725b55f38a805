"""`tpdeclare destroy`: destroy every cluster of the stack (or --target ones), from its spec or its state alone."""

from __future__ import annotations

from tpdeclare.command_options import DestroyOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.executing import check_applicable, execute
from tpdeclare.commands.plan_output import emit_plan
from tpdeclare.commands.plan_session import planned
from tpdeclare.commands.run_report import RunReport, run_reported
from tpdeclare.commands.signals import StopOnSignal
from tpdeclare.commands.state_locator import find_state
from tpdeclare.options import PlanningOptions
from tpdeclare.spec.model import StackSpec


def run(ctx: Context, opts: DestroyOptions) -> int:
    return run_reported(ctx, "destroy", opts.json, lambda signals, started, report: _run(ctx, opts, signals, started,
                                                                                       report))


def _run(ctx: Context, opts: DestroyOptions, signals: StopOnSignal, started: float,
         report: RunReport) -> int:
    spec: StackSpec | None = None
    store = None
    if not opts.specs or _is_stack_name(ctx, opts.specs):
        store = find_state(ctx, opts.specs, stack_names=True)  # the spec is gone: the state says what exists
    else:
        spec = ctx.load_spec(opts.specs)
    planning = PlanningOptions(targets=opts.targets, destroy_all=True)
    with planned(ctx, spec, planning, command="tpdeclare destroy", stop=signals.stop, store=store,
                 deadline=started + opts.execution.timeout, mutating=True) as session:
        plan = report.plan = session.plan
        emit_plan(ctx.console, plan, "text")
        check_applicable(plan)
        which = "these clusters" if opts.targets else "every cluster"
        return execute(ctx, session, opts.execution, signals, word="Destroy",
                       question=f"Do you really want to destroy {which} of stack '{plan.stack}'?", started=started,
                       report=report)


def _is_stack_name(ctx: Context, specs: tuple[str, ...]) -> bool:
    """`destroy research`: no such spec file, but a state for stack `research` under ./state."""
    from pathlib import Path

    from tpdeclare.identifiers import STACK

    return len(specs) == 1 and not Path(specs[0]).exists() and STACK.fullmatch(specs[0]) is not None \
        and ctx.state_path(specs[0]).exists()
