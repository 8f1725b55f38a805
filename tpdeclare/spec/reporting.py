"""Collects the problems of one load: errors and warnings placed at file:line:col, then one sorted answer."""

from __future__ import annotations

from typing import TypeVar

from tpdeclare.diagnostics import Diagnostic
from tpdeclare.spec.model import SourceRef
from tpdeclare.spec.source_map import YamlPath, dotted

T = TypeVar("T")


class Reporter:
    """Every diagnostic of one load, in the order found; `result` sorts them and decides if the value stands."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def error(self, summary: str, where: SourceRef | None = None, *, path: YamlPath = (), hint: str | None = None,
              file: str | None = None) -> None:
        self._add(summary, where, path, hint, file, "error")

    def warning(self, summary: str, where: SourceRef | None = None, *, path: YamlPath = (),
                hint: str | None = None) -> None:
        self._add(summary, where, path, hint, None, "warning")

    def add(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    def extend(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics.extend(diagnostics)

    def _add(self, summary: str, where: SourceRef | None, path: YamlPath, hint: str | None, file: str | None,
             severity: str) -> None:
        self.diagnostics.append(Diagnostic(
            summary,
            file=where.file if where else file,
            line=where.line if where else None,
            col=where.col if where else None,
            path=dotted(path),
            hint=hint,
            severity=severity,
        ))

    def result(self, value: T | None) -> tuple[T | None, list[Diagnostic]]:
        """(value, diagnostics sorted by place, each once); value is None when any diagnostic is an error."""
        unique = sorted(dict.fromkeys(self.diagnostics), key=Diagnostic.sort_key)
        if any(d.severity == "error" for d in unique):
            return None, unique
        return value, unique
