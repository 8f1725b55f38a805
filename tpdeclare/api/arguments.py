"""Checking what callers hand the API client (key, timeouts, IDs for URL paths), before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tpdeclare.api.redaction import Secret
from tpdeclare.errors import TpdeclareError
from tpdeclare.identifiers import is_engine_id


def check_key(api_key: object) -> str:
    """The key, stripped; refused (without echoing it) if it cannot travel in an HTTP header."""
    if not isinstance(api_key, str) or not api_key.strip():
        raise TpdeclareError("no API key", hint="set TENSORPOOL_KEY")
    key = api_key.strip()
    if any(not ("\x21" <= ch <= "\x7e") for ch in key):
        raise TpdeclareError(
            "the API key contains characters that cannot be sent in an HTTP header "
            "(spaces, control or non-ASCII characters)",
            hint="check TENSORPOOL_KEY (or the TENSORPOOL_KEY line in ./.env) for stray characters",
        )
    return key


def check_timeout(timeout: object) -> tuple[float, float]:
    """(connect, total) seconds from a number or a pair."""
    def ok(x: object) -> bool:
        return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x) and x > 0

    if ok(timeout):
        return (float(timeout), float(timeout))  # type: ignore[arg-type]
    if isinstance(timeout, tuple) and len(timeout) == 2 and all(ok(x) for x in timeout):
        return (float(timeout[0]), float(timeout[1]))
    raise ValueError(f"timeout must be seconds > 0 or a (connect, total) pair, not {timeout!r}")


def need_str(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")


def need_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool, not {value!r}")


def need_size(name: str, value: object) -> None:
    """A volume size: whole GB, at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1 (GB), not {value!r}")


# An edit's argument: (its name, its field in the body, the value given or None, its check).
EditArgument = tuple[str, str, object, Callable[[str, object], None]]


def edit_body(method: str, arguments: tuple[EditArgument, ...]) -> dict[str, Any]:
    """The body of a PATCH edit: each argument given (not None), checked in order, under its field;
    ValueError naming `method` when none is given."""
    body: dict[str, Any] = {}
    for name, wire, value, check in arguments:
        if value is not None:
            check(name, value)
            body[wire] = value
    if not body:
        names = [name for name, _, _, _ in arguments]
        raise ValueError(f"{method} needs {', '.join(names[:-1])} or {names[-1]}")
    return body


def path_id(what: str, value: object, key: Secret) -> str:
    """An ID for a URL path: refused, before anything is sent, unless it is a safe engine ID."""
    need_str(what, value)
    assert isinstance(value, str)
    if key.found_in(value):
        raise TpdeclareError(f"the {what} given contains the API key; nothing was sent",
                             hint="pass the cluster's ID (c-…), never the key")
    if not is_engine_id(value):
        shown = ascii(value[:40]) + ("…" if len(value) > 40 else "")
        raise TpdeclareError(
            f"{shown} is not a valid {what} (letters, digits, '-' and '_', at most 128 characters); "
            "nothing was sent",
            hint="check the ID: `tpdeclare state show` or `tp cluster list` shows the real ones",
        )
    return value
