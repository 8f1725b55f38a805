"""`tpdeclare apply` and `tpdeclare destroy`: plan, confirm, execute, record."""

from __future__ import annotations

import io
import os
import signal
import threading

from tpdeclare import errors
from tpdeclare.commands.common import Context, ask_yes
from tpdeclare.commands.plan import blocked_error, emit_plan
from tpdeclare.commands.workflow import prepared


class StopOnSignal:
    """First SIGINT/SIGTERM: stop launching work and finish recording; second: exit at once (130).

    Until the executor starts (`immediate`: loading, waiting for the lock, recovery, planning, the
    prompt), no cluster is being changed, so the first signal raises KeyboardInterrupt at once (exit 130);
    every state write is atomic or journaled, so that is safe.
    """

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.stop = threading.Event()
        self.immediate = True
        self._previous = {}

    def _handle(self, signum, frame):
        if self.stop.is_set():
            os._exit(130)  # the second signal: intents on disk make the next run whole
        self.stop.set()
        if self.immediate:
            raise KeyboardInterrupt
        self._say(
            "\nInterrupt received: no new operations will start; recording what is in flight. "
            "Interrupt again to exit at once (the next run will resolve what was left).\n"
        )

    def _say(self, text: str) -> None:
        """Write from the signal handler without the console's lock: the interrupted code may hold it."""
        out = self.ctx.console.out
        try:
            os.write(out.fileno(), text.encode("utf-8", "replace"))
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            pass

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def run(ctx: Context, args, destroy: bool = False) -> int:
    from tpdeclare.apply.executor import _Stopped

    word = "Destroy" if destroy else "Apply"
    with StopOnSignal(ctx) as signals:
        try:
            return _run(ctx, args, destroy, signals)
        except _Stopped:
            # Only a retry's sleep before any change (e.g. recovery's list call) can end up here.
            raise errors.Interrupted(
                f"{word} interrupted before any cluster was changed", hint="run the same command again"
            ) from None


def _run(ctx: Context, args, destroy: bool, signals: StopOnSignal) -> int:
    from tpdeclare.apply.executor import Executor
    from tpdeclare.state.model import State
    from tpdeclare.state.recorder import Recorder

    saved = None
    paths = args.spec
    if not destroy and len(paths) == 1:
        from tpdeclare.planfile import is_plan_file, load_plan

        if is_plan_file(paths[0]):
            saved = load_plan(paths[0])
            paths = saved.spec_files
            given = [flag for flag, value in (("--target", args.target), ("--replace", args.replace),
                                              ("--max-hourly-cost", args.max_hourly_cost), ("--prices", args.prices),
                                              ("--no-refresh", not args.refresh)) if value]
            if given:
                raise errors.TpdeclareError(
                    f"{', '.join(given)} cannot be used when applying a saved plan: it applies exactly what it says",
                    hint="give those options to `tpdeclare plan --out FILE` instead, then apply the new file",
                )
    verb = "tpdeclare destroy" if destroy else "tpdeclare apply"
    word = "Destroy" if destroy else "Apply"
    # A saved plan is re-made with the budget and prices it was made with, and its state is checked as
    # read, before recovery may settle anything.
    from_plan = (
        dict(max_hourly_cost=saved.max_hourly_cost, prices=saved.prices, check_state=saved.check_state)
        if saved is not None
        else {}
    )
    with prepared(
        ctx,
        paths,
        command=verb,
        refresh=saved.refresh if saved else getattr(args, "refresh", False),
        destroy_all=destroy or (saved.destroy_all if saved else False),
        targets=saved.targets if saved else getattr(args, "target", ()),
        replace=saved.replace if saved else getattr(args, "replace", ()),
        stop=signals.stop,
        **from_plan,
    ) as p:
        plan = p.plan
        if saved is not None:
            saved.check_plan(p)
        emit_plan(ctx, plan, "text")
        if plan.blocked:
            raise blocked_error(plan)
        state = p.state or State(stack=p.spec.stack, engine=p.engine)
        recorder = Recorder(p.store, state)
        executor = Executor(
            client=None,
            recorder=recorder,
            parallelism=args.parallelism,
            deadline_seconds=args.timeout,
            report=ctx.console.print,
            stop=signals.stop,
        )
        waits = executor.waits(plan)
        if not plan.has_changes and not waits:
            return 0
        if saved is None and plan.has_changes:
            question = (
                "Do you really want to destroy "
                + (f"these clusters of stack '{plan.stack}'?" if args.target else f"every cluster of stack '{plan.stack}'?")
                if destroy
                else "Do you want to perform these actions?"
            )
            ask_yes(ctx, args, question)
        signals.immediate = False  # from here on a signal stops the run gracefully
        if signals.stop.is_set():
            raise errors.Interrupted(f"{word} interrupted before any cluster was changed", hint="run the same command again")
        executor.client = p.client or ctx.client(signals.stop)
        if waits:
            ctx.console.print(
                f"\n{len(waits)} cluster{'s' if len(waits) != 1 else ''} started by an earlier run "
                f"{'are' if len(waits) != 1 else 'is'} still being created; waiting for "
                f"{'them' if len(waits) != 1 else 'it'}: {', '.join(waits)}"
            )
        ctx.console.print("")
        try:
            result = executor.run(plan, p.spec)
        except BaseException:
            _checkpoint(ctx, recorder, quiet=True)
            raise
        _checkpoint(ctx, recorder, quiet=False)
    if result.interrupted:
        raise errors.Interrupted(
            f"{word} interrupted: {result.line()}; every cluster the engine made is recorded in state",
            hint="run the same command again to finish",
        )
    if result.failures:
        raise errors.ApplyError(
            f"{word} finished with {len(result.failures)} failure{'s' if len(result.failures) != 1 else ''} "
            f"({result.line()}): " + "; ".join(f"{a}: {m}" for a, m in sorted(result.failures.items())),
            hint="what succeeded is recorded in state; fix the cause and run the command again",
        )
    ctx.console.print(ctx.console.palette.paint("32", f"\n{word} complete! Clusters: {result.line()}."))
    return 0


def _checkpoint(ctx: Context, recorder, *, quiet: bool) -> None:
    """Fold the journal into the snapshot. Every change is already durable in the journal, so when this
    fails while another error is on its way out, say so instead of hiding that error."""
    try:
        recorder.checkpoint()
    except errors.StateError as exc:
        if not quiet:
            raise
        ctx.console.warn(f"could not compact the state journal ({exc.message}); it is replayed on the next read")
