"""The sandbox's storage volumes: their status, attachments, cost and wire views, computed from stored timestamps.

A volume record lives in `world["volumes"]` under its ID (`s-` and 8 hex digits). Like a cluster, every
status is a function of the record and the clock:

- CREATING while its STORAGE_CREATE request runs, then READY (FAILED when the create was cancelled by a
  destroy before it finished);
- DESTROYING once a destroy (STORAGE_DESTROY) is accepted, until that request completes: then the volume
  is gone (404, no longer listed) and its cost is folded into the world's `spent`;
- `attachments` holds the clusters it is attached to or being attached to: an accepted attach adds the
  cluster at once, an accepted detach (or the cluster's own destroy) removes it at once. The cluster itself
  is RESTARTING until its STORAGE_ATTACH / STORAGE_DETACH request completes (`restart_until` on the
  cluster record, read by `timeline.cluster_status`).

A volume costs PRICE_PER_GB_MONTH per GB per month (a month is HOURS_PER_MONTH hours), per second, from its
creation until it is gone; a resize bills the new size from the moment it is accepted (`billed_usd` holds
what the earlier sizes cost up to `billed_at`).
"""

from __future__ import annotations

import functools
from typing import Any

from tpdeclare.sandbox import read_bodies as bodies
from tpdeclare.sandbox import timeline as tl
from tpdeclare.sandbox.dialects import Dialect
from tpdeclare.sandbox.message_tables import text_table
from tpdeclare.sandbox.world import JsonDict

PRICE_PER_GB_MONTH = 0.10  # [doc] USD
HOURS_PER_MONTH = 730.0  # 365 * 24 / 12
MOUNT_PATH = "/mnt/{storage_id}"  # [doc]

# Request types [cli].
STORAGE_CREATE, STORAGE_DESTROY, STORAGE_EDIT = "STORAGE_CREATE", "STORAGE_DESTROY", "STORAGE_EDIT"
STORAGE_ATTACH, STORAGE_DETACH = "STORAGE_ATTACH", "STORAGE_DETACH"
STORAGE_TYPES = frozenset({STORAGE_CREATE, STORAGE_DESTROY, STORAGE_EDIT, STORAGE_ATTACH, STORAGE_DETACH})
# Volume statuses [assumed].
CREATING, READY, DESTROYING, FAILED = "CREATING", "READY", "DESTROYING", "FAILED"


# When the volume's destroy (STORAGE_DESTROY) completes, or None if none was accepted; whether that has come.
gone_at = functools.partial(tl.gone_at, key="destroy_request_id")
is_gone = functools.partial(tl.is_gone, key="destroy_request_id")


def volume_status(volume: JsonDict, requests: JsonDict, now: float) -> str | None:
    """The status of a volume record at `now`; None once it is gone."""
    end = gone_at(volume, requests)
    if end is not None:
        return None if now >= end else DESTROYING
    status = tl.request_status(requests[volume["create_request_id"]], now)
    if status == tl.COMPLETED:
        return READY
    return FAILED if status == tl.FAILED else CREATING


def accrued(volume: JsonDict, requests: JsonDict, now: float) -> float:
    """USD the volume has cost up to `now`."""
    end = now
    gone = gone_at(volume, requests)
    if gone is not None:
        end = min(end, gone)
    seconds = max(0.0, end - float(volume["billed_at"]))
    per_second = monthly_cost(int(volume["size_gb"])) / (HOURS_PER_MONTH * 3600.0)
    return float(volume["billed_usd"]) + per_second * seconds


def monthly_cost(size_gb: int) -> float:
    return size_gb * PRICE_PER_GB_MONTH


def spent_on_volumes(world: JsonDict, now: float) -> float:
    """What the stored volumes have cost so far (gone ones are in `world["spent"]` already)."""
    requests = world["requests"]
    return sum(accrued(v, requests, now) for v in world.get("volumes", {}).values())


def collect_gone(world: JsonDict, now: float) -> None:
    """Fold volumes that are gone into `spent` and forget them (their requests stay pollable)."""
    volumes, requests = world.setdefault("volumes", {}), world["requests"]
    for storage_id in [sid for sid, v in volumes.items() if is_gone(v, requests, now)]:
        world["spent"] += accrued(volumes[storage_id], requests, now)
        del volumes[storage_id]


def alive(world: JsonDict, storage_id: str, now: float) -> JsonDict | None:
    volume: JsonDict | None = world.setdefault("volumes", {}).get(storage_id)
    if volume is None or is_gone(volume, world["requests"], now):
        return None
    return volume


def holder_of_name(world: JsonDict, name: str, now: float) -> JsonDict | None:
    """The live volume with this name (volume names are unique among volumes, apart from cluster names)."""
    for volume in world.setdefault("volumes", {}).values():
        if volume["name"] == name and not is_gone(volume, world["requests"], now):
            return dict(volume)
    return None


def volumes_of(world: JsonDict, cluster_id: str, now: float) -> list[JsonDict]:
    """The live volumes attached (or being attached) to a cluster."""
    requests = world["requests"]
    return [v for v in world.setdefault("volumes", {}).values()
            if cluster_id in v["attachments"] and not is_gone(v, requests, now)]


def restart(cluster: JsonDict, until: float) -> None:
    """The cluster's nodes restart until `until` (a later restart extends an earlier one)."""
    cluster["restart_until"] = max(float(cluster.get("restart_until") or 0.0), until)


# ------------------------------------------------------------------------------------------ wire views
def volume_view(volume: JsonDict, world: JsonDict, now: float, dialect: Dialect, status: str | None = None) -> JsonDict:
    """One volume in the contract's field names (the status spelt as the dialect spells it)."""
    status = status or volume_status(volume, world["requests"], now) or DESTROYING
    return {
        "storage_id": volume["storage_id"],
        "tp_storage_name": volume["name"],
        "size_gb": volume["size_gb"],
        "deletion_protection": volume["deletion_protection"],
        "status": dialect.status_word(status),
        "cluster_ids": list(volume["attachments"]),
        "mount_path": MOUNT_PATH.format(storage_id=volume["storage_id"]),
        "created_at": tl.iso(volume["created_at"]),
    }


def _renamed(view: JsonDict, dialect: Dialect) -> JsonDict:
    return {dialect.volume_key(k): v for k, v in view.items()} if dialect.volume_fields else view


def list_body(views: list[JsonDict], dialect: Dialect) -> dict[str, Any]:
    """The body of GET /storage/list."""
    return bodies.list_body("volumes", views, list_table(views), lambda v: _renamed(v, dialect), dialect.text_only)


def info_body(view: JsonDict, dialect: Dialect) -> dict[str, Any]:
    """The body of GET /storage/info/{storage_id}."""
    return bodies.info_body(view, info_table(view), lambda v: _renamed(v, dialect), dialect.storage_wrapper,
                            dialect.text_only)


def list_table(volumes: list[JsonDict]) -> str:
    """The `message` of GET /storage/list (the official CLI prints it as is)."""
    if not volumes:
        return "No storage volumes found."
    rows = [[v["storage_id"], v["tp_storage_name"], f"{v['size_gb']} GB", v["status"],
             ", ".join(v["cluster_ids"]) or "-", "yes" if v["deletion_protection"] else "no", v["created_at"]]
            for v in volumes]
    table = text_table(["ID", "NAME", "SIZE", "STATUS", "ATTACHED TO", "PROTECTED", "CREATED"], rows)
    return f"{table}\n{len(volumes)} volume{'s' if len(volumes) != 1 else ''}"


def info_table(view: JsonDict) -> str:
    """The `message` of GET /storage/info/{storage_id}."""
    monthly = monthly_cost(view["size_gb"])
    return text_table(["Storage", view["storage_id"]], [
        ["Name", view["tp_storage_name"]],
        ["Size", f"{view['size_gb']} GB (${monthly:,.2f}/month)"],
        ["Status", view["status"]],
        ["Attached to", ", ".join(view["cluster_ids"]) or "-"],
        ["Mount path", view["mount_path"]],
        ["Protected", "yes" if view["deletion_protection"] else "no"],
        ["Created", view["created_at"]],
    ])


def _volume_words(verb: str, verbing: str, done: str) -> dict[str, str]:
    """A destroy's or an edit's words in each status: `Edit of storage volume {what} is queued`, ..."""
    return {tl.PENDING: f"{verb} of storage volume {{what}} is queued",
            tl.PROCESSING: f"{verbing} storage volume {{what}}",
            tl.COMPLETED: f"Storage volume {{what}} was {done}",
            tl.FAILED: f"{verb} of storage volume {{what}} failed"}


def _link_words(verb: str, verbing: str, done: str, to: str) -> dict[str, str]:
    """An attach's or a detach's words: each restarts all the cluster's nodes, and its destroy cancels them."""
    link = f"storage volume {{what}} {to} cluster {{cluster}}"
    return {tl.PENDING: f"{verb} of {link} is queued",
            tl.PROCESSING: f"{verbing} {link}: restarting all its nodes",
            tl.COMPLETED: f"Storage volume {{what}} is {done} {to} cluster {{cluster}}",
            tl.FAILED: f"{verb} of {link} was cancelled: the cluster is being destroyed"}


_REQUEST_WORDS = {
    STORAGE_CREATE: {tl.PENDING: "Storage volume {what} is queued for creation",
                     tl.PROCESSING: "Creating storage volume {what}",
                     tl.COMPLETED: "Storage volume {what} is ready",
                     tl.FAILED: "Storage volume {what} was destroyed before its creation finished"},
    STORAGE_DESTROY: _volume_words("Destroy", "Destroying", "destroyed"),
    STORAGE_EDIT: _volume_words("Edit", "Editing", "edited"),
    STORAGE_ATTACH: _link_words("Attach", "Attaching", "attached", "to"),
    STORAGE_DETACH: _link_words("Detach", "Detaching", "detached", "from"),
}


def request_message(req: JsonDict, status: str, world: JsonDict) -> str:
    """The human words (`external_message`) for a storage request in a status."""
    what = req["object_id"]
    volume = world.get("volumes", {}).get(what)
    if volume is not None:
        what = f"{volume['storage_id']} ({volume['name']})"
    return _REQUEST_WORDS[req["request_type"]][status].format(what=what, cluster=req.get("cluster_id") or "-")
