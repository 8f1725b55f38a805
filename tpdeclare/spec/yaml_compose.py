"""From bytes to a YAML node tree, in C when libyaml is there, with tpdeclare's nesting limit speaking first.

Composing recurses once per nesting level: on the C stack with libyaml (which, from 0.2.6, also stops at
1,000 levels with its own words), on Python's stack without it. An input that could nest deeper than
the bound below is first walked level by level from the event stream of the pure-Python parser (no
recursion, no library nesting limit), so tpdeclare's own limit speaks first, with the place and the
YAML path, whatever libyaml version PyYAML was built with; the tree is then shallow for any stack.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
from yaml.nodes import Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from tpdeclare.spec.source_map import YamlPath
from tpdeclare.spec.yaml_errors import YamlAbort, too_deep
from tpdeclare.spec.yaml_tags import MAP, SEQ, STR

_CParser: Any
try:  # libyaml: parse and compose in C
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _CParser = None

_SHALLOW_BOUND = 500 if _CParser is not None else 200
# A line whose indentation and block indicators (`- `, `? `, `: `) run this long could open many block
# collections; real specs indent less than 20 columns.
_DEEP_PREFIX_COLUMNS = 64
# Such a line is the first one, or follows a line break: searching for the break first lets the regex engine
# skip ahead at C speed (`(?m)^` would try every byte of the file; 5 ms of a 10,000-cluster plan).
_DEEP_FIRST_LINE = re.compile(rb"[ \t?:-]{%d}" % _DEEP_PREFIX_COLUMNS)
_DEEP_LATER_LINE = re.compile(rb"\n[ \t?:-]{%d}" % _DEEP_PREFIX_COLUMNS)
# Line breaks PyYAML reads besides LF (CR, NEL, LS, PS in UTF-8): a line must not hide behind them.
_OTHER_BREAKS = (b"\r", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")


class _FastResolver(Resolver):
    """YAML 1.1 implicit typing with a per-file memo: specs repeat the same few values thousands of times."""

    _firsts = frozenset(k for k in Resolver.yaml_implicit_resolvers if k)
    _wild = None in Resolver.yaml_implicit_resolvers or "" in Resolver.yaml_implicit_resolvers

    def __init__(self) -> None:
        Resolver.__init__(self)
        # An instance attribute, found before the method: the composer calls it once per node (80,000 times for
        # 10,000 clusters), and a closure over its memo costs no bound method and no attribute lookups a call.
        self.__dict__["resolve"] = self._memoised()

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        return self._memoised()(kind, value, implicit)

    def _memoised(self) -> Callable[[type[Node], Any, Any], str]:
        memo: dict[str, str] = {}
        memo_get, firsts, wild, implicit_tag = memo.get, self._firsts, self._wild, Resolver.resolve

        def resolve(kind: type[Node], value: Any, implicit: Any) -> str:
            if kind is ScalarNode:
                if not implicit[0]:
                    return STR
                tag = memo_get(value)
                if tag is None:
                    if value and value[0] not in firsts and not wild:
                        tag = STR
                    else:
                        tag = str(implicit_tag(self, kind, value, implicit))  # type: ignore[no-untyped-call]
                    memo[value] = tag
                return tag
            return SEQ if kind is SequenceNode else MAP

        return resolve

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:  # no path resolvers are registered
        pass

    def ascend_resolver(self) -> None:
        pass


if _CParser is not None:

    class _CNodeLoader(_CParser, _FastResolver):  # type: ignore[misc]
        def __init__(self, stream: bytes) -> None:
            _CParser.__init__(self, stream)
            _FastResolver.__init__(self)


class _PyEventLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """Events only, in pure Python: its scanner and parser are loops, not recursion."""

    def __init__(self, stream: bytes) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


class _PyNodeLoader(
    yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, _FastResolver
):
    def __init__(self, stream: bytes) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _FastResolver.__init__(self)


def compose(raw: bytes, max_depth: int, file: str) -> Node | None:
    """The document's node tree (None for an empty document), refusing nesting deeper than max_depth.

    Raises YamlAbort (too deep) or yaml.YAMLError (syntax); the caller words both."""
    if _nesting_bound(raw) > _SHALLOW_BOUND:
        _check_depth_from_events(raw, max_depth, file)
    loader = _PyNodeLoader(raw) if _CParser is None else _CNodeLoader(raw)
    try:
        node: Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def _nesting_bound(raw: bytes) -> int:
    """An upper bound on how deep the node tree can nest (cheap: C-speed counts and one regex search).

    Flow collections nest at most once per `[`/`{`. A block collection starts after its line's
    indentation and indicators, at a column at least its parent's (equal only for a list under a key),
    so block nesting is at most twice the longest such prefix, plus two.
    """
    flow = raw.count(b"[") + raw.count(b"{")
    for brk in _OTHER_BREAKS if not raw.isascii() else _OTHER_BREAKS[:1]:  # the others are not ASCII
        if brk in raw:
            raw = raw.replace(brk, b"\n")
    if _DEEP_FIRST_LINE.match(raw) or _DEEP_LATER_LINE.search(raw):
        return flow + 2 * max(map(len, raw.split(b"\n"))) + 2
    return flow + 2 * _DEEP_PREFIX_COLUMNS + 2


class _Frame:
    """One open collection while walking events: where the next node in it sits."""

    __slots__ = ("path", "is_map", "index", "key", "expect_key")

    def __init__(self, path: YamlPath, is_map: bool) -> None:
        self.path = path
        self.is_map = is_map
        self.index = 0
        self.key: str = "?"
        self.expect_key = True

    def next_path(self, event: yaml.Event) -> YamlPath | None:
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
            event = loader.get_event()  # type: ignore[no-untyped-call]
            if isinstance(event, nodes):
                path = stack[-1].next_path(event) if stack else ()
                if isinstance(event, starts):
                    if len(stack) > max_depth:  # the root mapping is level 0 to the builder
                        raise YamlAbort(too_deep(file, event.start_mark, max_depth, path or ()))
                    stack.append(_Frame(path or (), isinstance(event, yaml.MappingStartEvent)))
            elif isinstance(event, ends):
                stack.pop()
    finally:
        loader.dispose()
