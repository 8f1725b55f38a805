"""The executor: carries out a Plan's changes through the API, recording state as it goes (DESIGN §5).

The rules it keeps, per cluster:
- create: the intent (`pending`, name, intent id) is durable before `POST /cluster/create` leaves; the
  202's cluster and request IDs are durable (`creating`) before polling starts; polling ends `ready`,
  or `tainted` with the server's words. An ambiguous answer (lost connection, timeout, 5xx, unreadable
  2xx) is never guessed at: the name is looked up, and the cluster adopted if it is ours, else the
  create is sent again (names are unique, so a late first request cannot make a second cluster).
- destroy: the record is marked `deleting` before `DELETE` leaves; an ambiguous answer is resolved by
  looking the cluster up; a cluster already gone is forgotten; a definite refusal restores the record.
- a record still `creating` from an earlier run (a deadline passed, or the run was killed) whose plan
  is otherwise a no-op is waited for, so that apply ends with it `ready` (or `tainted`).
- stop (first SIGINT/SIGTERM): no new operation starts, calls in flight finish and are recorded, polls
  stop at their next sleep; records left `pending` are then resolved with one list call.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Callable

from tpdeclare import errors
from tpdeclare.apply.protocol import (
    is_gone,
    live_by_name,
    parse_time,
    recorded_elsewhere,
    status_of,
    stranger_reason,
    utcnow_iso,
)
from tpdeclare.plan.model import Action, Change, Plan
from tpdeclare.plan.planner import recorded_spec
from tpdeclare.spec.model import ClusterSpec, StackSpec
from tpdeclare.state.model import CREATING, DELETING, PENDING, READY, TAINTED, Record, RecordStatus
from tpdeclare.state.recorder import Recorder

PROGRESS_EVERY_SECONDS = 10.0
CREATE_ATTEMPTS = 4  # POSTs per create (each ambiguous one is followed by a lookup by name)
DELETE_ATTEMPTS = 4  # DELETEs per destroy (each ambiguous one is followed by a lookup by ID)
READ_ATTEMPTS = 4  # extra tries of an idempotent read that failed transiently (the client retried it already)
CLUSTER_POLL_SECONDS = 1.0  # between `GET /cluster/info` polls when no request ID is known
# A create sent by a run that was killed can still land a little later. Before dropping a `pending`
# intent that nothing was found for (only when the plan destroys its address), wait this long after the
# intent was written, looking again.
LATE_CREATE_GRACE_SECONDS = 30.0
LATE_CREATE_POLL_SECONDS = 2.0

# Failures after which asking again (an idempotent read) is sensible.
TRANSIENT = (errors.ServerError, errors.ApiConnectionError, errors.RateLimited)


@dataclass
class ApplyResult:
    """What an apply did: counts of successes, and one message per failed address."""

    added: int = 0
    changed: int = 0
    replaced: int = 0
    destroyed: int = 0
    waited: int = 0  # clusters left `creating` by an earlier run that this run saw finish
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


def _backoff(attempt: int, base: float = 0.5, cap: float = 8.0) -> float:
    return min(cap, base * 2.0**attempt)


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
        late_create_grace: float = LATE_CREATE_GRACE_SECONDS,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.client = client
        self.recorder = recorder
        self.parallelism = max(1, parallelism)
        self.deadline = deadline_seconds
        self.report = report
        self.stop = stop or threading.Event()
        self.clock = clock
        self.late_create_grace = late_create_grace
        self.wall_clock = wall_clock
        self._import_hint_files = "SPEC"

    # ---- orchestration -------------------------------------------------------------------------------
    def waits(self, plan: Plan) -> list[str]:
        """Addresses the plan leaves alone whose record is still `creating`: apply waits for them."""
        records = self.recorder.records()
        return sorted(
            c.address
            for c in plan.changes
            if c.action is Action.NOOP
            and c.address not in plan.forget
            and c.address in records
            and records[c.address].status == CREATING
        )

    def run(self, plan: Plan, spec: StackSpec) -> ApplyResult:
        result = ApplyResult()
        if spec.files:
            self._import_hint_files = " ".join(spec.files)
        intents = self._apply_state_only(plan, spec)
        # Dropped intents are settled first, before any create: a create of this run must not be
        # mistaken for the late landing of an intent being dropped (the same name, in another address).
        drops: list[tuple[str, Change]] = [("intent", c) for c in plan.changes if c.address in intents]
        work: list[tuple[str, Change]] = [("change", c) for c in plan.changes if c.is_change]
        waits = set(self.waits(plan))
        work += [("wait", c) for c in plan.changes if c.address in waits]
        lock = threading.Lock()

        def one(kind: str, change: Change) -> None:
            try:
                if kind == "wait":
                    self._wait_earlier(change.address)
                elif kind == "intent":
                    self._drop_intent(change.address)
                else:
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
                if kind == "intent":
                    pass
                elif kind == "wait":
                    result.waited += 1
                elif change.action is Action.CREATE:
                    result.added += 1
                elif change.action is Action.UPDATE:
                    result.changed += 1
                elif change.action is Action.REPLACE:
                    result.replaced += 1
                elif change.action is Action.DELETE:
                    result.destroyed += 1

        for phase in (drops, work):
            if not phase:
                continue
            with ThreadPoolExecutor(max_workers=min(self.parallelism, len(phase))) as pool:
                futures = [pool.submit(one, kind, c) for kind, c in phase]
                for f in as_completed(futures):
                    f.result()
        if self.stop.is_set():
            result.interrupted = True
            self._settle_after_stop()
        return result

    def _apply_state_only(self, plan: Plan, spec: StackSpec) -> set[str]:
        """Moves, forgotten records and lifecycle-only edits: state changes with no API call.

        Returns the addresses of `pending` intents the plan drops (their address left the spec): each is
        looked up once more before it is dropped (`_drop_intent`), in the pool with the other work."""
        intents: set[str] = set()
        for change in plan.changes:
            if change.moved_from:
                self.recorder.move(change.moved_from, change.address)
                self.report(f"{change.address}: Moved from {change.moved_from}")
        for address in plan.forget:
            rec = self.recorder.get(address)
            if rec is not None and rec.status == PENDING:
                intents.add(address)
                continue
            self.recorder.remove(address)
            self.report(f"{address}: Forgotten (the cluster no longer exists on the engine)")
        for change in plan.changes:
            want = spec.clusters.get(change.address)
            rec = self.recorder.get(change.address)
            if (
                change.action in (Action.NOOP, Action.UPDATE)
                and want is not None
                and rec is not None
                and rec.status != PENDING
                and bool(rec.spec.get("prevent_destroy")) != want.prevent_destroy
            ):
                self.recorder.put(replace(rec, spec={**rec.spec, "prevent_destroy": want.prevent_destroy}))
        return intents

    def _apply_change(self, change: Change, want: ClusterSpec | None) -> None:
        if self.stop.is_set():
            raise _Stopped()
        rec = self.recorder.get(change.address)
        if change.action is Action.CREATE:
            self._create(change.address, want, rec)
        elif change.action is Action.UPDATE:
            self._update(change, rec)
            rec = self.recorder.get(change.address)
            if rec is not None and rec.status == CREATING:
                self._wait_created(rec, self.clock())  # an earlier run's create, still provisioning
        elif change.action is Action.DELETE:
            self._delete(change.address, rec)
        elif change.action is Action.REPLACE:
            if rec is not None and rec.cluster_id and rec.spec.get("deletion_protection") and not want.deletion_protection:
                self._lift_protection(change.address, rec)  # the plan showed it turned off before the replace
            self._delete(change.address, rec)
            if self.stop.is_set():
                raise _Stopped()
            self._create(change.address, want, self.recorder.get(change.address))

    def _settle_after_stop(self) -> None:
        """After a stop, resolve records left `pending` (an answer lost just before) with one list call."""
        if not any(r.status == PENDING for r in self.recorder.records().values()):
            return
        from tpdeclare.apply.recovery import recover

        try:
            clusters = self.client.list_clusters()  # its retries end at once: the stop is set
        except (errors.TpdeclareError, _Stopped):
            self.report("Could not look up the creates in flight when interrupted; the next run resolves them")
            return
        recover(clusters, self.recorder, self.report, only=(PENDING,))  # one list call; no polling after a stop

    # ---- create --------------------------------------------------------------------------------------
    def _create(self, address: str, want: ClusterSpec, prior: Record | None) -> None:
        earlier = prior if prior is not None and prior.status == PENDING else None
        intent = Record(
            address=address,
            status=PENDING,
            name=want.name,
            spec=recorded_spec(want),
            intent_id=earlier.intent_id if earlier is not None and earlier.intent_id else str(uuid.uuid4()),
            created_at=earlier.created_at if earlier is not None and earlier.created_at else utcnow_iso(),
            updated_at=utcnow_iso(),
        )
        # What an earlier attempt may have made: this intent, and an interrupted one if it asked for
        # another name or shape (the spec changed since).
        candidates = [intent]
        if earlier is not None and (earlier.name != intent.name or _shape(earlier) != _shape(intent)):
            candidates.append(earlier)
        if earlier is not None and earlier.name != intent.name:
            # The intent is about to be rewritten under the new name: give the old name's create its
            # grace period to land first (the lookup below then adopts it), so it cannot land untracked.
            self._look_for_late_create(address, earlier)
        self.recorder.put(intent)  # durable before the POST leaves
        started = self.clock()
        self.report(f"{address}: Creating...")
        may_exist = earlier is not None
        for attempt in range(CREATE_ATTEMPTS):
            if self.stop.is_set():
                if not may_exist:
                    self.recorder.remove(address)  # nothing was sent: no intent to resolve later
                raise _Stopped()
            if may_exist:
                found = self._find_ours(address, intent, candidates)
                if found is not None:
                    self._adopt(address, *found, started)
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
            except errors.OutcomeUnknown as exc:
                may_exist = True
                self.report(f"{address}: the create's outcome is unknown ({exc.message}); looking it up by name")
                continue
            except (errors.RateLimited, errors.ApiConnectionError):
                # 429: not done; connection refused: never sent. Either way nothing exists: ask again.
                self._sleep(_backoff(attempt, base=1.0, cap=30.0))
                continue
            except errors.BadRequest as exc:
                self._on_create_rejected(address, intent, candidates, may_exist, exc, started)
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
                instance_ids=tuple(res.instance_ids),
                request_id=res.request_id,
                intent_id=intent.intent_id,
                created_at=intent.created_at,
                updated_at=utcnow_iso(),
            )
            self.recorder.put(rec)  # durable before polling
            self._wait_created(rec, started)
            return
        if may_exist:
            found = self._find_ours(address, intent, candidates)
            if found is not None:
                self._adopt(address, *found, started)
                return
            raise errors.ApiError(
                f"could not create cluster '{want.name}' after {CREATE_ATTEMPTS} attempts",
                hint="the intent is kept in state; run apply again to resolve it",
            )
        self.recorder.remove(address)  # every attempt was refused before anything was done
        raise errors.ApiError(
            f"could not create cluster '{want.name}': the API refused {CREATE_ATTEMPTS} attempts "
            f"(rate limited or unreachable); nothing was created",
            hint="run apply again in a minute",
        )

    def _on_create_rejected(self, address, intent: Record, candidates, may_exist: bool, exc, started) -> None:
        """A 400: if our name is taken, adopt it only when it can be ours; else a clear error."""
        if may_exist:
            found = self._find_ours(address, intent, candidates)  # raises if a stranger holds our name
            if found is not None:
                self._adopt(address, *found, started)
                return
            raise exc  # not a name conflict we can see: keep the intent, the next run looks again
        taken = live_by_name(self._read(self.client.list_clusters)).get(intent.name)
        self.recorder.remove(address)  # nothing of ours can exist: no earlier create was sent
        if taken is None:
            raise exc
        raise errors.ApiError(
            f"cluster name '{intent.name}' is already taken by {taken.cluster_id}, which tpdeclare does not manage "
            f"(no earlier create of ours could have made it)",
            hint=self._import_hint(address, taken.cluster_id),
        )

    def _import_hint(self, address: str, cluster_id: str) -> str:
        return (
            f"adopt it with `tpdeclare import {address} {cluster_id} {self._import_hint_files}`, "
            f"or give '{address}' another name"
        )

    def _find_ours(self, address: str, intent: Record, candidates: list[Record]):
        """(cluster, the intent it answers) for a cluster an earlier attempt made, or None.

        A stranger under our intent's name means our create cannot have succeeded (names are unique):
        the intent is dropped and the run stops for this address with an error naming the cluster."""
        by_name = live_by_name(self._read(self.client.list_clusters))
        blocker = None
        for cand in candidates:
            found = by_name.get(cand.name)
            if found is None:
                continue
            why = stranger_reason(found, cand) or recorded_elsewhere(found, address, self.recorder.records())
            if why is None:
                return found, cand
            if cand is intent:
                blocker = (found, why)
        if blocker is not None:
            found, why = blocker
            self.recorder.remove(address)
            raise errors.ApiError(
                f"cluster name '{intent.name}' is taken by {found.cluster_id}, which is not the one tpdeclare "
                f"asked for ({why})",
                hint=self._import_hint(address, found.cluster_id),
            )
        return None

    def _adopt(self, address: str, found, matched: Record, started: float) -> None:
        status = status_of(found)
        rec = Record(
            address=address,
            status=status,
            name=matched.name,
            spec=dict(matched.spec),  # what the attempt that made it asked for
            cluster_id=found.cluster_id,
            instance_ids=tuple(found.instance_ids),
            intent_id=matched.intent_id,
            created_at=matched.created_at,
            updated_at=utcnow_iso(),
            message="the engine reports the cluster FAILED" if status == TAINTED else None,
        )
        self.recorder.put(rec)
        self.report(f"{address}: adopted {found.cluster_id}, created by an earlier attempt")
        if rec.status == TAINTED:
            raise errors.ApiError(
                f"provisioning of {found.cluster_id} failed: {rec.message}",
                hint="the cluster is marked tainted; the next apply replaces it",
            )
        if rec.status == CREATING:
            self._wait_created(rec, started)
        else:
            self.report(f"{address}: Creation complete after {elapsed_text(self.clock() - started)} [id={rec.cluster_id}]")

    def _wait_earlier(self, address: str) -> None:
        """Wait for a cluster an earlier run left `creating` (recovery found it still provisioning)."""
        if self.stop.is_set():
            raise _Stopped()
        rec = self.recorder.get(address)
        if rec is None or rec.status != CREATING:
            return
        self.report(f"{address}: Still creating (started by an earlier run)... [id={rec.cluster_id}]")
        self._wait_created(rec, self.clock())

    def _wait_created(self, rec: Record, started: float) -> None:
        """Poll until the cluster is up: ready, or tainted with the server's words."""
        on_poll = self._progress(rec.address, "creating", started)
        what = f"{rec.address} ({rec.cluster_id}) to be created"
        info = None
        if rec.request_id:
            try:
                info = self._poll_request(rec.request_id, what, on_poll, started)
            except errors.NotFound:
                info = None  # the engine forgot the request: watch the cluster instead
        if info is not None:
            ok, message = info.succeeded, info.external_message
        else:
            ok, message, seen = self._poll_cluster(rec, on_poll, started, what, until_gone=False)
            if seen is not None and seen.instance_ids:
                rec = replace(rec, instance_ids=tuple(seen.instance_ids))
        if ok:
            rec = replace(rec, status=READY, updated_at=utcnow_iso())
            self.recorder.put(rec)
            self.report(f"{rec.address}: Creation complete after {elapsed_text(self.clock() - started)} [id={rec.cluster_id}]")
            return
        rec = replace(rec, status=TAINTED, message=message or "provisioning FAILED", updated_at=utcnow_iso())
        self.recorder.put(rec)
        raise errors.ApiError(
            f"provisioning of {rec.cluster_id} failed: {rec.message}",
            hint="the cluster is marked tainted; the next apply replaces it",
        )

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
        rec = replace(rec, spec={**rec.spec, **edits}, name=edits.get("name", rec.name), updated_at=utcnow_iso())
        self.recorder.put(rec)
        self.report(
            f"{change.address}: Modifications complete after {elapsed_text(self.clock() - started)} [id={rec.cluster_id}]"
        )

    def _lift_protection(self, address: str, rec: Record) -> None:
        """Turn deletion protection off (PATCH /cluster/edit) and record it, so the replace can destroy."""
        self.report(f"{address}: Turning deletion protection off before the replace... [id={rec.cluster_id}]")
        self.client.edit_cluster(rec.cluster_id, deletion_protection=False)
        self.recorder.put(replace(rec, spec={**rec.spec, "deletion_protection": False}, updated_at=utcnow_iso()))

    # ---- delete --------------------------------------------------------------------------------------
    def _delete(self, address: str, rec: Record | None) -> None:
        if rec is None:
            return
        if rec.status == PENDING or not rec.cluster_id:
            rec = self._resolve_intent_before_destroy(address, rec)
            if rec is None:
                return
        if self.stop.is_set():
            raise _Stopped()
        before = rec.status
        rec = replace(rec, status=DELETING, updated_at=utcnow_iso())
        self.recorder.put(rec)  # durable before the DELETE leaves
        started = self.clock()
        self.report(f"{address}: Destroying... [id={rec.cluster_id}]")
        request_id = None
        gone = False
        maybe_sent = False
        for attempt in range(DELETE_ATTEMPTS):
            if attempt and self.stop.is_set():
                raise _Stopped()
            try:
                request_id = self.client.delete_cluster(rec.cluster_id).request_id
                break
            except errors.NotFound:
                gone = True  # already gone
                break
            except errors.OutcomeUnknown as exc:
                maybe_sent = True
                self.report(f"{address}: the destroy's outcome is unknown ({exc.message}); looking the cluster up")
                where = self._cluster_whereabouts(rec.cluster_id)
                if where == "gone":
                    gone = True
                    break
                if where == "destroying":
                    break  # it took: watch the cluster go
                # untouched: ask again (DELETE names one cluster by ID; nothing else can be hit)
            except (errors.RateLimited, errors.ApiConnectionError):
                self._sleep(_backoff(attempt, base=1.0, cap=30.0))
            except errors.ApiStatusError:
                if not maybe_sent:
                    self._restore(rec, before)  # a definite refusal: nothing happened
                raise
        else:
            if not maybe_sent:
                self._restore(rec, before)
                raise errors.ApiError(
                    f"could not destroy {rec.cluster_id}: the API refused {DELETE_ATTEMPTS} attempts "
                    f"(rate limited or unreachable); nothing was destroyed",
                    hint="run the command again in a minute",
                )
            raise errors.ApiError(f"could not destroy {rec.cluster_id}", hint="the record is kept as `deleting`; run the command again")
        if not gone:
            on_poll = self._progress(address, "destroying", started)
            what = f"{address} ({rec.cluster_id}) to be destroyed"
            info = None
            if request_id:
                try:
                    info = self._poll_request(request_id, what, on_poll, started)
                except errors.NotFound:
                    info = None
            if info is not None:
                if not info.succeeded:
                    raise errors.ApiError(
                        f"destroying {rec.cluster_id} failed: {info.external_message or info.status}",
                        hint="the record is kept as `deleting`; run the command again",
                    )
            else:
                self._poll_cluster(rec, on_poll, started, what, until_gone=True)
        self.recorder.remove(address)
        self.report(f"{address}: Destruction complete after {elapsed_text(self.clock() - started)}")

    def _restore(self, rec: Record, status: RecordStatus) -> None:
        self.recorder.put(replace(rec, status=status, updated_at=utcnow_iso()))

    def _resolve_intent_before_destroy(self, address: str, rec: Record) -> Record | None:
        """An intent whose create was never confirmed, at an address the plan destroys: look it up
        (allowing a late create a grace period); adopt what is ours so that it is destroyed, else drop it."""
        found = self._look_for_late_create(address, rec)
        if found is None:
            self.recorder.remove(address)
            self.report(f"{address}: the interrupted create of '{rec.name}' made nothing; its intent is dropped")
            return None
        rec = self._record_found(rec, found)
        self.report(f"{address}: found {found.cluster_id}, made by an interrupted create; destroying it")
        return rec

    def _drop_intent(self, address: str) -> None:
        """A `pending` intent the plan drops (recovery did not find its cluster and the address left the
        spec). Look once more, allowing a late create its grace period: what landed is ours and is recorded,
        not forgotten — but not destroyed either, as the plan did not show that — and the run says so."""
        if self.stop.is_set():
            raise _Stopped()
        rec = self.recorder.get(address)
        if rec is None or rec.status != PENDING:
            return
        found = self._look_for_late_create(address, rec)
        if found is None:
            self.recorder.remove(address)
            self.report(f"{address}: the interrupted create of '{rec.name}' made nothing; its intent is dropped")
            return
        self._record_found(rec, found)
        raise errors.ApiError(
            f"{found.cluster_id} ('{rec.name}') was made by an interrupted create after this plan was made; it is "
            f"recorded in state at '{address}', not destroyed",
            hint="run the command again: its plan will show it and destroy it",
        )

    def _record_found(self, rec: Record, found) -> Record:
        rec = replace(rec, cluster_id=found.cluster_id, instance_ids=tuple(found.instance_ids),
                      status=status_of(found), updated_at=utcnow_iso())
        self.recorder.put(rec)
        return rec

    def _look_for_late_create(self, address: str, rec: Record):
        """Our cluster under the intent's name, looking again until the intent is `late_create_grace`
        seconds old (a create sent by a run that was killed can land after it died); None if none."""
        while True:
            found = live_by_name(self._read(self.client.list_clusters)).get(rec.name)
            if found is not None:
                ours = stranger_reason(found, rec) is None and not recorded_elsewhere(found, address, self.recorder.records())
                return found if ours else None  # a stranger's, or another address's: ours cannot exist
            written = parse_time(rec.updated_at or rec.created_at)
            age = (self.wall_clock() - written).total_seconds() if written is not None else float("inf")
            if age >= self.late_create_grace:
                return None
            self.report(
                f"{address}: an interrupted create of '{rec.name}' is not on the engine; looking again in case "
                f"it lands late ({int(self.late_create_grace - age) + 1}s left)"
            )
            self._sleep(min(LATE_CREATE_POLL_SECONDS, max(0.1, self.late_create_grace - age)))

    def _cluster_whereabouts(self, cluster_id: str) -> str:
        """'gone', 'destroying' or 'alive', from `GET /cluster/info`."""
        try:
            info = self._read(lambda: self.client.cluster_info(cluster_id))
        except errors.NotFound:
            return "gone"
        if info.is_destroyed:
            return "gone"
        if info.is_destroying:
            return "destroying"
        return "alive"

    # ---- polling -------------------------------------------------------------------------------------
    def _poll_request(self, request_id: str, what: str, on_poll, started: float):
        """Wait for a request to end, within the deadline counted from `started`; transient failures of a
        poll are retried (polling is idempotent)."""
        failures = 0
        while True:
            remaining = self.deadline - (self.clock() - started)
            try:
                return self.client.wait_for_request(
                    request_id, deadline_seconds=max(0.0, remaining), what=what, on_poll=on_poll
                )
            except errors.PollTimeout as exc:
                raise errors.PollTimeout(
                    str(exc), hint="the record stays in state and the next run picks it up; raise --timeout to wait longer"
                ) from exc
            except TRANSIENT:
                failures += 1
                if failures >= READ_ATTEMPTS:
                    raise
                self._sleep(_backoff(failures))

    def _poll_cluster(self, rec: Record, on_poll, started: float, what: str, *, until_gone: bool):
        """Watch `GET /cluster/info` until the cluster is running/failed (or gone, for a destroy):
        (done, failure words, the last ClusterInfo seen)."""
        while True:
            try:
                info = self._read(lambda: self.client.cluster_info(rec.cluster_id))
            except errors.NotFound:
                if until_gone:
                    return True, None, None
                raise errors.ApiError(
                    f"{rec.cluster_id} disappeared while it was being created",
                    hint="the next run forgets it and plans it again",
                ) from None
            if until_gone:
                if info.is_destroyed:
                    return True, None, info
            elif info.is_running:
                return True, None, info
            elif info.is_failed:
                return False, "the engine reports the cluster FAILED", info
            elif is_gone(info):
                raise errors.ApiError(
                    f"{rec.cluster_id} is being destroyed by someone else while it was being created",
                    hint="the next run forgets it and plans it again",
                )
            on_poll(info)
            if self.clock() - started > self.deadline:
                raise errors.PollTimeout(
                    f"timed out after {elapsed_text(self.deadline)} waiting for {what}",
                    hint="the record stays in state and the next run picks it up; raise --timeout to wait longer",
                )
            self._sleep(CLUSTER_POLL_SECONDS)

    # ---- helpers -------------------------------------------------------------------------------------
    def _read(self, call):
        """An idempotent read, tried a few more times when it fails transiently."""
        for attempt in range(READ_ATTEMPTS):
            try:
                return call()
            except TRANSIENT:
                if attempt == READ_ATTEMPTS - 1:
                    raise
                self._sleep(_backoff(attempt))

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

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopped()


def _shape(rec: Record) -> tuple:
    return (rec.spec.get("instance_type"), int(rec.spec.get("num_nodes") or 1))


def _describe(exc: errors.TpdeclareError) -> str:
    return exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
