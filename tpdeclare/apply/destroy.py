"""The destroy protocol: `deleting` is durable before the DELETE; an ambiguous answer is settled by a lookup.

A cluster already gone is forgotten; a definite refusal restores the record; an intent whose create was never
confirmed is looked up first (allowing a late create its grace period), adopted if ours so that it is
destroyed, else dropped.
"""

from __future__ import annotations

from dataclasses import replace

from tpdeclare import errors
from tpdeclare.apply.context import ApplyContext, elapsed_text
from tpdeclare.apply.create import Creator
from tpdeclare.apply.ownership import utcnow_iso
from tpdeclare.apply.polling import Poller
from tpdeclare.state.model import DELETING, PENDING, Record, RecordStatus

DELETE_ATTEMPTS = 4  # DELETEs per destroy (each ambiguous one is followed by a lookup by ID)


class Destroyer:
    """Destroys recorded clusters, forgetting each only once the engine says it is gone."""

    def __init__(self, ctx: ApplyContext, poller: Poller, creator: Creator):
        self.ctx = ctx
        self.poll = poller
        self.creator = creator

    def destroy(self, address: str, rec: Record | None) -> None:
        ctx = self.ctx
        if rec is None:
            return
        if rec.status == PENDING or not rec.cluster_id:
            rec = self._resolve_intent(address, rec)
            if rec is None:
                return
        ctx.check_stop()
        before = rec.status
        rec = replace(rec, status=DELETING, updated_at=utcnow_iso())
        ctx.recorder.put(rec)  # durable before the DELETE leaves
        assert rec.cluster_id is not None
        started = ctx.clock()
        ctx.report(f"{address}: Destroying... [id={rec.cluster_id}]")
        request_id, gone = self._send(address, rec, before)
        if not gone:
            on_poll = self.poll.progress(address, "destroying", started)
            what = f"{address} ({rec.cluster_id}) to be destroyed"
            info = None
            if request_id:
                try:
                    info = self.poll.request(request_id, what, on_poll, started)
                except errors.NotFound:
                    info = None
            if info is not None:
                if not info.succeeded:
                    raise errors.ApiError(
                        f"destroying {rec.cluster_id} failed: {info.external_message or info.status}",
                        hint="the record is kept as `deleting`; run the command again",
                    )
            else:
                self.poll.cluster(rec, on_poll, started, what, until_gone=True)
        kept = rec.after_destroy(utcnow_iso())  # a destroy for expiry leaves the memory that it expired
        if kept is None:
            ctx.recorder.remove(address)
        else:
            ctx.recorder.put(kept)
        ctx.report(f"{address}: Destruction complete after {elapsed_text(ctx.clock() - started)}")

    def _send(self, address: str, rec: Record, before: RecordStatus) -> tuple[str | None, bool]:
        """Send the DELETE: (request ID, already gone). An ambiguous answer is settled by looking the
        cluster up; a definite refusal restores the record's status before raising."""
        assert rec.cluster_id is not None
        maybe_sent = False
        for attempt in range(DELETE_ATTEMPTS):
            if attempt:
                self.ctx.check_stop()
            try:
                return self.ctx.api.delete_cluster(rec.cluster_id).request_id, False
            except errors.NotFound:
                return None, True  # already gone
            except errors.OutcomeUnknown as exc:
                maybe_sent = True
                self.ctx.report(f"{address}: the destroy's outcome is unknown ({exc.message}); looking the cluster up")
                where = self.poll.whereabouts(rec.cluster_id)
                if where == "gone":
                    return None, True
                if where == "destroying":
                    return None, False  # it took: watch the cluster go
                # untouched: ask again (DELETE names one cluster by ID; nothing else can be hit)
            except (errors.ApiStatusError, errors.ApiConnectionError, errors.DeadlineExceeded):
                if not maybe_sent:
                    self._restore(rec, before)  # a definite refusal, or never sent: nothing happened
                raise
        raise errors.ApiError(f"could not destroy {rec.cluster_id}",
                              hint="the record is kept as `deleting`; run the command again")

    def _restore(self, rec: Record, status: RecordStatus) -> None:
        self.ctx.recorder.put(replace(rec, status=status, updated_at=utcnow_iso()))

    def _resolve_intent(self, address: str, rec: Record) -> Record | None:
        """An intent whose create was never confirmed, at an address the plan destroys: look it up
        (allowing a late create a grace period); adopt what is ours so that it is destroyed, else drop it."""
        found = self.creator.look_for_late_create(address, rec)
        if found is None:
            self.ctx.recorder.remove(address)
            self.ctx.report(f"{address}: the interrupted create of '{rec.name}' made nothing; its intent is dropped")
            return None
        rec = self.creator.record_found(rec, found)
        self.ctx.report(f"{address}: found {found.cluster_id}, made by an interrupted create; destroying it")
        return rec
