"""`tpdeclare apply` and `tpdeclare destroy`: plan, confirm, execute, record."""

from __future__ import annotations

import os
import signal
import sys
import threading

from tpdeclare import errors
from tpdeclare.commands.common import Context
from tpdeclare.commands.plan import blocked_error, emit_plan
from tpdeclare.commands.workflow import prepared


def confirm(ctx: Context, args, question: str) -> None:
    """Ask for a typed `yes`; refuse (never hang) without a terminal."""
    if args.auto_approve:
        return
    if not sys.stdin or not sys.stdin.isatty():
        raise errors.TpdeclareError(
            "refusing to apply without confirmation: standard input is not a terminal",
            hint="review the plan above, then run again with --auto-approve (or apply a saved plan file)",
        )
    ctx.console.print(f"\n{question}\n  Only 'yes' will be accepted to approve.\n")
    ctx.console.print("  Enter a value: ", end="")
    try:
        answer = sys.stdin.readline().strip()
    except KeyboardInterrupt:
        answer = ""
    if answer != "yes":
        raise errors.TpdeclareError("apply cancelled; nothing was changed")


class StopOnSignal:
    """First SIGINT/SIGTERM: stop launching work and finish recording; second: exit at once (130)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.stop = threading.Event()
        self._previous = {}

    def _handle(self, signum, frame):
        if self.stop.is_set():
            os._exit(130)
        self.stop.set()
        self.ctx.console.print(
            "\nInterrupt received: no new operations will start; recording what is in flight. "
            "Interrupt again to exit at once (the next run will resolve what was left)."
        )

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def run(ctx: Context, args, destroy: bool = False) -> int:
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
    verb = "tpdeclare destroy" if destroy else "tpdeclare apply"
    with StopOnSignal(ctx) as signals:
        with prepared(
            ctx,
            paths,
            command=verb,
            refresh=saved.refresh if saved else getattr(args, "refresh", False),
            destroy_all=destroy or (saved.destroy_all if saved else False),
            targets=saved.targets if saved else getattr(args, "target", ()),
            replace=saved.replace if saved else getattr(args, "replace", ()),
            stop=signals.stop,
        ) as p:
            plan = p.plan
            if saved is not None:
                saved.check_against(p)
            emit_plan(ctx, plan, "text")
            if plan.blocked:
                raise blocked_error(plan)
            if not plan.has_changes:
                return 0
            if saved is None:
                question = (
                    f"Do you really want to destroy every cluster of stack '{plan.stack}'?"
                    if destroy
                    else "Do you want to perform these actions?"
                )
                confirm(ctx, args, question)
            client = p.client or ctx.client(signals.stop)
            state = p.state or State(stack=p.spec.stack)
            recorder = Recorder(p.store, state)
            executor = Executor(
                client=client,
                recorder=recorder,
                parallelism=args.parallelism,
                deadline_seconds=args.timeout,
                report=ctx.console.print,
                stop=signals.stop,
            )
            ctx.console.print("")
            try:
                result = executor.run(plan, p.spec)
            finally:
                recorder.checkpoint()
    word = "Destroy" if destroy else "Apply"
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
