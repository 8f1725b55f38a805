"""The time a run judges lifetimes by: the system's clock, or the fixed time in TPDECLARE_NOW.

TPDECLARE_NOW (an RFC 3339 time with a timezone) is for tests and for dry runs of a schedule ("what would
`tpdeclare expire` destroy tomorrow at 9?"). It moves only the clock lifetimes are judged by, never the
times written in state, and every run that uses it says so on stderr.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from tpdeclare import errors
from tpdeclare.diagnostics import printable
from tpdeclare.spec.time_values import format_instant, parse_instant

ENV = "TPDECLARE_NOW"


def lifetime_now(env: Mapping[str, str], warn: Callable[[str], None]) -> datetime:
    """Now, for lifetimes: TPDECLARE_NOW when set (said through `warn`), else the system's clock."""
    text = env.get(ENV)
    if text is None:
        return datetime.now(UTC)
    value = parse_instant(text.strip())
    if value is None:
        raise errors.TpdeclareError(
            f"{ENV}='{printable(text)}' is not an RFC 3339 time with a timezone",
            hint=f"unset it, or give one such as {ENV}=2026-12-05T18:00:00Z",
        )
    warn(f"{ENV} is set: lifetimes are judged as of {format_instant(value)}, not the system's clock")
    return value
