"""`tpdeclare apply`: plan (or read a saved plan), confirm, make the changes, record them."""

from __future__ import annotations

from tpdeclare import errors
from tpdeclare.command_options import ApplyOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.executing import check_applicable, execute
from tpdeclare.commands.plan_output import emit_plan
from tpdeclare.commands.plan_session import planned, saved
from tpdeclare.commands.prices_file import load_prices_file
from tpdeclare.commands.read_once import read_once
from tpdeclare.commands.run_report import RunReport, run_reported
from tpdeclare.commands.signals import StopOnSignal


def run(ctx: Context, opts: ApplyOptions) -> int:
    return run_reported(ctx, "apply", opts.json, lambda signals, started, report: _run(ctx, opts, signals, started,
                                                                                       report))


def _run(ctx: Context, opts: ApplyOptions, signals: StopOnSignal, started: float,
         report: RunReport) -> int:
    from tpdeclare.planfile import is_plan_bytes, load_plan

    preread = read_once(opts.specs)
    if len(opts.specs) == 1 and opts.specs[0] in preread and is_plan_bytes(preread[opts.specs[0]]):
        if opts.planning_given:
            raise errors.TpdeclareError(
                f"{', '.join(opts.planning_given)} cannot be used when applying a saved plan: it applies exactly "
                f"what it says",
                hint="give those options to `tpdeclare plan --out FILE` instead, then apply the new file",
            )
        plan_file = load_plan(opts.specs[0], preread[opts.specs[0]])
        if plan_file.specs_present():
            spec = ctx.load_spec(plan_file.spec_files)
            plan_file.check_spec(spec.stack, spec.content_hash)
        with saved(ctx, plan_file, command="tpdeclare apply", stop=signals.stop,
                   deadline=started + opts.execution.timeout) as session:
            report.plan = session.plan
            emit_plan(ctx.console, session.plan, "text")
            check_applicable(session.plan)
            return execute(ctx, session, opts.execution, signals, word="Apply", question=None, started=started,
                           report=report)
    spec = ctx.load_spec(opts.specs, preread)
    prices = load_prices_file(opts.planning.prices_file) if opts.planning.prices_file else None
    with planned(ctx, spec, opts.planning, command="tpdeclare apply", prices=prices, stop=signals.stop,
                 deadline=started + opts.execution.timeout, mutating=True) as session:
        report.plan = session.plan
        emit_plan(ctx.console, session.plan, "text")
        check_applicable(session.plan)
        return execute(ctx, session, opts.execution, signals, word="Apply",
                       question="Do you want to perform these actions?", started=started, report=report)
