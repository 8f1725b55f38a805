"""Where each key and value of a YAML file was written: YAML paths to file:line:col, and paths as users read them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from tpdeclare.frozen_values import from_fields
from tpdeclare.spec.model import SourceRef

YamlPath = tuple[str | int, ...]  # mapping keys and list indexes, e.g. ("moved", 0, "to")
SHALLOW = 2  # paths this long or shorter: a section (`clusters`) and its entries (`clusters.trainer`)



class Mark(Protocol):
    """A place in the file as PyYAML records it (0-based); a node's `start_mark`."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


class SourceMap:
    """Where each key and value of one YAML file is: YAML path tuple -> `SourceRef` (1-based).

    Paths are tuples of mapping keys and list indexes, e.g. ("clusters", "trainer", "num_nodes") or
    ("moved", 0, "to"). The root mapping's path is (). Refs are made on demand from the recorded marks.

    Only marks are kept, not nodes, so a file's node tree is freed as soon as its values are built (a big
    stack's trees are most of its loading memory). A value left empty (`key:` and nothing) is recorded at
    its key's mark, the place a user looks for it.

    A map may hold only the places of paths up to `SHALLOW` long (the sections and their entries: all that a
    valid stack's loading asks for) and a `complete` function that gives every place; it is called once, on
    the first question about a longer path (a message about a cluster's field, say). For a 10,000-cluster stack
    that spares recording ~100,000 places (11 MB) that a valid spec never reads.
    """

    __slots__ = ("file", "_keys", "_values", "_root", "_complete")

    def __init__(self, file: str, keys: Mapping[YamlPath, Mark] | None = None,
                 values: Mapping[YamlPath, Mark] | None = None, root: Mark | None = None,
                 complete: Callable[[], tuple[Mapping[YamlPath, Mark], Mapping[YamlPath, Mark]]] | None = None
                 ) -> None:
        self.file = file
        self._keys: Mapping[YamlPath, Mark] = keys if keys is not None else {}
        self._values: Mapping[YamlPath, Mark] = values if values is not None else {}
        self._root = root
        self._complete = complete  # every place (keys, values), when only the shallow ones are held

    def _places(self, path: YamlPath) -> tuple[Mapping[YamlPath, Mark], Mapping[YamlPath, Mark]]:
        """The key and value places that can answer for `path`: completed first, if it is deeper than held."""
        if len(path) > SHALLOW and self._complete is not None:
            self._keys, self._values = self._complete()
            self._complete = None
        return self._keys, self._values

    def _ref(self, mark: Mark) -> SourceRef:
        # SourceRef(self.file, line, col) without the frozen __init__ (one per cluster of a big stack)
        return from_fields(SourceRef, {"file": self.file, "line": mark.line + 1, "col": mark.column + 1})

    def key(self, path: YamlPath) -> SourceRef | None:
        """Where the mapping key that ends `path` is written; None for list items, the root or unknown paths."""
        path = tuple(path)
        mark = self._places(path)[0].get(path)
        return self._ref(mark) if mark is not None else None

    def value(self, path: YamlPath) -> SourceRef | None:
        """Where the value at `path` is written (its key, when the value is left empty); None if unknown."""
        path = tuple(path)
        mark = self._places(path)[1].get(path) if path else self._root
        return self._ref(mark) if mark is not None else None

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
        path = tuple(path)
        return path in self._places(path)[1]


def dotted(path: YamlPath) -> str:
    """A YAML path as users read it: clusters.trainer.num_nodes, moved[0].to."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
