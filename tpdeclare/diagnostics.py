"""Diagnostics: one problem with its place (file:line:col, YAML path), summary and hint."""

from __future__ import annotations

import re

from tpdeclare.frozen_values import frozen

# Characters that must never reach a terminal raw from a user's input: C0 and C1 controls (an escape
# sequence, a carriage return hiding what came before), DEL, line and paragraph separators, and the
# invisible formatting characters (zero-width, bidirectional overrides) that make text read as other text.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every unsafe character written as an escape (`\\n`, `\\x1b`, `\\u202e`)."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


@frozen
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
        parts = [printable(self.file or "<input>")]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def format(self) -> str:
        """The text users read: `file:line:col: error: path: summary` and an indented hint, on one line each
        (a value's control characters are shown as escapes, never sent to the terminal)."""
        where = f"{printable(self.path)}: " if self.path else ""
        text = f"{self.location}: {self.severity}: {where}{printable(self.summary)}"
        if self.hint:
            text += f"\n  hint: {printable(self.hint)}"
        return text

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file or "", self.line or 0, self.col or 0, self.path, self.summary)
