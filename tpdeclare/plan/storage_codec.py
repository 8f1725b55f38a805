"""Encodes a plan's StoragePlan as plain JSON data for saved plans, and decodes it back exactly (or refuses it)."""

from __future__ import annotations

from typing import Any, Protocol

from tpdeclare.fields import FieldEffect
from tpdeclare.plan.model import Action, FieldChange
from tpdeclare.plan.storage_model import AttachmentStep, Link, Step, StoragePlan, VolumeChange
from tpdeclare.spec.model import SourceRef, VolumeSpec

_ACTIONS = {a.name.lower(): a for a in Action}
_EFFECTS = {e.value: e for e in FieldEffect}
_LINKS = {k.value: k for k in Link}


class Bad(Protocol):
    def __call__(self, where: str, kind: str) -> Exception: ...


def encode_storage(s: StoragePlan) -> dict[str, Any]:
    return {
        "volumes": [_encode_volume(v) for v in s.volumes],
        "attachments": [[a.link.value, a.volume, a.cluster, a.cluster_id, a.storage_id, a.reason]
                        for a in s.attachments],
        "order": [[st.key, list(st.after)] for st in s.order],
        "monthly_before": s.monthly_before,
        "monthly_after": s.monthly_after,
        "waits": list(s.waits),
    }


def storage_decisions(s: StoragePlan) -> dict[str, Any]:
    """What a StoragePlan decides, as JSON data for the plan digest: its saved form without the notes and without
    where each volume was declared (as a cluster change is hashed)."""
    doc = encode_storage(s)
    for v in doc["volumes"]:
        del v["notes"]
        if v["desired"] is not None:
            v["desired"] = v["desired"][:-1]
    return doc


def _encode_volume(v: VolumeChange) -> dict[str, Any]:
    d = v.desired
    return {
        "address": v.address, "action": v.action.name.lower(), "before": v.before, "after": v.after,
        "field_changes": [[fc.field, fc.before, fc.after, fc.effect.value, fc.detail] for fc in v.field_changes],
        "replace_paths": list(v.replace_paths), "reason": v.reason, "notes": list(v.notes),
        "storage_id": v.storage_id, "lift_protection": v.lift_protection,
        "desired": None if d is None else [d.address, d.size_gb, d.name, d.deletion_protection, d.prevent_destroy,
                                           sorted(d.ignore_changes),
                                           None if d.source is None else [d.source.file, d.source.line, d.source.col]],
    }


def _text(x: Any, nullable: bool = False) -> bool:
    return isinstance(x, str) or (nullable and x is None)


def decode_storage(data: Any, bad: Bad, where: str = "plan.storage") -> StoragePlan:
    """The StoragePlan `encode_storage` made; `bad(where, kind)` builds the error for anything malformed."""
    if not isinstance(data, dict):
        raise bad(where, "an object")
    volumes = data.get("volumes")
    links = data.get("attachments")
    order = data.get("order")
    if not isinstance(volumes, list) or not isinstance(links, list) or not isinstance(order, list):
        raise bad(where, "an object with volumes, attachments and order lists")
    attachments = []
    for i, a in enumerate(links):
        if not (isinstance(a, list) and len(a) == 6 and a[0] in _LINKS and _text(a[1]) and _text(a[2])
                and _text(a[3], True) and _text(a[4], True) and _text(a[5])):
            raise bad(f"{where}.attachments[{i}]", "a [link, volume, cluster, cluster_id, storage_id, reason] list")
        attachments.append(AttachmentStep(_LINKS[a[0]], a[1], a[2], a[3], a[4], a[5]))
    steps = []
    for i, st in enumerate(order):
        if not (isinstance(st, list) and len(st) == 2 and _text(st[0]) and isinstance(st[1], list)
                and all(_text(k) for k in st[1])):
            raise bad(f"{where}.order[{i}]", "a [step, [steps before it]] list")
        steps.append(Step(st[0], tuple(st[1])))
    before, after = data.get("monthly_before"), data.get("monthly_after")
    if not (isinstance(before, (int, float)) and isinstance(after, (int, float))
            and not isinstance(before, bool) and not isinstance(after, bool)):
        raise bad(where, "an object with numeric monthly_before and monthly_after")
    waits = data.get("waits", [])  # absent from plans saved before waits for volumes were planned
    if not (isinstance(waits, list) and all(_text(w) for w in waits)):
        raise bad(f"{where}.waits", "a list of volume addresses")
    return StoragePlan(tuple(_decode_volume(v, bad, f"{where}.volumes[{i}]") for i, v in enumerate(volumes)),
                       tuple(attachments), tuple(steps), float(before), float(after), tuple(waits))


def _decode_volume(v: Any, bad: Bad, where: str) -> VolumeChange:
    if not isinstance(v, dict) or v.get("action") not in _ACTIONS or not _text(v.get("address")):
        raise bad(where, "a volume change with an address and an action")
    for key in ("before", "after"):
        if not (v.get(key) is None or isinstance(v.get(key), dict)):
            raise bad(f"{where}.{key}", "an object or null")
    changes = []
    for i, fc in enumerate(v.get("field_changes") or []):
        if not (isinstance(fc, list) and len(fc) == 5 and _text(fc[0]) and fc[3] in _EFFECTS and _text(fc[4], True)):
            raise bad(f"{where}.field_changes[{i}]", "a [field, before, after, effect, detail] list")
        changes.append(FieldChange(fc[0], fc[1], fc[2], _EFFECTS[fc[3]], fc[4]))
    strs = {k: v.get(k) for k in ("replace_paths", "notes")}
    if not all(isinstance(x, list) and all(_text(y) for y in x) for x in strs.values()):
        raise bad(where, "a volume change with replace_paths and notes lists of strings")
    if not (_text(v.get("reason"), True) and _text(v.get("storage_id"), True)
            and isinstance(v.get("lift_protection"), bool)):
        raise bad(where, "a volume change with reason, storage_id and lift_protection")
    return VolumeChange(v["address"], _ACTIONS[v["action"]], v["before"], v["after"], tuple(changes),
                        tuple(v["replace_paths"]), v["reason"], tuple(v["notes"]), v["storage_id"],
                        _decode_desired(v.get("desired"), bad, f"{where}.desired"), v["lift_protection"])


def _decode_desired(d: Any, bad: Bad, where: str) -> VolumeSpec | None:
    if d is None:
        return None
    if not (isinstance(d, list) and len(d) == 7 and _text(d[0]) and isinstance(d[1], int) and not isinstance(d[1], bool)
            and d[1] >= 1 and _text(d[2]) and isinstance(d[3], bool) and isinstance(d[4], bool)
            and isinstance(d[5], list) and all(_text(x) for x in d[5])):
        raise bad(where, "a [address, size_gb, name, deletion_protection, prevent_destroy, ignore_changes, "
                         "source] list")
    src = d[6]
    if src is not None and not (isinstance(src, list) and len(src) == 3 and _text(src[0])
                                and all(isinstance(n, int) for n in src[1:])):
        raise bad(f"{where}[6]", "a [file, line, column] list or null")
    return VolumeSpec(d[0], d[1], d[2], d[3], d[4], frozenset(d[5]),
                      None if src is None else SourceRef(src[0], src[1], src[2]))
