"""What the storage endpoints answer, as frozen values: volumes, and the 202s of create, delete, attach, detach."""

from __future__ import annotations

from tpdeclare.api.status_is import StatusIs
from tpdeclare.frozen_values import frozen

__all__ = ["VolumeInfo", "VolumeAccepted", "StorageCreateResult", "StorageDeleteResult", "AttachResult", "DetachResult",
           "VOLUME_GONE", "VOLUME_READY"]

# The one status word that says a volume no longer exists (beside a 404); unknown words never mean gone.
VOLUME_GONE = frozenset({"DESTROYED"})
# The words that say a volume exists and can be used (attached, edited); anything else is still on its way.
VOLUME_READY = frozenset({"READY", "AVAILABLE", "ACTIVE", "RUNNING", "ATTACHED", "COMPLETED"})


@frozen
class VolumeInfo:
    """One storage volume as the API reports it (list or info)."""

    storage_id: str
    name: str | None
    size_gb: int
    deletion_protection: bool
    status: str
    cluster_ids: tuple[str, ...]  # the clusters it is attached to now, in the engine's order
    created_at: str | None = None

    is_destroyed = StatusIs(VOLUME_GONE)
    is_ready = StatusIs(VOLUME_READY)
    is_failed = StatusIs("FAILED")


@frozen
class VolumeAccepted:
    """A 202 about one volume: its ID, the request to poll, the server's words."""

    storage_id: str
    request_id: str | None  # None: the engine named none
    message: str


class StorageCreateResult(VolumeAccepted):
    """The 202 answer to POST /storage/create."""


class StorageDeleteResult(VolumeAccepted):
    """The 202 answer to DELETE /storage/{id}."""


@frozen
class AttachResult:
    """The 202 answer to POST /storage/attach: one request to poll per cluster attached to."""

    storage_id: str
    request_ids: tuple[str, ...]
    message: str


@frozen
class DetachResult:
    """The 202 answer to POST /storage/detach."""

    storage_id: str
    cluster_id: str
    request_id: str | None
    message: str
