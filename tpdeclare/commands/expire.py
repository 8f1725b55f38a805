"""`tpdeclare expire`: destroy the stack's clusters whose lifetime has ended, and nothing else (for schedules).

It reads the engine first, then goes apply's way: the state lock, recovery of an interrupted run, the
exactly-once destroy, a first signal stopping new work. It never creates, edits or replaces a cluster. An
expired cluster that protection keeps is left as it is and said, with what it costs; once the others are
destroyed, the run exits 3. `--warn-only` changes nothing and exits 2 when a lifetime has ended or ends
within its warn_before, so that a schedule can notify someone.
"""

from __future__ import annotations

from tpdeclare import errors
from tpdeclare.command_options import ExpireOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.executing import check_applicable, execute
from tpdeclare.commands.plan_output import emit_plan
from tpdeclare.commands.plan_session import planned
from tpdeclare.commands.run_report import RunReport, run_reported
from tpdeclare.commands.signals import StopOnSignal
from tpdeclare.options import PlanningOptions
from tpdeclare.plan.model import Plan
from tpdeclare.plan.render_text import lifetimes_section


def run(ctx: Context, opts: ExpireOptions) -> int:
    return run_reported(ctx, "expire", opts.json, lambda signals, started, report: _run(ctx, opts, signals, started,
                                                                                       report))


def _run(ctx: Context, opts: ExpireOptions, signals: StopOnSignal, started: float, report: RunReport) -> int:
    spec = ctx.load_spec(opts.specs)
    planning = PlanningOptions(refresh=True, expire_only=True)
    with planned(ctx, spec, planning, command="tpdeclare expire", stop=signals.stop,
                 deadline=started + opts.execution.timeout) as session:
        plan = report.plan = session.plan
        if opts.warn_only:
            return _warn_only(ctx, plan, report)
        emit_plan(ctx.console, plan, "text")
        check_applicable(plan)
        code = execute(ctx, session, opts.execution, signals, word="Expire",
                       question="Do you want to destroy these expired clusters?", started=started, report=report)
    _refuse_protected(plan, report)
    return code


def _warn_only(ctx: Context, plan: Plan, report: RunReport) -> int:
    """Say which lifetimes have ended or end soon; change nothing. 2 when any, 3 when protection keeps one."""
    lifetimes = [c.expiry for c in plan.changes if c.expiry is not None and c.before is not None]
    ended = sum(1 for e in lifetimes if e.expired)
    soon = sum(1 for e in lifetimes if e.warn)
    for line in lifetimes_section(plan):
        ctx.console.print(line)
    for w in plan.warnings:
        ctx.console.warn(w)
    if not ended and not soon:
        ctx.console.print("No lifetime has ended or ends within its warn_before; nothing was changed.")
        return 0
    report.outcome = "warned"
    ctx.console.print(f"{ended} expired, {soon} within warn_before; nothing was changed (--warn-only)."
                      + (" `tpdeclare expire` destroys what has expired." if ended else ""))
    _refuse_protected(plan, report)
    return 2


def _refuse_protected(plan: Plan, report: RunReport) -> None:
    if plan.protected_expired:
        report.outcome = "protected"  # the others went (or, with --warn-only, were only said)
        raise errors.PolicyError(
            "expired clusters are kept by protection:\n  - " + "\n  - ".join(plan.protected_expired),
            hint="they keep running, and billing; turn their protection off in the spec, or give them a later "
                 "lifetime",
        )
