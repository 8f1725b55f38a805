"""The create protocol (DESIGN §5): intent before the POST, the name as the idempotency key, adopt only what is ours.

- The intent (`pending`, name, intent id) is durable before `POST /cluster/create` leaves; the 202's cluster
  and request IDs (`creating`) are durable before polling waits, or ride with "ready" in the next batch
  when the polls find the cluster up at once (until then a killed run leaves the intent, which the next run
  resolves by name, as it does for a run killed between the 202 and its write); polling ends `ready`, or
  `tainted` with the server's words.
- An ambiguous answer (lost connection, timeout, 5xx) is never guessed at: the name is looked up, and the
  cluster adopted if it is ours, else the create is sent again (names are unique, so a late first request
  cannot make a second cluster). A 2xx whose body cannot be read is never followed by another POST in the
  same run: the name is looked up, and if it is not there yet the intent is left for the next run.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from tpdeclare import errors
from tpdeclare.apply.context import ApplyContext, elapsed_text
from tpdeclare.apply.ownership import (
    live_by_name,
    parse_time,
    recorded_elsewhere,
    status_of,
    stranger_reason,
    utcnow_iso,
)
from tpdeclare.apply.polling import Poller
from tpdeclare.interrupt import Stopped
from tpdeclare.plan.diff import recorded_spec
from tpdeclare.spec.model import ClusterSpec
from tpdeclare.state.model import CREATING, PENDING, READY, TAINTED, Record

if TYPE_CHECKING:
    from tpdeclare.api.client import ClusterInfo

CREATE_ATTEMPTS = 4  # POSTs per create (each ambiguous one is followed by a lookup by name)
FLUSH_AFTER = 1.0  # seconds a create's cluster ID may wait, unwritten, for its "ready" while polls say "at once"


class Creator:
    """Creates clusters exactly once, and settles intents an earlier run left behind."""

    def __init__(self, ctx: ApplyContext, poller: Poller):
        self.ctx = ctx
        self.poll = poller

    # -- create ------------------------------------------------------------------------------------
    def create(self, address: str, want: ClusterSpec, prior: Record | None) -> None:
        ctx = self.ctx
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
            self.look_for_late_create(address, earlier)
        ctx.recorder.put(intent)  # durable before the POST leaves
        started = ctx.clock()
        ctx.report(f"{address}: Creating...")
        may_exist = earlier is not None
        for _attempt in range(CREATE_ATTEMPTS):
            if ctx.stop.is_set() or ctx.past_deadline():
                if not may_exist:
                    ctx.recorder.remove(address)  # nothing was sent: no intent to resolve later
                if ctx.stop.is_set():
                    raise Stopped()
                raise errors.PollTimeout(f"the deadline passed before '{want.name}' could be created",
                                         hint="the next run resolves it; raise --timeout to wait longer")
            if may_exist:
                found = self.find_ours(address, intent, candidates)
                if found is not None:
                    self._adopt(address, *found, started)
                    return
            try:
                res = ctx.api.create_cluster(
                    instance_type=want.instance_type,
                    num_nodes=want.num_nodes,
                    tp_cluster_name=want.name,
                    container=want.container,
                    deletion_protection=want.deletion_protection,
                    public_keys=list(want.public_keys),
                    save_keys=False,
                )
            except errors.MalformedAcceptance as exc:
                self._settle_acceptance(address, intent, candidates, exc, started)
                return
            except errors.OutcomeUnknown as exc:
                may_exist = True
                ctx.report(f"{address}: the create's outcome is unknown ({exc.message}); looking it up by name")
                continue
            except errors.BadRequest as exc:
                if self._on_rejected(address, intent, candidates, may_exist, exc, started):
                    continue  # the name was held by a cluster being destroyed, and is free now
                return
            except (errors.ApiStatusError, errors.ApiConnectionError, errors.DeadlineExceeded):
                if not may_exist:
                    ctx.recorder.remove(address)  # a definite refusal, or never sent: nothing was made
                raise
            rec = Record(
                address=address, status=CREATING, name=want.name, spec=intent.spec, cluster_id=res.cluster_id,
                instance_ids=tuple(res.instance_ids), request_id=res.request_id, intent_id=intent.intent_id,
                created_at=intent.created_at, updated_at=utcnow_iso(),
            )
            # Queued, not waited for: a store with a commit window writes it with this create's "ready" and the
            # next wave's intents (one PUT per wave, not two) when the cluster is up at once; it is made durable
            # as soon as a poll says to wait (below). A local store writes it at once.
            ctx.recorder.put(rec, wait=False)
            self.wait_created(rec, started, flush_first=True)
            return
        found = self.find_ours(address, intent, candidates)
        if found is not None:
            self._adopt(address, *found, started)
            return
        raise errors.ApiError(
            f"could not create cluster '{want.name}' after {CREATE_ATTEMPTS} attempts",
            hint="the intent is kept in state; run apply again to resolve it",
        )

    def _settle_acceptance(self, address: str, intent: Record, candidates: list[Record],
                           exc: errors.MalformedAcceptance, started: float) -> None:
        """A 2xx we could not read: the create probably happened. Look the name up; never POST again."""
        self.ctx.report(f"{address}: the engine accepted the create but its answer is unreadable ({exc.message}); "
                        f"looking it up by name")
        found = self.find_ours(address, intent, candidates)
        if found is not None:
            self._adopt(address, *found, started)
            return
        raise errors.ApiError(
            f"the engine accepted the create of '{intent.name}' but its answer could not be read, and no cluster of "
            f"that name is listed yet; nothing more was sent",
            hint="the intent is kept in state: the next run looks the name up again and adopts the cluster",
        )

    def _on_rejected(self, address: str, intent: Record, candidates: list[Record], may_exist: bool,
                     exc: errors.BadRequest, started: float) -> bool:
        """A 400: if our name is taken, adopt it only when it can be ours; else a clear error. True when the
        name was held by a cluster on its way out (deleted outside, still destroying) and is free now: the
        400 made nothing, so the create is sent again."""
        ctx = self.ctx
        if may_exist:
            found = self.find_ours(address, intent, candidates)  # raises if a stranger holds our name
            if found is not None:
                self._adopt(address, *found, started)
                return False
            raise exc  # not a name conflict we can see: keep the intent, the next run looks again
        clusters = ctx.api.list_clusters()
        taken = live_by_name(clusters).get(intent.name)
        leaving = next((c for c in clusters if c.name == intent.name and c.is_destroying), None)
        if taken is None and leaving is not None:
            self._wait_released(address, leaving, started)
            return True
        ctx.recorder.remove(address)  # nothing of ours can exist: no earlier create was sent
        if taken is None:
            raise exc
        raise errors.ApiError(
            f"cluster name '{intent.name}' is already taken by {taken.cluster_id}, which tpdeclare does not manage "
            f"(no earlier create of ours could have made it)",
            hint=self.import_hint(address, taken.cluster_id),
        )

    def _wait_released(self, address: str, leaving: ClusterInfo, started: float) -> None:
        """Wait, within the deadline, for a cluster being destroyed to be gone and give its name back."""
        self.ctx.report(f"{address}: the name '{leaving.name}' is still held by {leaving.cluster_id}, which is being "
                        f"destroyed; waiting for it to be gone")
        while self.poll.whereabouts(leaving.cluster_id) != "gone":
            if self.ctx.past_deadline():
                raise errors.PollTimeout(
                    f"timed out after {elapsed_text(self.ctx.clock() - started)} waiting for {leaving.cluster_id} "
                    f"to finish being destroyed and free the name '{leaving.name}'",
                    hint="the next run creates it once the name is free; raise --timeout to wait longer",
                )
            self.ctx.sleep(self.ctx.pace.cluster_poll)

    def import_hint(self, address: str, cluster_id: str) -> str:
        return (
            f"adopt it with `tpdeclare import {address} {cluster_id} {self.ctx.import_hint_files}`, "
            f"or give '{address}' another name"
        )

    def find_ours(self, address: str, intent: Record, candidates: list[Record]) -> tuple[ClusterInfo, Record] | None:
        """(cluster, the intent it answers) for a cluster an earlier attempt made, or None.

        A stranger under our intent's name means our create cannot have succeeded (names are unique):
        the intent is dropped and the run stops for this address with an error naming the cluster."""
        by_name = live_by_name(self.ctx.api.list_clusters())
        blocker = None
        for cand in candidates:
            found = by_name.get(cand.name)
            if found is None:
                continue
            why = stranger_reason(found, cand) or recorded_elsewhere(found, address, self.ctx.recorder.records())
            if why is None:
                return found, cand
            if cand is intent:
                blocker = (found, why)
        if blocker is not None:
            found, why = blocker
            self.ctx.recorder.remove(address)
            raise errors.ApiError(
                f"cluster name '{intent.name}' is taken by {found.cluster_id}, which is not the one tpdeclare "
                f"asked for ({why})",
                hint=self.import_hint(address, found.cluster_id),
            )
        return None

    def _adopt(self, address: str, found: ClusterInfo, matched: Record, started: float) -> None:
        status = status_of(found)
        rec = Record(
            address=address, status=status, name=matched.name,
            spec=dict(matched.spec),  # what the attempt that made it asked for
            cluster_id=found.cluster_id, instance_ids=tuple(found.instance_ids), intent_id=matched.intent_id,
            created_at=matched.created_at, updated_at=utcnow_iso(),
            message="the engine reports the cluster FAILED" if status == TAINTED else None,
        )
        self.ctx.recorder.put(rec)
        self.ctx.report(f"{address}: adopted {found.cluster_id}, created by an earlier attempt")
        if rec.status == TAINTED:
            raise errors.ApiError(
                f"provisioning of {found.cluster_id} failed: {rec.message}",
                hint="the cluster is marked tainted; the next apply replaces it",
            )
        if rec.status == CREATING:
            self.wait_created(rec, started)
        else:
            self.ctx.report(f"{address}: Creation complete after {elapsed_text(self.ctx.clock() - started)} "
                            f"[id={rec.cluster_id}]")

    # -- waiting -----------------------------------------------------------------------------------
    def wait_earlier(self, address: str) -> None:
        """Wait for a cluster an earlier run left `creating` (recovery found it still provisioning)."""
        self.ctx.check_stop()
        rec = self.ctx.recorder.get(address)
        if rec is None or rec.status != CREATING:
            return
        self.ctx.report(f"{address}: Still creating (started by an earlier run)... [id={rec.cluster_id}]")
        self.wait_created(rec, self.ctx.clock())

    def wait_created(self, rec: Record, started: float, *, flush_first: bool = False) -> None:
        """Poll until the cluster is up: ready, or tainted with the server's words. `flush_first`: the record
        may not be durable yet; make it so before the polls wait for the cluster (`_before_a_wait`)."""
        progress = self.poll.progress(rec.address, "creating", started)
        on_poll = progress
        if flush_first:
            queued, flushed = self.ctx.clock(), [False]

            def on_poll(info: object) -> None:
                if not flushed[0] and _before_a_wait(info, self.ctx.clock() - queued):
                    flushed[0] = True
                    self.ctx.recorder.flush()
                progress(info)

        what = f"{rec.address} ({rec.cluster_id}) to be created"
        info = None
        if rec.request_id:
            try:
                info = self.poll.request(rec.request_id, what, on_poll, started)
            except errors.NotFound:
                info = None  # the engine forgot the request: watch the cluster instead
        if info is not None:
            ok, message = info.succeeded, info.external_message
        else:
            ok, message, seen = self.poll.cluster(rec, on_poll, started, what, until_gone=False)
            if seen is not None and seen.instance_ids:
                rec = replace(rec, instance_ids=tuple(seen.instance_ids))
        if ok:
            # Needs no wait: a run killed before this is written sees the cluster ready (by its durable ID, or
            # by its name when the ID rode in the same batch).
            self.ctx.recorder.put(replace(rec, status=READY, updated_at=utcnow_iso()), wait=False)
            self.ctx.report(f"{rec.address}: Creation complete after {elapsed_text(self.ctx.clock() - started)} "
                            f"[id={rec.cluster_id}]")
            return
        rec = replace(rec, status=TAINTED, message=message or "provisioning FAILED", updated_at=utcnow_iso())
        self.ctx.recorder.put(rec)
        raise errors.ApiError(
            f"provisioning of {rec.cluster_id} failed: {rec.message}",
            hint="the cluster is marked tainted; the next apply replaces it",
        )

    # -- intents an earlier run left ---------------------------------------------------------------
    def drop_intent(self, address: str) -> None:
        """A `pending` intent the plan drops (recovery did not find its cluster and the address left the
        spec). Look once more, allowing a late create its grace period: what landed is ours and is recorded,
        not forgotten — but not destroyed either, as the plan did not show that — and the run says so."""
        self.ctx.check_stop()
        rec = self.ctx.recorder.get(address)
        if rec is None or rec.status != PENDING:
            return
        found = self.look_for_late_create(address, rec)
        if found is None:
            self.ctx.recorder.remove(address)
            self.ctx.report(f"{address}: the interrupted create of '{rec.name}' made nothing; its intent is dropped")
            return
        self.record_found(rec, found)
        raise errors.ApiError(
            f"{found.cluster_id} ('{rec.name}') was made by an interrupted create after this plan was made; it is "
            f"recorded in state at '{address}', not destroyed",
            hint="run the command again: its plan will show it and destroy it",
        )

    def record_found(self, rec: Record, found: ClusterInfo) -> Record:
        rec = replace(rec, cluster_id=found.cluster_id, instance_ids=tuple(found.instance_ids),
                      status=status_of(found), updated_at=utcnow_iso())
        self.ctx.recorder.put(rec)
        return rec

    def look_for_late_create(self, address: str, rec: Record) -> ClusterInfo | None:
        """Our cluster under the intent's name, looking again until the intent is `late_create_grace`
        seconds old (a create sent by a run that was killed can land after it died); None if none."""
        ctx = self.ctx
        grace = ctx.pace.late_create_grace
        while True:
            found = live_by_name(ctx.api.list_clusters()).get(rec.name)
            if found is not None:
                ours = stranger_reason(found, rec) is None and not recorded_elsewhere(found, address,
                                                                                      ctx.recorder.records())
                return found if ours else None  # a stranger's, or another address's: ours cannot exist
            written = parse_time(rec.updated_at or rec.created_at)
            age = (ctx.wall_clock() - written).total_seconds() if written is not None else float("inf")
            if age >= grace:
                return None
            ctx.report(
                f"{address}: an interrupted create of '{rec.name}' is not on the engine; looking again in case "
                f"it lands late ({int(grace - age) + 1}s left)"
            )
            ctx.sleep(min(ctx.pace.late_create_poll, max(0.1, grace - age)))


def _before_a_wait(info: object, queued_for: float) -> bool:
    """Whether a poll's answer means waiting: the cluster is not up, and the engine did not say to ask again
    at once (Retry-After: 0), or it has said so for FLUSH_AFTER seconds already."""
    if getattr(info, "is_terminal", False):
        return False
    return getattr(info, "retry_after", None) != 0 or queued_for >= FLUSH_AFTER


def _shape(rec: Record) -> tuple[object, int]:
    nodes = rec.spec.get("num_nodes")
    return rec.spec.get("instance_type"), nodes if isinstance(nodes, int) else 1
