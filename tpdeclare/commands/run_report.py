"""The end of an apply, destroy or expire run: the failure table, and with `--json` one document on stdout.

With `--json`, stdout carries only that document, however the run ends (applied, blocked, failed, interrupted,
or an error before any plan); everything else the run says (the plan, progress, the failure table, errors)
goes to stderr, and the exit code is the same as without `--json`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tpdeclare import errors
from tpdeclare.apply.executor import ApplyResult
from tpdeclare.apply.outcome import Row, Running, document
from tpdeclare.commands.console import Console
from tpdeclare.commands.context import Context
from tpdeclare.commands.signals import StopOnSignal
from tpdeclare.interrupt import Stopped
from tpdeclare.plan.model import Plan


@dataclass
class RunReport:
    """What one run learnt for its report: the plan, each change's result, what runs afterwards."""

    command: str
    as_json: bool
    plan: Plan | None = None
    table: list[Row] | None = None
    running: Running | None = None
    result: ApplyResult | None = None
    outcome: str | None = None  # set by the command when it knows better than the way the run ended

    def document(self, exc: BaseException | None) -> dict[str, Any]:
        plan_json = None
        if self.plan is not None:
            from tpdeclare.plan.render_json import plan_to_json

            plan_json = plan_to_json(self.plan)
        return document(self.command, self.plan.stack if self.plan else None, self.outcome or self._ended(exc),
                        plan_json=plan_json, table=self.table, now=self.running, result=self.result,
                        error=None if exc is None else _words(exc))

    def _ended(self, exc: BaseException | None) -> str:
        if exc is None:
            return "applied" if self.result is not None else "no_changes"
        if isinstance(exc, errors.PolicyError):
            return "blocked"
        if isinstance(exc, (errors.Interrupted, KeyboardInterrupt)):
            return "interrupted"
        if isinstance(exc, errors.ApplyError):
            return "timed_out" if self.result is not None and self.result.timed_out else "failed"
        return "error"


def _words(exc: BaseException) -> str:
    if isinstance(exc, errors.TpdeclareError):
        return exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"internal error: {type(exc).__name__}"


Body = Callable[[StopOnSignal, float, "RunReport"], int]


def run_reported(ctx: Context, command: str, as_json: bool, body: Body) -> int:
    """Run an apply-like command's `body(signals, started, report)`: signals stop it gracefully once it changes
    clusters, its report is made (`--json`: the document), and `started` (time.monotonic) begins its --timeout."""
    started = time.monotonic()
    with reporting(ctx, command, as_json) as report, StopOnSignal(ctx.console) as signals:
        try:
            return body(signals, started, report)
        except Stopped:
            # Only a retry's sleep before any change (e.g. recovery's list call) can end up here.
            raise errors.Interrupted(f"{command.capitalize()} interrupted before any cluster was changed",
                                     hint="run the same command again") from None


@contextmanager
def reporting(ctx: Context, command: str, as_json: bool) -> Iterator[RunReport]:
    """For the block, with `as_json`, the run's console writes to stderr; at its end the document goes to
    stdout, then whatever ended the block goes on its way (its exit code unchanged)."""
    report = RunReport(command, as_json)
    out = ctx.console
    if as_json:
        ctx.console = Console(False, out=out.err, err=out.err)
    failure: BaseException | None = None
    try:
        yield report
    except BaseException as exc:
        failure = exc
        raise
    finally:
        ctx.console = out
        if as_json:
            out.print(json.dumps(report.document(failure), indent=2))
