"""The words for a YAML file tpdeclare will not read: syntax errors, bad encodings, runaway nesting, odd nodes."""

from __future__ import annotations

from typing import Protocol

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from tpdeclare.diagnostics import Diagnostic
from tpdeclare.spec.source_map import YamlPath, dotted
from tpdeclare.spec.yaml_tags import NULL

DEPTH_HINT = "a spec nests about five levels; check for a runaway list or a recursive alias"


class Position(Protocol):
    """A place PyYAML reports (its Python and C marks alike): 0-based line and column."""

    line: int
    column: int


class YamlAbort(Exception):
    """Stop reading the file: it is hostile or broken beyond useful further checking."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.summary)
        self.diagnostic = diagnostic


def too_deep(file: str, mark: Position | None, max_depth: int, path: YamlPath = ()) -> Diagnostic:
    return Diagnostic(
        f"the YAML is nested more than {max_depth} levels deep",
        file=file, line=mark.line + 1 if mark else None, col=mark.column + 1 if mark else None,
        path=dotted(path) if len(path) <= 8 else dotted(path[:4]) + "…",
        hint=DEPTH_HINT,
    )


def too_big(file: str, max_bytes: int) -> Diagnostic:
    return Diagnostic(
        f"the file is larger than the limit of {max_bytes:,} bytes",
        file=file,
        hint="split the stack into several files in one directory (the limit applies to each file)",
    )


def not_utf8(raw: bytes, error: UnicodeDecodeError, file: str) -> Diagnostic:
    line, col = line_col(raw, error.start)
    return Diagnostic(f"the file is not valid UTF-8 (byte 0x{raw[error.start]:02x})", file=file, line=line, col=col,
                      hint="save the file as UTF-8")


def short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def node_kind(node: Node) -> str:
    if node.__class__ is MappingNode:
        return "a mapping"
    if node.__class__ is SequenceNode:
        return "a list"
    if node.tag == NULL:
        return "null"
    return f"a single value ('{short(str(node.value))}')"


def line_col(raw: bytes, offset: int) -> tuple[int, int]:
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


def _indent(text: str) -> str:
    return text[: len(text) - len(text.lstrip(" \t"))]


def syntax_diagnostic(exc: yaml.YAMLError, raw: bytes, file: str) -> Diagnostic:
    """A YAML parse error as a diagnostic at the problem's place, with a hint for the usual causes."""
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = line_col(raw, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return Diagnostic(
            f"the file contains a character YAML does not allow (#x{ord(char):04x}: {exc.reason})",
            file=file, line=line, col=col, hint="remove it; is this a text file?",
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    summary = f"invalid YAML: {problem}"
    second = _second_document(exc, raw)
    if second or (context and "expected a single document" in context):
        summary, context = "invalid YAML: a second document starts here; a spec file holds one", None
    if context and context_mark is not None and mark is not None and context_mark.line != mark.line:
        summary += f" ({context} at line {context_mark.line + 1})"
    elif context:
        summary += f" ({context})"
    if mark is None:
        return Diagnostic(summary, file=file, hint="check the indentation and quoting near this line")
    text = _source_line(raw, mark.line)
    previous = _source_line(raw, mark.line - 1)
    return Diagnostic(summary, file=file, line=mark.line + 1, col=mark.column + 1,
                      hint=_syntax_hint(problem, second, "\t" in _indent(text) + _indent(previous)))


def _syntax_hint(problem: str, second_document: bool, tab_indent: bool) -> str:
    """The usual cause of a YAML syntax error, from tpdeclare's view of the source and the problem's words."""
    if tab_indent or "\t" in problem:
        return "YAML does not allow tabs for indentation; use spaces"
    if second_document or "expected a single document" in problem or "another document" in problem:
        return "a spec file holds one YAML document; remove the extra `---` or split it into another file"
    if "mapping values are not allowed" in problem:
        return "quote a value that contains ': ', or check this line's indentation"
    if "cannot start any token" in problem:
        return "quote the value: characters like ` @ % cannot start a plain value"
    if ("could not find expected ':'" in problem or "did not find expected key" in problem
            or "expected <block end>" in problem):
        return "check the indentation: the keys of one mapping must line up"
    if "found undefined alias" in problem:
        return "define the anchor (&name) before using the alias (*name)"
    return "check the indentation and quoting near this line"
