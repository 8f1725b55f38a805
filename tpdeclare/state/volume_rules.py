"""The rules every stored volume record keeps (the state's `volumes`), in the shape of state/rules.py's for clusters."""

from __future__ import annotations

from typing import Any

from tpdeclare.frozen_values import fields
from tpdeclare.identifiers import ADDRESS, ENGINE_ID
from tpdeclare.state import rules
from tpdeclare.state.model import STATUSES
from tpdeclare.state.rules import Problem, child, is_int, is_text, shown
from tpdeclare.state.volumes import VOLUME_SPEC_KEYS, VolumeRecord, volume_address

VOLUME_KEYS = frozenset(f.name for f in fields(VolumeRecord) if f.name != "address")
REQUIRED_VOLUME_KEYS = ("status", "name", "spec")
_STATUSES = frozenset(STATUSES) - {"expired"}  # lifetimes are clusters' only
_NEEDS_ID = _STATUSES - {"pending"}
_ID = "an engine ID (letters, digits, '-' and '_', at most 128)"


def _id_problem(value: Any, path: str, address: str, *, nullable: bool = True) -> list[Problem]:
    if (value is None and nullable) or (isinstance(value, str) and ENGINE_ID.fullmatch(value)):
        return []
    return [Problem(path, f"expected {_ID}{' or null' if nullable else ''}, got {shown(value)}", address)]


def check_volume_spec(data: Any, path: str, address: str) -> list[Problem]:
    if not isinstance(data, dict):
        return [Problem(path, f"expected an object, got {shown(data)}", address)]
    problems = rules._keys(data, path, VOLUME_SPEC_KEYS, VOLUME_SPEC_KEYS, address, newer=False)
    if "size_gb" in data and not (is_int(data["size_gb"]) and data["size_gb"] >= 1):
        problems.append(Problem(child(path, "size_gb"), f"expected an integer of at least 1, got "
                                                        f"{shown(data['size_gb'])}", address))
    if "name" in data and not is_text(data["name"]):
        problems.append(Problem(child(path, "name"), f"expected a non-empty string, got {shown(data['name'])}",
                                address))
    for key in ("deletion_protection", "prevent_destroy"):
        if key in data and not isinstance(data[key], bool):
            problems.append(Problem(child(path, key), f"expected true or false, got {shown(data[key])}", address))
    return problems


def check_volume(address: str, data: Any, path: str) -> list[Problem]:
    """Every problem of one stored volume record; each names the volume as commands do (`storage.ADDR`)."""
    return [Problem(p.path, p.text, volume_address(address) if isinstance(address, str) else None)
            for p in _volume_problems(address, data, path)]


def _volume_problems(address: str, data: Any, path: str) -> list[Problem]:
    problems, is_object = rules.entry_start(address, data, path)
    if not is_object:
        return problems
    problems += rules._keys(data, path, VOLUME_KEYS, REQUIRED_VOLUME_KEYS, address)
    status = data.get("status")
    known = isinstance(status, str) and status in _STATUSES  # (a list or an object is no status, and unhashable)
    if "status" in data and not known:
        problems.append(Problem(child(path, "status"), (
            f"unknown status {status!r} (expected one of {', '.join(sorted(_STATUSES))})" if isinstance(status, str)
            else f"expected a string, got {shown(status)}"), address))
    if "name" in data and not is_text(data["name"]):
        problems.append(Problem(child(path, "name"), f"expected a non-empty string, got {shown(data['name'])}",
                                address))
    for key in ("storage_id", "request_id", "intent_id"):
        if key in data:
            problems += _id_problem(data[key], child(path, key), address)
    for key in ("created_at", "updated_at"):
        if key in data and not (data[key] is None or (isinstance(data[key], str) and rules.is_timestamp(data[key]))):
            problems.append(Problem(child(path, key), f"expected an RFC 3339 time or null, got {shown(data[key])}",
                                    address))
    if "message" in data and not (data["message"] is None or isinstance(data["message"], str)):
        problems.append(Problem(child(path, "message"), f"expected a string or null, got {shown(data['message'])}",
                                address))
    if "spec" in data:
        problems += check_volume_spec(data["spec"], child(path, "spec"), address)
    attached = data.get("attached", {})
    if not isinstance(attached, dict):
        problems.append(Problem(child(path, "attached"), f"expected an object, got {shown(attached)}", address))
    else:
        for cluster, cluster_id in attached.items():
            where = child(child(path, "attached"), cluster)
            if not ADDRESS.fullmatch(cluster):
                problems.append(Problem(where, "expected a cluster address as the key", address))
            problems += _id_problem(cluster_id, where, address, nullable=False)
    if known and status in _NEEDS_ID and data.get("storage_id") is None:
        problems.append(Problem(child(path, "storage_id"), f"a {status!r} record needs its storage_id, got null",
                                address))
    return problems


def check_volumes(volumes: Any) -> list[Problem]:
    """Every problem of the state's `volumes` object; one storage ID belongs to one address."""
    if not isinstance(volumes, dict):
        return [Problem("volumes", f"expected an object, got {shown(volumes)}")]
    problems = [Problem("volumes", f"duplicate key {key!r} (two records at one address)", key)
                for key in getattr(volumes, "duplicates", ())]
    first: dict[str, str] = {}
    for address, data in volumes.items():
        path = child("volumes", address)
        problems += check_volume(address, data, path)
        sid = data.get("storage_id") if isinstance(data, dict) else None
        if isinstance(sid, str):
            if sid in first:
                problems.append(Problem(child(path, "storage_id"), f"{sid} is also the storage_id of "
                                        f"{child('volumes', first[sid])}; one volume belongs to one address",
                                        volume_address(address)))
            else:
                first[sid] = address
    return problems


def volume_problems(record: VolumeRecord) -> list[Problem]:
    """What is wrong with a volume record about to be stored (nothing, unless a caller has a bug)."""
    return check_volume(record.address, record.to_json(), child("volumes", record.address))
