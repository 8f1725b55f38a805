"""The `clusters` sections of a stack: each address once, defaults merged under it, checked, as a ClusterSpec.

Checks beyond the schema: an address declared twice (in one stack, across files), the instance type
against the catalogue, the multi-node rule, the SSH keys' key data, and the resolved cluster name
(explicit, or `<stack>-<address>`) valid and unique in the stack. A field's value is the cluster's own
if it sets it (even to null), else the default's, else the field's fallback.
"""

from __future__ import annotations

from typing import Any

from tpdeclare.catalog import INSTANCE_TYPES, MULTI_NODE_TYPES
from tpdeclare.fields import FIELDS
from tpdeclare.frozen_values import from_fields
from tpdeclare.spec.instance_types import check_instance_type
from tpdeclare.spec.lifetimes import Invalid, read_lifetime
from tpdeclare.spec.model import ClusterSpec, SourceRef
from tpdeclare.spec.parsed import ParsedFile, declared_once
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.schema import rules
from tpdeclare.spec.settings import StackSettings
from tpdeclare.spec.source_map import YamlPath
from tpdeclare.spec.ssh_keys import check_public_keys

_KNOWN_TYPES = frozenset(INSTANCE_TYPES)
_MULTI_NODE = frozenset(MULTI_NODE_TYPES)
_STR = frozenset({str})
_NOTHING_IGNORED: frozenset[str] = frozenset()


def declared_addresses(files: list[ParsedFile]) -> set[str]:
    """Every address under `clusters` in any file (valid or not)."""
    declared: set[str] = set()
    for f in files:
        declared.update(f.section("clusters") or {})
    return declared


def load_clusters(files: list[ParsedFile], stack: str | None, settings: StackSettings,
                  report: Reporter) -> dict[str, ClusterSpec]:
    """Every usable cluster, by address, in file then declaration order; problems go to `report`."""
    clusters: dict[str, ClusterSpec] = {}
    checks = _ClusterChecks(stack, settings, report)
    entries = declared_once(files, "clusters", "cluster",
                            "addresses are unique within a stack; rename or remove one of them", report)
    for f, address, body, _, key_ref in entries:
        spec = checks.build(f, address, body, key_ref)
        if spec is not None:
            clusters[address] = spec
    return clusters


class _ClusterChecks:
    """What every cluster of one stack is checked against: the defaults, and the names taken so far."""

    def __init__(self, stack: str | None, settings: StackSettings, report: Reporter) -> None:
        self.stack, self.settings, self.report = stack, settings, report
        self.defaults = settings.default_values()
        self.name_rule = rules().cluster_name
        self.names: dict[str, tuple[str, ParsedFile, YamlPath]] = {}  # name -> (address, file, where set)
        default = settings.defaults.get("lifetime")  # checked once, where it is set
        self.lifetime = None if default is None else read_lifetime(default.value, default.file.smap, default.ypath,
                                                                   report)

    def where(self, f: ParsedFile, ypath: YamlPath, body: dict[str, Any], name: str) -> tuple[SourceRef, YamlPath]:
        """Where a field's value was set: in the cluster, else in `defaults`. Made only for a message."""
        if name in body:
            return f.smap.locate(ypath + (name,)), ypath + (name,)
        setting = self.settings.defaults[name]
        return setting.ref, setting.ypath

    def build(self, f: ParsedFile, address: str, body: dict[str, Any], key_ref: SourceRef) -> ClusterSpec | None:
        """One cluster with the defaults merged under it; None (with errors reported) when it is not usable.

        A field's value is the cluster's own if it sets it (even to null), else the default's, else the
        fallback (the `.get`s below)."""
        ypath: YamlPath = ("clusters", address)
        get, default = body.get, self.defaults.get
        itype = get("instance_type", default("instance_type"))
        num_nodes = get("num_nodes", default("num_nodes", 1))
        ok = self._instance_type_ok(itype, f, ypath, body, key_ref) and _is_integer(num_nodes)
        if ok and isinstance(itype, str) and int(num_nodes) > 1 and itype in _KNOWN_TYPES and itype not in _MULTI_NODE:
            at = "num_nodes" if "num_nodes" in body or "instance_type" not in body else "instance_type"
            ref, where = self.where(f, ypath, body, at)
            self.report.error(
                f"{itype} cannot have more than one node (num_nodes: {int(num_nodes)})", ref, path=where,
                hint="multi-node clusters need one of: " + ", ".join(MULTI_NODE_TYPES) + "; or set num_nodes: 1",
            )
            ok = False
        if "public_keys" in body:
            check_public_keys(body["public_keys"], f.smap, ypath + ("public_keys",), self.report)
        name = self._name(f, address, body, key_ref)
        container = get("container", default("container"))
        protection = get("deletion_protection", default("deletion_protection", False))
        keys = get("public_keys", default("public_keys", ()))
        lifecycle: dict[str, Any] = {}
        sources = (default("lifecycle"), get("lifecycle"))
        if sources != (None, None):  # most clusters have no lifecycle block, nor a default one
            for source in sources:
                if isinstance(source, dict):
                    lifecycle.update(source)
        prevent = lifecycle.get("prevent_destroy", False)
        ignore = lifecycle.get("ignore_changes", ())
        # A cluster's own lifetime replaces the default's whole (`lifetime: null` opts out of it).
        lifetime = (read_lifetime(body["lifetime"], f.smap, ypath + ("lifetime",), self.report)
                    if "lifetime" in body else self.lifetime)
        if (
            not ok
            or not isinstance(itype, str)
            or name is None
            or not (container is None or isinstance(container, str))
            or not isinstance(protection, bool)
            or not isinstance(keys, (list, tuple))
            or not (_STR.issuperset(map(type, keys)) or all(isinstance(k, str) for k in keys))
            or not isinstance(prevent, bool)
            or not isinstance(ignore, (list, tuple))
            or isinstance(lifetime, Invalid)
        ):
            return None  # anything not reported here was reported by the schema
        # ClusterSpec(...) with every field given, in its order, without the frozen __init__'s twelve
        # object.__setattr__ calls (~40 M instructions over 10,000 clusters); tests/test_spec_loader.py checks
        # that this sets exactly the dataclass's fields.
        return from_fields(ClusterSpec, {
            "address": address,
            "instance_type": itype,
            "num_nodes": int(num_nodes),
            "name": name,
            "container": container,
            "deletion_protection": protection,
            "public_keys": tuple(keys),
            "prevent_destroy": prevent,
            "ignore_changes": frozenset(i for i in ignore if i in FIELDS) if ignore else _NOTHING_IGNORED,
            "source": key_ref,
            "lifetime": lifetime,
            "storage": _attached(get("storage")),
        })

    def _instance_type_ok(self, itype: Any, f: ParsedFile, ypath: YamlPath, body: dict[str, Any],
                          key_ref: SourceRef) -> bool:
        if itype is None:
            self.report.error(f"cluster '{ypath[-1]}' has no instance_type", key_ref, path=ypath,
                              hint="add `instance_type:` (e.g. 1xH100) to the cluster, or to `defaults:`")
            return False
        if not isinstance(itype, str):
            return False  # the schema has reported it
        if itype in _KNOWN_TYPES:
            return True
        # A default's problem is reported once, at `defaults`.
        return check_instance_type(itype, lambda: self.where(f, ypath, body, "instance_type"), self.report,
                                   say="instance_type" in body)

    def _name(self, f: ParsedFile, address: str, body: dict[str, Any], key_ref: SourceRef) -> str | None:
        """The resolved tp_cluster_name (explicit, or <stack>-<address>), unique in the stack."""
        explicit = body.get("name")
        ypath: YamlPath = ("clusters", address)
        if explicit is not None:
            if not isinstance(explicit, str) or not self.name_rule.allows(explicit):
                return None  # the schema has reported it
            name, at = explicit, ypath + ("name",)
        else:
            if self.stack is None:
                return None
            name, at = f"{self.stack}-{address}", ypath
            if not self.name_rule.allows(name):
                self.report.error(
                    f"the default cluster name '{name}' (<stack>-<address>) is not a valid cluster name",
                    key_ref, path=ypath,
                    hint=f"set `name:` for this cluster: lowercase letters, digits and hyphens, starting and ending"
                         f" with a letter or digit, at most {self.name_rule.max_length} characters",
                )
                return None
        if name in self.names:
            other, other_file, other_at = self.names[name]
            self.report.error(
                f"cluster name '{name}' is also the name of cluster '{other}'"
                f" ({other_file.smap.locate(other_at, prefer_key=len(other_at) == 2)})",
                f.smap.locate(at, prefer_key=len(at) == 2), path=at,
                hint="cluster names are unique in your TensorPool account; give one of them a different `name:`",
            )
            return None
        self.names[name] = (address, f, at)
        return name


def _attached(value: Any) -> tuple[str, ...]:
    """The volume addresses a cluster lists under `storage` (checked by spec/storage.py; bad entries the schema
    has reported are left out)."""
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(v for v in value if isinstance(v, str)))


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
