"""Carrying out a plan for apply and destroy: confirm, execute within the deadline, record, and say what happened."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tpdeclare import errors
from tpdeclare.command_options import ExecutionOptions
from tpdeclare.commands.applicable import check_applicable
from tpdeclare.commands.context import Context
from tpdeclare.commands.plan_session import Session
from tpdeclare.commands.prompt import ask_yes
from tpdeclare.commands.run_report import RunReport
from tpdeclare.commands.signals import StopOnSignal
from tpdeclare.state.recorder import Recorder
from tpdeclare.state.volumes import volume_address

__all__ = ["check_applicable", "execute"]

if TYPE_CHECKING:
    from tpdeclare.state.s3_lease import S3Lease


def execute(ctx: Context, session: Session, execution: ExecutionOptions, signals: StopOnSignal, *,
            word: str, question: str | None, started: float, report: RunReport | None = None) -> int:
    """Confirm (unless `question` is None: a saved plan was reviewed already), then run the executor with
    every change recorded; `started` (time.monotonic) begins the --timeout that bounds the whole run. After a
    run with any failure, the table of what became of each change; `report` learns the same."""
    from tpdeclare.apply import outcome
    from tpdeclare.apply.context import ApplyContext
    from tpdeclare.apply.executor import Executor

    plan = session.plan
    volume_waits = tuple(map(volume_address, plan.storage.waits)) if plan.storage is not None else ()
    if not plan.has_changes and not plan.waits and not volume_waits:
        return 0
    if question is not None and plan.has_changes:
        ask_yes(ctx.console, execution.auto_approve, question)
    signals.immediate = False  # from here on a signal stops the run gracefully
    if signals.stop.is_set():
        raise errors.Interrupted(f"{word} interrupted before any cluster was changed",
                                 hint="run the same command again")
    recorder = Recorder(session.store, session.working_state())
    lease = _lease_of(session.store)
    if lease is not None:
        def lost(message: str) -> None:
            ctx.console.warn(f"{message}; stopping: no new operation is started, and nothing more is written")
            signals.stop.set()
        lease.on_lost = lost
    apply_ctx = ApplyContext(
        api=session.client or ctx.client(signals.stop, started + execution.timeout), recorder=recorder,
        report=ctx.console.print,
        stop=signals.stop, clock=time.monotonic, deadline_at=started + execution.timeout,
        import_hint_files=" ".join(session.spec.files) or "SPEC",
    )
    for kind, waits in (("cluster", plan.waits), ("volume", volume_waits)):
        if waits:
            n = len(waits)
            ctx.console.print(
                f"\n{n} {kind}{'s' if n != 1 else ''} started by an earlier run {'are' if n != 1 else 'is'} still "
                f"being created; waiting for {'them' if n != 1 else 'it'}: {', '.join(waits)}"
            )
    ctx.console.print("")
    try:
        result = Executor(apply_ctx, parallelism=execution.parallelism).run(plan)
    except BaseException:
        _checkpoint(ctx, recorder, quiet=True)
        raise
    _checkpoint(ctx, recorder, quiet=False)
    table, now = outcome.rows(plan, result), outcome.running(recorder.snapshot(), dict(plan.prices))
    if report is not None:
        report.table, report.running, report.result = table, now, result
    if not outcome.is_clean(result):
        ctx.console.print("\n" + outcome.failure_table(word, table, now), end="")
    if lease is not None and lease.lost.is_set():
        raise errors.ApplyError(
            f"{word} stopped: this run lost its state lock ({result.line()}); "
            + (f"not started: {', '.join(result.not_started)}; " if result.not_started else "")
            + "what was in flight is in the state journal up to the moment the lease ended",
            hint="another run may hold the lock now; run the same command again once it is free: it settles "
                 "what was in flight from the engine",
        )
    if result.interrupted:
        raise errors.Interrupted(
            f"{word} interrupted: {result.line()}; every cluster the engine made is recorded in state",
            hint="run the same command again to finish",
        )
    if result.timed_out:
        raise errors.ApplyError(
            f"{word} stopped at the --timeout of {execution.timeout:g}s ({result.line()}"
            + (f"; not started: {', '.join(result.not_started)}" if result.not_started else "") + ")"
            + "".join(f"; {a}: {m}" for a, m in sorted(result.failures.items())),
            hint="what the engine made is recorded in state; run the command again to finish, or raise --timeout",
        )
    if result.failures:
        n = len(result.failures)
        raise errors.ApplyError(
            f"{word} finished with {n} failure{'s' if n != 1 else ''} ({result.line()}): "
            + "; ".join(f"{a}: {m}" for a, m in sorted(result.failures.items())),
            hint="what succeeded is recorded in state; fix the cause and run the command again",
        )
    ctx.console.print(ctx.console.palette.paint("32", f"\n{word} complete! Clusters: {result.line()}."))
    return 0


def _lease_of(store: object) -> S3Lease | None:
    """The S3 lease the store holds (None for a local store, whose flock cannot be lost)."""
    from tpdeclare.state.s3_store import S3StateStore

    return store.lease if isinstance(store, S3StateStore) else None


def _checkpoint(ctx: Context, recorder: Recorder, *, quiet: bool) -> None:
    """Fold the journal into the snapshot. Every change is already durable in the journal, so when this
    fails while another error is on its way out, say so instead of hiding that error."""
    try:
        recorder.checkpoint()
    except errors.StateError as exc:
        if not quiet:
            raise
        ctx.console.warn(f"could not compact the state journal ({exc.message}); it is replayed on the next read")
