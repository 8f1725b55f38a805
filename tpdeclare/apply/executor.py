"""The executor: carries out exactly what a Plan decided, in its order, with up to N changes in flight.

Apply(plan) -> result: the plan alone says what happens. The executor records the state-only steps (moves,
forgotten records, lifecycle syncs), settles the intents the plan drops, then runs the changes and the
waits for earlier creates concurrently, each through its protocol (create.py, destroy.py, edit.py), and
every change that can cost money is recorded durably before and after its calls. A first SIGINT/SIGTERM
(the stop flag) or the run's deadline starts nothing new: calls in flight finish and are recorded, polls
stop at their next sleep, and records left `pending` are then resolved with one list call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from functools import partial

from tpdeclare import errors
from tpdeclare.apply.context import ApplyContext
from tpdeclare.apply.create import Creator
from tpdeclare.apply.destroy import Destroyer
from tpdeclare.apply.edit import Editor, renames_freeing_names
from tpdeclare.apply.ownership import utcnow_iso
from tpdeclare.apply.polling import Poller
from tpdeclare.interrupt import Stopped
from tpdeclare.plan.expiry import REASON_EXPIRED
from tpdeclare.plan.model import Action, Change, Plan
from tpdeclare.state.model import CREATING, EXPIRED, PENDING


@dataclass
class ApplyResult:
    """What an apply did: counts of successes, the addresses that succeeded, one message per failed address,
    and what never started."""

    added: int = 0
    changed: int = 0
    replaced: int = 0
    destroyed: int = 0
    waited: int = 0  # clusters left `creating` by an earlier run that this run saw finish
    linked: int = 0  # volume attachments and detachments done
    volumes_added: int = 0  # storage volumes (issue 15), counted apart from clusters
    volumes_changed: int = 0
    volumes_replaced: int = 0
    volumes_destroyed: int = 0
    volumes_waited: int = 0  # volumes left `creating` by an earlier run that this run saw finish
    failures: dict[str, str] = field(default_factory=dict)
    not_started: list[str] = field(default_factory=list)
    succeeded: list[str] = field(default_factory=list)  # addresses whose change (or wait) finished, sorted
    blocked_by: dict[str, str] = field(default_factory=dict)  # not started: the step it waited for did not succeed
    interrupted: bool = False
    timed_out: bool = False

    def line(self) -> str:
        text = f"{self.added} added, {self.changed} changed, {self.replaced} replaced, {self.destroyed} destroyed"
        if self.waited:
            text += f", {self.waited} finished from an earlier run"
        volumes = (self.volumes_added, self.volumes_changed, self.volumes_replaced, self.volumes_destroyed)
        if any(volumes) or self.linked or self.volumes_waited:
            text += (f"; Volumes: {volumes[0]} added, {volumes[1]} changed, {volumes[2]} replaced, {volumes[3]} "
                     f"destroyed, {self.linked} attach{'es' if self.linked != 1 else ''}/detach"
                     f"{'es' if self.linked != 1 else ''}")
            if self.volumes_waited:
                text += f", {self.volumes_waited} finished from an earlier run"
        return text


Step = tuple[Callable[[Change], None], Change, str | None]  # what to do, to which change, which counter it adds to
_COUNTERS = {Action.CREATE: "added", Action.UPDATE: "changed", Action.REPLACE: "replaced", Action.DELETE: "destroyed"}


class Executor:
    """Applies one plan; the collaborators come in through the ApplyContext."""

    def __init__(self, ctx: ApplyContext, *, parallelism: int = 10):
        self.ctx = ctx
        self.parallelism = max(1, parallelism)
        self.poller = Poller(ctx)
        self.creator = Creator(ctx, self.poller)
        self.destroyer = Destroyer(ctx, self.poller, self.creator)
        self.editor = Editor(ctx)
        self._freeing: frozenset[str] = frozenset()

    def run(self, plan: Plan) -> ApplyResult:
        if plan.spec_files:
            self.ctx.import_hint_files = " ".join(plan.spec_files)
        result = ApplyResult()
        self._record_state_only(plan)
        # Dropped intents are settled first, before any create: a create of this run must not be
        # mistaken for the late landing of an intent being dropped (the same name, in another address).
        drops: list[Step] = [(self._drop_intent, c, None) for c in plan.changes if c.address in plan.drop_intents]
        work: list[Step] = [(self._apply_change, c, _COUNTERS[c.action]) for c in plan.changes if c.is_change]
        work += [(self._wait_earlier, c, "waited") for c in plan.changes if c.address in set(plan.waits)]
        # A rename away from a name that a create of this plan takes runs (and takes effect) first.
        self._freeing = renames_freeing_names(plan)
        renames = [step for step in work if step[0] == self._apply_change and step[1].address in self._freeing]
        work = [step for step in work if step not in renames]
        lock = threading.Lock()

        def one(step: Callable[[Change], None], change: Change, counter: str | None) -> bool:
            return run_one(change.address, lambda: step(change), counter)

        def run_one(address: str, call: Callable[[], None], counter: str | None) -> bool:
            if self.ctx.stop.is_set() or self.ctx.past_deadline():
                with lock:
                    result.not_started.append(address)
                return False
            try:
                call()
            except Stopped:
                with lock:
                    result.interrupted = True
                return False
            except errors.TpdeclareError as exc:
                with lock:
                    result.failures[address] = _describe(exc)
                self.ctx.report(f"{address}: Error: {_describe(exc)}")
                return False
            if counter is not None:
                with lock:
                    setattr(result, counter, getattr(result, counter) + 1)
                    result.succeeded.append(address)
            return True

        phases = (drops, renames) if plan.storage is not None else (drops, renames, work)
        for phase in phases:
            if phase:
                self._run_phase(phase, one)
        if plan.storage is not None:  # volumes and attachments: everything in the plan's dependency order
            from tpdeclare.apply.storage_steps import run_in_order

            def skipped(address: str, blocker: str) -> None:
                with lock:
                    result.not_started.append(address)
                    result.blocked_by[address] = blocker

            run_in_order(plan, [(c.address, partial(f, c), counter) for f, c, counter in work],
                         self.ctx, self.poller, run_one, skipped, self.parallelism)
        result.not_started.sort()
        result.succeeded.sort()
        if self.ctx.stop.is_set():
            result.interrupted = True
        elif self.ctx.past_deadline() and (result.not_started or result.failures):
            result.timed_out = True
        if self.ctx.stop.is_set() or result.timed_out:
            self._settle_after_stop()
        return result

    def _run_phase(self, phase: list[Step], one: Callable[..., bool]) -> None:
        """Run the steps of one phase, up to `parallelism` at once. The recorder is told how many may be
        recording at any moment (the busy workers), so that a group commit closes as soon as all of them
        have reached their step (tpdeclare.state.recorder)."""
        workers = min(self.parallelism, len(phase))
        recorder = self.ctx.recorder
        left = [len(phase)]
        lock = threading.Lock()

        def counted(*item: object) -> bool:
            try:
                return one(*item)
            finally:
                with lock:
                    left[0] -= 1
                    recorder.expect(min(workers, left[0]))

        recorder.expect(workers)
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for f in as_completed([pool.submit(counted, *item) for item in phase]):
                    f.result()
        finally:
            recorder.expect(None)

    def _record_state_only(self, plan: Plan) -> None:
        """Moves, forgotten records and lifecycle syncs: state changes the plan made, with no API call."""
        recorder, report = self.ctx.recorder, self.ctx.report
        for change in plan.changes:
            if change.moved_from:
                recorder.move(change.moved_from, change.address)
                report(f"{change.address}: Moved from {change.moved_from}")
        for address in plan.forget:
            if address in plan.drop_intents:
                continue  # looked up once more first (Creator.drop_intent)
            forgotten = recorder.get(address)
            recorder.remove(address)
            why = ("it expired, and has left the spec" if forgotten is not None and forgotten.status == EXPIRED
                   else "the cluster no longer exists on the engine")
            report(f"{address}: Forgotten ({why})")
        for address in plan.remember_expired:
            gone, rec = plan.change(address), recorder.get(address)
            if gone is not None and gone.expiry is not None and rec is not None:
                marked = replace(rec, expired_at=gone.expiry.expires_at, lifetime=gone.expiry.lifetime)
                recorder.put(marked.after_destroy(utcnow_iso()) or marked)
                report(f"{address}: Recorded as expired (its cluster is already gone from the engine)")
        for address in plan.state_sync:
            synced = plan.change(address)
            rec = recorder.get(address)
            if synced is None or synced.desired is None or rec is None or rec.status == PENDING:
                continue
            recorder.put(replace(rec, spec={**rec.spec, "prevent_destroy": synced.desired.prevent_destroy}))

    def _drop_intent(self, change: Change) -> None:
        self.creator.drop_intent(change.address)

    def _wait_earlier(self, change: Change) -> None:
        self.creator.wait_earlier(change.address)

    def _apply_change(self, change: Change) -> None:
        self.ctx.check_stop()
        rec = self.ctx.recorder.get(change.address)
        if change.action is Action.CREATE:
            assert change.desired is not None
            self.creator.create(change.address, change.desired, rec)
        elif change.action is Action.UPDATE:
            assert rec is not None
            self.editor.update(change, rec, frees_name=change.address in self._freeing)
            rec = self.ctx.recorder.get(change.address)
            if rec is not None and rec.status == CREATING:
                self.creator.wait_created(rec, self.ctx.clock())  # an earlier run's create, still provisioning
        elif change.action is Action.DELETE:
            if rec is not None and change.expiry is not None and change.reason == REASON_EXPIRED:
                # Marked before the DELETE leaves: once the cluster is gone, however the run ends, the record
                # becomes the memory that it expired (Record.after_destroy), not nothing.
                rec = replace(rec, expired_at=change.expiry.expires_at, lifetime=change.expiry.lifetime)
                if change.lift_protection:
                    self.ctx.recorder.put(rec)
                    self.editor.lift_protection(change.address, rec, "the destroy")  # as the plan showed
                    rec = self.ctx.recorder.get(change.address)
            self.destroyer.destroy(change.address, rec)
        elif change.action is Action.REPLACE:
            assert change.desired is not None
            if rec is not None and change.lift_protection:
                self.editor.lift_protection(change.address, rec)  # the plan showed it turned off first
                rec = self.ctx.recorder.get(change.address)
            self.destroyer.destroy(change.address, rec)
            self.ctx.check_stop()
            self.creator.create(change.address, change.desired, self.ctx.recorder.get(change.address))

    def _settle_after_stop(self) -> None:
        """After a stop, resolve records left `pending` (an answer lost just before) with one list call."""
        if not any(r.status == PENDING for r in self.ctx.recorder.records().values()):
            return
        from tpdeclare.apply.recovery import recover

        try:
            clusters = self.ctx.api.list_clusters()  # its retries end at once: the stop is set
        except (errors.TpdeclareError, Stopped):
            self.ctx.report("Could not look up the creates in flight when interrupted; the next run resolves them")
            return
        recover(clusters, self.ctx.recorder, self.ctx.report, only=(PENDING,))  # one list call; no polling


def _describe(exc: errors.TpdeclareError) -> str:
    return exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
