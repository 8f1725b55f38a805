"""From a YAML node tree to plain Python values, deciding what is allowed and recording where each value was.

Plain data only: strings, numbers, booleans, null, lists and mappings. No Python or other custom tags,
no duplicate keys, aliases counted (no "billion laughs"), nesting bounded. Each key's and value's place
(its node's start mark, not the node) is recorded by YAML path on the way, so the source map does not keep
the node tree alive; only paths up to `recorded_length` long when the caller asks for fewer (yamlsafe: the
sections and their entries, all a valid stack needs; a message about a deeper place builds the file again).

Choices worth knowing:
- Mapping keys are taken as their text: `on:`, `1:` and `null:` are the keys "on", "1" and "null".
  A list or mapping used as a key is an error.
- Timestamps stay strings (nothing in a spec is a date). `.inf`/`.nan` and integers too long to read
  are errors.
- Merge keys (`<<: *base`) work as in YAML 1.1; a mapping's own keys win over merged ones.
"""

from __future__ import annotations

import math
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tpdeclare.diagnostics import Diagnostic
from tpdeclare.spec.source_map import Mark, YamlPath, dotted
from tpdeclare.spec.yaml_errors import YamlAbort, node_kind, short, too_deep
from tpdeclare.spec.yaml_tags import (
    BOOL,
    FLOAT,
    INT,
    KEY_TAGS,
    MAP,
    MERGE,
    NULL,
    SEQ,
    STR,
    TIMESTAMP,
    VALUE,
    Y,
    tag_name,
)

_PLAIN_DATA_HINT = "tpdeclare specs are plain data: strings, numbers, true/false, lists and mappings"
_CONSTRUCTOR = SafeConstructor()
RECORD_ALL = 1 << 30  # a path length no document reaches: every place recorded


class ValueBuilder:
    """Builds Python values from a node tree, recording each key's and value's place by YAML path (of paths up
    to `recorded_length` long)."""

    def __init__(self, file: str, max_alias_nodes: int, max_depth: int, *, recorded_length: int = RECORD_ALL) -> None:
        self.file = file
        self.max_alias_nodes = max_alias_nodes
        self.max_depth = max_depth
        self.recorded_length = recorded_length  # the places of paths up to this long are recorded, no others
        self.keys: dict[YamlPath, Mark] = {}
        self.values: dict[YamlPath, Mark] = {}
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[int] = set()  # collection nodes built at least once (a second build is an alias)
        self._active: set[int] = set()  # collection nodes being built (seeing one again is a cycle)
        self._alias_depth = 0
        self._alias_nodes = 0

    def build(self, root: MappingNode) -> dict[str, Any] | None:
        """The root mapping's value; None when it carries a tag of its own. Raises YamlAbort (alias bomb, depth)."""
        self._seen.add(id(root))
        self._active.add(id(root))
        if root.tag != MAP:
            self._bad_tag(root, ())
            return None
        return self._mapping(root, (), 0)

    def _error(self, node: Node, summary: str, hint: str | None = None, path: YamlPath = ()) -> None:
        mark = node.start_mark
        self.diagnostics.append(Diagnostic(
            summary, file=self.file, line=mark.line + 1, col=mark.column + 1, path=dotted(path), hint=hint))

    def _value(self, node: Node, path: YamlPath, depth: int) -> Any:
        cls = node.__class__
        if isinstance(node, ScalarNode):
            tag = node.tag
            if tag == STR:
                return node.value
            return self._scalar(node, tag, path)
        if depth >= self.max_depth:
            raise YamlAbort(too_deep(self.file, node.start_mark, self.max_depth, path))
        nid = id(node)
        if nid in self._active:
            self._error(node, "an alias refers to a list or mapping that contains it (a recursive alias)",
                        hint="YAML data for tpdeclare cannot refer to itself", path=path)
            return None
        aliased = nid in self._seen
        if aliased:
            self._alias_depth += 1
        else:
            self._seen.add(nid)
        if self._alias_depth:  # building a copy for an alias: count it and its children
            self._count_alias_nodes(node, path)
        self._active.add(nid)
        try:
            if cls is MappingNode:
                if node.tag != MAP:
                    self._bad_tag(node, path)
                    return None
                return self._mapping(node, path, depth + 1)
            if node.tag != SEQ:
                self._bad_tag(node, path)
                return None
            return self._sequence(node, path, depth + 1)
        finally:
            self._active.discard(nid)
            if aliased:
                self._alias_depth -= 1

    def _count_alias_nodes(self, node: Node, path: YamlPath) -> None:
        self._alias_nodes += 1 + len(node.value)
        if self._alias_nodes > self.max_alias_nodes:
            mark = node.start_mark
            raise YamlAbort(Diagnostic(
                f"aliases expand to more than {self.max_alias_nodes:,} values",
                file=self.file, line=mark.line + 1, col=mark.column + 1, path=dotted(path),
                hint="this looks like a \"billion laughs\" alias bomb; write the values out or use fewer aliases",
            ))

    def _sequence(self, node: Node, path: YamlPath, depth: int) -> list[Any]:
        values, value = self.values, self._value
        record = len(path) < self.recorded_length
        result: list[Any] = []
        append = result.append
        index = 0
        for item in node.value:
            if record:
                values[path + (index,)] = item.start_mark
            if item.__class__ is ScalarNode and item.tag == STR:
                append(item.value)
            else:
                append(value(item, path + (index,), depth))
            index += 1
        return result

    def _mapping(self, node: Node, path: YamlPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        keys, values, value = self.keys, self.values, self._value
        record = len(path) < self.recorded_length
        merges: list[Node] | None = None
        firsts: dict[str, Mark] | None = None  # each key's first place, found once a key repeats
        for key_node, value_node in node.value:
            if key_node.__class__ is not ScalarNode:
                self._error(key_node, f"a mapping key must be a plain name, not {node_kind(key_node)}",
                            hint="write keys as `name:`", path=path)
                continue
            tag = key_node.tag
            if tag != STR and tag not in KEY_TAGS:
                if tag == MERGE:
                    merges = (merges or []) + [value_node]
                else:
                    self._bad_tag(key_node, path)
                continue
            key = key_node.value
            if key in result:
                if firsts is None:
                    firsts = _first_places(node)
                self._duplicate(key_node, key, firsts[key], path + (key,))
                continue
            if value_node.__class__ is ScalarNode:
                tag = value_node.tag
                if record:
                    sub = path + (key,)
                    keys[sub] = key_mark = key_node.start_mark
                    # `key:` with nothing after it: the value's place is its key's (its own mark is past the line)
                    values[sub] = key_mark if tag == NULL and value_node.value == "" else value_node.start_mark
                if tag == STR:
                    result[key] = value_node.value
                    continue
            elif record:
                sub = path + (key,)
                keys[sub] = key_node.start_mark
                values[sub] = value_node.start_mark
            result[key] = value(value_node, path + (key,), depth)
        if merges:
            self._merge(result, merges, path, depth)
        return result

    def _duplicate(self, key_node: Node, key: str, first: Mark, path: YamlPath) -> None:
        """A key given twice in one mapping: said at the second, naming where the first is."""
        self._error(key_node,
                    f"duplicate key '{key}': first defined at line {first.line + 1}, column {first.column + 1}",
                    hint="YAML would silently keep only one of them; delete or rename one", path=path)

    def _merge(self, result: dict[str, Any], merges: list[Node], path: YamlPath, depth: int) -> None:
        """YAML 1.1 merge keys: fill in keys the mapping does not set, earlier sources first."""
        sources: list[Node] = []
        for merge_node in merges:
            items = merge_node.value if merge_node.__class__ is SequenceNode else [merge_node]
            for item in items:
                if item.__class__ is not MappingNode:
                    self._error(item, "a merge key (<<) needs a mapping or a list of mappings",
                                hint="write `<<: *anchor` where the anchor names a mapping", path=path)
                    continue
                sources.append(item)
        for source in sources:
            saved_keys, saved_values = self.keys, self.values
            self.keys, self.values = {}, {}
            try:
                built = self._value(source, path, depth)
                merged_keys, merged_values = self.keys, self.values
            finally:
                self.keys, self.values = saved_keys, saved_values
            if not isinstance(built, dict):
                continue
            for key, val in built.items():
                if key not in result:
                    result[key] = val
            for sub, n in merged_keys.items():
                saved_keys.setdefault(sub, n)
            for sub, n in merged_values.items():
                saved_values.setdefault(sub, n)

    def _scalar(self, node: ScalarNode, tag: str, path: YamlPath) -> Any:
        text = node.value
        try:
            if tag == INT:
                if text.isdigit() and (text[0] != "0" or text == "0") and len(text) < 19:
                    return int(text)
                return SafeConstructor.construct_yaml_int(_CONSTRUCTOR, node)
            if tag == BOOL:
                return SafeConstructor.bool_values[text.lower()]
            if tag == NULL:
                return None
            if tag == FLOAT:
                number = SafeConstructor.construct_yaml_float(_CONSTRUCTOR, node)
                if not math.isfinite(number):
                    self._error(node, f"'{text}' is not a finite number", hint="write a plain number, e.g. 2.5",
                                path=path)
                    return None
                return number
            if tag in (TIMESTAMP, VALUE, MERGE):
                return text
        except (ValueError, KeyError, TypeError, OverflowError):
            kind = {INT: "an integer", FLOAT: "a number", BOOL: "true or false"}.get(tag, tag_name(tag))
            self._error(node, f"cannot read '{short(text)}' as {kind}",
                        hint="quote the value if it is meant as text (and drop any !!tag)", path=path)
            return None
        self._bad_tag(node, path)
        return None

    def _bad_tag(self, node: Node, path: YamlPath) -> None:
        tag = node.tag or ""
        if tag.startswith(Y + "python/") or tag.startswith("!python/"):
            self._error(node, f"Python tags are not allowed: '{tag_name(tag)}'",
                        hint=f"{_PLAIN_DATA_HINT}; tpdeclare never constructs objects from YAML", path=path)
        else:
            self._error(node, f"unsupported YAML tag '{tag_name(tag)}'", hint=f"remove the tag; {_PLAIN_DATA_HINT}",
                        path=path)


def _first_places(node: Node) -> dict[str, Mark]:
    """Where each key of a mapping node is first given (the keys `_mapping` takes: plain names), in one pass."""
    firsts: dict[str, Mark] = {}
    for key_node, _ in node.value:
        if key_node.__class__ is ScalarNode and (key_node.tag == STR or key_node.tag in KEY_TAGS):
            firsts.setdefault(key_node.value, key_node.start_mark)
    return firsts
