"""The `storage` sections of a stack (volumes, each checked and named) and each cluster's `storage` list against them.

Checks beyond the schema: a volume address declared twice, the resolved volume name (explicit, or
`<stack>-<address>`) valid and unique among the stack's volumes; in a cluster's list, an address no
`storage` section declares (with did-you-mean), the same volume twice, and a cluster that cannot take
volumes (TensorPool attaches them only to multi-node GPU clusters and CPU instances).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from tpdeclare.catalog import parse_instance_type
from tpdeclare.spec.model import VOLUME_FIELDS, ClusterSpec, SourceRef, VolumeSpec
from tpdeclare.spec.parsed import ParsedFile, declared_once
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.schema import rules
from tpdeclare.spec.source_map import YamlPath
from tpdeclare.suggestions import did_you_mean

CPU_KIND = "CPU"


def can_take_volumes(instance_type: str, num_nodes: int) -> bool:
    """TensorPool's rule: volumes attach to multi-node GPU clusters and to CPU instances, never to a
    single-node GPU cluster. A type whose form is unknown is left to the server."""
    parsed = parse_instance_type(instance_type)
    if parsed is None:
        return True
    return parsed[1] == CPU_KIND or num_nodes > 1


def load_volumes(files: list[ParsedFile], stack: str | None, report: Reporter) -> dict[str, VolumeSpec]:
    """Every usable volume, by address, in file then declaration order; problems go to `report`."""
    volumes: dict[str, VolumeSpec] = {}
    names: dict[str, tuple[str, Callable[[], SourceRef]]] = {}  # name -> volume, where its name is (for a message)
    entries = declared_once(files, "storage", "volume",
                            "volume addresses are unique within a stack; rename or remove one", report)
    for f, address, body, ypath, key_ref in entries:
        name = _name(body, address, stack, f, ypath, key_ref, report)
        if name is None:
            continue
        name_ref = partial(_name_ref, f, ypath, body, key_ref)
        if name in names:
            other, other_ref = names[name]
            report.error(f"storage name '{name}' is also the name of volume '{other}' ({other_ref()})", name_ref(),
                         path=ypath, hint="storage names are unique in your TensorPool account; give one of "
                                          "them a different `name:`")
            continue
        names[name] = (address, name_ref)
        spec = _build(address, body, name, key_ref)
        if spec is not None:
            volumes[address] = spec
    return volumes


def _name_ref(f: ParsedFile, ypath: YamlPath, body: dict[str, Any], key_ref: SourceRef) -> SourceRef:
    """Where a volume's storage name is written: its `name:`, or its key when the name is the default one."""
    return f.smap.locate(ypath + ("name",)) if "name" in body else key_ref


def _name(body: dict[str, Any], address: str, stack: str | None, f: ParsedFile, ypath: YamlPath,
          key_ref: SourceRef, report: Reporter) -> str | None:
    explicit = body.get("name")
    rule = rules().cluster_name
    if explicit is not None:
        return explicit if isinstance(explicit, str) and rule.allows(explicit) else None  # else: schema reported
    if stack is None:
        return None
    name = f"{stack}-{address}"
    if not rule.allows(name):
        report.error(f"the default storage name '{name}' (<stack>-<address>) is not a valid storage name", key_ref,
                     path=ypath, hint="set `name:` for this volume: lowercase letters, digits and hyphens, at most "
                                      f"{rule.max_length} characters")
        return None
    return name


def _build(address: str, body: dict[str, Any], name: str, key_ref: SourceRef) -> VolumeSpec | None:
    size = body.get("size_gb")
    protection = body.get("deletion_protection", False)
    given = body.get("lifecycle")
    lifecycle: dict[str, Any] = given if isinstance(given, dict) else {}
    prevent = lifecycle.get("prevent_destroy", False)
    ignore = lifecycle.get("ignore_changes", ())
    if (isinstance(size, bool) or not isinstance(size, int) or size < 1 or not isinstance(protection, bool)
            or not isinstance(prevent, bool) or not isinstance(ignore, (list, tuple))):
        return None  # the schema has reported it
    return VolumeSpec(address=address, size_gb=size, name=name, deletion_protection=protection,
                      prevent_destroy=prevent, ignore_changes=frozenset(i for i in ignore if i in VOLUME_FIELDS),
                      source=key_ref)


def check_attachments(files: list[ParsedFile], clusters: dict[str, ClusterSpec], report: Reporter) -> None:
    """Each cluster's `storage` list: declared volumes, each once, on a cluster that can take them."""
    declared = {a for f in files for a in (f.section("storage") or {})}
    for f in files:
        for address, body in (f.section("clusters") or {}).items():
            if not isinstance(body, dict) or not isinstance(body.get("storage"), list):
                continue
            seen: dict[str, YamlPath] = {}  # each entry's first place, looked up only for a message
            for index, entry in enumerate(body["storage"]):
                if not isinstance(entry, str):
                    continue  # the schema has reported it
                ypath: YamlPath = ("clusters", address, "storage", index)
                if entry in seen:
                    report.error(f"volume '{entry}' is attached twice to cluster '{address}': first at "
                                 f"{f.smap.locate(seen[entry])}", f.smap.locate(ypath), path=ypath,
                                 hint="list each volume once")
                    continue
                seen[entry] = ypath
                if entry not in declared:
                    guess = did_you_mean(entry, declared)
                    report.error(f"cluster '{address}' attaches volume '{entry}', which is not declared in `storage`",
                                 f.smap.locate(ypath), path=ypath, hint=f"did you mean '{guess}'?" if guess
                                 else "declare it under the top-level `storage:` (e.g. `storage: {"
                                      f"{entry}: {{size_gb: 500}}}}`), or remove it from this list")
            cluster = clusters.get(address)
            if seen and cluster is not None and not can_take_volumes(cluster.instance_type, cluster.num_nodes):
                at: YamlPath = ("clusters", address, "storage")
                report.error(
                    f"cluster '{address}' ({cluster.instance_type}, {cluster.num_nodes} node) cannot take storage "
                    "volumes", f.smap.locate(at), path=at,
                    hint="TensorPool attaches volumes only to multi-node GPU clusters (num_nodes: 2 or more) and "
                         "CPU instances (e.g. 32xCPU); remove `storage:` or change the cluster")
