"""Strict JSON decoding of state documents: UTF-8 only, no NaN, bounded nesting, duplicate keys kept in sight.

Two decoders share one set of errors (a StateError naming the line, column and byte offset):
`decode` is the C scanner alone, as fast as `json.loads`; it cannot see duplicate keys, so its caller
proves their absence another way (tpdeclare.state.fast_read) or falls back to `decode_tracking_duplicates`,
whose objects remember the keys they saw twice (`DuplicateKeys.duplicates`) for the validator to report
with their JSON paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tpdeclare.errors import StateError

MAX_DEPTH = 64  # far deeper than any state document (5 levels); reported before the interpreter's limit


class DamagedState(StateError):
    """A state document that cannot be used as it is (its store says how to mend it: `with_hint`)."""

    @property
    def damaged(self) -> tuple[str, ...]:
        """The addresses of the records at fault, when the damage is theirs alone."""
        return ()

    def with_hint(self, hint: str) -> DamagedState:
        return DamagedState(self.message, hint=hint)


class DuplicateKeys(dict[str, Any]):
    """A decoded JSON object in which some keys appeared more than once (the last value is kept)."""

    duplicates: tuple[str, ...] = ()


class _Refused(ValueError):
    """Raised by the decoding hooks for a value JSON allows but a state file must not hold."""


def _reject_constant(name: str) -> Any:
    raise _Refused(f"{name} is not allowed in a state file")


def _keep_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    twice: dict[str, None] = {}
    for key, _ in pairs:
        if key in seen:
            twice[key] = None
        seen.add(key)
    marked = DuplicateKeys(out)
    marked.duplicates = tuple(twice)
    return marked


def byte_offset(text: str, char_pos: int) -> int:
    """The byte offset in the UTF-8 encoding of `text` of the character at `char_pos`."""
    return len(text[:char_pos].encode("utf-8"))


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def too_deep_at(text: str, limit: int = MAX_DEPTH) -> int | None:
    """The character position where `text` first nests deeper than `limit` arrays or objects, else None."""
    depth = 0
    in_string = escaped = False
    for pos, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return pos
        elif char in "]}":
            depth -= 1
    return None


def _text(raw: bytes, source: str, what: str, hint: str) -> str:
    if not raw or raw.isspace():
        raise DamagedState(f"{what} {source} is empty (truncated or corrupt)", hint=hint)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedState(f"{what} {source} is truncated or corrupt: not UTF-8 text "
                         f"(invalid byte at offset {exc.start})", hint=hint) from exc


def _decode(raw: bytes, source: str, what: str, hint: str,
            hook: Callable[[list[tuple[str, Any]]], Any] | None) -> Any:
    text = _text(raw, source, what, hint)
    try:
        return json.loads(text, object_pairs_hook=hook, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        # An unterminated string can only run into the end of the text (raw newlines are refused).
        if not text[exc.pos:].strip() or exc.msg.startswith("Unterminated string"):
            line, col = _line_col(text, len(text))
            where = (f"the JSON ends early at line {line}, column {col} "
                     f"(byte offset {len(raw)}, the end of the file)")
        else:
            where = (f"invalid JSON at line {exc.lineno}, column {exc.colno} "
                     f"(byte offset {byte_offset(text, exc.pos)}): {exc.msg}")
        raise DamagedState(f"{what} {source} is truncated or corrupt: {where}", hint=hint) from exc
    except RecursionError as exc:
        pos = too_deep_at(text)
        at = "" if pos is None else " at line {}, column {} (byte offset {})".format(
            *_line_col(text, pos), byte_offset(text, pos))
        raise DamagedState(f"{what} {source} is corrupt: arrays or objects nested more than {MAX_DEPTH} "
                         f"levels deep{at}", hint=hint) from exc
    except _Refused as exc:
        raise DamagedState(f"{what} {source} is corrupt: {exc}", hint=hint) from exc
    except ValueError as exc:  # the interpreter's cap on the digits of an integer
        raise DamagedState(f"{what} {source} is corrupt: a number has too many digits to read",
                         hint=hint) from exc


def decode(raw: bytes, *, source: str, what: str, hint: str) -> Any:
    """Decode UTF-8 JSON as fast as the C scanner can (duplicate keys are not seen: the last one wins)."""
    return _decode(raw, source, what, hint, None)


def decode_tracking_duplicates(raw: bytes, *, source: str, what: str, hint: str) -> Any:
    """Decode UTF-8 JSON; every object that repeated a key is a DuplicateKeys naming those keys."""
    return _decode(raw, source, what, hint, _keep_duplicates)
