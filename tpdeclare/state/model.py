"""The state document's values: lineage, serial and one frozen record per managed cluster (DESIGN §4)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tpdeclare.frozen_values import field, frozen, replace_fields

if TYPE_CHECKING:
    from tpdeclare.state.volumes import VolumeRecord

FORMAT_VERSION = 1


# A record's optional fields, None when absent from the state file (the codec has checked their types).
_OPTIONAL_FIELDS = ("cluster_id", "request_id", "intent_id", "created_at", "updated_at", "message", "expired_at",
                  "lifetime")


class RecordStatus(StrEnum):
    """Where a managed cluster stands; the in-between ones are resolved by recovery at the start of every run.

    The values are the words written in the state file (a StrEnum, so they compare equal to them)."""

    PENDING = "pending"  # create intent durable; POST /cluster/create not answered yet
    CREATING = "creating"  # 202 received; cluster_id known; provisioning not finished
    READY = "ready"
    DELETING = "deleting"  # DELETE sent (or about to be); not confirmed gone
    TAINTED = "tainted"  # provisioning FAILED: replaced on the next apply
    EXPIRED = "expired"  # no cluster: destroyed because its lifetime ended; not created again while it is the same


PENDING = RecordStatus.PENDING
CREATING = RecordStatus.CREATING
READY = RecordStatus.READY
DELETING = RecordStatus.DELETING
TAINTED = RecordStatus.TAINTED
EXPIRED = RecordStatus.EXPIRED
STATUSES: tuple[str, ...] = tuple(s.value for s in RecordStatus)
_BY_VALUE = {s.value: s for s in RecordStatus}


@frozen(slots=True)
class Record:
    """What tpdeclare knows of one cluster it manages. Frozen: change it with `dataclasses.replace`."""

    address: str
    status: RecordStatus
    name: str
    spec: Mapping[str, Any]  # the managed fields as applied (ClusterSpec.fields()) plus prevent_destroy
    cluster_id: str | None = None
    instance_ids: tuple[str, ...] = ()
    request_id: str | None = None
    intent_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    message: str | None = None  # e.g. the server's words on a FAILED provisioning
    # Set when the cluster is destroyed because its lifetime ended (DESIGN §10): on its `deleting` record before
    # the DELETE, then on the `expired` record that remembers it once the cluster is gone.
    expired_at: str | None = None  # when the lifetime ended (RFC 3339, UTC)
    lifetime: str | None = None  # the lifetime that ended, as `Lifetime.key` says it (`expires_after 8h`)

    def __post_init__(self) -> None:
        if type(self.status) is not RecordStatus:  # a plain status word: the enum member it names
            object.__setattr__(self, "status", RecordStatus(self.status))
        if type(self.instance_ids) is not tuple:
            object.__setattr__(self, "instance_ids", tuple(self.instance_ids))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status.value,
            "cluster_id": self.cluster_id,
            "instance_ids": list(self.instance_ids),
            "name": self.name,
            "spec": {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in self.spec.items()},
            "request_id": self.request_id,
            "intent_id": self.intent_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        for key in ("message", "expired_at", "lifetime"):  # written only when set: older files stay the same
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_json(cls, address: str, data: Mapping[str, Any]) -> Record:
        """Build from a state-file entry; the codec validates the shape before calling this."""
        return cls(
            address=address,
            status=_BY_VALUE[data["status"]],
            name=data.get("name") or "",
            spec=dict(data.get("spec") or {}),
            instance_ids=tuple(data.get("instance_ids") or ()),
            **{key: data.get(key) for key in _OPTIONAL_FIELDS},
        )

    def after_destroy(self, now: str) -> Record | None:
        """What state keeps once this record's cluster is gone: nothing, or, for a cluster destroyed because its
        lifetime ended, an `expired` record saying so (the plan does not create it again while the lifetime in
        the spec is the same)."""
        if self.expired_at is None:
            return None
        gone = f"{self.cluster_id} was destroyed at {now}" if self.cluster_id else f"destroyed at {now}"
        return replace_fields(
            self, status=RecordStatus.EXPIRED, cluster_id=None, instance_ids=(), request_id=None, updated_at=now,
            message=f"{gone}: its lifetime ({self.lifetime}) ended at {self.expired_at}",
        )


def new_lineage() -> str:
    from tpdeclare.identifiers import random_uuid

    return random_uuid()


@frozen
class State:
    """One stack's state: its identity (lineage), version (serial) and records. Frozen: every change
    makes a new State (`with_resources`, `dataclasses.replace`)."""

    stack: str
    lineage: str = field(default_factory=new_lineage)
    serial: int = 0
    resources: Mapping[str, Record] = field(default_factory=dict)
    tool_version: str = ""
    engine: str | None = None  # the API base URL (or "sandbox") the clusters live on; a mismatch is refused
    volumes: Mapping[str, VolumeRecord] = field(default_factory=dict)  # storage volumes (state/volumes.py)

    def with_resources(self, resources: Mapping[str, Record]) -> State:
        """The next version of this state (serial + 1) holding `resources`."""
        return replace_fields(self, resources=dict(resources), serial=self.serial + 1)

    def to_json(self) -> dict[str, Any]:
        from tpdeclare import __version__

        doc: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "tool_version": __version__,
            "stack": self.stack,
            "engine": self.engine,
            "lineage": self.lineage,
            "serial": self.serial,
            "resources": {addr: rec.to_json() for addr, rec in sorted(self.resources.items())},
        }
        if self.volumes:  # written only when there is one: a state without volumes is as it always was
            doc["volumes"] = {addr: rec.to_json() for addr, rec in sorted(self.volumes.items())}
        return doc
