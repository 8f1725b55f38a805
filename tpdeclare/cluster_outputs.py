"""The outputs of an applied cluster: their names, what each holds, and which are known only after apply.

One table, read by the spec's `outputs:` references (`clusters.ADDR.FIELD`), by `tpdeclare output` (its
text and its `--json`), and by the plan renderers, which show the fields a create makes as
`(known after apply)`. A new output (a lifetime's `expires_at`, say) is one row here, an attribute of
`ClusterOutputs` (tpdeclare/commands/output_values.py; `--json` then carries it), and a row in
`output_render.cluster_text`; add it to the list in the schema's `outputs` description too.
"""

from __future__ import annotations

from tpdeclare.frozen_values import frozen

REFERENCE_ROOT = "clusters"  # a reference is clusters.<address>.<field>


@frozen
class OutputField:
    """One value `tpdeclare output` gives for a cluster."""

    name: str
    kind: str  # its JSON type: string, integer, number, array of strings
    about: str  # what it is, for help texts and the README
    after_apply: bool  # unknown until the cluster has been created
    live: bool  # read from the engine (else from the state alone)


CLUSTER_OUTPUTS: tuple[OutputField, ...] = (
    OutputField("cluster_id", "string", "the engine's cluster ID (c-…)", True, False),
    OutputField("name", "string", "the TensorPool cluster name", False, False),
    OutputField("status", "string", "the engine's status (RUNNING, …); null when the engine was not read",
                True, True),
    OutputField("record_status", "string", "the state's record status (ready, creating, tainted, …)", True, False),
    OutputField("instance_type", "string", "the instance type of every node", False, False),
    OutputField("num_nodes", "integer", "the number of nodes", False, False),
    OutputField("hourly_cost", "number", "the estimated USD per hour; null when the type has no price", False,
                False),
    OutputField("instance_ids", "array of strings", "the nodes' instance IDs", True, False),
    OutputField("login_instance_id", "string",
                "the instance to log in to: a multi-node cluster's jumphost, else its node", True, False),
    OutputField("public_ip", "string", "the login instance's public IP address, where the engine gives it",
                True, True),
    OutputField("private_ips", "array of strings", "the nodes' private IP addresses, where the engine gives them",
                True, True),
    OutputField("ssh_command", "string", "the engine's ready SSH command for the login instance (GET /ssh)",
                True, True),
)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in CLUSTER_OUTPUTS)
KNOWN_AFTER_APPLY: tuple[str, ...] = tuple(f.name for f in CLUSTER_OUTPUTS if f.after_apply)
LIVE_FIELDS: frozenset[str] = frozenset(f.name for f in CLUSTER_OUTPUTS if f.live)
KNOWN_AFTER_APPLY_TEXT = "(known after apply)"


def reference(address: str, field: str) -> str:
    """The reference to one output field of one cluster: clusters.<address>.<field>."""
    return f"{REFERENCE_ROOT}.{address}.{field}"
