"""Questions asked of the world document, and its upkeep: live clusters by ID or name, fresh IDs, and folding
finished destroys and edits into the stored records."""

from __future__ import annotations

import hashlib
import secrets

from tpdeclare.sandbox import timeline as tl
from tpdeclare.sandbox.world import JsonDict


def alive(world: JsonDict, cluster_id: str, now: float) -> JsonDict | None:
    """The cluster record with this ID unless it is gone."""
    cluster: JsonDict | None = world["clusters"].get(cluster_id)
    if cluster is None or tl.is_gone(cluster, world["requests"], now):
        return None
    return cluster


def holder_of_name(world: JsonDict, name: str, now: float) -> JsonDict | None:
    """The live cluster that holds a name: as its current name, or as the target of an edit in progress."""
    requests = world["requests"]
    cluster: JsonDict
    for cluster in world["clusters"].values():
        edits = cluster.get("edit_request_ids")
        current = tl.current(cluster, requests, now)[0] if edits else cluster["tp_cluster_name"]
        held = current == name or (edits and name in tl.pending_names(cluster, requests, now))
        if held and not tl.is_gone(cluster, requests, now):
            return cluster
    return None


def spent(world: JsonDict, now: float) -> float:
    """USD spent so far: what gone clusters and volumes cost plus what every stored one has accrued."""
    from tpdeclare.sandbox.storage_world import spent_on_volumes

    clusters = sum(tl.accrued(c, world["requests"], now) for c in world["clusters"].values())
    return float(world["spent"]) + clusters + spent_on_volumes(world, now)


def collect_gone(world: JsonDict, now: float) -> bool:
    """Fold clusters that are gone into `spent` and forget them (their requests stay pollable).
    Only a cluster with a release request can be gone, so only those are looked at closely.
    True when any was forgotten."""
    clusters, requests = world["clusters"], world["requests"]
    gone = [cluster_id for cluster_id, cluster in clusters.items()
            if cluster.get("release_request_id") is not None and tl.is_gone(cluster, requests, now)]
    for cluster_id in gone:
        world["spent"] += tl.accrued(clusters[cluster_id], requests, now)
        del clusters[cluster_id]
    return bool(gone)


def settle_edits(cluster: JsonDict, requests: JsonDict, now: float) -> None:
    """Apply the cluster's finished edits to its stored fields and forget them (keeps `current` cheap)."""
    pending = []
    for request_id in cluster.get("edit_request_ids") or ():
        req = requests[request_id]
        status = tl.request_status(req, now)
        if status == tl.COMPLETED:
            cluster["tp_cluster_name"] = req["changes"].get("tp_cluster_name", cluster["tp_cluster_name"])
            cluster["deletion_protection"] = req["changes"].get("deletion_protection",
                                                                cluster["deletion_protection"])
        elif status not in tl.TERMINAL:
            pending.append(request_id)
    if pending:
        cluster["edit_request_ids"] = pending
    else:
        cluster.pop("edit_request_ids", None)


def cancel_pending(cluster: JsonDict, requests: JsonDict, now: float) -> None:
    """A destroy starts: the claim and every edit still in progress fail now."""
    for request_id in [cluster["claim_request_id"], *(cluster.get("edit_request_ids") or ())]:
        req = requests[request_id]
        if tl.request_status(req, now) not in tl.TERMINAL:
            req["cancelled_at"] = now


def new_id(world: JsonDict, prefix: str, hex_digits: int, seed: int | str | None) -> str:
    """A fresh ID: random, or (with a seed) derived from the seed and a per-world sequence number,
    so it never repeats within one world even across restarts."""
    while True:
        if seed is None:
            digest = secrets.token_hex((hex_digits + 1) // 2)
        else:
            world["seq"] = world.get("seq", 0) + 1
            digest = hashlib.sha256(f"{seed}:{world['seq']}".encode()).hexdigest()
        ident = prefix + digest[:hex_digits]
        if ident not in world["clusters"] and ident not in world["requests"] and ident not in world.get("volumes", {}):
            return ident
