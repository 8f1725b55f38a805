"""Safe YAML reading: plain data only, bounded in size, aliases and depth, with a source map of every key and value.

How it stays safe and fast: libyaml (when present) parses and composes the node tree in C, and this
module builds the Python values itself from the nodes, so it decides what is allowed (no Python or
other custom tags, no alias bombs, no duplicate keys) and records where every key and value is on the
way, without a second pass. Every problem becomes a `Diagnostic`; nothing here raises for bad input.

Choices worth knowing:
- Mapping keys are taken as their text: `on:`, `1:` and `null:` are the keys "on", "1" and "null".
  A list or mapping used as a key is an error.
- Timestamps stay strings (nothing in a spec is a date). `.inf`/`.nan` and integers too long to read
  are errors.
- Merge keys (`<<: *base`) work as in YAML 1.1; a mapping's own keys win over merged ones.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from tpdeclare.diagnostics import Diagnostic
from tpdeclare.spec.model import SourceRef

try:  # libyaml: parse and compose in C
    from yaml.cyaml import CParser as _CParser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _CParser = None

YamlPath = tuple  # of str (mapping keys) and int (list indexes)

DEFAULT_MAX_BYTES = 8_000_000  # per file: a 10,000-cluster stack in one file is ~1 MB
MAX_ALIAS_NODES = 10_000  # nodes built by expanding aliases (a "billion laughs" needs millions)
MAX_DEPTH = 64  # nesting levels of the built value; real specs use 5

_Y = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = _Y + "str", _Y + "int", _Y + "float", _Y + "bool", _Y + "null"
_TIMESTAMP, _VALUE, _MERGE = _Y + "timestamp", _Y + "value", _Y + "merge"
_SEQ, _MAP = _Y + "seq", _Y + "map"
_KEY_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP, _VALUE})
_PLAIN_DATA_HINT = "tpdeclare specs are plain data: strings, numbers, true/false, lists and mappings"

# Composing recurses once per nesting level: on the C stack with libyaml (which, from 0.2.6, also stops
# at 1,000 levels with its own words), on Python's stack without it. An input that could nest deeper than
# the bound below is first walked level by level from the event stream of the pure-Python parser (no
# recursion, no library nesting limit), so tpdeclare's own limit speaks first, with the place and the
# YAML path, whatever libyaml version PyYAML was built with; the tree is then shallow for any stack.
_SHALLOW_BOUND = 500 if _CParser is not None else 200
# A line whose indentation and block indicators (`- `, `? `, `: `) run this long could open many block
# collections; real specs indent less than 20 columns.
_DEEP_PREFIX_COLUMNS = 64
_DEEP_PREFIX = re.compile(rb"(?m)^[ \t?:-]{%d}" % _DEEP_PREFIX_COLUMNS)
# Line breaks PyYAML reads besides LF (CR, NEL, LS, PS in UTF-8): a line must not hide behind them.
_OTHER_BREAKS = (b"\r", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")


class SourceMap:
    """Where each key and value of one YAML file is: YAML path tuple -> `SourceRef` (1-based).

    Paths are tuples of mapping keys and list indexes, e.g. ("clusters", "trainer", "num_nodes") or
    ("moved", 0, "to"). The root mapping's path is (). Refs are made on demand from the recorded nodes.
    """

    __slots__ = ("file", "_keys", "_values", "_root")

    def __init__(self, file: str, keys: dict | None = None, values: dict | None = None, root=None):
        self.file = file
        self._keys = keys if keys is not None else {}
        self._values = values if values is not None else {}
        self._root = root

    def _ref(self, node) -> SourceRef:
        mark = node.start_mark
        return SourceRef(self.file, mark.line + 1, mark.column + 1)

    def key(self, path: YamlPath) -> SourceRef | None:
        """Where the mapping key that ends `path` is written; None for list items, the root or unknown paths."""
        node = self._keys.get(tuple(path))
        return self._ref(node) if node is not None else None

    def value(self, path: YamlPath) -> SourceRef | None:
        """Where the value at `path` is written (its key, when the value is left empty); None if unknown."""
        path = tuple(path)
        node = self._values.get(path) if path else self._root
        if node is None:
            return None
        if node.__class__ is ScalarNode and node.value == "" and node.tag == _NULL:
            key = self._keys.get(path)
            if key is not None:
                return self._ref(key)
        return self._ref(node)

    def locate(self, path: YamlPath, *, prefer_key: bool = False) -> SourceRef:
        """The best known place for `path`: itself (key or value), else its nearest recorded ancestor."""
        path = tuple(path)
        while True:
            ref = (self.key(path) or self.value(path)) if prefer_key else (self.value(path) or self.key(path))
            if ref is not None:
                return ref
            if not path:
                return SourceRef(self.file, 1, 1)
            path = path[:-1]
            prefer_key = True

    def __contains__(self, path: YamlPath) -> bool:
        return tuple(path) in self._values


@dataclass(frozen=True)
class YamlDocument:
    """One loaded file: its data (None when it had errors), its source map and every problem found."""

    data: dict | None
    source_map: SourceMap
    diagnostics: list[Diagnostic]


def read_bounded(path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[bytes | None, Diagnostic | None]:
    """Read at most `max_bytes` of a file; a bigger or unreadable file is a diagnostic, not an exception."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        return None, Diagnostic("no such file", file=path, hint="check the path; a spec is a .yaml file or a directory of them")
    except IsADirectoryError:
        return None, Diagnostic("is a directory, expected a file", file=path)
    except PermissionError:
        return None, Diagnostic("permission denied: cannot read the file", file=path)
    except ValueError:  # e.g. a NUL byte in the path
        return None, Diagnostic("not a usable file path", file=path)
    except OSError as exc:
        return None, Diagnostic(f"cannot read the file: {exc.strerror or exc}", file=path)
    if len(raw) > max_bytes:
        return None, _too_big(path, max_bytes)
    return raw, None


def _too_big(file: str, max_bytes: int) -> Diagnostic:
    return Diagnostic(
        f"the file is larger than the limit of {max_bytes:,} bytes",
        file=file,
        hint="split the stack into several files in one directory (the limit applies to each file)",
    )


def load_yaml(
    raw: bytes,
    file: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_alias_nodes: int = MAX_ALIAS_NODES,
    max_depth: int = MAX_DEPTH,
) -> YamlDocument:
    """Parse one spec file's bytes into a mapping with a source map. Never raises for bad input."""
    smap = SourceMap(file)
    if len(raw) > max_bytes:
        return YamlDocument(None, smap, [_too_big(file, max_bytes)])
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw, exc.start)
        return YamlDocument(None, smap, [Diagnostic(
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})", file=file, line=line, col=col,
            hint="save the file as UTF-8",
        )])
    try:
        root = _compose(raw, max_depth, file)
    except _Abort as abort:
        return YamlDocument(None, smap, [abort.diagnostic])
    except yaml.YAMLError as exc:
        return YamlDocument(None, smap, [_syntax_diagnostic(exc, raw, file)])
    except RecursionError:  # pragma: no cover - the depth check comes first; this is a backstop
        return YamlDocument(None, smap, [Diagnostic(
            f"the YAML is nested more than {max_depth} levels deep", file=file,
            hint="a spec nests about five levels; check for a runaway list or a recursive alias")])
    if root is None:
        return YamlDocument(None, smap, [Diagnostic(
            "the file is empty", file=file, line=1, col=1,
            hint="a spec is a mapping with at least `clusters:` (see examples/cluster.yaml)",
        )])
    smap._root = root
    if root.__class__ is not MappingNode:
        mark = root.start_mark
        return YamlDocument(None, smap, [Diagnostic(
            f"the top level must be a mapping (key: value lines), not {_node_kind(root)}",
            file=file, line=mark.line + 1, col=mark.column + 1,
            hint="start with `clusters:` (see examples/cluster.yaml)",
        )])
    builder = _Builder(file, max_alias_nodes, max_depth)
    try:
        data = builder.build(root)
    except _Abort as abort:
        builder.diagnostics.append(abort.diagnostic)
        data = None
    smap._keys, smap._values = builder.keys, builder.values
    if builder.diagnostics:
        return YamlDocument(None, smap, builder.diagnostics)
    return YamlDocument(data, smap, [])


def dotted(path) -> str:
    """A YAML path as users read it: clusters.trainer.num_nodes, moved[0].to."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


# --- composing ------------------------------------------------------------------------------------


class _FastResolver(Resolver):
    """YAML 1.1 implicit typing with a per-file memo: specs repeat the same few values thousands of times."""

    _firsts = frozenset(k for k in Resolver.yaml_implicit_resolvers if k)
    _wild = None in Resolver.yaml_implicit_resolvers or "" in Resolver.yaml_implicit_resolvers

    def __init__(self):
        Resolver.__init__(self)
        self._memo: dict[str, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode:
            if not implicit[0]:
                return _STR
            if value and value[0] not in self._firsts and not self._wild:
                return _STR
            tag = self._memo.get(value)
            if tag is None:
                tag = self._memo[value] = Resolver.resolve(self, kind, value, implicit)
            return tag
        return _SEQ if kind is SequenceNode else _MAP

    def descend_resolver(self, current_node, current_index):  # no path resolvers are registered
        pass

    def ascend_resolver(self):
        pass


if _CParser is not None:

    class _CNodeLoader(_CParser, _FastResolver):
        def __init__(self, stream):
            _CParser.__init__(self, stream)
            _FastResolver.__init__(self)


class _PyEventLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """Events only, in pure Python: its scanner and parser are loops, not recursion."""

    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


class _PyNodeLoader(
    yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, _FastResolver
):
    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _FastResolver.__init__(self)


def _compose(raw: bytes, max_depth: int, file: str):
    """The document's node tree (None for an empty document), refusing nesting deeper than max_depth."""
    if _nesting_bound(raw) > _SHALLOW_BOUND:
        _check_depth_from_events(raw, max_depth, file)
    loader = _PyNodeLoader(raw) if _CParser is None else _CNodeLoader(raw)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _nesting_bound(raw: bytes) -> int:
    """An upper bound on how deep the node tree can nest (cheap: C-speed counts and one regex search).

    Flow collections nest at most once per `[`/`{`. A block collection starts after its line's
    indentation and indicators, at a column at least its parent's (equal only for a list under a key),
    so block nesting is at most twice the longest such prefix, plus two.
    """
    flow = raw.count(b"[") + raw.count(b"{")
    for brk in _OTHER_BREAKS:
        if brk in raw:
            raw = raw.replace(brk, b"\n")
    if _DEEP_PREFIX.search(raw):
        return flow + 2 * max(map(len, raw.split(b"\n"))) + 2
    return flow + 2 * _DEEP_PREFIX_COLUMNS + 2


class _Frame:
    """One open collection while walking events: where the next node in it sits."""

    __slots__ = ("path", "is_map", "index", "key", "expect_key")

    def __init__(self, path: tuple, is_map: bool):
        self.path = path
        self.is_map = is_map
        self.index = 0
        self.key: object = None
        self.expect_key = True

    def next_path(self, event) -> tuple | None:
        """The YAML path of the node `event` starts inside this collection; None for a mapping key."""
        if not self.is_map:
            self.index += 1
            return (*self.path, self.index - 1)
        if self.expect_key:
            self.expect_key = False
            self.key = event.value if isinstance(event, yaml.ScalarEvent) else "?"
            return None
        self.expect_key = True
        return (*self.path, self.key)


def _check_depth_from_events(raw: bytes, max_depth: int, file: str) -> None:
    """Walk the pure-Python parser's event stream (no recursion, no nesting limit of its own) and abort
    at the first collection nested too deep, naming its place and YAML path as the value builder would."""
    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    nodes = (yaml.ScalarEvent, yaml.AliasEvent, *starts)
    loader = _PyEventLoader(raw)
    stack: list[_Frame] = []
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, nodes):
                path = stack[-1].next_path(event) if stack else ()
                if isinstance(event, starts):
                    if len(stack) > max_depth:  # the root mapping is level 0 to the builder
                        raise _Abort(_too_deep(file, event.start_mark, max_depth, path or ()))
                    stack.append(_Frame(path or (), isinstance(event, yaml.MappingStartEvent)))
            elif isinstance(event, ends):
                stack.pop()
    finally:
        loader.dispose()


# --- building values ------------------------------------------------------------------------------


class _Abort(Exception):
    """Stop building: the file is hostile or broken beyond useful further checking."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.summary)
        self.diagnostic = diagnostic


def _too_deep(file: str, mark, max_depth: int, path: tuple = ()) -> Diagnostic:
    return Diagnostic(
        f"the YAML is nested more than {max_depth} levels deep",
        file=file, line=mark.line + 1, col=mark.column + 1,
        path=dotted(path) if len(path) <= 8 else dotted(path[:4]) + "…",
        hint="a spec nests about five levels; check for a runaway list or a recursive alias",
    )


class _Builder:
    """Builds Python values from a node tree, recording each key's and value's node by YAML path."""

    def __init__(self, file: str, max_alias_nodes: int, max_depth: int):
        self.file = file
        self.max_alias_nodes = max_alias_nodes
        self.max_depth = max_depth
        self.keys: dict[tuple, Any] = {}
        self.values: dict[tuple, Any] = {}
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[int] = set()  # collection nodes built at least once (a second build is an alias)
        self._active: set[int] = set()  # collection nodes being built (seeing one again is a cycle)
        self._alias_depth = 0
        self._alias_nodes = 0

    def build(self, root) -> dict | None:
        self._seen.add(id(root))
        self._active.add(id(root))
        if root.tag != _MAP:
            self._bad_tag(root, ())
            return None
        return self._mapping(root, (), 0)

    def _error(self, node, summary: str, hint: str | None = None, path: tuple = ()) -> None:
        mark = node.start_mark
        self.diagnostics.append(Diagnostic(
            summary, file=self.file, line=mark.line + 1, col=mark.column + 1, path=dotted(path), hint=hint))

    def _value(self, node, path: tuple, depth: int):
        cls = node.__class__
        if cls is ScalarNode:
            tag = node.tag
            if tag == _STR:
                return node.value
            return self._scalar(node, tag, path)
        if depth >= self.max_depth:
            raise _Abort(_too_deep(self.file, node.start_mark, self.max_depth, path))
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
            self._alias_nodes += 1 + len(node.value)
            if self._alias_nodes > self.max_alias_nodes:
                mark = node.start_mark
                raise _Abort(Diagnostic(
                    f"aliases expand to more than {self.max_alias_nodes:,} values",
                    file=self.file, line=mark.line + 1, col=mark.column + 1, path=dotted(path),
                    hint="this looks like a \"billion laughs\" alias bomb; write the values out or use fewer aliases",
                ))
        self._active.add(nid)
        try:
            if cls is MappingNode:
                if node.tag != _MAP:
                    self._bad_tag(node, path)
                    return None
                return self._mapping(node, path, depth + 1)
            if node.tag != _SEQ:
                self._bad_tag(node, path)
                return None
            return self._sequence(node, path, depth + 1)
        finally:
            self._active.discard(nid)
            if aliased:
                self._alias_depth -= 1

    def _sequence(self, node, path: tuple, depth: int) -> list:
        values, value = self.values, self._value
        result = []
        append = result.append
        index = 0
        for item in node.value:
            sub = path + (index,)
            values[sub] = item
            if item.__class__ is ScalarNode and item.tag == _STR:
                append(item.value)
            else:
                append(value(item, sub, depth))
            index += 1
        return result

    def _mapping(self, node, path: tuple, depth: int) -> dict:
        result: dict[str, Any] = {}
        keys, values, value = self.keys, self.values, self._value
        merges = None
        for key_node, value_node in node.value:
            if key_node.__class__ is not ScalarNode:
                self._error(key_node, f"a mapping key must be a plain name, not {_node_kind(key_node)}",
                            hint="write keys as `name:`", path=path)
                continue
            tag = key_node.tag
            if tag != _STR and tag not in _KEY_TAGS:
                if tag == _MERGE:
                    merges = (merges or []) + [value_node]
                else:
                    self._bad_tag(key_node, path)
                continue
            key = key_node.value
            sub = path + (key,)
            if key in result:
                first = keys[sub].start_mark
                self._error(key_node, f"duplicate key '{key}': first defined at line {first.line + 1}, column {first.column + 1}",
                            hint="YAML would silently keep only one of them; delete or rename one", path=sub)
                continue
            keys[sub] = key_node
            values[sub] = value_node
            if value_node.__class__ is ScalarNode and value_node.tag == _STR:
                result[key] = value_node.value
            else:
                result[key] = value(value_node, sub, depth)
        if merges:
            self._merge(result, merges, path, depth)
        return result

    def _merge(self, result: dict, merges: list, path: tuple, depth: int) -> None:
        """YAML 1.1 merge keys: fill in keys the mapping does not set, earlier sources first."""
        sources = []
        for merge_node in merges:
            items = merge_node.value if merge_node.__class__ is SequenceNode else [merge_node]
            for item in items:
                if item.__class__ is not MappingNode:
                    self._error(item, "a merge key (<<) needs a mapping or a list of mappings",
                                hint="write `<<: *anchor` where the anchor names a mapping", path=path)
                    continue
                sources.append(item)
        for source in sources:
            saved = self.keys, self.values
            self.keys, self.values = {}, {}
            try:
                built = self._value(source, path, depth)
                merged_keys, merged_values = self.keys, self.values
            finally:
                self.keys, self.values = saved
            if not isinstance(built, dict):
                continue
            for key, val in built.items():
                if key not in result:
                    result[key] = val
            for sub, n in merged_keys.items():
                saved[0].setdefault(sub, n)
            for sub, n in merged_values.items():
                saved[1].setdefault(sub, n)

    def _scalar(self, node, tag: str, path: tuple):
        text = node.value
        try:
            if tag == _INT:
                if text.isdigit() and (text[0] != "0" or text == "0") and len(text) < 19:
                    return int(text)
                return SafeConstructor.construct_yaml_int(_CONSTRUCTOR, node)
            if tag == _BOOL:
                return SafeConstructor.bool_values[text.lower()]
            if tag == _NULL:
                return None
            if tag == _FLOAT:
                number = SafeConstructor.construct_yaml_float(_CONSTRUCTOR, node)
                if not math.isfinite(number):
                    self._error(node, f"'{text}' is not a finite number", hint="write a plain number, e.g. 2.5", path=path)
                    return None
                return number
            if tag in (_TIMESTAMP, _VALUE, _MERGE):
                return text
        except (ValueError, KeyError, TypeError, OverflowError):
            kind = {_INT: "an integer", _FLOAT: "a number", _BOOL: "true or false"}.get(tag, _tag_name(tag))
            self._error(node, f"cannot read '{_short(text)}' as {kind}",
                        hint="quote the value if it is meant as text (and drop any !!tag)", path=path)
            return None
        self._bad_tag(node, path)
        return None

    def _bad_tag(self, node, path: tuple) -> None:
        tag = node.tag or ""
        if tag.startswith(_Y + "python/") or tag.startswith("!python/"):
            self._error(node, f"Python tags are not allowed: '{_tag_name(tag)}'",
                        hint=f"{_PLAIN_DATA_HINT}; tpdeclare never constructs objects from YAML", path=path)
        else:
            self._error(node, f"unsupported YAML tag '{_tag_name(tag)}'", hint=f"remove the tag; {_PLAIN_DATA_HINT}",
                        path=path)


_CONSTRUCTOR = SafeConstructor()


# --- error text -----------------------------------------------------------------------------------


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_Y):] if tag.startswith(_Y) else tag


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _node_kind(node) -> str:
    if node.__class__ is MappingNode:
        return "a mapping"
    if node.__class__ is SequenceNode:
        return "a list"
    if node.tag == _NULL:
        return "null"
    return f"a single value ('{_short(node.value)}')"


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    offset = max(0, min(offset, len(raw)))
    line_start = raw.rfind(b"\n", 0, offset) + 1
    col = len(raw[line_start:offset].decode("utf-8", "replace")) + 1
    return raw.count(b"\n", 0, offset) + 1, col


def _source_line(raw: bytes, line: int) -> str:
    lines = raw.split(b"\n")
    if 0 <= line < len(lines):
        return lines[line].decode("utf-8", "replace")
    return ""


def _second_document(exc: yaml.YAMLError, raw: bytes) -> bool:
    """A composer error at a `---` or `...` line: the file holds more than one document (decided from the
    source, not from the library's wording)."""
    mark = getattr(exc, "problem_mark", None)
    if not isinstance(exc, yaml.composer.ComposerError) or mark is None:
        return False
    return _source_line(raw, mark.line).lstrip().startswith(("---", "..."))


def _syntax_diagnostic(exc: yaml.YAMLError, raw: bytes, file: str) -> Diagnostic:
    """A YAML parse error as a diagnostic at the problem's place, with a hint for the usual causes."""
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = _line_col(raw, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return Diagnostic(
            f"the file contains a character YAML does not allow (#x{ord(char):04x}: {exc.reason})",
            file=file, line=line, col=col, hint="remove it; is this a text file?",
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    summary = f"invalid YAML: {problem}"
    if _second_document(exc, raw) or (context and "expected a single document" in context):
        summary, context = "invalid YAML: a second document starts here; a spec file holds one", None
    if context and context_mark is not None and mark is not None and context_mark.line != mark.line:
        summary += f" ({context} at line {context_mark.line + 1})"
    elif context:
        summary += f" ({context})"
    line = col = None
    hint = "check the indentation and quoting near this line"
    if mark is not None:
        line, col = mark.line + 1, mark.column + 1
        text = _source_line(raw, mark.line)
        previous = _source_line(raw, mark.line - 1)
        indent = text[: len(text) - len(text.lstrip(" \t"))]
        if "\t" in indent or "\t" in problem or (previous and "\t" in previous[: len(previous) - len(previous.lstrip(" \t"))]):
            hint = "YAML does not allow tabs for indentation; use spaces"
        elif _second_document(exc, raw) or "expected a single document" in problem or "another document" in problem:
            hint = "a spec file holds one YAML document; remove the extra `---` or split it into another file"
        elif "mapping values are not allowed" in problem:
            hint = "quote a value that contains ': ', or check this line's indentation"
        elif "cannot start any token" in problem:
            hint = "quote the value: characters like ` @ % cannot start a plain value"
        elif ("could not find expected ':'" in problem or "did not find expected key" in problem
              or "expected <block end>" in problem):
            hint = "check the indentation: the keys of one mapping must line up"
        elif "found undefined alias" in problem:
            hint = "define the anchor (&name) before using the alias (*name)"
    return Diagnostic(summary, file=file, line=line, col=col, hint=hint)
