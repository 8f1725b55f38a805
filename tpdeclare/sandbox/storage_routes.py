"""The storage endpoints of the sandbox: create, list, info, edit and destroy a volume, attach and detach it.

The rules (docs/sandbox.md, "Storage volumes"): a volume attaches only to multi-node GPU clusters and CPU
instances (a single-node GPU cluster: 400), to several clusters at once if asked, to a cluster that is
RUNNING or RESTARTING (409 otherwise); an attach or detach restarts every node of the cluster, which is
RESTARTING until its request completes; a volume grows but never shrinks (400); an attached or protected
volume is not destroyed (409); a volume name is unique among live volumes (400). Destroying a cluster
detaches its volumes (`detach_all`, called by the cluster's DELETE): volumes outlive the clusters they serve.
"""

from __future__ import annotations

from tpdeclare import catalog
from tpdeclare.sandbox import storage_world as sw
from tpdeclare.sandbox import timeline as tl
from tpdeclare.sandbox.call_context import Call, with_body
from tpdeclare.sandbox.lax_validation import query_bool
from tpdeclare.sandbox.responses import Response, json_response, message
from tpdeclare.sandbox.world import JsonDict
from tpdeclare.sandbox.world_queries import alive as alive_cluster
from tpdeclare.sandbox.world_queries import spent

MAX_SIZE_GB = 100_000  # [assumed]
_ATTACHABLE = frozenset({tl.RUNNING, tl.RESTARTING})


def _accepted(call: Call, kind: str) -> None:
    per = call.session.counters.setdefault("storage_accepted", {})
    per[kind] = per.get(kind, 0) + 1
    call.session.mark_counters_dirty()
    call.session.mark_dirty()


def _not_found(storage_id: str) -> Response:
    return message(404, f"Storage volume {storage_id} not found")


def _volumes(call: Call) -> JsonDict:
    volumes: JsonDict = call.world.setdefault("volumes", {})
    return volumes


def takes_volumes(instance_type: str, num_nodes: int) -> bool:
    """[doc] Volumes attach only to multi-node GPU clusters and CPU instances."""
    parsed = catalog.parse_instance_type(instance_type)
    return num_nodes > 1 or (parsed is not None and parsed[1] == "CPU")


# ------------------------------------------------------------------------------------------ create, read
@with_body("StorageCreateRequest")
def create(call: Call, data: JsonDict) -> Response:
    world, now = call.world, call.now
    size, name = data["size"], data.get("name")
    if size < 1 or size > MAX_SIZE_GB:
        return message(400, f"size={size} GB is out of range: a volume has 1 to {MAX_SIZE_GB} GB")
    if name is not None:
        if not name.strip():
            return message(400, "name must not be empty")
        if sw.holder_of_name(world, name, now) is not None:
            return message(400, f"Storage volume name '{name}' is already in use")
    monthly = sw.monthly_cost(size)
    if call.settings.balance - spent(world, now) < monthly:
        remaining = call.settings.balance - spent(world, now)
        return message(402, f"Insufficient balance: ${remaining:,.2f} available, but a {size} GB volume "
                            f"needs ${monthly:,.2f} for its first month")
    sw.collect_gone(world, now)
    storage_id = call.new_id("s-", 8)
    if name is None:
        name = f"storage-{storage_id[2:]}"
    request_id = call.new_request(sw.STORAGE_CREATE, storage_id, call.settings.provision_seconds)
    _volumes(call)[storage_id] = {
        "storage_id": storage_id, "name": name, "size_gb": size,
        "deletion_protection": bool(data.get("deletion_protection")), "created_at": now,
        "create_request_id": request_id, "destroy_request_id": None, "attachments": [],
        "billed_usd": 0.0, "billed_at": now,
    }
    _accepted(call, "create")
    return json_response(202, {
        "storage_id": storage_id, "request_id": request_id,
        "message": f"Storage volume {storage_id} ({name}) is being created: {size} GB. "
                   f"Track it with GET /request/info/{request_id}",
    })


def storage_list(call: Call) -> Response:
    bad = query_bool(call.query, "include_org")
    if bad is not None:
        return bad
    world, now = call.world, call.now
    views = []
    for v in sorted(_volumes(call).values(), key=lambda v: (v["created_at"], v["storage_id"])):
        status = sw.volume_status(v, world["requests"], now)
        if status is not None:
            views.append(sw.volume_view(v, world, now, call.dialect, status))
    return json_response(200, sw.list_body(views, call.dialect))


def info(call: Call) -> Response:
    storage_id = call.params["storage_id"]
    volume = sw.alive(call.world, storage_id, call.now)
    if volume is None:
        return _not_found(storage_id)
    return json_response(200, sw.info_body(sw.volume_view(volume, call.world, call.now, call.dialect), call.dialect))


# ------------------------------------------------------------------------------------------ edit, destroy
@with_body("StorageEditRequest")
def edit(call: Call, data: JsonDict) -> Response:
    world, now = call.world, call.now
    storage_id = call.params["storage_id"]
    volume = sw.alive(world, storage_id, now)
    if volume is None:
        return _not_found(storage_id)
    name, protection, size = data.get("tp_storage_name"), data.get("deletion_protection"), data.get("size_gb")
    if name is None and protection is None and size is None:
        return message(400, "Nothing to edit: give tp_storage_name, deletion_protection and/or size_gb")
    status = sw.volume_status(volume, world["requests"], now)
    if status in (sw.DESTROYING, sw.CREATING):
        return message(409, f"Storage volume {storage_id} is {status.lower()} and cannot be edited")
    if name is not None:
        if not name.strip():
            return message(400, "tp_storage_name must not be empty")
        other = sw.holder_of_name(world, name, now)
        if other is not None and other["storage_id"] != storage_id:
            return message(400, f"Storage volume name '{name}' is already in use")
    if size is not None:
        if size < volume["size_gb"]:
            return message(400, f"Storage volume {storage_id} has {volume['size_gb']} GB and cannot shrink to "
                                f"{size} GB: a volume's size can only be increased")
        if size > MAX_SIZE_GB:
            return message(400, f"size_gb={size} is more than the {MAX_SIZE_GB} GB a volume can have")
    changes = []
    if name is not None and name != volume["name"]:
        changes.append(f"name '{volume['name']}' -> '{name}'")
        volume["name"] = name
    if protection is not None and protection != volume["deletion_protection"]:
        changes.append(f"deletion protection {'on' if protection else 'off'}")
        volume["deletion_protection"] = protection
    if size is not None and size != volume["size_gb"]:
        changes.append(f"size {volume['size_gb']} GB -> {size} GB")
        volume["billed_usd"] = sw.accrued(volume, world["requests"], now)
        volume["billed_at"] = now
        volume["size_gb"] = size
    request_id = call.new_request(sw.STORAGE_EDIT, storage_id, call.settings.edit_seconds)
    _accepted(call, "edit")
    what = ", ".join(changes) if changes else "no change"
    return json_response(202, {"storage_id": storage_id, "request_id": request_id,
                               "message": f"Storage volume {storage_id} updated: {what}"})


def delete(call: Call) -> Response:
    world, now = call.world, call.now
    storage_id = call.params["storage_id"]
    volume = sw.alive(world, storage_id, now)
    if volume is None:
        return _not_found(storage_id)
    destroy_id = volume.get("destroy_request_id")
    if destroy_id is not None:
        return json_response(202, {"storage_id": storage_id, "request_id": destroy_id,
                                   "message": f"Storage volume {storage_id} is already being destroyed"})
    if volume["deletion_protection"]:
        return message(409, f"Storage volume {storage_id} has deletion protection enabled; turn it off first "
                            f"(PATCH /storage/edit/{storage_id} with deletion_protection=false)")
    if volume["attachments"]:
        return message(409, f"Storage volume {storage_id} is attached to {', '.join(volume['attachments'])}; "
                            "detach it first (POST /storage/detach)")
    create_req = world["requests"][volume["create_request_id"]]
    if tl.request_status(create_req, now) not in tl.TERMINAL:
        create_req["cancelled_at"] = now
    volume["destroy_request_id"] = call.new_request(sw.STORAGE_DESTROY, storage_id, call.settings.destroy_seconds)
    _accepted(call, "destroy")
    return json_response(202, {"storage_id": storage_id, "request_id": volume["destroy_request_id"],
                               "message": f"Storage volume {storage_id} ({volume['name']}) is being destroyed"})


# ------------------------------------------------------------------------------------------ attach, detach
def _cluster_refusal(call: Call, cluster_id: str) -> Response | JsonDict:
    cluster = alive_cluster(call.world, cluster_id, call.now)
    if cluster is None:
        return message(404, f"Cluster {cluster_id} not found")
    return cluster


@with_body("StorageAttachRequest")
def attach(call: Call, data: JsonDict) -> Response:
    world, now = call.world, call.now
    storage_id, cluster_ids = data["storage_id"], data["cluster_ids"]
    if not cluster_ids:
        return message(400, "cluster_ids is empty: name at least one cluster to attach the volume to")
    if len(set(cluster_ids)) != len(cluster_ids):
        return message(400, "cluster_ids names a cluster more than once")
    volume = sw.alive(world, storage_id, now)
    if volume is None:
        return _not_found(storage_id)
    status = sw.volume_status(volume, world["requests"], now)
    if status != sw.READY:
        return message(409, f"Storage volume {storage_id} is {str(status).lower()}, not ready: it can be attached "
                            "once it is READY")
    clusters = []
    for cluster_id in cluster_ids:
        found = _cluster_refusal(call, cluster_id)
        if isinstance(found, Response):
            return found
        if not takes_volumes(found["instance_type"], found["num_nodes"]):
            return message(400, f"Cluster {cluster_id} is a single-node {found['instance_type']} cluster: storage "
                                "volumes attach only to multi-node GPU clusters and CPU instances")
        if cluster_id in volume["attachments"]:
            return message(409, f"Storage volume {storage_id} is already attached to cluster {cluster_id}")
        cluster_status = tl.cluster_status(found, world["requests"], now)
        if cluster_status not in _ATTACHABLE:
            return message(409, f"Cluster {cluster_id} is {str(cluster_status).lower()}: a volume attaches to a "
                                "running cluster")
        clusters.append(found)
    request_ids = []
    for cluster in clusters:
        request_id = call.new_request(sw.STORAGE_ATTACH, storage_id, call.settings.edit_seconds,
                                      cluster_id=cluster["cluster_id"])
        sw.restart(cluster, now + call.settings.edit_seconds)
        cluster.setdefault("storage_request_ids", []).append(request_id)
        volume["attachments"].append(cluster["cluster_id"])
        request_ids.append(request_id)
    _accepted(call, "attach")
    return json_response(202, {
        "storage_id": storage_id, "request_ids": request_ids,
        "message": f"Storage volume {storage_id} is being attached to {', '.join(cluster_ids)}; all nodes of "
                   f"{'each cluster' if len(cluster_ids) > 1 else 'the cluster'} restart. Mounted at "
                   f"{sw.MOUNT_PATH.format(storage_id=storage_id)}",
    })


@with_body("StorageDetachRequest")
def detach(call: Call, data: JsonDict) -> Response:
    world, now = call.world, call.now
    storage_id, cluster_id = data["storage_id"], data["cluster_id"]
    volume = sw.alive(world, storage_id, now)
    if volume is None:
        return _not_found(storage_id)
    found = _cluster_refusal(call, cluster_id)
    if isinstance(found, Response):
        return found
    if cluster_id not in volume["attachments"]:
        return message(409, f"Storage volume {storage_id} is not attached to cluster {cluster_id}")
    request_id = call.new_request(sw.STORAGE_DETACH, storage_id, call.settings.edit_seconds, cluster_id=cluster_id)
    sw.restart(found, now + call.settings.edit_seconds)
    found.setdefault("storage_request_ids", []).append(request_id)
    volume["attachments"].remove(cluster_id)
    _accepted(call, "detach")
    return json_response(202, {
        "storage_id": storage_id, "cluster_id": cluster_id, "request_id": request_id,
        "message": f"Storage volume {storage_id} is being detached from {cluster_id}; all its nodes restart",
    })


def detach_all(world: JsonDict, cluster_id: str, now: float) -> list[str]:
    """A cluster's destroy was accepted: its volumes are detached at once (they outlive it), and attach or
    detach requests of it still in progress fail now. Returns the detached volumes' IDs."""
    detached = []
    for volume in sw.volumes_of(world, cluster_id, now):
        volume["attachments"].remove(cluster_id)
        detached.append(volume["storage_id"])
    cluster = world["clusters"].get(cluster_id) or {}
    for request_id in cluster.pop("storage_request_ids", None) or ():
        req = world["requests"][request_id]
        if tl.request_status(req, now) not in tl.TERMINAL:
            req["cancelled_at"] = now
    return detached
