"""The readable text tables the sandbox puts in `message` of list and info (the official CLI prints them as is)."""

from __future__ import annotations

from typing import Any


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain left-aligned text table, as the official CLI prints list/info messages."""
    table = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(map(len, col)) for col in zip(*table, strict=False)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)  # a row's cells left-aligned, as str.ljust would
    return "\n".join([line.format(*row).rstrip() for row in table])


def list_table(clusters: list[dict[str, Any]]) -> str:
    """The `message` of GET /cluster/list, from canonical cluster views."""
    if not clusters:
        return "No clusters found."
    rows = [
        [c["cluster_id"], c["tp_cluster_name"], c["instance_type"], str(c["num_nodes"]), c["status"],
         "yes" if c["deletion_protection"] else "no", c["created_at"]]
        for c in clusters
    ]
    table = text_table(["ID", "NAME", "TYPE", "NODES", "STATUS", "PROTECTED", "CREATED"], rows)
    return f"{table}\n{len(clusters)} cluster{'s' if len(clusters) != 1 else ''}"


def info_table(view: dict[str, Any]) -> str:
    """The `message` of GET /cluster/info, from a canonical cluster view."""
    nodes = view["num_nodes"]
    fields = text_table(
        ["Cluster", view["cluster_id"]],
        [
            ["Name", view["tp_cluster_name"]],
            ["Type", f"{view['instance_type']} x {nodes} node{'s' if nodes != 1 else ''}"],
            ["Container", view["container"] or "-"],
            ["Protected", "yes" if view["deletion_protection"] else "no"],
            ["Status", view["status"]],
            ["Created", view["created_at"]],
        ],
    )
    instances = text_table(["INSTANCE", "STATUS", "PUBLIC IP", "PRIVATE IP"],
                           [[i["instance_id"], i["status"], i["public_ip"] or "-", i["private_ip"] or "-"]
                            for i in view["instances"]])
    return f"{fields}\n\n{instances}"
