"""The known aliases of every response field tpdeclare reads, and the one rule that picks among them.

Only the create endpoint is published; the names of everything else were assumed (specs/tensorpool-api.json,
`x-provenance`). Each field tpdeclare needs is listed here with the names an engine plausibly uses for it,
the contract's own name first, and the JSON kind its value must have. Discovery maps an OpenAPI schema
through this table, and the first real answer is checked through it again.

The rule (`pick`): the name in use wins when it is present with the right kind; else the one alias that is
present with the right kind; else, among several, the contract's own name; anything else is ambiguous
and tpdeclare does not guess. A kind check keeps `nodes` (an integer: the node count) apart from `nodes`
(an array: the instances).
"""

from __future__ import annotations

from collections.abc import Mapping

from tpdeclare.frozen_values import frozen

# JSON kinds, as `json_kind` names a value and an OpenAPI schema's `type` names a property.
ANY = "any"  # a schema property that says nothing about its type


@frozen
class Alias:
    """One field tpdeclare reads: its `ResponseFields` attribute, what it is for, and its known names."""

    attr: str
    label: str
    names: tuple[str, ...]  # the contract's name first
    kind: str
    required: bool = True  # without it the answer cannot be used
    nullable: bool = False

    @property
    def contract_name(self) -> str:
        return self.names[0]


# GET /cluster/list: where the array of clusters is; GET /cluster/info: where the cluster object is.
LIST_WRAPPER = Alias("clusters", "the list of clusters", ("clusters", "items", "data", "results"), "array")
INFO_WRAPPER = Alias("cluster_info", "the cluster", ("cluster_info", "cluster", "info", "data"), "object")

GROUPS: dict[str, tuple[Alias, ...]] = {
    # ClusterInfo, in list and info answers
    "cluster": (
        Alias("cluster_id", "the cluster's ID", ("cluster_id", "id", "clusterId"), "string"),
        Alias("cluster_name", "the cluster's name", ("tp_cluster_name", "cluster_name", "name", "tpClusterName",
                                                     "clusterName"), "string", required=False, nullable=True),
        Alias("instance_type", "the instance type", ("instance_type", "instanceType", "type"), "string"),
        Alias("num_nodes", "the node count", ("num_nodes", "node_count", "nodes", "numNodes", "nodeCount"),
              "integer"),
        Alias("container", "the container image", ("container", "container_image", "image"), "string",
              required=False, nullable=True),
        Alias("deletion_protection", "the deletion protection flag",
              ("deletion_protection", "protected", "deletion_protected", "deletionProtection"), "boolean"),
        Alias("status", "the cluster's status", ("status", "state", "cluster_status"), "string"),
        Alias("instances", "the cluster's instances", ("instances", "nodes", "instance_list"), "array",
              required=False, nullable=True),
        Alias("created_at", "the creation time", ("created_at", "created", "creation_time", "createdAt"), "string",
              required=False, nullable=True),
    ),
    # InstanceInfo, inside a cluster's instances
    "instance": (
        Alias("instance_id", "the instance's ID", ("instance_id", "id", "instanceId"), "string"),
    ),
    # GET /request/info
    "request": (
        Alias("request_id", "the request's ID", ("request_id", "id", "requestId"), "string", required=False,
              nullable=True),
        Alias("request_type", "the request's type", ("request_type", "type", "requestType"), "string",
              required=False, nullable=True),
        Alias("request_status", "the request's status", ("status", "state"), "string"),
        Alias("object_id", "the object the request acts on", ("object_id", "cluster_id", "objectId"), "string",
              required=False, nullable=True),
        Alias("external_message", "the request's message", ("external_message", "message"), "string",
              required=False, nullable=True),
    ),
    # PATCH /cluster/edit: an asynchronous edit answers the CLUSTER_EDIT request to poll
    "edit": (
        Alias("edit_request_id", "the edit's request ID", ("request_id", "requestId"), "string", required=False,
              nullable=True),
    ),
}
# The answers each group is read from, for reports.
GROUP_ANSWERS = {"cluster": "ClusterInfo (list and info)", "instance": "InstanceInfo", "request": "RequestInfo",
                 "edit": "the edit answer"}


@frozen
class Picked:
    """What `pick` found: the name to read (None: not found, or ambiguous), and the candidates seen."""

    name: str | None
    candidates: tuple[str, ...]

    @property
    def ambiguous(self) -> bool:
        return self.name is None and len(self.candidates) > 1


def fits(alias: Alias, kinds: frozenset[str]) -> bool:
    """Whether a value or property of these JSON kinds can be read as `alias`."""
    if ANY in kinds or alias.kind in kinds:
        return True
    return alias.nullable and kinds == frozenset({"null"})


def pick(alias: Alias, present: Mapping[str, frozenset[str]], current: str | None = None) -> Picked:
    """The name to read `alias` by, among the `present` names (each with its JSON kinds); see the module rule."""
    if current is not None and current in present and fits(alias, present[current]):
        return Picked(current, (current,))
    candidates = tuple(n for n in alias.names if n in present and fits(alias, present[n]))
    if len(candidates) == 1:
        return Picked(candidates[0], candidates)
    if alias.contract_name in candidates:
        return Picked(alias.contract_name, candidates)
    return Picked(None, candidates)


def json_kind(value: object) -> str:
    """The JSON kind of a decoded value, in OpenAPI's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else ANY


def json_type(value: object) -> str:
    """A decoded value's JSON type, as a message says it (`a string`, `null`)."""
    kind = json_kind(value)
    if kind == "null":
        return "null"
    if kind == ANY:
        return type(value).__name__
    kind = "number" if kind == "integer" else kind
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def kinds_of(obj: Mapping[str, object]) -> dict[str, frozenset[str]]:
    """Every field of a decoded JSON object, with the kind of its value."""
    return {k: frozenset({json_kind(v)}) for k, v in obj.items() if isinstance(k, str)}
