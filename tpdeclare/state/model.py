"""The state document: lineage, serial and one record per managed cluster (DESIGN §4)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

FORMAT_VERSION = 1

# Record statuses: the in-between ones are resolved by recovery at the start of every run.
PENDING = "pending"  # create intent durable; POST /cluster/create not answered yet
CREATING = "creating"  # 202 received; cluster_id known; provisioning not finished
READY = "ready"
DELETING = "deleting"  # DELETE sent (or about to be); not confirmed gone
TAINTED = "tainted"  # provisioning FAILED: replaced on the next apply
STATUSES = (PENDING, CREATING, READY, DELETING, TAINTED)


@dataclass
class Record:
    """What tpdeclare knows of one cluster it manages."""

    address: str
    status: str
    name: str
    spec: dict  # the managed fields as applied (ClusterSpec.fields())
    cluster_id: str | None = None
    instance_ids: list[str] = field(default_factory=list)
    request_id: str | None = None
    intent_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    message: str | None = None  # e.g. the server's words on a FAILED provisioning

    def to_json(self) -> dict:
        data = {
            "status": self.status,
            "cluster_id": self.cluster_id,
            "instance_ids": list(self.instance_ids),
            "name": self.name,
            "spec": copy.deepcopy(self.spec),
            "request_id": self.request_id,
            "intent_id": self.intent_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.message is not None:
            data["message"] = self.message
        return data

    @classmethod
    def from_json(cls, address: str, data: dict) -> "Record":
        """Build from a state-file entry; the store validates the shape before calling this."""
        return cls(
            address=address,
            status=data["status"],
            name=data.get("name") or "",
            spec=dict(data.get("spec") or {}),
            cluster_id=data.get("cluster_id"),
            instance_ids=list(data.get("instance_ids") or []),
            request_id=data.get("request_id"),
            intent_id=data.get("intent_id"),
            created_at=data.get("created_at"),
            updated_at=data.get("updated_at"),
            message=data.get("message"),
        )


@dataclass
class State:
    """One stack's state: its identity (lineage), version (serial) and records."""

    stack: str
    lineage: str = field(default_factory=lambda: str(uuid.uuid4()))
    serial: int = 0
    resources: dict[str, Record] = field(default_factory=dict)
    tool_version: str = ""
    engine: str | None = None  # the API base URL (or "sandbox") the clusters live on; a mismatch is refused

    def to_json(self) -> dict:
        from tpdeclare import __version__

        return {
            "format_version": FORMAT_VERSION,
            "tool_version": __version__,
            "stack": self.stack,
            "engine": self.engine,
            "lineage": self.lineage,
            "serial": self.serial,
            "resources": {addr: rec.to_json() for addr, rec in sorted(self.resources.items())},
        }

    def copy(self) -> "State":
        return State(
            stack=self.stack,
            lineage=self.lineage,
            serial=self.serial,
            resources={a: copy.deepcopy(r) for a, r in self.resources.items()},
            tool_version=self.tool_version,
            engine=self.engine,
        )
