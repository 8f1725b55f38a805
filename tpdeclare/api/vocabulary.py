"""The TensorPool API's vocabulary: every endpoint path, field name and status word tpdeclare uses.

When TensorPool renames something, this module is what changes. Nothing else in tpdeclare spells a path,
a wire field or a status word: the parsers read response fields through a `ResponseFields` value (the
built-in one is `BUILTIN_FIELDS`, the contract's names). The names an engine may use instead are listed
in `field_aliases.py`; `discovery.py` (the engine's OpenAPI document) and `field_mapping.py` (the real
answers) choose among them, so the client reads another engine's names without touching the parsers.
"""

from __future__ import annotations

from tpdeclare.frozen_values import frozen

# ------------------------------------------------------------------------------------------- endpoints
PATH_HEALTH = "/health"
PATH_HEALTHZ = "/healthz"  # liveness, no auth
PATH_OPENAPI = "/openapi.json"  # FastAPI's document of the engine itself, no auth
PATH_CLUSTER_CREATE = "/cluster/create"
PATH_CLUSTER_LIST = "/cluster/list"
PATH_CLUSTER_INFO = "/cluster/info/{cluster_id}"
PATH_CLUSTER_EDIT = "/cluster/edit/{cluster_id}"
PATH_CLUSTER_DELETE = "/cluster/{cluster_id}"
PATH_REQUEST_INFO = "/request/info/{request_id}"
# [cli] `tp ssh INSTANCE` asks GET /ssh/{instance_id}?system=<platform.system()> for a ready command.
PATH_SSH = "/ssh/{instance_id}"
SSH_SYSTEM_PARAM = "system"
# [cli] Storage volumes (shared NFS).
PATH_STORAGE_CREATE = "/storage/create"
PATH_STORAGE_LIST = "/storage/list"
PATH_STORAGE_INFO = "/storage/info/{storage_id}"
PATH_STORAGE_EDIT = "/storage/edit/{storage_id}"
PATH_STORAGE_DELETE = "/storage/{storage_id}"
PATH_STORAGE_ATTACH = "/storage/attach"
PATH_STORAGE_DETACH = "/storage/detach"

LIST_PARAMS = {"include_org": "true"}

# [assumed] A multi-node cluster's login node (its SLURM jumphost) has this instance ID; its workers
# have private addresses only and are reached through it.
JUMPHOST_ID = "{cluster_id}-jumphost"

# ------------------------------------------------------------------------------------------- request bodies
# POST /cluster/create
F_INSTANCE_TYPE = "instance_type"
F_NUM_NODES = "num_nodes"
F_TP_CLUSTER_NAME = "tp_cluster_name"
F_CONTAINER = "container"
F_DELETION_PROTECTION = "deletion_protection"
F_PUBLIC_KEYS = "public_keys"
F_SAVE_KEYS = "save_keys"
# PATCH /cluster/edit says cluster_name, not tp_cluster_name
F_EDIT_NAME = "cluster_name"
# [cli] POST /storage/create {size, name?, deletion_protection}; PATCH /storage/edit says tp_storage_name and
# size_gb; attach takes cluster_ids (a list), detach one cluster_id.
F_STORAGE_SIZE = "size"
F_STORAGE_NAME = "name"
F_STORAGE_EDIT_NAME = "tp_storage_name"
F_STORAGE_EDIT_SIZE = "size_gb"
F_STORAGE_ID = "storage_id"
F_CLUSTER_IDS = "cluster_ids"
F_CLUSTER_ID = "cluster_id"


# ------------------------------------------------------------------------------------------- response bodies
# The published answers of create and delete: read by these names, never remapped.
R_CLUSTER_ID = "cluster_id"
R_INSTANCE_IDS = "instance_ids"
R_REQUEST_ID = "request_id"
R_MESSAGE = "message"
R_STORAGE_ID = "storage_id"
R_REQUEST_IDS = "request_ids"


@frozen
class ResponseFields:
    """The wire names of the fields tpdeclare reads from list, info, request info and edit answers.

    `clusters` / `cluster_info` None: the list answers the array itself / info answers the cluster
    object itself. `status` is the cluster's status, `request_status` the request's.
    """

    message: str = "message"
    # GET /cluster/list and GET /cluster/info: where the clusters are
    clusters: str | None = "clusters"
    cluster_info: str | None = "cluster_info"
    # ClusterInfo
    cluster_id: str = "cluster_id"
    cluster_name: str = "tp_cluster_name"
    instance_type: str = "instance_type"
    num_nodes: str = "num_nodes"
    container: str = "container"
    deletion_protection: str = "deletion_protection"
    status: str = "status"
    instances: str = "instances"
    created_at: str = "created_at"
    # InstanceInfo
    instance_id: str = "instance_id"
    # GET /request/info
    request_id: str = "request_id"
    request_type: str = "request_type"
    request_status: str = "status"
    object_id: str = "object_id"
    external_message: str = "external_message"
    public_ip: str = "public_ip"  # [assumed] an instance's public address (null for private workers)
    private_ip: str = "private_ip"  # [assumed] an instance's address inside the cluster's network
    ssh_command: str = "command"  # [cli] GET /ssh/{instance_id}: the ready command `tp ssh` runs
    # PATCH /cluster/edit: the CLUSTER_EDIT request to poll, when the engine answers one
    edit_request_id: str = "request_id"


BUILTIN_FIELDS = ResponseFields()

# Error bodies: the server's words, in the order the official CLI looks for them.
ERROR_TEXT_FIELDS = ("message", "error", "external_message")
F_DETAIL = "detail"  # FastAPI: a string, or [{"loc": [...], "msg": "...", "type": "..."}]
F_DETAIL_LOC = "loc"
F_DETAIL_MSG = "msg"
F_DETAIL_BODY = "body"  # the first `loc` element of a request-body field

# ------------------------------------------------------------------------------------------- status words
# Request statuses (GET /request/info); compared upper-cased.
REQUEST_PENDING = "PENDING"
REQUEST_PROCESSING = "PROCESSING"
REQUEST_RETRYING = "RETRYING"
REQUEST_COMPLETED = "COMPLETED"
REQUEST_FAILED = "FAILED"
REQUEST_STATUSES = (REQUEST_PENDING, REQUEST_PROCESSING, REQUEST_RETRYING, REQUEST_COMPLETED, REQUEST_FAILED)
REQUEST_TERMINAL = frozenset({REQUEST_COMPLETED, REQUEST_FAILED})
# Request types
REQUEST_TYPE_CREATE = "CLUSTER_CLAIM"
REQUEST_TYPE_DESTROY = "CLUSTER_RELEASE"
REQUEST_TYPE_EDIT = "CLUSTER_EDIT"
REQUEST_TYPE_STORAGE_CREATE = "STORAGE_CREATE"
REQUEST_TYPE_STORAGE_DESTROY = "STORAGE_DESTROY"
REQUEST_TYPE_STORAGE_ATTACH = "STORAGE_ATTACH"
REQUEST_TYPE_STORAGE_DETACH = "STORAGE_DETACH"
REQUEST_TYPE_STORAGE_EDIT = "STORAGE_EDIT"

# Cluster statuses (ClusterInfo.status); compared upper-cased.
CLUSTER_PENDING = "PENDING"
CLUSTER_PROVISIONING = "PROVISIONING"
CLUSTER_CONFIGURING = "CONFIGURING"
CLUSTER_RUNNING = "RUNNING"
CLUSTER_RESTARTING = "RESTARTING"  # [assumed] a storage attach or detach restarts every node
CLUSTER_DESTROYING = "DESTROYING"
CLUSTER_DESTROYED = "DESTROYED"
CLUSTER_FAILED = "FAILED"
CLUSTER_STATUSES = (
    CLUSTER_PENDING,
    CLUSTER_PROVISIONING,
    CLUSTER_CONFIGURING,
    CLUSTER_RUNNING,
    CLUSTER_RESTARTING,
    CLUSTER_DESTROYING,
    CLUSTER_DESTROYED,
    CLUSTER_FAILED,
)
# Only these words (and a 404) say a cluster is gone; any word tpdeclare does not know means "still there".
CLUSTER_GONE = frozenset({CLUSTER_DESTROYED})

# Volume statuses [assumed] (VolumeInfo.status); compared upper-cased. Gone: storage_models.VOLUME_GONE.
VOLUME_CREATING = "CREATING"
VOLUME_READY = "READY"
VOLUME_DESTROYING = "DESTROYING"
VOLUME_FAILED = "FAILED"
VOLUME_STATUSES = (VOLUME_CREATING, VOLUME_READY, VOLUME_DESTROYING, "DESTROYED", VOLUME_FAILED)

# ------------------------------------------------------------------------------------------- headers
H_AUTHORIZATION = "Authorization"
H_RETRY_AFTER = "Retry-After"
H_DATE = "Date"
H_LOCATION = "Location"
H_CONTENT_LENGTH = "Content-Length"
H_ETAG = "ETag"
H_IF_NONE_MATCH = "If-None-Match"
# Rate-limit headers an engine may send (IETF draft names, the common X- names, Retry-After).
RATE_LIMIT_HEADER_PREFIXES = ("ratelimit", "x-ratelimit", "x-rate-limit")
