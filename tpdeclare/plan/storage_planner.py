"""Plans storage volumes and their attachments beside a cluster plan, and orders every step by dependency. Pure.

Per volume: create, grow in place (`size_gb` up), rename or change protection in place, destroy; a shrink is
refused (a volume never shrinks) unless `--replace storage.ADDR` asks for a new, empty volume, and nothing
else replaces a volume that holds data. Per (volume, cluster): attach or detach, from what the spec lists
against what state recorded (or, with --refresh, what the engine reports). A cluster that is replaced or
destroyed is detached first and re-attached after (the volume keeps its ID); a volume is detached before it is
destroyed. A kept volume an earlier run left being created is waited for. `plan/ordering.py` turns those rules
into the plan's step order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from tpdeclare.fields import FieldEffect
from tpdeclare.frozen_values import from_fields, replace_fields
from tpdeclare.plan.model import CREATE, DELETE, NOOP, REPLACE, UPDATE, Change, FieldChange, Plan
from tpdeclare.plan.ordering import order_steps
from tpdeclare.plan.storage_model import AttachmentStep, Link, StoragePlan, VolumeChange
from tpdeclare.spec.model import VOLUME_FIELDS, StackSpec, VolumeSpec
from tpdeclare.state.model import CREATING, DELETING, PENDING, TAINTED, State
from tpdeclare.state.volumes import VolumeRecord, volume_address

if TYPE_CHECKING:  # the API's volume models are read only when refreshing (plan_session imports them then)
    from tpdeclare.api.storage_models import VolumeInfo

    ObservedVolumes = Mapping[str, VolumeInfo]  # storage_id -> the engine's view, from one list call

REASON_NO_CONFIG = "delete_because_no_resource_config"
REASON_DELETED_OUTSIDE = "create_because_deleted_outside"
REASON_TAINTED = "replace_because_tainted"
REASON_REQUESTED = "replace_by_request"
REASON_RETRY_CREATE = "create_because_interrupted"
_IN_PLACE = {"size_gb": FieldEffect.IN_PLACE, "name": FieldEffect.IN_PLACE,
             "deletion_protection": FieldEffect.IN_PLACE}
# Every field's default, new fields included: an unchanged volume's change is these with five of them set.
_NOOP = vars(VolumeChange("", NOOP, None, None)).copy()
_STORAGE, _CLUSTER_ID = attrgetter("storage"), attrgetter("cluster_id")


def add_storage(plan: Plan, spec: StackSpec, state: State | None, *, observed: ObservedVolumes | None = None,
                replace: Iterable[str] = (), destroy_all: bool = False, targets: Iterable[str] = ()) -> Plan:
    """`plan` (the clusters') with the volumes and attachments planned and the refusals added."""
    records = dict(state.volumes) if state else {}
    if not spec.volumes and not records and not any(c.storage for c in spec.clusters.values()):
        return plan  # the common case: a stack without storage plans exactly as before
    return _StoragePlanner(plan, spec, state, records, observed, set(replace), destroy_all, set(targets)).run()


assert VOLUME_FIELDS == ("size_gb", "name", "deletion_protection")  # the order `_recorded` reads them in


def _recorded(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A volume's managed fields as its record holds them (None for a missing one), in VOLUME_FIELDS' order."""
    return {"size_gb": spec.get("size_gb"), "name": spec.get("name"),
            "deletion_protection": spec.get("deletion_protection")}


class _StoragePlanner:
    def __init__(self, plan: Plan, spec: StackSpec, state: State | None, records: dict[str, VolumeRecord],
                 observed: ObservedVolumes | None, forced: set[str], destroy_all: bool, targets: set[str]):
        self.plan, self.spec, self.records, self.observed = plan, spec, records, observed
        self.forced, self.destroy_all, self.targets = forced, destroy_all, targets
        # cluster ID -> address, of every record with an ID (a later record wins a repeated ID), built in C
        resources = state.resources if state else {}
        self.cluster_ids = dict(zip(map(_CLUSTER_ID, resources.values()), resources, strict=True))
        self.cluster_ids.pop(None, None)
        self.cluster_ids.pop("", None)
        self.blocked: list[str] = []
        self.conflicts: list[str] = []

    def _targeted(self, address: str) -> bool:
        """With --target, a volume named (`storage.ADDR`) or linked to a targeted cluster (in the spec or in
        state): as Terraform's -target takes the dependencies of what it targets."""
        if not self.targets or volume_address(address) in self.targets:
            return True
        rec = self.records.get(address)
        return any(c in self.targets for c in (rec.attached if rec else ())) or any(
            address in c.storage for a, c in self.spec.clusters.items() if a in self.targets)

    def run(self) -> Plan:
        desired: dict[str, VolumeSpec] = {} if self.destroy_all else dict(self.spec.volumes)
        volumes = [self._volume(a, desired.get(a), self.records.get(a))
                   for a in sorted(set(desired) | set(self.records)) if self._targeted(a)]
        changes = {v.address: v for v in volumes}
        steps = self._attachments(changes, desired)
        # A volume an earlier run left being created and this plan keeps: apply waits for it to be ready (an
        # edit of it waits first too), and every attach of it waits for that.
        waits = tuple(v.address for v in volumes if v.action in (NOOP, UPDATE) and not self.conflicts
                      and (rec := self.records.get(v.address)) is not None and rec.status == CREATING)
        # an untouched cluster's change is no step; a cluster still being created is waited for before an attach
        order = order_steps(self.plan.notable, volumes, steps, waits, self.plan.waits)
        storage = StoragePlan(volumes=tuple(volumes), attachments=tuple(steps), order=order,
                              monthly_before=round(sum(v.monthly_before for v in volumes), 6),
                              monthly_after=round(sum(v.monthly_after for v in volumes), 6), waits=waits)
        return replace_fields(self.plan, storage=storage, blocked=self.plan.blocked + tuple(self.blocked),
                              conflicts=self.plan.conflicts + tuple(self.conflicts))

    # -- volumes ----------------------------------------------------------------------------------
    def _seen(self, rec: VolumeRecord) -> VolumeInfo | None:
        if self.observed is None or not rec.storage_id:
            return None
        return self.observed.get(rec.storage_id)

    def _gone_outside(self, rec: VolumeRecord) -> bool:
        if self.observed is None or rec.status == PENDING:
            return False
        seen = self._seen(rec)
        return seen is None or seen.is_destroyed

    def _current(self, rec: VolumeRecord) -> dict[str, Any]:
        seen = self._seen(rec)
        if seen is None:
            return _recorded(rec.spec)
        return {"size_gb": seen.size_gb, "name": seen.name or rec.name, "deletion_protection": seen.deletion_protection}

    def _unchanged(self, address: str, want: VolumeSpec | None, rec: VolumeRecord | None) -> VolumeChange | None:
        """The general path's change for a settled volume recorded exactly as wanted, without a refresh or a
        --replace of it: a no-op (built 4x faster, from its fields); else None (the general path decides)."""
        if want is None or rec is None or self.observed is not None or rec.status in (PENDING, TAINTED, DELETING):
            return None
        before, after = _recorded(rec.spec), want.fields()  # before = self._current(rec): no refresh
        if before != after or (self.forced and volume_address(address) in self.forced):
            return None
        fields = _NOOP.copy()
        fields["address"], fields["before"], fields["after"] = address, before, after
        fields["storage_id"], fields["desired"] = rec.storage_id, want
        return from_fields(VolumeChange, fields)

    def _volume(self, address: str, want: VolumeSpec | None, rec: VolumeRecord | None) -> VolumeChange:
        unchanged = self._unchanged(address, want, rec)
        if unchanged is not None:
            return unchanged
        after = want.fields() if want else None
        shown = volume_address(address)
        if rec is None:
            return VolumeChange(address, CREATE, None, after, desired=want)
        if rec.status == PENDING:
            if want is None:
                return VolumeChange(address, NOOP, None, None, notes=(
                    "an interrupted create never reached the engine; its intent will be dropped",))
            return VolumeChange(address, CREATE, None, after, reason=REASON_RETRY_CREATE, desired=want,
                                notes=("an interrupted create was not found on the engine; it will be created again",))
        if self._gone_outside(rec):
            if want is None:
                return VolumeChange(address, NOOP, None, None, storage_id=rec.storage_id, notes=(
                    f"{rec.storage_id} no longer exists on the engine; it will be forgotten",))
            return VolumeChange(address, CREATE, None, after, reason=REASON_DELETED_OUTSIDE, desired=want,
                                storage_id=rec.storage_id, notes=(
                                    f"{rec.storage_id} was deleted outside tpdeclare (its data with it); a new, "
                                    "empty volume will be created",))
        before = self._current(rec)
        if want is None:
            self._check_destroy(shown, rec, before, "destroy")
            return VolumeChange(address, DELETE, before, None, reason=REASON_NO_CONFIG,
                                storage_id=rec.storage_id)
        assert after is not None
        diffs = tuple(FieldChange(f, before.get(f), after[f],
                                  FieldEffect.IGNORED if f in want.ignore_changes else _IN_PLACE[f])
                      for f in VOLUME_FIELDS if before.get(f) != after[f])
        acted = [d for d in diffs if d.effect is not FieldEffect.IGNORED]
        notes = tuple(f"{d.field} differs but is in lifecycle.ignore_changes; left as it is"
                      for d in diffs if d.effect is FieldEffect.IGNORED)
        common: dict[str, Any] = dict(before=before, after=after, field_changes=diffs, storage_id=rec.storage_id,
                                      desired=want)
        shrink = next((d for d in acted if d.field == "size_gb" and isinstance(d.before, int)
                       and isinstance(d.after, int) and d.after < d.before), None)
        if shown in self.forced or rec.status in (TAINTED, DELETING):
            reason = REASON_REQUESTED if shown in self.forced else REASON_TAINTED
            extra = ((f"replace requested with --replace {shown}: the new volume is empty, the old one's data is "
                      "destroyed",) if shown in self.forced
                     else ("an earlier create or destroy of this volume did not finish: "
                           f"{rec.message or 'no message'}",))
            lift = bool(before.get("deletion_protection")) and not want.deletion_protection
            if not lift:
                self._check_destroy(shown, rec, before, "replace")
            elif rec.spec.get("prevent_destroy") or want.prevent_destroy:
                self._check_destroy(shown, rec, {**before, "deletion_protection": False}, "replace")
            return VolumeChange(address, REPLACE, replace_paths=("size_gb",) if shrink else (), reason=reason,
                                notes=notes + extra, lift_protection=lift, **common)
        if shrink is not None:
            why = (f"{shown}: size_gb {shrink.before} -> {shrink.after}: a volume can grow but never shrink; keep "
                   f"size_gb: {shrink.before} or more")
            if want.prevent_destroy or rec.spec.get("prevent_destroy"):
                self.blocked.append(f"{why} (lifecycle.prevent_destroy also forbids replacing it)")
            else:
                self.conflicts.append(f"{why}, or replace it with a new, empty volume: --replace {shown} "
                                      "(its data is lost)")
            return VolumeChange(address, NOOP, notes=notes + ("a shrink is refused",), **common)
        action = UPDATE if acted else NOOP
        return VolumeChange(address, action, notes=notes, **common)

    def _check_destroy(self, shown: str, rec: VolumeRecord, before: Mapping[str, Any], verb: str) -> None:
        if rec.spec.get("prevent_destroy"):
            self.blocked.append(f"{shown}: lifecycle.prevent_destroy forbids this plan to {verb} it (its data would "
                                "be lost); remove prevent_destroy first if you mean it")
        elif before.get("deletion_protection"):
            self.blocked.append(f"{shown}: the volume has deletion protection, so the engine would refuse to {verb} "
                                "it; set deletion_protection: false and apply first")

    # -- attachments --------------------------------------------------------------------------------
    def _current_links(self, rec: VolumeRecord | None) -> dict[str, str]:
        """cluster address -> cluster ID the volume is attached to now (the engine's view with --refresh)."""
        if rec is None or rec.status == PENDING:
            return {}
        seen = self._seen(rec)
        if self.observed is None or seen is None:
            return {} if self._gone_outside(rec) else dict(rec.attached)
        return {self.cluster_ids[cid]: cid for cid in seen.cluster_ids if cid in self.cluster_ids}

    def _attachments(self, changes: Mapping[str, VolumeChange], desired: Mapping[str, VolumeSpec]
                     ) -> list[AttachmentStep]:
        wanted = {(v, c.address) for c in filter(_STORAGE, self.spec.clusters.values()) for v in c.storage
                  if not self.destroy_all and v in desired}
        outline = cache(self.plan.outline)  # each cluster's is read up to twice per volume
        serving: dict[str, list[str]] = {}
        for v, c in sorted(wanted):
            serving.setdefault(v, []).append(c)
        steps: list[AttachmentStep] = []
        for address in sorted(changes):
            vol = changes[address]
            current = self._current_links(self.records.get(address))
            volume_goes = vol.action in (REPLACE, DELETE)
            kept_id = vol.storage_id if vol.action in (NOOP, UPDATE) else None
            for cluster, cluster_id in sorted(current.items()):
                change = outline(cluster)  # its action, whether it exists, its ID: no Change built
                if self.cluster_ids.get(cluster_id) != cluster:
                    continue  # that cluster is gone from state (destroyed, expired, forgotten): nothing to detach
                if change is not None and (change.action is CREATE
                                           or (change.action is NOOP and not change.has_before)):
                    continue  # its cluster is gone (deleted outside, or an intent): nothing is attached to detach
                cluster_goes = change is not None and change.action in (REPLACE, DELETE)
                if not cluster_goes and not volume_goes and (address, cluster) in wanted:
                    continue  # attached, and stays so
                why = ("the volume is destroyed" if vol.action is DELETE
                       else "the volume is replaced" if vol.action is REPLACE
                       else f"cluster {cluster} is replaced" if change and change.action is REPLACE
                       else f"cluster {cluster} is destroyed" if cluster_goes
                       else f"cluster {cluster} no longer lists it")
                steps.append(AttachmentStep(Link.DETACH, address, cluster, cluster_id, vol.storage_id, why))
            for cluster in serving.get(address, ()):
                change = outline(cluster)
                if change is None or change.action is DELETE:
                    continue  # targeted out, or destroyed (an expired cluster): nothing to attach to
                fresh = change.action in (CREATE, REPLACE)
                if cluster in current and not fresh and not volume_goes:
                    continue  # attached, and stays so
                why = ("the new volume" if vol.action in (CREATE, REPLACE) else
                       f"re-attached after cluster {cluster} is replaced" if change.action is REPLACE
                       else f"cluster {cluster} is created" if fresh
                       else "drift: detached outside tpdeclare" if self.records.get(address) is not None
                       and self.observed is not None and cluster in self.records[address].attached
                       else f"cluster {cluster} lists it")
                steps.append(AttachmentStep(Link.ATTACH, address, cluster, None if fresh else change.cluster_id,
                                            kept_id, why))
        return steps


def restart_notes(storage: StoragePlan, cluster: Change) -> tuple[str, ...]:
    """The attach/detach lines a cluster's change carries in plans."""
    return tuple(f"{s.link.value} storage.{s.volume}: {s.restart_note}" for s in storage.attachments
                 if s.cluster == cluster.address)
