"""One spec file after parsing, as the stack's section checks read it: its data, source map and origin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tpdeclare.frozen_values import frozen
from tpdeclare.spec.model import SourceRef
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.schema import rules
from tpdeclare.spec.source_map import SourceMap, YamlPath
from tpdeclare.spec.sources import Argument


@frozen
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


@frozen
class Setting:
    """A stack-wide value (a default, the budget, a price) and where it was set."""

    value: Any
    file: ParsedFile
    ypath: YamlPath

    @property
    def ref(self) -> SourceRef:
        return self.file.smap.locate(self.ypath)


Entry = tuple[ParsedFile, str, dict[str, Any], YamlPath, SourceRef]  # file, address, body, its path, its key


def declared_once(files: list[ParsedFile], section: str, noun: str, hint: str, report: Reporter) -> Iterator[Entry]:
    """Each entry of a keyed section (`clusters`, `storage`) of a stack, in file then declaration order. An
    address declared again is reported (`{noun} 'x' is declared twice`, with `hint`) and skipped; so is an
    entry the schema has reported (not a mapping, or not a valid address)."""
    declared: dict[str, SourceRef] = {}
    address_ok = rules().address.search
    for f in files:
        for address, body in (f.section(section) or {}).items():
            ypath: YamlPath = (section, address)
            key_ref = f.smap.key(ypath) or f.smap.locate(ypath)
            if address in declared:
                report.error(f"{noun} '{address}' is declared twice: first at {declared[address]}", key_ref,
                             path=ypath, hint=hint)
                continue
            declared[address] = key_ref
            if isinstance(body, dict) and address_ok(address):
                yield f, address, body, ypath, key_ref
