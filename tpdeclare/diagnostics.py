"""Diagnostics: one problem with its place (file:line:col, YAML path), summary and hint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the user's input, with where it is and what to do."""

    summary: str
    file: str | None = None
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based
    path: str = ""  # YAML path, e.g. "clusters.trainer.num_nodes"
    hint: str | None = None
    severity: str = "error"  # "error" | "warning"

    @property
    def location(self) -> str:
        """`file:line:col`, as much of it as is known."""
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def format(self) -> str:
        """The text users read: `file:line:col: error: path: summary` and an indented hint."""
        where = f"{self.path}: " if self.path else ""
        text = f"{self.location}: {self.severity}: {where}{self.summary}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def sort_key(self) -> tuple:
        return (self.file or "", self.line or 0, self.col or 0, self.path, self.summary)
