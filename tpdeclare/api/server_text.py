"""What the server said, made safe to show: its error words, terminal-safe excerpts and bounded prose."""

from __future__ import annotations

import http
import json
import re

from tpdeclare.api.answer import Answer
from tpdeclare.api.vocabulary import ERROR_TEXT_FIELDS, F_DETAIL, F_DETAIL_BODY, F_DETAIL_LOC, F_DETAIL_MSG

EXCERPT_CHARS = 200
SERVER_WORDS_CHARS = 2000
MAX_VALIDATION_LINES = 20

OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")
_TAG = re.compile(r"<[^<>]{0,500}>")
# Terminal escapes, C0/C1 control characters (tab and newline kept) and the invisible formatting
# characters that reorder or hide text (bidi overrides and isolates, zero-width characters, BOM).
_CONTROL = re.compile(
    r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_WHITESPACE = re.compile(r"\s+")


def clean(text: str, limit: int = SERVER_WORDS_CHARS) -> str:
    """Server text made safe for a terminal: no escapes or control characters, bounded length."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n")).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One short line from arbitrary text (tags and control characters removed)."""
    if "<" in text and ">" in text:
        text = _TAG.sub(" ", text)
    text = _WHITESPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def status_text(answer: Answer) -> str:
    """The answer's reason phrase, else the standard phrase of its status, else `HTTP <status>`."""
    shown = excerpt(answer.reason, 80)
    if shown:
        return shown
    try:
        return http.HTTPStatus(answer.status or 0).phrase
    except ValueError:
        return f"HTTP {answer.status}"


def server_words(answer: Answer) -> str:
    """What the server said about a failure: message, error, external_message, FastAPI detail, else text."""
    title = status_text(answer)
    if answer.oversized:
        return f"{title} (the body was too large to read)"
    raw = answer.body
    if not raw.strip():
        return title
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return _with_excerpt(title, raw.decode("utf-8", "replace"))
    if isinstance(body, dict):
        for name in ERROR_TEXT_FIELDS:
            words = _words_of(body.get(name))
            if words:
                return words
        detail = body.get(F_DETAIL)
        if isinstance(detail, list) and detail:
            lines = [_validation_line(item) for item in detail[:MAX_VALIDATION_LINES]]
            if len(detail) > MAX_VALIDATION_LINES:
                lines.append(f"… and {len(detail) - MAX_VALIDATION_LINES} more")
            return clean("\n".join(line for line in lines if line)) or title
        words = _words_of(detail)
        if words:
            return words
    elif isinstance(body, str) and body.strip():
        return clean(body)
    return _with_excerpt(title, compact_json(body))


def compact_json(value: object) -> str:
    """`value` as short one-line JSON (at most 1000 characters), or its type's name if it has none."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)[:1000]
    except (ValueError, TypeError, RecursionError):
        return str(type(value).__name__)


def _with_excerpt(title: str, text: str) -> str:
    shown = excerpt(text)
    return f"{title}: {shown}" if shown else title


def _words_of(value: object) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        for name in (*ERROR_TEXT_FIELDS, F_DETAIL_MSG, F_DETAIL):
            text = value.get(name)
            if isinstance(text, str) and text.strip():
                return clean(text)
    return excerpt(compact_json(value))


def _validation_line(item: object) -> str:
    """One FastAPI validation error as `field: problem` (the leading "body" of loc dropped)."""
    if not isinstance(item, dict):
        return _words_of(item)
    msg = item.get(F_DETAIL_MSG)
    problem = clean(msg, 300) if isinstance(msg, str) else excerpt(compact_json(msg), 300)
    loc = item.get(F_DETAIL_LOC)
    place = ""
    if isinstance(loc, list):
        parts = list(loc)
        if parts and parts[0] == F_DETAIL_BODY:
            parts = parts[1:]
        for part in parts:
            if isinstance(part, int) and not isinstance(part, bool):
                place += f"[{part}]"
            else:
                place += ("." if place else "") + excerpt(str(part), 60)
    elif isinstance(loc, str):
        place = excerpt(loc, 60)
    if place and problem:
        return f"{place}: {problem}"
    return problem or place
