"""The state's volume records: one frozen VolumeRecord per managed storage volume, beside the cluster records.

They live under the state document's `volumes` key, written only when there is one (a state without
volumes reads and writes exactly as before). Statuses are the clusters' words: `pending` (create intent
durable, POST /storage/create not answered), `creating`, `ready`, `deleting`, `tainted` (the create FAILED).
`attached` maps each cluster address the volume is attached to (as tpdeclare last made or saw it) to
that cluster's ID.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tpdeclare.frozen_values import field, frozen
from tpdeclare.state.model import RecordStatus

VOLUME_PREFIX = "storage."  # how commands name a volume's address beside clusters' (`storage.data`)
VOLUME_SPEC_KEYS = ("size_gb", "name", "deletion_protection", "prevent_destroy")


def volume_address(address: str) -> str:
    """The name commands and plans show for a volume's address: `storage.data`."""
    return VOLUME_PREFIX + address


def split_volume_address(text: str) -> str | None:
    """`storage.data` -> `data`; None when `text` does not name a volume."""
    return text[len(VOLUME_PREFIX):] if text.startswith(VOLUME_PREFIX) else None


@frozen(slots=True)
class VolumeRecord:
    """What tpdeclare knows of one volume it manages. Frozen: change it with `dataclasses.replace`."""

    address: str
    status: RecordStatus
    name: str
    spec: Mapping[str, Any]  # size_gb, name, deletion_protection as applied, plus prevent_destroy
    storage_id: str | None = None
    attached: Mapping[str, str] = field(default_factory=dict)  # cluster address -> cluster ID
    request_id: str | None = None
    intent_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if type(self.status) is not RecordStatus:
            object.__setattr__(self, "status", RecordStatus(self.status))

    @property
    def size_gb(self) -> int | None:
        size = self.spec.get("size_gb")
        return size if isinstance(size, int) else None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status.value,
            "storage_id": self.storage_id,
            "name": self.name,
            "spec": dict(self.spec),
            "attached": dict(sorted(self.attached.items())),
            "request_id": self.request_id,
            "intent_id": self.intent_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.message is not None:
            data["message"] = self.message
        return data

    @classmethod
    def from_json(cls, address: str, data: Mapping[str, Any]) -> VolumeRecord:
        """Build from a state-file entry; the rules have checked the shape first."""
        return cls(
            address=address,
            status=RecordStatus(data["status"]),
            name=data.get("name") or "",
            spec=dict(data.get("spec") or {}),
            storage_id=data.get("storage_id"),
            attached=dict(data.get("attached") or {}),
            request_id=data.get("request_id"),
            intent_id=data.get("intent_id"),
            created_at=data.get("created_at"),
            updated_at=data.get("updated_at"),
            message=data.get("message"),
        )
