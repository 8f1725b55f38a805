"""Durations (`8h`, `1h30m`, `2d`) and RFC 3339 instants: reading them strictly, and writing them one way."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
# Each unit at most once, largest first, up to six digits each: `8h`, `90m`, `1d12h`, `1h30m15s`.
DURATION = re.compile(r"(?=[0-9])(?:([0-9]{1,6})d)?(?:([0-9]{1,6})h)?(?:([0-9]{1,6})m)?(?:([0-9]{1,6})s)?")
# RFC 3339 date-time: a date, `T`, a time with optional fraction, and a timezone (`Z` or an offset).
INSTANT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def parse_duration(text: str) -> int | None:
    """Seconds in a duration like `8h` or `1h30m`; None when it is not one (zero is one: callers refuse it)."""
    m = DURATION.fullmatch(text)
    if m is None:
        return None
    return sum(int(part) * size for part, (_, size) in zip(m.groups(), UNITS, strict=True) if part)


def format_duration(seconds: float) -> str:
    """`8h`, `1h30m`, `2d3h`, `45s`: whole seconds, largest units first, zero parts left out (`0s` for none)."""
    left = max(0, int(seconds))
    parts = []
    for unit, size in UNITS:
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts) or "0s"


def format_span(seconds: float) -> str:
    """A time left (or past) as people read it: its two largest units, `2d3h`, `5h30m`, `12m`, `40s`."""
    left = max(0, int(seconds))
    for i, (unit, size) in enumerate(UNITS):
        if left >= size or size == 1:
            text = f"{left // size}{unit}"
            if i + 1 < len(UNITS):
                next_unit, next_size = UNITS[i + 1]
                rest = (left % size) // next_size
                text += f"{rest}{next_unit}" if rest else ""
            return text
    return "0s"  # unreachable: the last unit is one second


def parse_instant(text: str) -> datetime | None:
    """An RFC 3339 date-time with a timezone as an aware UTC datetime; None when it is not one (or not a real
    date, such as February 30th)."""
    if INSTANT.fullmatch(text) is None:
        return None
    try:
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.astimezone(UTC)


def format_instant(value: datetime) -> str:
    """`2026-12-05T18:00:00Z`: UTC, whole seconds (a fraction is kept when there is one)."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def read_time(text: object) -> datetime | None:
    """A time as a state file or an engine writes it (`…Z`, an offset, or none: then UTC); None if unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def later(start: datetime, seconds: int) -> datetime | None:
    """`start` plus `seconds`, or None past the calendar's end (year 9999)."""
    try:
        return start + timedelta(seconds=seconds)
    except OverflowError:
        return None
