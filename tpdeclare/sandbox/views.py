"""What clusters and requests look like on the wire: the canonical views, and each dialect's rendering of them."""

from __future__ import annotations

import functools
from typing import Any

from tpdeclare.sandbox import read_bodies as bodies
from tpdeclare.sandbox import timeline as tl
from tpdeclare.sandbox.dialects import Dialect
from tpdeclare.sandbox.message_tables import info_table, list_table
from tpdeclare.sandbox.ssh_access import instance_views
from tpdeclare.sandbox.storage_world import STORAGE_TYPES
from tpdeclare.sandbox.storage_world import request_message as storage_request_message
from tpdeclare.sandbox.world import JsonDict

# A timestamp's text never changes, and a list repeats every cluster's: memoised.
iso = functools.lru_cache(maxsize=1 << 16)(tl.iso)


def cluster_view(cluster: JsonDict, world: JsonDict, now: float, dialect: Dialect,
                 status: str | None = None) -> JsonDict:
    """One cluster in the contract's field names (statuses spelt as the dialect spells them)."""
    requests = world["requests"]
    status = status or tl.cluster_status(cluster, requests, now) or tl.DESTROYING
    name, protection = (tl.current(cluster, requests, now) if cluster.get("edit_request_ids")
                        else (cluster["tp_cluster_name"], cluster["deletion_protection"]))
    return {
        "cluster_id": cluster["cluster_id"],
        "tp_cluster_name": name,
        "instance_type": cluster["instance_type"],
        "num_nodes": cluster["num_nodes"],
        "container": cluster["container"],
        "deletion_protection": protection,
        "status": dialect.status_word(status),
        "instances": instance_views(cluster, status),
        "created_at": iso(cluster["created_at"]),
    }


def _renamed(view: JsonDict, dialect: Dialect) -> JsonDict:
    if not dialect.cluster_fields and not dialect.instance_fields:
        return view
    out = {dialect.cluster_key(k): v for k, v in view.items()}
    out[dialect.cluster_key("instances")] = [
        {dialect.instance_key(k): v for k, v in instance.items()} for instance in view["instances"]
    ]
    return out


def list_body(views: list[JsonDict], dialect: Dialect) -> dict[str, Any]:
    """The body of GET /cluster/list."""
    return bodies.list_body("clusters", views, list_table(views), lambda v: _renamed(v, dialect), dialect.text_only)


def info_body(view: JsonDict, dialect: Dialect) -> dict[str, Any]:
    """The body of GET /cluster/info/{cluster}."""
    return bodies.info_body(view, info_table(view), lambda v: _renamed(v, dialect), dialect.info_wrapper,
                            dialect.text_only)


def request_body(req: JsonDict, world: JsonDict, now: float, dialect: Dialect) -> dict[str, Any]:
    """The body of GET /request/info/{request_id}."""
    status = tl.request_status(req, now)
    if req["request_type"] in STORAGE_TYPES:
        external = storage_request_message(req, status, world)
    else:
        external = tl.request_message(req, status, _named_cluster(req, world, now))
    return {
        "request_id": req["request_id"],
        "request_type": req["request_type"],
        "status": dialect.status_word(status),
        "created_at": iso(req["created_at"]),
        "object_id": req["object_id"],
        "external_message": external,
    }


def _named_cluster(req: JsonDict, world: JsonDict, now: float) -> JsonDict | None:
    cluster: JsonDict | None = world["clusters"].get(req["object_id"])
    if cluster is not None and cluster.get("edit_request_ids"):
        name, _ = tl.current(cluster, world["requests"], now)
        cluster = {**cluster, "tp_cluster_name": name}
    return cluster
