"""The typed results of the API's endpoints: what a create, a poll, a list or a delete answered."""

from __future__ import annotations

from tpdeclare.api.status_is import StatusIs
from tpdeclare.api.vocabulary import (
    CLUSTER_DESTROYING,
    CLUSTER_FAILED,
    CLUSTER_GONE,
    CLUSTER_RUNNING,
    JUMPHOST_ID,
    REQUEST_COMPLETED,
    REQUEST_FAILED,
    REQUEST_STATUSES,
    REQUEST_TERMINAL,
)
from tpdeclare.frozen_values import frozen

__all__ = ["ClusterInfo", "CreateResult", "DeleteResult", "EditResult", "InstanceInfo", "RequestInfo", "SshCommand",
           "login_instance_id"]


@frozen
class CreateResult:
    """The 202 answer to POST /cluster/create."""

    cluster_id: str
    instance_ids: tuple[str, ...]
    request_id: str | None
    message: str


@frozen
class RequestInfo:
    """One poll of an asynchronous request (GET /request/info/{id})."""

    request_id: str
    request_type: str | None
    status: str
    object_id: str | None
    external_message: str | None
    retry_after: float | None  # the answer's Retry-After header, seconds; None without one

    is_terminal = StatusIs(REQUEST_TERMINAL)  # PENDING, PROCESSING, RETRYING (and unknown statuses) keep polling
    succeeded = StatusIs(REQUEST_COMPLETED)
    failed = StatusIs(REQUEST_FAILED)
    is_known_status = StatusIs(REQUEST_STATUSES)


def login_instance_id(cluster_id: str, num_nodes: int, instance_ids: tuple[str, ...],
                      listed_jumphost: str | None = None) -> str | None:
    """The instance to log in to: a multi-node cluster's jumphost (as listed, else `{cluster_id}-jumphost`),
    else the single node; None when the node's ID is not known."""
    if listed_jumphost is not None:
        return listed_jumphost
    if num_nodes > 1:
        return JUMPHOST_ID.format(cluster_id=cluster_id)
    return instance_ids[0] if instance_ids else None


@frozen
class InstanceInfo:
    """One instance of a cluster as the API reports it; the addresses are None where the engine gives none."""

    instance_id: str
    status: str | None = None
    public_ip: str | None = None
    private_ip: str | None = None


@frozen
class ClusterInfo:
    """One cluster as the API reports it (list or info).

    `instance_ids` and `instances` are its nodes; a multi-node cluster's login node, when the engine lists
    it, is `jumphost` (it is not one of the `num_nodes` nodes)."""

    cluster_id: str
    name: str | None  # the tp_cluster_name; None for an unnamed cluster
    instance_type: str
    num_nodes: int
    container: str | None
    deletion_protection: bool
    status: str
    instance_ids: tuple[str, ...]
    created_at: str | None
    instances: tuple[InstanceInfo, ...] = ()
    jumphost: InstanceInfo | None = None

    @property
    def login_instance_id(self) -> str | None:
        """The instance to log in to (see `login_instance_id`)."""
        listed = self.jumphost.instance_id if self.jumphost is not None else None
        return login_instance_id(self.cluster_id, self.num_nodes, self.instance_ids, listed)

    # DESTROYED: the cluster no longer exists (it may still be listed). No other word, and no word tpdeclare
    # does not know, means that: only this and a 404 say a cluster is gone.
    is_destroyed = StatusIs(CLUSTER_GONE)
    is_destroying = StatusIs(CLUSTER_DESTROYING)
    is_failed = StatusIs(CLUSTER_FAILED)
    is_running = StatusIs(CLUSTER_RUNNING)


@frozen
class DeleteResult:
    """The 202 answer to DELETE /cluster/{id}."""

    cluster_id: str
    request_id: str | None
    message: str


@frozen
class SshCommand:
    """The answer to GET /ssh/{instance_id}: a ready command line to log in, and the server's words."""

    instance_id: str
    command: str
    message: str


@frozen
class EditResult:
    """The answer to PATCH /cluster/edit: the server's words, and the CLUSTER_EDIT request to poll when the
    edit is asynchronous (None: the engine named none)."""

    message: str
    request_id: str | None
