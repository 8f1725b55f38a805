"""Safe YAML reading: one spec file's bytes to plain data and a source map, bounded in size, aliases and depth.

How it stays safe and fast: libyaml (when present) parses and composes the node tree in C
(`yaml_compose`), and tpdeclare builds the Python values itself from the nodes (`yaml_values`), so it
decides what is allowed and records where every key and value is on the way. Every problem becomes a
`Diagnostic` (`yaml_errors` words them); nothing here raises for bad input.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode

from tpdeclare.diagnostics import Diagnostic
from tpdeclare.frozen_values import frozen
from tpdeclare.spec.source_map import SHALLOW, Mark, SourceMap, YamlPath
from tpdeclare.spec.yaml_compose import compose
from tpdeclare.spec.yaml_errors import DEPTH_HINT, YamlAbort, node_kind, not_utf8, syntax_diagnostic, too_big
from tpdeclare.spec.yaml_values import ValueBuilder

DEFAULT_MAX_BYTES = 8_000_000  # per file: a 10,000-cluster stack in one file is ~1 MB
MAX_ALIAS_NODES = 10_000  # nodes built by expanding aliases (a "billion laughs" needs millions)
MAX_DEPTH = 64  # nesting levels of the built value; real specs use 5


@frozen
class YamlDocument:
    """One loaded file: its data (None when it had errors), its source map and every problem found."""

    data: dict[str, Any] | None
    source_map: SourceMap
    diagnostics: list[Diagnostic]


def load_yaml(
    raw: bytes,
    file: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_alias_nodes: int = MAX_ALIAS_NODES,
    max_depth: int = MAX_DEPTH,
) -> YamlDocument:
    """Parse one spec file's bytes into a mapping with a source map. Never raises for bad input."""
    empty = SourceMap(file)

    def refused(diagnostic: Diagnostic) -> YamlDocument:
        return YamlDocument(None, empty, [diagnostic])

    if len(raw) > max_bytes:
        return refused(too_big(file, max_bytes))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return refused(not_utf8(raw, exc, file))
    try:
        root = compose(raw, max_depth, file)
    except YamlAbort as abort:
        return refused(abort.diagnostic)
    except yaml.YAMLError as exc:
        return refused(syntax_diagnostic(exc, raw, file))
    except RecursionError:  # pragma: no cover - the depth check comes first; this is a backstop
        return refused(Diagnostic(f"the YAML is nested more than {max_depth} levels deep", file=file,
                                  hint=DEPTH_HINT))
    if root is None:
        return refused(Diagnostic(
            "the file is empty", file=file, line=1, col=1,
            hint="a spec is a mapping with at least `clusters:` (see examples/cluster.yaml)",
        ))
    if not isinstance(root, MappingNode):
        mark = root.start_mark
        return YamlDocument(None, SourceMap(file, root=mark), [Diagnostic(
            f"the top level must be a mapping (key: value lines), not {node_kind(root)}",
            file=file, line=mark.line + 1, col=mark.column + 1,
            hint="start with `clusters:` (see examples/cluster.yaml)",
        )])
    builder = ValueBuilder(file, max_alias_nodes, max_depth, recorded_length=SHALLOW)
    try:
        data = builder.build(root)
    except YamlAbort as abort:
        builder.diagnostics.append(abort.diagnostic)
        data = None
    # The places of sections and their entries; the rest only if a message asks (read again then: the same
    # bytes load the same way).
    smap = SourceMap(file, builder.keys, builder.values, root.start_mark,
                     complete=lambda: _every_place(raw, file, max_alias_nodes, max_depth))
    if builder.diagnostics:
        return YamlDocument(None, smap, builder.diagnostics)
    return YamlDocument(data, smap, [])


def _every_place(raw: bytes, file: str, max_alias_nodes: int, max_depth: int
                 ) -> tuple[dict[YamlPath, Mark], dict[YamlPath, Mark]]:
    """Every key's and value's place in `raw`, which loaded before with these bounds (and loads the same again)."""
    root = compose(raw, max_depth, file)
    builder = ValueBuilder(file, max_alias_nodes, max_depth)
    assert isinstance(root, MappingNode)
    try:
        builder.build(root)
    except YamlAbort:
        pass  # the first load said so; the places recorded up to there are all there are
    return builder.keys, builder.values
