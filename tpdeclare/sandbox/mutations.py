"""The endpoints that change the world, with the API's business rules: create, edit and delete a cluster."""

from __future__ import annotations

from tpdeclare import catalog
from tpdeclare.sandbox import timeline as tl
from tpdeclare.sandbox.call_context import Call, with_body
from tpdeclare.sandbox.responses import Response, json_response, message
from tpdeclare.sandbox.storage_routes import detach_all
from tpdeclare.sandbox.world import JsonDict
from tpdeclare.sandbox.world_queries import (
    alive,
    cancel_pending,
    collect_gone,
    holder_of_name,
    settle_edits,
    spent,
)

MAX_NODES = 64  # [assumed] the spec's own limit (specs/cluster.schema.json)


def _collect_gone(call: Call) -> None:
    if collect_gone(call.world, call.now):
        call.spend.invalidate()


def _refusal(call: Call, instance_type: str, num_nodes: int, name: str | None) -> Response | None:
    """The 400 or 402 a valid create body can still get."""
    if instance_type not in catalog.INSTANCE_TYPES:
        valid = ", ".join(catalog.INSTANCE_TYPES)
        return message(400, f"Invalid instance type '{instance_type}'. Valid types: {valid}")
    if num_nodes > 1 and instance_type not in catalog.MULTI_NODE_TYPES:
        return message(400, f"Instance type {instance_type} does not support num_nodes={num_nodes}; "
                            f"multi-node clusters need {' or '.join(catalog.MULTI_NODE_TYPES)}")
    if num_nodes > MAX_NODES:
        return message(400, f"num_nodes={num_nodes} is more than the {MAX_NODES} nodes a cluster can have")
    if name is not None:
        if not name.strip():
            return message(400, "tp_cluster_name must not be empty")
        if holder_of_name(call.world, name, call.now) is not None:
            return message(400, f"Cluster name '{name}' is already in use")
    hourly = catalog.hourly_cost(instance_type, num_nodes) or 0.0
    balance = call.settings.balance
    if not call.spend.affordable(call.world, call.now, hourly, balance):
        remaining = balance - spent(call.world, call.now)
        return message(402, f"Insufficient balance: ${remaining:,.2f} available, but {num_nodes} x {instance_type} "
                            f"needs ${hourly:,.2f} for its first hour")
    return None


@with_body("ClusterCreateRestRequest")
def create(call: Call, data: JsonDict) -> Response:
    world, now = call.world, call.now
    instance_type = data["instance_type"]
    num_nodes = data.get("num_nodes") or 1
    name = data.get("tp_cluster_name")
    refusal = _refusal(call, instance_type, num_nodes, name)
    if refusal is not None:
        return refusal

    _collect_gone(call)
    cluster_id = call.new_id("c-", 8)
    request_id = call.new_request(tl.CLUSTER_CLAIM, cluster_id, call.settings.provision_seconds)
    instance_ids = [call.new_id("i-", 8) for _ in range(num_nodes)]
    if name is None:
        name = f"cluster-{cluster_id[2:]}"
        while holder_of_name(world, name, now) is not None:
            name = f"cluster-{call.new_id('', 8)}"
    if call.provision_failed > 0 and call.draw() < call.provision_failed:
        world["requests"][request_id]["fails"] = True
        call.count_fault("provision_failed")
    hourly = catalog.hourly_cost(instance_type, num_nodes) or 0.0
    world["clusters"][cluster_id] = {
        "cluster_id": cluster_id,
        "tp_cluster_name": name,
        "instance_type": instance_type,
        "num_nodes": num_nodes,
        "container": data.get("container"),
        "deletion_protection": bool(data.get("deletion_protection")),
        "public_keys": list(data.get("public_keys") or []),
        "instance_ids": instance_ids,
        "created_at": now,
        "hourly_cost": hourly,
        "claim_request_id": request_id,
        "release_request_id": None,
    }
    call.spend.note_create(world, hourly, now)
    call.session.mark_dirty()
    call.count("creates_accepted")
    return json_response(202, {
        "cluster_id": cluster_id,
        "instance_ids": instance_ids,
        "request_id": request_id,
        "message": f"Cluster {cluster_id} ({name}) is being created: {num_nodes} x {instance_type}. "
                   f"Track it with GET /request/info/{request_id}",
    })


@with_body("ClusterEditRequest")
def edit(call: Call, data: JsonDict) -> Response:
    world, now = call.world, call.now
    cluster_id = call.params["cluster"]
    cluster = alive(world, cluster_id, now)
    if cluster is None:
        return message(404, f"Cluster {cluster_id} not found")
    new_name, protection = data.get("cluster_name"), data.get("deletion_protection")
    if new_name is None and protection is None:
        return message(400, "Nothing to edit: give cluster_name and/or deletion_protection")
    if cluster.get("release_request_id") is not None:
        return message(409, f"Cluster {cluster_id} is being destroyed and cannot be edited")
    if new_name is not None:
        if not new_name.strip():
            return message(400, "cluster_name must not be empty")
        other = holder_of_name(world, new_name, now)
        if other is not None and other["cluster_id"] != cluster_id:
            return message(400, f"Cluster name '{new_name}' is already in use")
    _collect_gone(call)
    settle_edits(cluster, world["requests"], now)
    changes = []
    if new_name is not None and new_name != cluster["tp_cluster_name"]:
        changes.append(f"name '{cluster['tp_cluster_name']}' -> '{new_name}'")
    if protection is not None and protection != cluster["deletion_protection"]:
        changes.append(f"deletion protection {'on' if protection else 'off'}")
    what = ", ".join(changes) if changes else "no change"
    call.session.mark_dirty()
    call.count("edits_accepted")
    if call.dialect.async_edits:
        wanted = {"tp_cluster_name": new_name, "deletion_protection": protection}
        request_id = call.new_request(tl.CLUSTER_EDIT, cluster_id, call.settings.edit_seconds,
                                      changes={k: v for k, v in wanted.items() if v is not None})
        cluster.setdefault("edit_request_ids", []).append(request_id)
        return json_response(202, {
            "cluster_id": cluster_id, "request_id": request_id,
            "message": f"Edit of cluster {cluster_id} accepted: {what}. Track it with GET /request/info/{request_id}",
        })
    if new_name is not None:
        cluster["tp_cluster_name"] = new_name
    if protection is not None:
        cluster["deletion_protection"] = protection
    return json_response(202, {"message": f"Cluster {cluster_id} updated: {what}"})


def delete(call: Call) -> Response:
    world, now = call.world, call.now
    cluster_id = call.params["cluster"]
    cluster = alive(world, cluster_id, now)
    if cluster is None:
        return message(404, f"Cluster {cluster_id} not found")
    release_id = cluster.get("release_request_id")
    if release_id is not None:
        return json_response(202, {"cluster_id": cluster_id, "request_id": release_id,
                                   "message": f"Cluster {cluster_id} is already being destroyed"})
    name, protected = tl.current(cluster, world["requests"], now)
    if protected:
        return message(409, f"Cluster {cluster_id} has deletion protection enabled; turn it off first "
                            f"(PATCH /cluster/edit/{cluster_id} with deletion_protection=false)")
    _collect_gone(call)
    settle_edits(cluster, world["requests"], now)
    release_id = call.new_request(tl.CLUSTER_RELEASE, cluster_id, call.settings.destroy_seconds)
    cancel_pending(cluster, world["requests"], now)
    detached = detach_all(world, cluster_id, now)
    cluster["release_request_id"] = release_id
    call.session.mark_dirty()
    call.count("deletes_accepted")
    also = f"; storage volume{'s' if len(detached) > 1 else ''} {', '.join(detached)} detached" if detached else ""
    return json_response(202, {"cluster_id": cluster_id, "request_id": release_id,
                               "message": f"Cluster {cluster_id} ({name}) is being destroyed{also}"})
