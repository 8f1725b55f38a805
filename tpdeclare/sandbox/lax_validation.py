"""Request validation as FastAPI does it with pydantic v2 in lax mode, driven by the contract's schemas.

A body is parsed as JSON (too deep a nesting is a 422, never a crash), then each property of the
operation's schema is validated in order, coercing as pydantic's lax mode does: `"2"`, `" 2 "`,
`"2.0"`, `2.0` and `true` are the int 2 / 2 / 2 / 2 / 1; `"true"`, `"yes"`, `1` and `1.0` are True; a
fractional `2.5` is `int_from_float`. Unknown fields are ignored; a missing field takes the schema's
default. Every problem becomes one FastAPI error item (`type`, `loc`, `msg`, `input`, `ctx`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from tpdeclare.sandbox.responses import Response, error_item, validation_error

MAX_DEPTH = 64  # JSON nested deeper than this is refused before parsing (no recursion, no 500)
MAX_INT_DIGITS = 4300  # pydantic's limit for an int written as a string
_FLOAT_INT_LIMIT = 2.0**63  # a float at or beyond this cannot become a (64-bit) int in pydantic
_I64_LIMIT = 2**63  # an int beyond the 64-bit range is not even considered as a bool

# The whitespace pydantic strips around an int written as a string (Rust's char::is_whitespace).
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
              "\u2028\u2029\u202f\u205f\u3000"
_INT_TEXT = re.compile(r"([+-]?)([0-9](?:_?[0-9])*)(?:\.0+)?", re.ASCII)
BOOL_WORDS: dict[str, bool] = {
    **dict.fromkeys(("1", "on", "t", "true", "y", "yes"), True),
    **dict.fromkeys(("0", "off", "f", "false", "n", "no"), False),
}

_MSG = {
    "int_type": "Input should be a valid integer",
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "int_from_float": "Input should be a valid integer, got a number with a fractional part",
    "int_parsing_size": "Unable to parse input string as an integer, exceeded maximum size",
    "finite_number": "Input should be a finite number",
    "bool_type": "Input should be a valid boolean",
    "bool_parsing": "Input should be a valid boolean, unable to interpret input",
    "string_type": "Input should be a valid string",
    "list_type": "Input should be a valid list",
    "missing": "Field required",
    "model_attributes_type": "Input should be a valid dictionary or object to extract fields from",
}

Loc = list[str | int]
Items = list[dict[str, Any]]


class _Invalid(Exception):
    """One value failed: its pydantic error type (and context)."""

    def __init__(self, kind: str, ctx: dict[str, Any] | None = None):
        super().__init__(kind)
        self.kind = kind
        self.ctx = ctx


def _item(loc: Loc, kind: str, value: Any, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    msg = _MSG.get(kind, kind)
    if kind == "greater_than_equal" and ctx:
        msg = f"Input should be greater than or equal to {ctx['ge']}"
    elif kind == "less_than_equal" and ctx:
        msg = f"Input should be less than or equal to {ctx['le']}"
    return error_item(loc, kind, msg, value, ctx)


# ------------------------------------------------------------------------------------------ scalars


def lax_int(value: Any) -> int:
    """An int as pydantic's lax mode reads one (Python mode: bools are ints); raises _Invalid."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Invalid("finite_number")
        if abs(value) >= _FLOAT_INT_LIMIT:
            raise _Invalid("int_parsing_size")
        if not value.is_integer():
            raise _Invalid("int_from_float")
        return int(value)
    if isinstance(value, str):
        m = _INT_TEXT.fullmatch(value.strip(_WHITESPACE))
        if m is None:
            raise _Invalid("int_parsing")
        digits = m.group(2).replace("_", "").lstrip("0")
        if len(digits) > MAX_INT_DIGITS:
            raise _Invalid("int_parsing_size")
        number = int(digits or "0")
        return -number if m.group(1) == "-" else number
    raise _Invalid("int_type")


def lax_bool(value: Any) -> bool:
    """A bool as pydantic's lax mode reads one; raises _Invalid."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= _FLOAT_INT_LIMIT or not value.is_integer():
            raise _Invalid("bool_type")
        value = int(value)
    if isinstance(value, int):
        if value in (0, 1):
            return value == 1
        raise _Invalid("bool_parsing" if -_I64_LIMIT <= value < _I64_LIMIT else "bool_type")
    if isinstance(value, str):
        word = BOOL_WORDS.get(value.lower())
        if word is None:
            raise _Invalid("bool_parsing")
        return word
    raise _Invalid("bool_type")


def _strict_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _Invalid("string_type")


# ------------------------------------------------------------------------------------------ schemas


def _value(value: Any, schema: Mapping[str, Any], loc: Loc, items: Items) -> Any:
    """Validate one value against a property schema (anyOf-with-null, integer, boolean, string, array of
    those); appends error items and returns the coerced value (None when it failed)."""
    branches = schema.get("anyOf")
    if branches is not None:
        nullable = any(b.get("type") == "null" for b in branches)
        others = [b for b in branches if b.get("type") != "null"]
        if value is None and nullable:
            return None
        if len(others) != 1:
            raise ValueError(f"unsupported schema for lax validation: {schema}")
        schema = others[0]
    kind = schema.get("type")
    try:
        if kind == "array":
            if not isinstance(value, list):
                raise _Invalid("list_type")
            return [_value(v, schema.get("items", {}), [*loc, i], items) for i, v in enumerate(value)]
        if kind == "integer":
            number = lax_int(value)
            if "minimum" in schema and number < schema["minimum"]:
                raise _Invalid("greater_than_equal", {"ge": schema["minimum"]})
            if "maximum" in schema and number > schema["maximum"]:
                raise _Invalid("less_than_equal", {"le": schema["maximum"]})
            return number
        if kind == "boolean":
            return lax_bool(value)
        if kind == "string":
            return _strict_str(value)
    except _Invalid as bad:
        items.append(_item(loc, bad.kind, value, bad.ctx))
        return None
    raise ValueError(f"unsupported schema for lax validation: {schema}")


def validate_model(data: Any, schema: Mapping[str, Any], loc: Loc) -> tuple[dict[str, Any], Items]:
    """Validate an object against a model schema: (every declared field, coerced or defaulted; errors)."""
    if not isinstance(data, dict):
        return {}, [_item(loc, "model_attributes_type", data)]
    required = set(schema.get("required", ()))
    out: dict[str, Any] = {}
    items: Items = []
    for name, prop in schema.get("properties", {}).items():
        if name in data:
            out[name] = _value(data[name], prop, [*loc, name], items)
        elif name in required:
            items.append(_item([*loc, name], "missing", data))
        else:
            out[name] = prop.get("default")
    return out, items


# ------------------------------------------------------------------------------------------ bodies


def too_deep(text: bytes, limit: int = MAX_DEPTH) -> int | None:
    """The offset where JSON nesting first exceeds `limit` (brackets inside strings skipped), else None."""
    if text.count(b"[") + text.count(b"{") <= limit:
        return None
    depth, in_string, escaped = 0, False, False
    for pos, byte in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return pos
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return None


def parse_body(body: bytes) -> tuple[Any, None] | tuple[None, Response]:
    """The JSON value of a required body, or FastAPI's 422 (missing body, JSON decode error)."""
    if not body.strip():
        return None, validation_error([_item(["body"], "missing", None)])
    deep = too_deep(body)
    if deep is not None:
        reason = f"JSON nested deeper than {MAX_DEPTH} levels"
        return None, validation_error([error_item(["body", deep], "json_invalid", "JSON decode error", {},
                                                  {"error": reason})])
    try:
        return json.loads(body), None
    except (ValueError, RecursionError) as exc:
        pos = getattr(exc, "pos", None)
        reason = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
        return None, validation_error([error_item(["body", pos if isinstance(pos, int) else 0], "json_invalid",
                                                  "JSON decode error", {}, {"error": reason})])


def validated_body(body: bytes, schema: Mapping[str, Any]) -> dict[str, Any] | Response:
    """The body's declared fields, coerced, if it validates against the model schema; else FastAPI's 422."""
    data, error = parse_body(body)
    if error is not None:
        return error
    out, items = validate_model(data, schema, ["body"])
    if items:
        return validation_error(items)
    return out


def query_bool(query: Mapping[str, list[str]], name: str) -> Response | None:
    """A 422 when a boolean query parameter is present but not a boolean word (FastAPI uses the last)."""
    values = query.get(name)
    if not values:
        return None
    try:
        lax_bool(values[-1])
    except _Invalid:
        return validation_error([_item(["query", name], "bool_parsing", values[-1])])
    return None
