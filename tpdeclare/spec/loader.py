"""Loads spec files into one validated StackSpec, reporting every problem as a Diagnostic (never raising).

Order of work: read each file (bounded), parse it safely (yamlsafe), check it against the JSON Schema
(schema), then check what the schema cannot see, across all the files of the stack: the stack's name,
settings declared twice, addresses declared twice, the instance catalogue and the multi-node rule,
resolved cluster names, and `moved` entries. Every file is checked even after another failed, and the
diagnostics come back sorted by place.

The stack's name: the `stack:` the files declare (they must agree; a file that leaves it out joins the
stack the others name), else the directory's name for a directory argument, else the file's stem.

Stack-wide settings: `defaults`, `budget` and `prices` may sit in any file of a directory stack and apply
to the whole stack; the same setting (e.g. `defaults.container`) in two files is an error.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tpdeclare.catalog import (
    INSTANCE_TYPES,
    MULTI_NODE_TYPES,
    PRICES_AS_OF,
    parse_instance_type,
    suggest_instance_type,
)
from tpdeclare.diagnostics import Diagnostic
from tpdeclare.fields import FIELDS
from tpdeclare.spec.model import ClusterSpec, Move, SourceRef, StackSpec
from tpdeclare.spec.schema import spec_schema, validate_document
from tpdeclare.spec.yamlsafe import DEFAULT_MAX_BYTES, SourceMap, dotted, load_yaml, read_bounded

SPEC_SUFFIXES = (".yaml", ".yml")
_KNOWN_TYPES = frozenset(INSTANCE_TYPES)
_MULTI_NODE = frozenset(MULTI_NODE_TYPES)
_CLUSTER_FIELDS = ("instance_type", "num_nodes", "name", "container", "deletion_protection", "public_keys", "lifecycle")


def load_stack(paths: list[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[StackSpec | None, list[Diagnostic]]:
    """Load, validate and model one stack. Never raises for bad input: every problem is a Diagnostic.
    Returns (None, diags) when any diagnostic is an error; warnings may accompany a StackSpec."""
    with _gc_paused():
        return _StackLoader(max_bytes).load(list(paths))


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while loading.

    Loading allocates ~10 objects per YAML value and frees them by reference counting (the trees are
    acyclic); the collector's scans of them are pure overhead, about half the load time of a large stack.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _File:
    """One spec file that parsed: its name as given, its document, source map and bytes."""

    path: str
    data: dict
    smap: SourceMap
    raw: bytes


@dataclass
class _Setting:
    """A stack-wide value (a default, the budget, a price) and where it was set."""

    value: Any
    file: _File
    ypath: tuple

    @property
    def ref(self) -> SourceRef:
        return self.file.smap.locate(self.ypath)


class _StackLoader:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.diagnostics: list[Diagnostic] = []
        schema = spec_schema()
        defs = schema["$defs"]
        self._type_re = re.compile(defs["instance_type"]["pattern"])
        name_schema = defs["cluster"]["properties"]["name"]
        self._name_re = re.compile(name_schema["pattern"])
        self._name_max = name_schema["maxLength"]
        stack_schema = schema["properties"]["stack"]
        self._stack_re = re.compile(stack_schema["pattern"])
        self._stack_max = stack_schema["maxLength"]
        self._address_re = re.compile(defs["address"]["pattern"])

    # -- reporting

    def error(self, summary: str, where: SourceRef | None = None, *, path=(), hint=None, file=None) -> None:
        self._add(summary, where, path, hint, file, "error")

    def warning(self, summary: str, where: SourceRef | None = None, *, path=(), hint=None) -> None:
        self._add(summary, where, path, hint, None, "warning")

    def _add(self, summary, where, path, hint, file, severity) -> None:
        self.diagnostics.append(Diagnostic(
            summary,
            file=where.file if where else file,
            line=where.line if where else None,
            col=where.col if where else None,
            path=dotted(path),
            hint=hint,
            severity=severity,
        ))

    def _result(self, spec: StackSpec | None) -> tuple[StackSpec | None, list[Diagnostic]]:
        unique = list(dict.fromkeys(self.diagnostics))
        unique.sort(key=Diagnostic.sort_key)
        if any(d.severity == "error" for d in unique):
            return None, unique
        return spec, unique

    # -- the whole run

    def load(self, paths: list[str]) -> tuple[StackSpec | None, list[Diagnostic]]:
        if not paths:
            self.error("no spec files given", hint="pass a .yaml file or a directory of them")
            return self._result(None)
        names, dirs = self._expand(paths)
        files: list[_File] = []
        for path in names:
            raw, problem = read_bounded(path, max_bytes=self.max_bytes)
            if problem is not None:
                self.diagnostics.append(problem)
                continue
            doc = load_yaml(raw, path, max_bytes=self.max_bytes)
            self.diagnostics.extend(doc.diagnostics)
            if doc.data is None:
                continue
            self.diagnostics.extend(validate_document(doc.data, doc.source_map))
            files.append(_File(path, doc.data, doc.source_map, raw))
        if not files:  # nothing could be read: what was said about each file is all there is to say
            return self._result(None)

        stack = self._stack_name(files, names, paths, dirs)
        defaults, budget, prices = self._settings(files)
        clusters = self._clusters(files, stack, defaults)
        moves = self._moves(files)
        if stack is None:
            return self._result(None)
        spec = StackSpec(
            stack=stack,
            clusters=clusters,
            moves=tuple(moves),
            max_hourly_cost=float(budget.value) if budget is not None else None,
            prices={kind: float(s.value) for kind, s in prices.items()},
            files=tuple(f.path for f in files),
            content_hash=content_hash((os.path.basename(f.path), f.raw) for f in files),
        )
        return self._result(spec)

    def _expand(self, paths: list[str]) -> tuple[list[str], list[str]]:
        """The spec files named by the arguments (directories: their *.yaml/*.yml, sorted), once each."""
        names: list[str] = []
        dirs: list[str] = []
        seen: set[str] = set()
        for arg in paths:
            if os.path.isdir(arg):
                dirs.append(arg)
                try:
                    found = sorted(
                        entry.name for entry in os.scandir(arg)
                        if entry.name.endswith(SPEC_SUFFIXES) and not entry.name.startswith(".") and entry.is_file()
                    )
                except OSError as exc:
                    self.error(f"cannot list the directory: {exc.strerror or exc}", file=arg)
                    continue
                if not found:
                    self.error("the directory has no .yaml or .yml files", file=arg,
                               hint="a directory stack is every *.yaml/*.yml file directly in it (not in subdirectories)")
                candidates = [os.path.join(arg, name) for name in found]
            else:
                candidates = [arg]
            for name in candidates:
                key = os.path.realpath(name)
                if key not in seen:
                    seen.add(key)
                    names.append(name)
        return names, dirs

    # -- the stack's name

    def _stack_name(self, files: list[_File], names: list[str], paths: list[str], dirs: list[str]) -> str | None:
        declared: list[tuple[str, _File]] = []
        for f in files:
            value = f.data.get("stack")
            if isinstance(value, str) and self._valid_stack(value):
                declared.append((value, f))
        if declared:
            first, first_file = declared[0]
            for value, f in declared[1:]:
                if value != first:
                    self.error(
                        f"stack '{value}' disagrees with stack '{first}' set in {first_file.path}"
                        f" ({first_file.smap.locate(('stack',))})",
                        f.smap.locate(("stack",)), path=("stack",),
                        hint="the files of one stack must name the same stack (or leave `stack:` out)",
                    )
            return first
        if any("stack" in f.data for f in files):
            return None  # set but invalid: the schema has said so
        if len(paths) == 1 and dirs:
            source, label = os.path.basename(os.path.normpath(os.path.abspath(dirs[0]))), "directory"
            where_file = dirs[0]
        else:
            stems = {os.path.splitext(os.path.basename(n))[0] for n in names}
            if len(stems) > 1:
                self.error(
                    "the files name no stack and their names differ, so the stack's name is ambiguous",
                    SourceRef(names[0], 1, 1),
                    hint="set the same `stack: NAME` at the top of each file",
                )
                return None
            source, label = stems.pop(), "file"
            where_file = names[0]
        if self._valid_stack(source):
            return source
        suggestion = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")
        suggestion = re.sub(r"^[^a-z]+", "", suggestion)[: self._stack_max] or "my-stack"
        self.error(
            f"the stack name '{source}' (from the {label} name) is not a valid stack name",
            SourceRef(where_file, 1, 1) if label == "file" else None,
            file=where_file,
            hint=f"set `stack: {suggestion}` at the top of the {'file' if label == 'file' else 'files'}"
                 f" (lowercase letters, digits and hyphens, starting with a letter), or rename the {label}",
        )
        return None

    def _valid_stack(self, name: str) -> bool:
        return bool(self._stack_re.search(name)) and 0 < len(name) <= self._stack_max

    # -- stack-wide settings

    def _settings(self, files: list[_File]):
        defaults: dict[str, _Setting] = {}
        prices: dict[str, _Setting] = {}
        budget: _Setting | None = None
        for f in files:
            section = f.data.get("defaults")
            if isinstance(section, dict):
                for key, value in section.items():
                    if key in _CLUSTER_FIELDS and key != "name":
                        self._set_once(defaults, key, _Setting(value, f, ("defaults", key)), "defaults." + key)
            section = f.data.get("budget")
            if isinstance(section, dict) and _is_number(section.get("max_hourly_cost")):
                setting = _Setting(section["max_hourly_cost"], f, ("budget", "max_hourly_cost"))
                if budget is None:
                    budget = setting
                else:
                    self._twice("budget.max_hourly_cost", setting, budget)
            section = f.data.get("prices")
            if isinstance(section, dict):
                for kind, value in section.items():
                    if _is_number(value):
                        self._set_once(prices, kind, _Setting(value, f, ("prices", kind)), "prices." + kind)
        default_type = defaults.get("instance_type")
        if default_type is not None and isinstance(default_type.value, str):
            self._check_instance_type(default_type.value, lambda: (default_type.ref, default_type.ypath))
        return defaults, budget, prices

    def _set_once(self, table: dict, key: str, setting: _Setting, label: str) -> None:
        if key in table:
            self._twice(label, setting, table[key])
        else:
            table[key] = setting

    def _twice(self, label: str, setting: _Setting, first: _Setting) -> None:
        self.error(
            f"`{label}` is set twice: also at {first.ref}",
            setting.ref, path=setting.ypath,
            hint="a stack-wide setting belongs in one file of the stack; remove one of them",
        )

    # -- clusters

    def _clusters(self, files: list[_File], stack: str | None, defaults: dict[str, _Setting]) -> dict[str, ClusterSpec]:
        clusters: dict[str, ClusterSpec] = {}
        declared: dict[str, SourceRef] = {}
        names: dict[str, tuple[str, _File, tuple]] = {}
        default_values = {field: setting.value for field, setting in defaults.items()}
        for f in files:
            section = f.data.get("clusters")
            if not isinstance(section, dict):
                continue
            for address, body in section.items():
                ypath = ("clusters", address)
                key_ref = f.smap.key(ypath) or f.smap.locate(ypath)
                if address in declared:
                    self.error(
                        f"cluster '{address}' is declared twice: first at {declared[address]}",
                        key_ref, path=ypath,
                        hint="addresses are unique within a stack; rename or remove one of them",
                    )
                    continue
                declared[address] = key_ref
                if not isinstance(body, dict) or not self._address_re.search(address):
                    continue  # the schema has reported it
                spec = self._cluster(f, address, body, stack, defaults, key_ref, names, default_values)
                if spec is not None:
                    clusters[address] = spec
        return clusters

    def _cluster(self, f: _File, address: str, body: dict, stack: str | None, defaults: dict[str, _Setting],
                 key_ref: SourceRef, names: dict, default_values: dict[str, Any]) -> ClusterSpec | None:
        """One cluster with defaults merged under it; None (with errors reported) when it is not usable.

        `default_values` is {field: value} of `defaults`: a field's value is the cluster's own if it
        sets it (even to null), else the default's, else the fallback (the `.get`s below)."""
        ypath = ("clusters", address)
        get, default = body.get, default_values.get

        def where(field: str) -> tuple[SourceRef, tuple]:  # made only when a message needs it
            if field in body:
                return f.smap.locate(ypath + (field,)), ypath + (field,)
            setting = defaults[field]
            return setting.ref, setting.ypath

        ok = True
        itype = get("instance_type", default("instance_type"))
        if itype is None:
            self.error(f"cluster '{address}' has no instance_type", key_ref, path=ypath,
                       hint="add `instance_type:` (e.g. 1xH100) to the cluster, or to `defaults:`")
            ok = False
        elif not isinstance(itype, str):
            ok = False
        elif itype not in _KNOWN_TYPES and not self._check_instance_type(
                itype, lambda: where("instance_type"), report="instance_type" in body):
            ok = False  # a default's problem is reported once, at `defaults`

        num_nodes = get("num_nodes", default("num_nodes", 1))
        if _is_integer(num_nodes):
            num_nodes = int(num_nodes)
            if ok and num_nodes > 1 and itype in _KNOWN_TYPES and itype not in _MULTI_NODE:
                field = "num_nodes" if "num_nodes" in body or "instance_type" not in body else "instance_type"
                ref, at = where(field)
                self.error(
                    f"{itype} cannot have more than one node (num_nodes: {num_nodes})", ref, path=at,
                    hint="multi-node clusters need one of: " + ", ".join(MULTI_NODE_TYPES) + "; or set num_nodes: 1",
                )
                ok = False
        else:
            ok = False

        name = self._cluster_name(address, body, f, stack, key_ref, names)
        container = get("container", default("container"))
        protection = get("deletion_protection", default("deletion_protection", False))
        keys = get("public_keys", default("public_keys", ()))
        lifecycle: dict[str, Any] = {}
        for source in (default("lifecycle"), get("lifecycle")):
            if isinstance(source, dict):
                lifecycle.update(source)
        prevent = lifecycle.get("prevent_destroy", False)
        ignore = lifecycle.get("ignore_changes", ())
        if (
            not ok
            or name is None
            or not (container is None or isinstance(container, str))
            or not isinstance(protection, bool)
            or not isinstance(keys, (list, tuple))
            or not all(isinstance(k, str) for k in keys)
            or not isinstance(prevent, bool)
            or not isinstance(ignore, (list, tuple))
        ):
            return None  # anything not reported here was reported by the schema
        return ClusterSpec(
            address=address,
            instance_type=itype,
            num_nodes=num_nodes,
            name=name,
            container=container,
            deletion_protection=protection,
            public_keys=tuple(keys),
            prevent_destroy=prevent,
            ignore_changes=frozenset(i for i in ignore if i in FIELDS),
            source=key_ref,
        )

    def _check_instance_type(self, value: str, where, *, report: bool = True) -> bool:
        """True when the type is usable: known, or unknown but well-formed (a warning, the server decides).

        `where` gives (SourceRef, YAML path) for a message; it is called only when one is needed.
        """
        if value in INSTANCE_TYPES:
            return True
        if not self._type_re.search(value):
            return False  # malformed: the schema has reported it
        guess = suggest_instance_type(value)
        well_formed = parse_instance_type(value) is not None
        if report:
            ref, ypath = where()
            if guess:
                self.error(f"unknown instance type '{value}'", ref, path=ypath, hint=f"did you mean '{guess}'?")
            elif well_formed:
                self.warning(
                    f"instance type '{value}' is not in tpdeclare's catalogue of {PRICES_AS_OF}; the server will decide",
                    ref, path=ypath,
                    hint="if it is new, carry on (the plan cannot estimate its cost); if not, check the spelling",
                )
            else:
                self.error(f"unknown instance type '{value}'", ref, path=ypath,
                           hint="known types: " + ", ".join(INSTANCE_TYPES))
        return not guess and well_formed

    def _cluster_name(self, address: str, body: dict, f: _File, stack: str | None, key_ref: SourceRef,
                      names: dict) -> str | None:
        """The resolved tp_cluster_name (explicit, or <stack>-<address>), unique in the stack."""
        explicit = body.get("name")
        ypath = ("clusters", address)
        if explicit is not None:
            if not isinstance(explicit, str) or not self._valid_name(explicit):
                return None  # the schema has reported it
            name, at = explicit, ypath + ("name",)
        else:
            if stack is None:
                return None
            name, at = f"{stack}-{address}", ypath
            if not self._valid_name(name):
                self.error(
                    f"the default cluster name '{name}' (<stack>-<address>) is not a valid cluster name",
                    key_ref, path=ypath,
                    hint=f"set `name:` for this cluster: lowercase letters, digits and hyphens, starting and ending"
                         f" with a letter or digit, at most {self._name_max} characters",
                )
                return None
        if name in names:
            other, other_file, other_at = names[name]
            self.error(
                f"cluster name '{name}' is also the name of cluster '{other}'"
                f" ({other_file.smap.locate(other_at, prefer_key=len(other_at) == 2)})",
                f.smap.locate(at, prefer_key=len(at) == 2), path=at,
                hint="cluster names are unique in your TensorPool account; give one of them a different `name:`",
            )
            return None
        names[name] = (address, f, at)
        return name

    def _valid_name(self, name: str) -> bool:
        return bool(self._name_re.search(name)) and len(name) <= self._name_max

    # -- moves

    def _moves(self, files: list[_File]) -> list[Move]:
        declared = set()
        for f in files:
            section = f.data.get("clusters")
            if isinstance(section, dict):
                declared.update(section)
        entries: list[tuple[str, str, _File, int]] = []
        for f in files:
            section = f.data.get("moved")
            if not isinstance(section, list):
                continue
            for index, entry in enumerate(section):
                if isinstance(entry, dict) and isinstance(entry.get("from"), str) and isinstance(entry.get("to"), str):
                    entries.append((entry["from"], entry["to"], f, index))
        froms: dict[str, SourceRef] = {}
        tos: dict[str, SourceRef] = {}
        all_froms = {e[0] for e in entries}
        next_of = {}
        for old, new, _f, _i in entries:
            next_of.setdefault(old, new)
        moves: list[Move] = []
        for old, new, f, index in entries:
            base = ("moved", index)
            from_ref = f.smap.locate(base + ("from",))
            to_ref = f.smap.locate(base + ("to",))
            ok = True
            if old == new:
                self.error(f"moves '{old}' to itself", from_ref, path=base, hint="remove this entry")
                continue
            if old in froms:
                self.error(f"'{old}' is moved twice: also at {froms[old]}", from_ref, path=base + ("from",),
                           hint="an address can move only once; keep one entry")
                ok = False
            if new in tos:
                self.error(f"two moves lead to '{new}': also at {tos[new]}", to_ref, path=base + ("to",),
                           hint="only one old address can become a new one; keep one entry")
                ok = False
            if new in all_froms:
                final, hops = new, 0
                while final in next_of and hops <= len(next_of):
                    final, hops = next_of[final], hops + 1
                self.error(f"moves chain through '{new}' (moved here, then moved on)", to_ref, path=base + ("to",),
                           hint=f"write the final move directly, `- {{from: {old}, to: {final}}}`, and drop the middle step")
                ok = False
            elif new not in declared:
                guess = _close(new, declared)
                self.error(
                    f"moved to '{new}', which is not declared in `clusters`", to_ref, path=base + ("to",),
                    hint=f"did you mean '{guess}'?" if guess else "declare the cluster under its new address, or remove this move",
                )
                ok = False
            if old in declared:
                self.error(
                    f"moved from '{old}', which is still declared in `clusters`", from_ref, path=base + ("from",),
                    hint="after a move the old address must be gone; remove it from `clusters` or remove this move",
                )
                ok = False
            froms.setdefault(old, from_ref)
            tos.setdefault(new, to_ref)
            if ok:
                moves.append(Move(old, new, source=f.smap.locate(base)))
        return moves


def content_hash(named_bytes) -> str:
    """sha256 over (file name, bytes) pairs in sorted order: the same specs hash the same from any directory."""
    digest = hashlib.sha256()
    for name, raw in sorted(named_bytes):
        encoded = name.encode("utf-8", "surrogateescape")
        digest.update(len(encoded).to_bytes(8, "big") + encoded + len(raw).to_bytes(8, "big"))
        digest.update(raw)
    return digest.hexdigest()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _close(word: str, choices) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None
