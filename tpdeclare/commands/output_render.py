"""`tpdeclare output`'s words: each cluster as text for people, and the stable JSON document for scripts.

The JSON document (`output --json`, format_version "1.0"; new keys may be added, none renamed or removed):

    {"format_version": "1.0", "stack": "research",
     "engine": {"read": true, "problem": null},
     "clusters": {"<address>": CLUSTER, ...},        # the spec's order, then addresses only the state has
     "outputs": {"<name>": {"reference": "clusters.trainer.ssh_command", "value": ...}, ...}}

    CLUSTER = {"address", "declared",                 # declared: in the spec (null when no spec was given)
               <every field of tpdeclare.cluster_outputs, in its order: cluster_id, name, status,
                record_status, instance_type, num_nodes, hourly_cost, instance_ids, login_instance_id,
                public_ip, private_ips, ssh_command>,
               "instances": [{"instance_id", "role": "jumphost"|"node", "public_ip", "private_ip"}],
               "notes": [why a value is null, what the engine said]}

A value nobody knows yet is null: a cluster declared but not created has a null `record_status` and
`cluster_id`; the live values (status, addresses, SSH command) are null when the engine was not read.
"""

from __future__ import annotations

import json
from typing import Any

from tpdeclare.cluster_outputs import FIELD_NAMES, KNOWN_AFTER_APPLY_TEXT
from tpdeclare.commands.output_values import ClusterOutputs, EngineRead
from tpdeclare.diagnostics import printable
from tpdeclare.plan.render_text import money
from tpdeclare.spec.model import OutputRef

FORMAT_VERSION = "1.0"


def cluster_json(out: ClusterOutputs) -> dict[str, Any]:
    data: dict[str, Any] = {"address": out.address, "declared": out.declared}
    data.update((field, out.value(field)) for field in FIELD_NAMES)
    data["instances"] = [{"instance_id": i.instance_id, "role": i.role, "public_ip": i.public_ip,
                          "private_ip": i.private_ip} for i in out.instances]
    data["notes"] = list(out.notes)
    return data


def document(stack: str, clusters: list[ClusterOutputs], engine: EngineRead,
             outputs: list[tuple[OutputRef, Any]]) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "stack": stack,
        "engine": {"read": engine.read, "problem": engine.problem},
        "clusters": {c.address: cluster_json(c) for c in clusters},
        "outputs": {ref.name: {"reference": ref.reference, "value": value} for ref, value in outputs},
    }


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def raw(value: Any) -> str:
    """One value for a script: a string as is, a list one item per line, a number as JSON writes it."""
    if isinstance(value, list):
        return "\n".join(raw(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


def _status(out: ClusterOutputs, engine: EngineRead) -> str:
    if out.status is not None:
        return f"{out.status} (state: {out.record_status})"
    if not engine.read:
        return f"{out.record_status} (as the state records it; the engine was not read)"
    return f"unknown to the engine (state: {out.record_status})"


def _instance_rows(out: ClusterOutputs) -> list[str]:
    rows = [[i.instance_id, i.role, i.public_ip or "-", i.private_ip or "-"] for i in out.instances]
    if not rows:
        return ["-"]
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def cluster_text(out: ClusterOutputs, engine: EngineRead) -> list[str]:
    """One cluster for people: a heading, then label/value rows (a new output is one more row)."""
    head = f'cluster "{out.address}"'
    if not out.exists:
        return [f"{head}: not created yet; its outputs will be known after apply (`tpdeclare apply`)"]
    if out.declared is False:
        head += "  # not in the spec any more: the next apply destroys it"
    nodes = out.num_nodes
    kind = f"{out.instance_type} × {nodes} node{'s' if nodes != 1 else ''}" if out.instance_type else "-"
    ssh = out.ssh_command or "unknown" + (f" (log in to {out.login_instance_id})" if out.login_instance_id else "")
    rows: list[tuple[str, str]] = [
        ("id", out.cluster_id or "-"),
        ("name", out.name),
        ("status", _status(out, engine)),
        ("type", kind),
        ("cost", money(out.hourly_cost)),
    ]
    instance_lines = _instance_rows(out)
    rows.append(("instances", instance_lines[0]))
    rows.extend(("", line) for line in instance_lines[1:])
    rows.append(("ssh", ssh))
    width = max(len(label) for label, _ in rows)
    lines = [head] + [f"  {label:<{width}}  {printable(value)}".rstrip() for label, value in rows]
    lines += [f"  # {printable(note)}" for note in out.notes]
    return lines


def outputs_text(outputs: list[tuple[OutputRef, Any]], not_created: set[str]) -> list[str]:
    """The spec's outputs as Terraform prints them, `name = value`; those of clusters in `not_created` are
    (known after apply)."""
    if not outputs:
        return []
    width = max(len(ref.name) for ref, _ in outputs)
    return ["Outputs:", ""] + [
        f"{ref.name:<{width}} = "
        + (KNOWN_AFTER_APPLY_TEXT if ref.address in not_created else printable(json.dumps(value, ensure_ascii=False)))
        for ref, value in outputs]
