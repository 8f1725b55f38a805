"""Checking what callers hand the API client (key, timeouts, IDs for URL paths), before anything is sent."""

from __future__ import annotations

import math

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
