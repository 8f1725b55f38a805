"""Carries out one volume step (create, edit, destroy, attach, detach), each with the exactly-once protocol.

Create, as for clusters (DESIGN §5): the intent (`pending`, name, intent id) is durable before
`POST /storage/create`; the name is the idempotency key. A 202 is recorded (`creating`, storage_id,
request_id) and its request polled to `ready` (or `tainted`); with no request known (adopted by name,
or the engine forgot it) the volume itself is read until ready. An answer that may have been lost is never
guessed at: the volume is looked up by name in one `GET /storage/list`; found -> adopted, not found ->
sent again (the engine refuses a taken name, so a late first request cannot make a second volume). A
taken name with no intent of ours is someone else's volume: an error with `tpdeclare import` as the hint.
Destroy: `deleting` before the DELETE; a 404 means gone. Attach and detach: each request ID polled, then
the record's `attached` map updated; a lost answer is settled by reading the volume (`GET /storage/info`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import cast

from tpdeclare import errors
from tpdeclare.api.protocol import StorageApi
from tpdeclare.api.storage_models import VolumeInfo
from tpdeclare.apply.context import ApplyContext, elapsed_text
from tpdeclare.apply.ownership import utcnow_iso
from tpdeclare.apply.polling import TIMEOUT_HINT, Poller
from tpdeclare.plan.storage_model import AttachmentStep, Link, VolumeChange
from tpdeclare.spec.model import VolumeSpec
from tpdeclare.state.model import CREATING, DELETING, PENDING, READY, TAINTED
from tpdeclare.state.volumes import VolumeRecord, volume_address

MAX_SENDS = 3  # creates sent for one volume when each answer is lost (each preceded by a lookup by name)
_FAILED = "FAILED"


def storage_api(ctx: ApplyContext) -> StorageApi:
    api = ctx.api
    if not callable(getattr(api, "create_storage", None)):
        raise errors.ApplyError("this engine client cannot manage storage volumes",
                                hint="upgrade tpdeclare; nothing was sent for the volumes")
    return cast(StorageApi, api)


class VolumeOps:
    """The volume operations of one apply (they share the context's recorder, clock, stop flag and deadline)."""

    def __init__(self, ctx: ApplyContext, poller: Poller):
        self.ctx, self.poller = ctx, poller

    @property
    def api(self) -> StorageApi:
        return storage_api(self.ctx)

    # -- one volume change --------------------------------------------------------------------------
    def apply(self, change: VolumeChange) -> None:
        from tpdeclare.plan.model import Action

        self.ctx.check_stop()
        rec = self.ctx.recorder.get_volume(change.address)
        if change.action is Action.CREATE:
            assert change.desired is not None
            self.create(change.desired, rec)
        elif change.action is Action.UPDATE:
            assert change.desired is not None and rec is not None
            if rec.status == CREATING:  # an earlier run's create, still being made: the engine edits ready ones
                self.wait_earlier(change.address)
                rec = self.ctx.recorder.get_volume(change.address) or rec
            self.edit(change, rec)
        elif change.action is Action.DELETE:
            self.destroy(change.address, rec)
        elif change.action is Action.REPLACE:
            assert change.desired is not None
            if rec is not None and change.lift_protection and rec.storage_id:
                self._edit_call(rec.storage_id, deletion_protection=False)
            self.destroy(change.address, rec)
            self.ctx.check_stop()
            self.create(change.desired, None)

    def _spec(self, want: VolumeSpec) -> dict[str, object]:
        return {**want.fields(), "prevent_destroy": want.prevent_destroy}

    def create(self, want: VolumeSpec, rec: VolumeRecord | None) -> None:
        shown = volume_address(want.address)
        now = utcnow_iso()
        if rec is None or rec.status != PENDING or rec.name != want.name:
            rec = VolumeRecord(want.address, PENDING, want.name, self._spec(want), intent_id=uuid.uuid4().hex,
                               created_at=now, updated_at=now)
            self.ctx.recorder.put_volume(rec)  # the intent is durable before the POST
        for _attempt in range(MAX_SENDS):
            self.ctx.check_stop()
            try:
                answer = self.api.create_storage(size_gb=want.size_gb, name=want.name,
                                                 deletion_protection=want.deletion_protection)
            except errors.OutcomeUnknown:
                found = self.find_by_name(want.name)
                if found is not None:
                    self._adopt(rec, found)
                    return
                continue  # never reached the engine: send again (a late first one would be refused by name)
            except errors.BadRequest as exc:
                found = self.find_by_name(want.name)
                if found is None:
                    raise
                if not _ours(found, want):
                    raise errors.ApplyError(
                        f"{shown}: the storage name {want.name!r} is taken by {found.storage_id}, which this "
                        "intent did not make", hint=f"adopt it with `tpdeclare import {shown} {found.storage_id}`, "
                                                    "or give the volume another `name:`") from exc
                self._adopt(rec, found)
                return
            rec = replace(rec, status=CREATING, storage_id=answer.storage_id, request_id=answer.request_id,
                          updated_at=utcnow_iso())
            self.ctx.recorder.put_volume(rec)
            self.ctx.report(f"{shown}: Creating... [id={answer.storage_id}]")
            self._finish_create(rec)
            return
        raise errors.OutcomeUnknown(f"{shown}: {MAX_SENDS} creates got no answer, and no volume is named "
                                    f"{want.name!r}", hint="run apply again: it looks the name up first")

    def _adopt(self, rec: VolumeRecord, found: VolumeInfo) -> None:
        self.ctx.report(f"{volume_address(rec.address)}: Found {found.storage_id} under its name: adopted")
        rec = replace(rec, status=CREATING, storage_id=found.storage_id, updated_at=utcnow_iso())
        self.ctx.recorder.put_volume(rec)
        self._finish_create(rec)

    def wait_earlier(self, address: str) -> None:
        """Wait for a volume an earlier run left `creating` (recovery found the engine still making it)."""
        self.ctx.check_stop()
        rec = self.ctx.recorder.get_volume(address)
        if rec is None or rec.status != CREATING:
            return
        self.ctx.report(f"{volume_address(address)}: Still creating (started by an earlier run)... "
                        f"[id={rec.storage_id}]")
        self._finish_create(rec)

    def _finish_create(self, rec: VolumeRecord) -> None:
        """Poll the create's request (or, with none known, the volume itself) until it is ready or FAILED."""
        shown = volume_address(rec.address)
        started = self.ctx.clock()
        on_poll = self.poller.progress(shown, "creating", started)
        failure: tuple[str | None, str] | None = None  # (the engine's words, what state says without them)
        info = None
        if rec.request_id:
            try:
                info = self.poller.request(rec.request_id, f"{shown} to be created", on_poll, started)
            except errors.NotFound:
                info = None  # the engine forgot the request: watch the volume instead
        if info is not None:
            failure = (info.external_message or None, "the create FAILED") if info.status.upper() == _FAILED else None
        else:
            failure = self._watch_created(rec, on_poll, started)
        if failure is not None:
            words, fallback = failure
            self.ctx.recorder.put_volume(replace(rec, status=TAINTED, updated_at=utcnow_iso(),
                                                 message=words or fallback))
            raise errors.ApplyError(f"{shown}: the create FAILED: {words or 'no message'}",
                                    hint="the next apply replaces it")
        self.ctx.recorder.put_volume(replace(rec, status=READY, request_id=None, updated_at=utcnow_iso()))
        self.ctx.report(f"{shown}: Creation complete [id={rec.storage_id}]")

    def _watch_created(self, rec: VolumeRecord, on_poll: Callable[[object], None], started: float
                       ) -> tuple[str | None, str] | None:
        """Read the volume until the engine lists it ready (None) or FAILED, within the deadline."""
        assert rec.storage_id is not None
        shown = volume_address(rec.address)
        while True:
            try:
                seen = self.api.storage_info(rec.storage_id)
            except errors.NotFound:
                seen = None
            if seen is None or seen.is_destroyed:
                raise errors.ApiError(f"{shown}: {rec.storage_id} disappeared while it was being created",
                                      hint="the next run forgets it and creates it again")
            if seen.status.upper() == "DESTROYING":
                raise errors.ApiError(f"{shown}: {rec.storage_id} is being destroyed by someone else while it was "
                                      "being created", hint="the next run forgets it once it is gone and creates "
                                                            "it again")
            if seen.is_ready:
                return None
            if seen.is_failed:
                return "the engine reports the volume FAILED", "the create FAILED"
            on_poll(seen)
            if self.ctx.past_deadline():
                raise errors.PollTimeout(f"timed out after {elapsed_text(self.ctx.clock() - started)} waiting for "
                                         f"{shown} ({rec.storage_id}) to be created", hint=TIMEOUT_HINT)
            self.ctx.sleep(self.ctx.pace.cluster_poll)

    def find_by_name(self, name: str) -> VolumeInfo | None:
        matches = [v for v in self.api.list_storage() if v.name == name and not v.is_destroyed]
        return matches[0] if matches else None

    def edit(self, change: VolumeChange, rec: VolumeRecord) -> None:
        assert change.desired is not None and rec.storage_id is not None
        acted = {fc.field: fc.after for fc in change.field_changes if fc.effect.value != "ignored"}
        self._edit_call(rec.storage_id, name=acted.get("name"), deletion_protection=acted.get("deletion_protection"),
                        size_gb=acted.get("size_gb"))
        spec = {**rec.spec, **acted, "prevent_destroy": change.desired.prevent_destroy}
        self.ctx.recorder.put_volume(replace(rec, spec=spec, name=str(spec["name"]), updated_at=utcnow_iso()))
        self.ctx.report(f"{volume_address(rec.address)}: Modifications complete [id={rec.storage_id}]")

    def _edit_call(self, storage_id: str, *, name: object = None, deletion_protection: object = None,
                   size_gb: object = None) -> None:
        result = self.api.edit_storage(
            storage_id, name=name if isinstance(name, str) else None,
            deletion_protection=deletion_protection if isinstance(deletion_protection, bool) else None,
            size_gb=size_gb if isinstance(size_gb, int) else None)
        if result.request_id:
            self._poll(result.request_id, f"the edit of {storage_id}")

    def destroy(self, address: str, rec: VolumeRecord | None) -> None:
        shown = volume_address(address)
        if rec is None or rec.storage_id is None:
            self.ctx.recorder.remove_volume(address)
            return
        self.ctx.recorder.put_volume(replace(rec, status=DELETING, updated_at=utcnow_iso()))
        self.ctx.check_stop()
        try:
            answer = self.api.delete_storage(rec.storage_id)
        except errors.NotFound:
            answer = None
        except errors.OutcomeUnknown:
            answer = None
            if self._exists(rec.storage_id):
                raise
        if answer is not None and answer.request_id:
            self._poll(answer.request_id, f"{shown} to be destroyed")
        self.ctx.recorder.remove_volume(address)
        self.ctx.report(f"{shown}: Destruction complete")

    def _exists(self, storage_id: str) -> bool:
        try:
            return not self.api.storage_info(storage_id).is_destroyed
        except errors.NotFound:
            return False

    def _poll(self, request_id: str, what: str) -> None:
        started = self.ctx.clock()
        info = self.poller.request(request_id, what, self.poller.progress(what, "waiting", started), started)
        if info.status.upper() == _FAILED:
            raise errors.ApplyError(f"{what} FAILED: {info.external_message or 'no message'}")

    # -- attach and detach --------------------------------------------------------------------------
    def link(self, step: AttachmentStep) -> None:
        self.ctx.check_stop()
        shown = volume_address(step.volume)
        vol = self.ctx.recorder.get_volume(step.volume)
        cluster = self.ctx.recorder.get(step.cluster)
        storage_id = vol.storage_id if vol is not None else step.storage_id
        cluster_id = step.cluster_id if step.link is Link.DETACH else (cluster.cluster_id if cluster else None)
        if storage_id is None or cluster_id is None or vol is None:
            raise errors.ApplyError(f"cannot {step.link.value} {shown} and cluster {step.cluster}: "
                                    f"{'the volume' if storage_id is None or vol is None else 'the cluster'} "
                                    "is not recorded", hint="run plan again")
        self.ctx.report(f"{shown}: {step.link.value.capitalize()}ing cluster {step.cluster} ({cluster_id}); "
                        f"{step.restart_note}")
        # The link is recorded before it is sent, as a cluster's intent is: a run killed after the engine took it
        # leaves a state that already says so; one killed before leaves a link the next refresh finds missing and
        # plans again. A refusal puts the record back as it was.
        before = dict(vol.attached)
        self._record_link(step, vol, cluster_id)
        try:
            try:
                if step.link is Link.ATTACH:
                    ids = list(self.api.attach_storage(storage_id, [cluster_id]).request_ids)
                else:
                    detached = self.api.detach_storage(storage_id, cluster_id)
                    ids = [detached.request_id] if detached.request_id else []
            except (errors.OutcomeUnknown, errors.BadRequest, errors.Conflict) as exc:
                # A lost answer, or a link the engine refuses as already made (attached twice, detached when not
                # attached): settled by reading the volume. Linked as the step wants it is done.
                ids = []
                attached_now = cluster_id in self.api.storage_info(storage_id).cluster_ids
                if attached_now != (step.link is Link.ATTACH):
                    raise exc
            for request_id in ids:  # an attach names one request per cluster: each is polled
                self._poll(request_id, f"the {step.link.value} of {shown} and cluster {step.cluster}")
        except (errors.BadRequest, errors.Conflict, errors.ApplyError):
            # refused, or its request FAILED: the link is as it was (a lost answer or a stop stays recorded as
            # sent, and the next refresh settles it)
            now = self.ctx.recorder.get_volume(step.volume)
            if now is not None:
                self.ctx.recorder.put_volume(replace(now, attached=before, updated_at=utcnow_iso()))
            raise
        self.ctx.report(f"{shown}: {'Attached to' if step.link is Link.ATTACH else 'Detached from'} cluster "
                        f"{step.cluster}")

    def _record_link(self, step: AttachmentStep, vol: VolumeRecord, cluster_id: str) -> None:
        vol = self.ctx.recorder.get_volume(step.volume) or vol
        attached = dict(vol.attached)
        if step.link is Link.ATTACH:
            attached[step.cluster] = cluster_id
        else:
            attached.pop(step.cluster, None)
        self.ctx.recorder.put_volume(replace(vol, attached=attached, updated_at=utcnow_iso()))


def _ours(found: VolumeInfo, want: VolumeSpec) -> bool:
    """A volume under our name is taken as the one our pending intent sent when it has the size we asked for
    and serves no cluster yet (a stranger's volume in use is never adopted)."""
    return found.size_gb == want.size_gb and not found.cluster_ids
