"""The executor: carries out a Plan's changes through the API, recording state as it goes (DESIGN §5)."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable

from tpdeclare import errors
from tpdeclare.apply.protocol import live_by_name, status_of, stranger_reason, utcnow_iso
from tpdeclare.plan.model import Action, Change, Plan
from tpdeclare.plan.planner import recorded_spec
from tpdeclare.spec.model import ClusterSpec, StackSpec
from tpdeclare.state.model import CREATING, DELETING, PENDING, READY, TAINTED, Record
from tpdeclare.state.recorder import Recorder

PROGRESS_EVERY_SECONDS = 10.0
CREATE_ATTEMPTS = 4


@dataclass
class ApplyResult:
    """What an apply did: counts of successes, and one message per failed address."""

    added: int = 0
    changed: int = 0
    replaced: int = 0
    destroyed: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False

    def line(self) -> str:
        return (
            f"{self.added} added, {self.changed} changed, {self.replaced} replaced, {self.destroyed} destroyed"
        )


class _Stopped(Exception):
    """Internal: the run was asked to stop; leave records as they are for the next run."""


def elapsed_text(seconds: float) -> str:
    """Terraform's `1m12s` style."""
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60}s" if seconds >= 60 else f"{seconds}s"


class Executor:
    """Applies a plan with up to `parallelism` changes in flight, each recorded durably before and after its calls."""

    def __init__(
        self,
        *,
        client,
        recorder: Recorder,
        parallelism: int = 10,
        deadline_seconds: float = 1800.0,
        report: Callable[[str], None] = lambda line: None,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.recorder = recorder
        self.parallelism = max(1, parallelism)
        self.deadline = deadline_seconds
        self.report = report
        self.stop = stop or threading.Event()
        self.clock = clock

    # ---- orchestration -------------------------------------------------------------------------------
    def run(self, plan: Plan, spec: StackSpec) -> ApplyResult:
        result = ApplyResult()
        self._apply_state_only(plan, spec)
        work = [c for c in plan.changes if c.is_change]
        lock = threading.Lock()

        def one(change: Change) -> None:
            try:
                self._apply_change(change, spec.clusters.get(change.address))
            except _Stopped:
                with lock:
                    result.interrupted = True
                return
            except errors.TpdeclareError as exc:
                with lock:
                    result.failures[change.address] = _describe(exc)
                self.report(f"{change.address}: Error: {_describe(exc)}")
                return
            with lock:
                if change.action is Action.CREATE:
                    result.added += 1
                elif change.action is Action.UPDATE:
                    result.changed += 1
                elif change.action is Action.REPLACE:
                    result.replaced += 1
                elif change.action is Action.DELETE:
                    result.destroyed += 1

        if work:
            with ThreadPoolExecutor(max_workers=min(self.parallelism, len(work))) as pool:
                futures = [pool.submit(one, c) for c in work]
                for f in as_completed(futures):
                    f.result()
        if self.stop.is_set():
            result.interrupted = True
        return result

    def _apply_state_only(self, plan: Plan, spec: StackSpec) -> None:
        """Moves, forgotten records and lifecycle-only edits: state changes with no API call."""
        for change in plan.changes:
            if change.moved_from:
                self.recorder.move(change.moved_from, change.address)
                self.report(f"{change.address}: Moved from {change.moved_from}")
        for address in plan.forget:
            self.recorder.remove(address)
            self.report(f"{address}: Forgotten (the cluster no longer exists on the engine)")
        for change in plan.changes:
            want = spec.clusters.get(change.address)
            rec = self.recorder.get(change.address)
            if change.action is Action.NOOP and want is not None and rec is not None:
                if bool(rec.spec.get("prevent_destroy")) != want.prevent_destroy:
                    rec.spec = {**rec.spec, "prevent_destroy": want.prevent_destroy}
                    self.recorder.put(rec)

    def _apply_change(self, change: Change, want: ClusterSpec | None) -> None:
        if self.stop.is_set():
            raise _Stopped()
        rec = self.recorder.get(change.address)
        if change.action is Action.CREATE:
            self._create(change.address, want, rec)
        elif change.action is Action.UPDATE:
            self._update(change, rec)
        elif change.action is Action.DELETE:
            self._delete(change.address, rec)
        elif change.action is Action.REPLACE:
            self._delete(change.address, rec, replacing=True)
            if self.stop.is_set():
                raise _Stopped()
            self._create(change.address, want, self.recorder.get(change.address))

    # ---- create --------------------------------------------------------------------------------------
    def _create(self, address: str, want: ClusterSpec, prior: Record | None) -> None:
        may_exist = prior is not None and prior.status == PENDING
        intent = Record(
            address=address,
            status=PENDING,
            name=want.name,
            spec=recorded_spec(want),
            intent_id=prior.intent_id if may_exist and prior.intent_id else str(uuid.uuid4()),
            created_at=prior.created_at if may_exist and prior.created_at else utcnow_iso(),
        )
        intent.updated_at = utcnow_iso()
        self.recorder.put(intent)  # durable before the POST leaves
        started = self.clock()
        self.report(f"{address}: Creating...")
        for attempt in range(CREATE_ATTEMPTS):
            if self.stop.is_set():
                raise _Stopped()
            if may_exist:
                found = self._find_ours(address, intent)
                if found is not None:
                    self._adopt(address, intent, found, started)
                    return
            try:
                res = self.client.create_cluster(
                    instance_type=want.instance_type,
                    num_nodes=want.num_nodes,
                    tp_cluster_name=want.name,
                    container=want.container,
                    deletion_protection=want.deletion_protection,
                    public_keys=list(want.public_keys),
                    save_keys=False,
                )
            except errors.OutcomeUnknown:
                may_exist = True
                self.report(f"{address}: the create's outcome is unknown; looking it up by name")
                continue
            except errors.RateLimited:
                self._sleep(min(30.0, 2.0 ** attempt))
                continue
            except errors.BadRequest as exc:
                self._on_create_rejected(address, intent, may_exist, exc, started)
                return
            except errors.ApiStatusError:
                if not may_exist:
                    self.recorder.remove(address)  # a definite refusal: nothing was made
                raise
            rec = Record(
                address=address,
                status=CREATING,
                name=want.name,
                spec=intent.spec,
                cluster_id=res.cluster_id,
                instance_ids=list(res.instance_ids),
                request_id=res.request_id,
                intent_id=intent.intent_id,
                created_at=intent.created_at,
                updated_at=utcnow_iso(),
            )
            self.recorder.put(rec)  # durable before polling
            self._wait_created(rec, started)
            return
        if may_exist:
            found = self._find_ours(address, intent)
            if found is not None:
                self._adopt(address, intent, found, started)
                return
        raise errors.ApiError(
            f"could not create cluster '{want.name}' after {CREATE_ATTEMPTS} attempts",
            hint="the intent is kept in state; run apply again to resolve it",
        )

    def _on_create_rejected(self, address, intent: Record, may_exist: bool, exc, started) -> None:
        """A 400: if our name is taken, adopt it only when it can be ours; else a clear error."""
        found = live_by_name(self.client.list_clusters()).get(intent.name)
        if found is None:
            if not may_exist:
                self.recorder.remove(address)
            raise exc
        why = stranger_reason(found, intent) if may_exist else "no earlier create of ours could have made it"
        if why is None:
            self._adopt(address, intent, found, started)
            return
        self.recorder.remove(address)  # never leave an intent that a later run could use to adopt a stranger
        raise errors.ApiError(
            f"cluster name '{intent.name}' is already taken by {found.cluster_id}, which tpdeclare does not manage "
            f"({why})",
            hint=f"adopt it with `tpdeclare import {address} {found.cluster_id}`, or give '{address}' another name",
        )

    def _find_ours(self, address: str, intent: Record):
        found = live_by_name(self.client.list_clusters()).get(intent.name)
        if found is None:
            return None
        why = stranger_reason(found, intent)
        if why is not None:
            self.recorder.remove(address)
            raise errors.ApiError(
                f"cluster name '{intent.name}' is taken by {found.cluster_id}, which is not the one tpdeclare "
                f"asked for ({why})",
                hint=f"adopt it with `tpdeclare import {address} {found.cluster_id}`, or rename '{address}'",
            )
        return found

    def _adopt(self, address: str, intent: Record, found, started: float) -> None:
        rec = Record(
            address=address,
            status=status_of(found),
            name=intent.name,
            spec=intent.spec,
            cluster_id=found.cluster_id,
            instance_ids=list(found.instance_ids),
            intent_id=intent.intent_id,
            created_at=intent.created_at,
            updated_at=utcnow_iso(),
        )
        self.recorder.put(rec)
        self.report(f"{address}: adopted {found.cluster_id}, created by an earlier attempt")
        if rec.status == TAINTED:
            raise errors.ApiError(f"provisioning of {found.cluster_id} failed", hint="the next apply replaces it")
        if rec.status == CREATING:
            self._wait_created(rec, started)
        else:
            self.report(f"{address}: Creation complete after {elapsed_text(self.clock() - started)} [id={rec.cluster_id}]")

    def _wait_created(self, rec: Record, started: float) -> None:
        """Poll until the cluster is up: ready, or tainted with the server's words."""
        on_poll = self._progress(rec.address, "creating", started)
        if rec.request_id:
            info = self._guard(
                lambda: self.client.wait_for_request(
                    rec.request_id, deadline_seconds=self.deadline, what=f"{rec.address} ({rec.cluster_id}) to be created",
                    on_poll=on_poll,
                )
            )
            ok, message = info.succeeded, info.external_message
        else:
            ok, message = self._wait_cluster_running(rec, on_poll)
        rec.updated_at = utcnow_iso()
        if ok:
            rec.status = READY
            self.recorder.put(rec)
            self.report(f"{rec.address}: Creation complete after {elapsed_text(self.clock() - started)} [id={rec.cluster_id}]")
            return
        rec.status = TAINTED
        rec.message = message or "provisioning FAILED"
        self.recorder.put(rec)
        raise errors.ApiError(
            f"provisioning of {rec.cluster_id} failed: {rec.message}",
            hint="the cluster is marked tainted; the next apply replaces it",
        )

    def _wait_cluster_running(self, rec: Record, on_poll) -> tuple[bool, str | None]:
        deadline = self.clock() + self.deadline
        while True:
            info = self._guard(lambda: self.client.cluster_info(rec.cluster_id))
            if info.is_running:
                rec.instance_ids = list(info.instance_ids)
                return True, None
            if info.is_failed:
                return False, "the engine reports the cluster FAILED"
            on_poll(info)
            if self.clock() > deadline:
                raise errors.PollTimeout(f"timed out waiting for {rec.address} ({rec.cluster_id}) to be running")
            self._sleep(2.0)

    # ---- update --------------------------------------------------------------------------------------
    def _update(self, change: Change, rec: Record) -> None:
        edits = {fc.field: fc.after for fc in change.field_changes if fc.effect == "in_place"}
        started = self.clock()
        self.report(f"{change.address}: Modifying... [id={rec.cluster_id}]")
        self.client.edit_cluster(
            rec.cluster_id,
            cluster_name=edits.get("name"),
            deletion_protection=edits.get("deletion_protection"),
        )
        rec.spec = {**rec.spec, **edits}
        if "name" in edits:
            rec.name = edits["name"]
        rec.updated_at = utcnow_iso()
        self.recorder.put(rec)
        self.report(
            f"{change.address}: Modifications complete after {elapsed_text(self.clock() - started)} [id={rec.cluster_id}]"
        )

    # ---- delete --------------------------------------------------------------------------------------
    def _delete(self, address: str, rec: Record, replacing: bool = False) -> None:
        if rec is None:
            return
        if rec.status == PENDING or not rec.cluster_id:
            self.recorder.remove(address)
            return
        rec.status = DELETING
        rec.updated_at = utcnow_iso()
        self.recorder.put(rec)  # durable before the DELETE leaves
        started = self.clock()
        self.report(f"{address}: Destroying... [id={rec.cluster_id}]")
        result = None
        for attempt in range(CREATE_ATTEMPTS):
            if self.stop.is_set():
                raise _Stopped()
            try:
                result = self.client.delete_cluster(rec.cluster_id)
                break
            except errors.NotFound:
                break  # already gone
            except (errors.OutcomeUnknown, errors.RateLimited):
                # DELETE names one cluster by ID: asking again cannot touch anything else.
                self._sleep(min(30.0, 2.0 ** attempt))
        else:
            raise errors.ApiError(f"could not destroy {rec.cluster_id}", hint="run the command again")
        if result is not None and result.request_id:
            info = self._guard(
                lambda: self.client.wait_for_request(
                    result.request_id, deadline_seconds=self.deadline,
                    what=f"{address} ({rec.cluster_id}) to be destroyed",
                    on_poll=self._progress(address, "destroying", started),
                )
            )
            if not info.succeeded:
                raise errors.ApiError(
                    f"destroying {rec.cluster_id} failed: {info.external_message or info.status}",
                    hint="the record is kept as `deleting`; run the command again",
                )
        self.recorder.remove(address)
        self.report(f"{address}: Destruction complete after {elapsed_text(self.clock() - started)}")

    # ---- helpers -------------------------------------------------------------------------------------
    def _progress(self, address: str, verb: str, started: float):
        last = [started]

        def on_poll(_info) -> None:
            if self.stop.is_set():
                raise _Stopped()
            now = self.clock()
            if now - last[0] >= PROGRESS_EVERY_SECONDS:
                last[0] = now
                self.report(f"{address}: Still {verb}... [{elapsed_text(now - started)} elapsed]")

        return on_poll

    def _guard(self, call):
        try:
            return call()
        except _Stopped:
            raise
        except errors.PollTimeout as exc:
            raise errors.PollTimeout(str(exc), hint="the record stays in state; the next run picks it up") from exc

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopped()


def _describe(exc: errors.TpdeclareError) -> str:
    return exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
