"""The storage apply tests' in-memory StorageApi: FakeClient with volumes ruled as the planner assumes (contract-held).

Rules (as the storage engine is specified, issue 15): an attach of a volume not yet READY is a Conflict; an
attach to a single-node GPU cluster is a BadRequest; a shrink is a BadRequest; destroying an attached or
protected volume is a Conflict; a taken name is a BadRequest; a volume may be attached to several clusters;
destroying a cluster detaches its volumes (volumes survive clusters). Create, destroy, attach and detach
answer with request IDs that `wait_for_request` completes; a volume being created is also made after
`polls_to_finish` looks at it (`storage_info`), as time passes on an engine. `script["create_storage"]` etc.
take the FakeClient's fault words ("drop": commit, then OutcomeUnknown; "5xx": OutcomeUnknown before any
change).
"""

from __future__ import annotations

from tpdeclare import errors
from tpdeclare.api.models import EditResult, RequestInfo
from tpdeclare.api.storage_models import (
    AttachResult,
    DetachResult,
    StorageCreateResult,
    StorageDeleteResult,
    VolumeInfo,
)
from tpdeclare.catalog import parse_instance_type

from test_executor import FakeClient


class StorageFake(FakeClient):
    def __init__(self, polls_to_finish: int = 1):
        super().__init__(polls_to_finish)
        self.volumes: dict[str, dict] = {}

    # -- helpers ---------------------------------------------------------------------------------
    def _request(self, kind: str, object_id: str, **extra) -> str:
        rid = f"r-{next(self._ids):08x}"
        self.requests[rid] = dict(object_id=object_id, polls=0, kind=kind, fails=False, **extra)
        return rid

    def _volume(self, storage_id, method, path) -> dict:
        v = self.volumes.get(storage_id)
        if v is None or v["status"] == "DESTROYED":
            raise errors.NotFound(404, method, path, f"storage {storage_id} not found")
        return v

    def _vinfo(self, v) -> VolumeInfo:
        return VolumeInfo(v["storage_id"], v["name"], v["size_gb"], v["deletion_protection"], v["status"],
                          tuple(v["cluster_ids"]), "2026-12-01T10:00:00Z")

    def live_volumes(self):
        return [v for v in self.volumes.values() if v["status"] != "DESTROYED"]

    # -- requests ------------------------------------------------------------------------------------
    def request_info(self, request_id) -> RequestInfo:
        req = self.requests.get(request_id)
        if req is None or not req["kind"].startswith("STORAGE"):
            return super().request_info(request_id)
        self.calls.append(("request_info", request_id))
        self._raise_for(self._action("request_info"), "GET", f"/request/info/{request_id}", False)
        req["polls"] += 1
        if req["polls"] < self.polls_to_finish:
            return RequestInfo(request_id, req["kind"], "PROCESSING", req["object_id"], "working", None)
        v = self.volumes[req["object_id"]]
        if req["kind"] == "STORAGE_CREATE" and v["status"] == "CREATING":
            v["status"] = "READY"
        elif req["kind"] == "STORAGE_DESTROY":
            v["status"] = "DESTROYED"
        return RequestInfo(request_id, req["kind"], "COMPLETED", req["object_id"], "done", None)

    def detach_all(self, cluster_id) -> None:
        """A cluster's destroy detaches its volumes: they survive the clusters they serve (FakeClient calls this)."""
        for v in self.volumes.values():
            if cluster_id in v["cluster_ids"]:
                v["cluster_ids"].remove(cluster_id)

    # -- the storage endpoints -------------------------------------------------------------------------
    def create_storage(self, *, size_gb, name, deletion_protection=False) -> StorageCreateResult:
        self.calls.append(("create_storage", name))
        if "create_storage" in self.hooks:
            self.hooks["create_storage"](name)
        action = self._action("create_storage")
        self._raise_for(action, "POST", "/storage/create", True)
        with self._lock:
            if any(v["name"] == name for v in self.live_volumes()):
                raise errors.BadRequest(400, "POST", "/storage/create", f"Storage name '{name}' is already in use")
            sid = f"s-{next(self._ids):08x}"
            self.volumes[sid] = dict(storage_id=sid, name=name, size_gb=size_gb, status="CREATING",
                                     deletion_protection=bool(deletion_protection), cluster_ids=[])
            rid = self._request("STORAGE_CREATE", sid)
        if action == "drop":
            raise errors.OutcomeUnknown("POST /storage/create: connection reset; no answer was read")
        return StorageCreateResult(sid, rid, "Storage creation initiated")

    def list_storage(self):
        self.calls.append(("list_storage",))
        self._raise_for(self._action("list_storage"), "GET", "/storage/list", False)
        return [self._vinfo(v) for v in self.live_volumes()]

    def storage_info(self, storage_id):
        self.calls.append(("storage_info", storage_id))
        v = self._volume(storage_id, "GET", f"/storage/info/{storage_id}")
        seen = self._vinfo(v)
        if v["status"] == "CREATING":  # time passes between looks: after polls_to_finish looks it is made
            v["looks"] = v.get("looks", 0) + 1
            if v["looks"] >= self.polls_to_finish:
                v["status"] = "READY"
        return seen

    def edit_storage(self, storage_id, *, name=None, deletion_protection=None, size_gb=None) -> EditResult:
        self.calls.append(("edit_storage", storage_id))
        v = self._volume(storage_id, "PATCH", f"/storage/edit/{storage_id}")
        if size_gb is not None and size_gb < v["size_gb"]:
            raise errors.BadRequest(400, "PATCH", f"/storage/edit/{storage_id}", "storage size cannot be decreased")
        if name is not None:
            v["name"] = name
        if deletion_protection is not None:
            v["deletion_protection"] = deletion_protection
        if size_gb is not None:
            v["size_gb"] = size_gb
        return EditResult("Storage updated", None)

    def delete_storage(self, storage_id) -> StorageDeleteResult:
        self.calls.append(("delete_storage", storage_id))
        action = self._action("delete_storage")
        self._raise_for(action, "DELETE", f"/storage/{storage_id}", True)
        v = self._volume(storage_id, "DELETE", f"/storage/{storage_id}")
        if v["deletion_protection"]:
            raise errors.Conflict(409, "DELETE", f"/storage/{storage_id}", "deletion protection is on")
        if v["cluster_ids"]:
            raise errors.Conflict(409, "DELETE", f"/storage/{storage_id}", "storage is attached to clusters")
        rid = self._request("STORAGE_DESTROY", storage_id)
        v["status"] = "DESTROYING"
        if action == "drop":
            raise errors.OutcomeUnknown("DELETE /storage: connection reset; no answer was read")
        return StorageDeleteResult(storage_id, rid, "Storage destruction initiated")

    def attach_storage(self, storage_id, cluster_ids) -> AttachResult:
        self.calls.append(("attach_storage", storage_id, tuple(cluster_ids)))
        action = self._action("attach_storage")
        self._raise_for(action, "POST", "/storage/attach", True)
        v = self._volume(storage_id, "POST", "/storage/attach")
        if v["status"] != "READY":
            raise errors.Conflict(409, "POST", "/storage/attach", f"Storage volume {storage_id} is not ready")
        rids = []
        for cid in cluster_ids:
            c = self.clusters.get(cid)
            if c is None or c["status"] == "DESTROYED":
                raise errors.NotFound(404, "POST", "/storage/attach", f"cluster {cid} not found")
            kind = parse_instance_type(c["instance_type"])
            if kind is not None and kind[1] != "CPU" and c["num_nodes"] < 2:
                raise errors.BadRequest(400, "POST", "/storage/attach",
                                        "storage attaches only to multi-node GPU clusters and CPU instances")
        for cid in cluster_ids:
            if cid not in v["cluster_ids"]:
                v["cluster_ids"].append(cid)
            rids.append(self._request("STORAGE_ATTACH", storage_id))
        if action == "drop":
            raise errors.OutcomeUnknown("POST /storage/attach: connection reset; no answer was read")
        return AttachResult(storage_id, tuple(rids), "Attach initiated")

    def detach_storage(self, storage_id, cluster_id) -> DetachResult:
        self.calls.append(("detach_storage", storage_id, cluster_id))
        action = self._action("detach_storage")
        self._raise_for(action, "POST", "/storage/detach", True)
        v = self._volume(storage_id, "POST", "/storage/detach")
        if cluster_id not in v["cluster_ids"]:
            raise errors.BadRequest(400, "POST", "/storage/detach", f"storage is not attached to {cluster_id}")
        v["cluster_ids"].remove(cluster_id)
        rid = self._request("STORAGE_DETACH", storage_id)
        if action == "drop":
            raise errors.OutcomeUnknown("POST /storage/detach: connection reset; no answer was read")
        return DetachResult(storage_id, cluster_id, rid, "Detach initiated")
