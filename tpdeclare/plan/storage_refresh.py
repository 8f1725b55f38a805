"""What `tpdeclare refresh` records of volumes changed outside tpdeclare: size, name, protection, attachments, gone.

Pure: the state's volume records and the engine's volumes (one list call) in, the new records and one line
per change out. A volume gone from the engine is forgotten (the next plan creates it again, and says so);
an attachment made or removed outside tpdeclare is recorded as the engine has it (the next plan restores
what the spec lists).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from tpdeclare.api.storage_models import VolumeInfo
from tpdeclare.state.model import PENDING, State
from tpdeclare.state.volumes import VolumeRecord, volume_address


def refresh_volumes(state: State, observed: Mapping[str, VolumeInfo], now: str) -> tuple[dict[str, VolumeRecord],
                                                                                         list[str]]:
    by_cluster = {r.cluster_id: a for a, r in state.resources.items() if r.cluster_id}
    volumes: dict[str, VolumeRecord] = {}
    lines: list[str] = []
    for address, rec in sorted(state.volumes.items()):
        shown = volume_address(address)
        if rec.status == PENDING or not rec.storage_id:
            volumes[address] = rec
            continue
        seen = observed.get(rec.storage_id)
        if seen is None or seen.is_destroyed:
            lines.append(f"  - {shown}: {rec.storage_id} no longer exists on the engine; it will be forgotten")
            continue
        spec = dict(rec.spec)
        for key, value in (("size_gb", seen.size_gb), ("name", seen.name or rec.name),
                           ("deletion_protection", seen.deletion_protection)):
            if spec.get(key) != value:
                lines.append(f"  ~ {shown}: {key} {spec.get(key)!r} -> {value!r}")
                spec[key] = value
        attached = {by_cluster[c]: c for c in seen.cluster_ids if c in by_cluster}
        for cluster in sorted(set(rec.attached) - set(attached)):
            lines.append(f"  ~ {shown}: detached from cluster {cluster} outside tpdeclare")
        for cluster in sorted(set(attached) - set(rec.attached)):
            lines.append(f"  ~ {shown}: attached to cluster {cluster} outside tpdeclare")
        changed = spec != dict(rec.spec) or attached != dict(rec.attached)
        volumes[address] = (dataclasses.replace(rec, spec=spec, name=str(spec["name"]), attached=attached,
                                                updated_at=now) if changed else rec)
    return volumes, lines
