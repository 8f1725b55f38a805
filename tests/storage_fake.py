"""The storage half of tests/test_executor.py's FakeClient: in-memory volumes with the sandbox's rules.

`FakeStorage` is mixed into FakeClient (it uses the fake's `clusters`, `requests`, `script`, `calls`,
`_ids`, `_lock`, `_action` and `_raise_for`). Requests it makes are polled through FakeClient.request_info,
which hands storage kinds to `_storage_poll`. Held to the StorageApi contract by tests/test_api_fakes_contract.py.
"""

from __future__ import annotations

from tpdeclare import catalog, errors
from tpdeclare.api.models import EditResult
from tpdeclare.api.storage_models import (
    AttachResult,
    DetachResult,
    StorageCreateResult,
    StorageDeleteResult,
    VolumeInfo,
)

STORAGE_KINDS = frozenset({"storage_create", "storage_destroy", "storage_attach", "storage_detach", "storage_edit"})


def takes_volumes(instance_type: str, num_nodes: int) -> bool:
    parsed = catalog.parse_instance_type(instance_type)
    return num_nodes > 1 or (parsed is not None and parsed[1] == "CPU")


class FakeStorage:
    """Volumes: CREATING until the create request's poll, READY, DESTROYING until the destroy's poll, then gone."""

    volumes: dict[str, dict]

    def _volumes(self) -> dict[str, dict]:
        if not hasattr(self, "volumes"):
            self.volumes = {}
        return self.volumes

    def _volume(self, storage_id, method, path) -> dict:
        v = self._volumes().get(storage_id)
        if v is None or v["status"] == "DESTROYED":
            raise errors.NotFound(404, method, path, f"Storage volume {storage_id} not found")
        return v

    def _storage_request(self, kind, storage_id, cluster_id=None) -> str:
        rid = f"r-{next(self._ids):08x}"
        self.requests[rid] = dict(object_id=storage_id, polls=0, kind=kind, fails=False, cluster_id=cluster_id)
        return rid

    def _storage_poll(self, req) -> tuple[str, str]:
        """A storage request's poll reached its end: apply it; (status, message)."""
        v = self.volumes.get(req["object_id"])
        if req["kind"] == "storage_create" and v is not None and v["status"] == "CREATING":
            v["status"] = "READY"
        elif req["kind"] == "storage_destroy" and v is not None:
            v["status"] = "DESTROYED"
        elif req["kind"] in ("storage_attach", "storage_detach"):
            c = self.clusters.get(req["cluster_id"])
            if c is not None and c["status"] == "RESTARTING":
                c["status"] = "RUNNING"
        return "COMPLETED", "done"

    def _view(self, v) -> VolumeInfo:
        return VolumeInfo(storage_id=v["storage_id"], name=v["name"], size_gb=v["size_gb"],
                          deletion_protection=v["deletion_protection"], status=v["status"],
                          cluster_ids=tuple(v["attachments"]), created_at=None)

    def detach_all(self, cluster_id) -> None:
        """A cluster's destroy detaches its volumes (FakeClient.delete_cluster calls this)."""
        for v in self._volumes().values():
            if cluster_id in v["attachments"]:
                v["attachments"].remove(cluster_id)

    # -- StorageApi ---------------------------------------------------------------------------------
    def create_storage(self, *, size_gb, name, deletion_protection=False) -> StorageCreateResult:
        self.calls.append(("storage_create", name))
        action = self._action("storage_create")
        self._raise_for(action, "POST", "/storage/create", True)
        with self._lock:
            if any(v["name"] == name and v["status"] != "DESTROYED" for v in self._volumes().values()):
                raise errors.BadRequest(400, "POST", "/storage/create",
                                        f"Storage volume name '{name}' is already in use")
            sid = f"s-{next(self._ids):08x}"
            self.volumes[sid] = dict(storage_id=sid, name=name, size_gb=size_gb, status="CREATING",
                                     deletion_protection=bool(deletion_protection), attachments=[])
            rid = self._storage_request("storage_create", sid)
        if action == "drop":
            raise errors.OutcomeUnknown("POST /storage/create: connection reset; no answer was read")
        return StorageCreateResult(sid, rid, "creating")

    def list_storage(self) -> list[VolumeInfo]:
        self.calls.append(("storage_list",))
        self._raise_for(self._action("storage_list"), "GET", "/storage/list", False)
        return [self._view(v) for v in self._volumes().values() if v["status"] != "DESTROYED"]

    def storage_info(self, storage_id) -> VolumeInfo:
        self.calls.append(("storage_info", storage_id))
        path = f"/storage/info/{storage_id}"
        self._raise_for(self._action("storage_info"), "GET", path, False)
        return self._view(self._volume(storage_id, "GET", path))

    def edit_storage(self, storage_id, *, name=None, deletion_protection=None, size_gb=None) -> EditResult:
        self.calls.append(("storage_edit", storage_id))
        path = f"/storage/edit/{storage_id}"
        self._raise_for(self._action("storage_edit"), "PATCH", path, False)
        v = self._volume(storage_id, "PATCH", path)
        if size_gb is not None and size_gb < v["size_gb"]:
            raise errors.BadRequest(400, "PATCH", path, "a volume's size can only be increased")
        if name is not None and any(o["name"] == name and o is not v and o["status"] != "DESTROYED"
                                    for o in self.volumes.values()):
            raise errors.BadRequest(400, "PATCH", path, f"Storage volume name '{name}' is already in use")
        for key, value in (("name", name), ("deletion_protection", deletion_protection), ("size_gb", size_gb)):
            if value is not None:
                v[key] = value
        return EditResult("updated", self._storage_request("storage_edit", storage_id))

    def delete_storage(self, storage_id) -> StorageDeleteResult:
        self.calls.append(("storage_delete", storage_id))
        path = f"/storage/{storage_id}"
        action = self._action("storage_delete")
        self._raise_for(action, "DELETE", path, True)
        v = self._volume(storage_id, "DELETE", path)
        if v["deletion_protection"] or v["attachments"]:
            raise errors.Conflict(409, "DELETE", path, "the volume is protected or attached")
        v["status"] = "DESTROYING"
        rid = self._storage_request("storage_destroy", storage_id)
        if action == "drop":
            raise errors.OutcomeUnknown(f"DELETE {path}: connection reset; no answer was read")
        return StorageDeleteResult(storage_id, rid, "destroying")

    def attach_storage(self, storage_id, cluster_ids) -> AttachResult:
        cluster_ids = list(cluster_ids)
        self.calls.append(("storage_attach", storage_id, tuple(cluster_ids)))
        path = "/storage/attach"
        action = self._action("storage_attach")
        self._raise_for(action, "POST", path, True)
        v = self._volume(storage_id, "POST", path)
        if v["status"] != "READY":
            raise errors.Conflict(409, "POST", path, f"Storage volume {storage_id} is not ready")
        for cid in cluster_ids:
            c = self.clusters.get(cid)
            if c is None or c["status"] == "DESTROYED":
                raise errors.NotFound(404, "POST", path, f"Cluster {cid} not found")
            if not takes_volumes(c["instance_type"], c["num_nodes"]):
                raise errors.BadRequest(400, "POST", path, f"Cluster {cid} is a single-node GPU cluster")
            if cid in v["attachments"]:
                raise errors.Conflict(409, "POST", path, f"already attached to {cid}")
            if c["status"] not in ("RUNNING", "RESTARTING"):
                raise errors.Conflict(409, "POST", path, f"Cluster {cid} is {c['status'].lower()}")
        rids = []
        for cid in cluster_ids:
            v["attachments"].append(cid)
            self.clusters[cid]["status"] = "RESTARTING"
            rids.append(self._storage_request("storage_attach", storage_id, cid))
        if action == "drop":
            raise errors.OutcomeUnknown("POST /storage/attach: connection reset; no answer was read")
        return AttachResult(storage_id, tuple(rids), "attaching")

    def detach_storage(self, storage_id, cluster_id) -> DetachResult:
        self.calls.append(("storage_detach", storage_id, cluster_id))
        path = "/storage/detach"
        action = self._action("storage_detach")
        self._raise_for(action, "POST", path, True)
        v = self._volume(storage_id, "POST", path)
        c = self.clusters.get(cluster_id)
        if c is None or c["status"] == "DESTROYED":
            raise errors.NotFound(404, "POST", path, f"Cluster {cluster_id} not found")
        if cluster_id not in v["attachments"]:
            raise errors.Conflict(409, "POST", path, f"not attached to {cluster_id}")
        v["attachments"].remove(cluster_id)
        c["status"] = "RESTARTING"
        rid = self._storage_request("storage_detach", storage_id, cluster_id)
        if action == "drop":
            raise errors.OutcomeUnknown("POST /storage/detach: connection reset; no answer was read")
        return DetachResult(storage_id, cluster_id, rid, "detaching")
