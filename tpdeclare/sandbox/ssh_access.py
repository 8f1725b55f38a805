"""How the sandbox's instances are reached: plausible IP addresses, and the ready command of GET /ssh/{instance_id}.

Addresses are derived from IDs (a hash), so nothing is stored and a restart gives the same ones:
- a single-node cluster's node has a public address and a private one;
- a multi-node cluster has a jumphost, `{cluster_id}-jumphost` (its login node, listed first among its
  instances), with a public address, and workers with private addresses only, in the cluster's own
  10.x.y.0/24, reached through the jumphost (`ssh -J`).
Public addresses come from the documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24), which are never routed, so nothing ever connects anywhere real. A cluster's instances have
addresses once it is RUNNING (and while it is being destroyed), none before.

`GET /ssh/{instance_id}?system=...` (what `tp ssh` sends; `system` is the caller's platform.system(), any
word) answers `{command, message}` for an instance of a RUNNING cluster, 409 for one that is not running
(yet, or any more: FAILED), 404 for an instance no live cluster has.
"""

from __future__ import annotations

import functools
import hashlib

from tpdeclare.sandbox import timeline as tl
from tpdeclare.sandbox.call_context import Call
from tpdeclare.sandbox.responses import Response, json_response, message
from tpdeclare.sandbox.world import JsonDict
from tpdeclare.sandbox.world_queries import alive

LOGIN_USER = "ubuntu"  # [assumed] the nodes' login user (TensorPool's own guides use ubuntu@<ip>)
JUMPHOST_SUFFIX = "-jumphost"
_PUBLIC_NETS = ("192.0.2", "198.51.100", "203.0.113")
_ADDRESSED = frozenset({tl.RUNNING, tl.RESTARTING, tl.DESTROYING})
_FIRST_WORKER = 10  # workers are .10, .11, ... of the cluster's /24; the jumphost is .2


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


# Pure functions of an ID, and a list repeats every cluster's: memoised (as views.iso is).
@functools.lru_cache(maxsize=1 << 16)
def _public_ip(instance_id: str) -> str:
    d = _digest(instance_id)
    return f"{_PUBLIC_NETS[d[0] % len(_PUBLIC_NETS)]}.{1 + d[1] % 254}"


@functools.lru_cache(maxsize=1 << 16)
def _subnet(cluster_id: str) -> str:
    d = _digest(cluster_id)
    return f"10.{d[0]}.{d[1]}"


def jumphost_id(cluster: JsonDict) -> str | None:
    """The jumphost's instance ID of a multi-node cluster; None for a single node."""
    return f"{cluster['cluster_id']}{JUMPHOST_SUFFIX}" if cluster["num_nodes"] > 1 else None


def instance_views(cluster: JsonDict, status: str) -> list[JsonDict]:
    """The cluster's instances on the wire, jumphost first: ID, status and addresses (null when none)."""
    word = tl.INSTANCE_STATUS[status]
    addressed = status in _ADDRESSED
    subnet = _subnet(cluster["cluster_id"])
    jump = jumphost_id(cluster)
    views = []
    if jump is not None:
        views.append({"instance_id": jump, "status": word, "public_ip": _public_ip(jump) if addressed else None,
                      "private_ip": f"{subnet}.2" if addressed else None})
    for index, instance_id in enumerate(cluster["instance_ids"]):
        public = _public_ip(instance_id) if addressed and jump is None else None
        private = f"{subnet}.{_FIRST_WORKER + index}" if addressed else None
        views.append({"instance_id": instance_id, "status": word, "public_ip": public, "private_ip": private})
    return views


def _owner(world: JsonDict, instance_id: str, now: float) -> JsonDict | None:
    """The live cluster an instance (or jumphost) ID belongs to."""
    if instance_id.endswith(JUMPHOST_SUFFIX):
        cluster = alive(world, instance_id[: -len(JUMPHOST_SUFFIX)], now)
        return cluster if cluster is not None and jumphost_id(cluster) == instance_id else None
    for cluster in world["clusters"].values():
        if instance_id in cluster["instance_ids"]:
            return alive(world, cluster["cluster_id"], now)
    return None


def ssh(call: Call) -> Response:
    instance_id = call.params["instance_id"]
    cluster = _owner(call.world, instance_id, call.now)
    if cluster is None:
        return message(404, f"Instance {instance_id} not found")
    status = tl.cluster_status(cluster, call.world["requests"], call.now) or tl.DESTROYING
    cluster_id = cluster["cluster_id"]
    if status != tl.RUNNING:
        return message(409, f"Instance {instance_id} cannot be reached: cluster {cluster_id} is {status}, "
                            "not RUNNING")
    views = {v["instance_id"]: v for v in instance_views(cluster, status)}
    me = views[instance_id]
    name = tl.current(cluster, call.world["requests"], call.now)[0]
    jump = jumphost_id(cluster)
    if me["public_ip"] is not None:
        command = f"ssh {LOGIN_USER}@{me['public_ip']}"
        role = "the jumphost of" if instance_id == jump else "the node of"
    else:
        gateway = views[jump or ""]["public_ip"]
        command = f"ssh -J {LOGIN_USER}@{gateway} {LOGIN_USER}@{me['private_ip']}"
        role = "a worker (reached through its jumphost) of"
    return json_response(200, {
        "command": command,
        "message": f"Connecting to {instance_id}, {role} cluster {cluster_id} ({name})",
    })
