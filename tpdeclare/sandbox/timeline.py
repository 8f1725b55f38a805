"""The sandbox's time-based state machine: request and cluster status, and cost, computed from timestamps.

Nothing runs in the background: every status is a function of the stored records and the clock.
A request of `duration` seconds started at `t0` is PENDING for the first 10 % of it, PROCESSING for
the rest, then COMPLETED (or FAILED when its failure was decided at creation, or when the cluster it
claims was destroyed before it finished). A cluster is PROVISIONING for the first 70 % of its claim
request, CONFIGURING for the rest, then RUNNING (or FAILED; RESTARTING while a storage attach or detach restarts its
nodes, until the cluster's `restart_until`); once a release is requested it is
DESTROYING until the release completes, after which it is gone. An asynchronous edit (CLUSTER_EDIT,
the async-edit dialect) changes the cluster's name or protection only once its request completed:
until then the cluster shows its old values (`current`), and the new name is already reserved.

A cluster accrues `hourly_cost` per hour, per second, from creation until it is gone (or until its
provisioning failed, whichever is first).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tpdeclare.sandbox.world import JsonDict

PENDING_FRACTION = 0.10
CONFIGURING_FRACTION = 0.70

# Request statuses [doc] and types.
PENDING, PROCESSING, COMPLETED, FAILED = "PENDING", "PROCESSING", "COMPLETED", "FAILED"
TERMINAL = frozenset({COMPLETED, FAILED})
CLUSTER_CLAIM, CLUSTER_RELEASE, CLUSTER_EDIT = "CLUSTER_CLAIM", "CLUSTER_RELEASE", "CLUSTER_EDIT"

# Cluster statuses [3p].
PROVISIONING, CONFIGURING, RUNNING, DESTROYING = "PROVISIONING", "CONFIGURING", "RUNNING", "DESTROYING"
RESTARTING = "RESTARTING"  # [assumed] a storage attach or detach restarts every node (storage_world.py)

INSTANCE_STATUS = {
    PROVISIONING: "provisioning",
    CONFIGURING: "configuring",
    RUNNING: "running",
    RESTARTING: "restarting",
    FAILED: "failed",
    DESTROYING: "destroying",
}


def iso(ts: float) -> str:
    """Epoch seconds as `2026-11-26T10:00:00Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_status(req: JsonDict, now: float) -> str:
    """The status of a request record at `now`."""
    cancelled_at = req.get("cancelled_at")
    if cancelled_at is not None and now >= cancelled_at:
        return FAILED
    elapsed = now - req["created_at"]
    duration = req["duration"]
    if elapsed >= duration:
        return FAILED if req.get("fails") else COMPLETED
    if elapsed < PENDING_FRACTION * duration:
        return PENDING
    return PROCESSING


def transitions(req: JsonDict, now: float) -> list[tuple[str, float]]:
    """The statuses a request has gone through by `now`, each with the instant it began."""
    start, duration = req["created_at"], req["duration"]
    cancelled_at = req.get("cancelled_at")
    steps = [(PENDING, start), (PROCESSING, start + PENDING_FRACTION * duration),
             (FAILED if req.get("fails") else COMPLETED, start + duration)]
    if duration == 0:
        steps = steps[2:]
    if cancelled_at is not None:
        steps = [step for step in steps if step[1] < cancelled_at] + [(FAILED, cancelled_at)]
    return [step for step in steps if step[1] <= now]


def current(cluster: JsonDict, requests: JsonDict, now: float) -> tuple[str, bool]:
    """The cluster's name and deletion protection at `now`: its stored values with every completed edit
    applied in order."""
    name, protection = cluster["tp_cluster_name"], cluster["deletion_protection"]
    for request_id in cluster.get("edit_request_ids") or ():
        req = requests[request_id]
        if request_status(req, now) == COMPLETED:
            name = req["changes"].get("tp_cluster_name", name)
            protection = req["changes"].get("deletion_protection", protection)
    return name, protection


def pending_names(cluster: JsonDict, requests: JsonDict, now: float) -> list[str]:
    """Names that edits still in progress will give the cluster (reserved already)."""
    names = []
    for request_id in cluster.get("edit_request_ids") or ():
        req = requests[request_id]
        if "tp_cluster_name" in req["changes"] and request_status(req, now) not in TERMINAL:
            names.append(req["changes"]["tp_cluster_name"])
    return names


def end_of(req: JsonDict) -> float:
    """When a request completes (or completed)."""
    return float(req["created_at"] + req["duration"])


def gone_at(record: JsonDict, requests: JsonDict, key: str = "release_request_id") -> float | None:
    """When the record's removal (the request under `key`: a cluster's release) completes, and it vanishes;
    None if no removal was requested."""
    request_id = record.get(key)
    return None if request_id is None else end_of(requests[request_id])


def is_gone(record: JsonDict, requests: JsonDict, now: float, key: str = "release_request_id") -> bool:
    end = gone_at(record, requests, key)
    return end is not None and now >= end


def cluster_status(cluster: JsonDict, requests: JsonDict, now: float) -> str | None:
    """The status of a cluster record at `now`; None once it is gone."""
    end = gone_at(cluster, requests)
    if end is not None:
        return None if now >= end else DESTROYING
    claim = requests[cluster["claim_request_id"]]
    elapsed = now - claim["created_at"]
    duration = claim["duration"]
    if elapsed >= duration:
        if claim.get("fails"):
            return FAILED
        restart_until = cluster.get("restart_until")
        return RESTARTING if restart_until is not None and now < restart_until else RUNNING
    return PROVISIONING if elapsed < CONFIGURING_FRACTION * duration else CONFIGURING


def accrued(cluster: JsonDict, requests: JsonDict, now: float) -> float:
    """USD the cluster has cost up to `now`."""
    end = now
    gone = gone_at(cluster, requests)
    if gone is not None:
        end = min(end, gone)
    claim = requests[cluster["claim_request_id"]]
    if claim.get("fails"):
        end = min(end, claim["created_at"] + claim["duration"])
    seconds = max(0.0, end - cluster["created_at"])
    return float(cluster["hourly_cost"] * seconds / 3600.0)


# The human words of each request type in each status (`{what}` is the cluster).
_REQUEST_WORDS = {
    CLUSTER_CLAIM: {
        PENDING: "Cluster {what} is queued for provisioning",
        PROCESSING: "Provisioning cluster {what}",
        COMPLETED: "Cluster {what} is ready",
        FAILED: "Provisioning of cluster {what} failed: no capacity for the requested instances",
    },
    CLUSTER_RELEASE: {
        PENDING: "Release of cluster {what} is queued",
        PROCESSING: "Releasing cluster {what}",
        COMPLETED: "Cluster {what} was destroyed",
        FAILED: "Release of cluster {what} failed",
    },
    CLUSTER_EDIT: {
        PENDING: "Edit of cluster {what} is queued",
        PROCESSING: "Editing cluster {what}",
        COMPLETED: "Cluster {what} was edited",
        FAILED: "Edit of cluster {what} was cancelled: the cluster is being destroyed",
    },
}
_CANCELLED_CLAIM = "Cluster {what} was destroyed before provisioning finished"


def request_message(req: JsonDict, status: str, cluster: JsonDict | None) -> str:
    """The human words (`external_message`) for a request in a status."""
    what = req["object_id"]
    if cluster is not None:
        what = f"{cluster['cluster_id']} ({cluster['tp_cluster_name']})"
    words = _REQUEST_WORDS[req["request_type"]][status]
    if req["request_type"] == CLUSTER_CLAIM and status == FAILED and req.get("cancelled_at") is not None:
        words = _CANCELLED_CLAIM
    return words.format(what=what)
