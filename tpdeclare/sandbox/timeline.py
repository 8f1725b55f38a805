"""The sandbox's time-based state machine: request and cluster status, and cost, computed from timestamps.

Nothing runs in the background: every status is a function of the stored records and the clock.
A request of `duration` seconds started at `t0` is PENDING for the first 10 % of it, PROCESSING for
the rest, then COMPLETED (or FAILED when its failure was decided at creation, or when the cluster it
claims was destroyed before it finished). A cluster is PROVISIONING for the first 70 % of its claim
request, CONFIGURING for the rest, then RUNNING (or FAILED); once a release is requested it is
DESTROYING until the release completes, after which it is gone.

A cluster accrues `hourly_cost` per hour, per second, from creation until it is gone (or until its
provisioning failed, whichever is first).
"""

from __future__ import annotations

from datetime import datetime, timezone

PENDING_FRACTION = 0.10
CONFIGURING_FRACTION = 0.70

# Request statuses [doc] and types.
PENDING, PROCESSING, COMPLETED, FAILED = "PENDING", "PROCESSING", "COMPLETED", "FAILED"
TERMINAL = frozenset({COMPLETED, FAILED})
CLUSTER_CLAIM, CLUSTER_RELEASE = "CLUSTER_CLAIM", "CLUSTER_RELEASE"

# Cluster statuses [3p].
PROVISIONING, CONFIGURING, RUNNING, DESTROYING = "PROVISIONING", "CONFIGURING", "RUNNING", "DESTROYING"

INSTANCE_STATUS = {
    PROVISIONING: "provisioning",
    CONFIGURING: "configuring",
    RUNNING: "running",
    FAILED: "failed",
    DESTROYING: "destroying",
}


def iso(ts: float) -> str:
    """Epoch seconds as `2026-11-26T10:00:00Z`."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_status(req: dict, now: float) -> str:
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


def gone_at(cluster: dict, requests: dict) -> float | None:
    """When the cluster's release completes (it vanishes then), or None if no release was requested."""
    release_id = cluster.get("release_request_id")
    if release_id is None:
        return None
    rel = requests[release_id]
    return rel["created_at"] + rel["duration"]


def is_gone(cluster: dict, requests: dict, now: float) -> bool:
    end = gone_at(cluster, requests)
    return end is not None and now >= end


def cluster_status(cluster: dict, requests: dict, now: float) -> str | None:
    """The status of a cluster record at `now`; None once it is gone."""
    end = gone_at(cluster, requests)
    if end is not None:
        return None if now >= end else DESTROYING
    claim = requests[cluster["claim_request_id"]]
    elapsed = now - claim["created_at"]
    duration = claim["duration"]
    if elapsed >= duration:
        return FAILED if claim.get("fails") else RUNNING
    return PROVISIONING if elapsed < CONFIGURING_FRACTION * duration else CONFIGURING


def accrued(cluster: dict, requests: dict, now: float) -> float:
    """USD the cluster has cost up to `now`."""
    end = now
    gone = gone_at(cluster, requests)
    if gone is not None:
        end = min(end, gone)
    claim = requests[cluster["claim_request_id"]]
    if claim.get("fails"):
        end = min(end, claim["created_at"] + claim["duration"])
    seconds = max(0.0, end - cluster["created_at"])
    return cluster["hourly_cost"] * seconds / 3600.0


def request_message(req: dict, status: str, cluster: dict | None) -> str:
    """The human words (`external_message`) for a request in a status."""
    what = req["object_id"]
    if cluster is not None:
        what = f"{cluster['cluster_id']} ({cluster['tp_cluster_name']})"
    if req["request_type"] == CLUSTER_RELEASE:
        return {
            PENDING: f"Release of cluster {what} is queued",
            PROCESSING: f"Releasing cluster {what}",
            COMPLETED: f"Cluster {what} was destroyed",
        }.get(status, f"Release of cluster {what} failed")
    if status == FAILED:
        if req.get("cancelled_at") is not None:
            return f"Cluster {what} was destroyed before provisioning finished"
        return f"Provisioning of cluster {what} failed: no capacity for the requested instances"
    return {
        PENDING: f"Cluster {what} is queued for provisioning",
        PROCESSING: f"Provisioning cluster {what}",
        COMPLETED: f"Cluster {what} is ready",
    }[status]


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain left-aligned text table, as the official CLI prints list/info messages."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [headers, *rows]]
    return "\n".join(lines)
