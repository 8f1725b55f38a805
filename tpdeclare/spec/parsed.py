"""One spec file after parsing, as the stack's section checks read it: its data, source map and origin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tpdeclare.spec.model import SourceRef
from tpdeclare.spec.source_map import SourceMap, YamlPath
from tpdeclare.spec.sources import Argument


@dataclass(frozen=True)
class ParsedFile:
    """A spec file that parsed (schema errors or not): its name as given, document, source map and bytes."""

    path: str
    data: dict[str, Any]
    smap: SourceMap
    raw: bytes
    named: bool  # its file name may name the stack (a regular file, not a pipe or descriptor)
    argument: Argument

    def section(self, key: str) -> dict[str, Any] | None:
        """A top-level mapping section (`clusters`, `defaults`, ...); None if absent or not a mapping."""
        value = self.data.get(key)
        return value if isinstance(value, dict) else None

    def at(self, path: YamlPath) -> SourceRef:
        return self.smap.locate(path)


@dataclass(frozen=True)
class Setting:
    """A stack-wide value (a default, the budget, a price) and where it was set."""

    value: Any
    file: ParsedFile
    ypath: YamlPath

    @property
    def ref(self) -> SourceRef:
        return self.file.smap.locate(self.ypath)
