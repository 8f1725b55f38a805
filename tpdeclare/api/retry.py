"""The backoff policy for retrying idempotent API calls: full-jitter exponential delays and Retry-After."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime

from tpdeclare.frozen_values import frozen


@frozen
class RetryPolicy:
    """How often and how long an idempotent call is retried.

    `max_retries` retries follow the first attempt (so at most `max_retries + 1` requests), and the
    time spent since the first attempt never exceeds `max_total_wait` seconds because of a sleep.
    Without `Retry-After`, retry n (0-based) sleeps `rng() * min(max_delay, base_delay * 2**n)`
    ("full jitter"); with it, exactly `Retry-After` seconds, capped at `retry_after_cap`.
    """

    max_retries: int = 5
    max_total_wait: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_after_cap: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, not {self.max_retries!r}")
        for name in ("max_total_wait", "base_delay", "max_delay", "retry_after_cap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, not {value!r}")

    def backoff(self, retry_index: int, rng: Callable[[], float]) -> float:
        """The full-jitter delay before retry `retry_index` (0 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(retry_index, 60))
        r = rng()
        if not isinstance(r, (int, float)) or not math.isfinite(r):
            r = 1.0
        return ceiling * min(1.0, max(0.0, float(r)))

    def delay(self, retry_index: int, retry_after: float | None, rng: Callable[[], float]) -> float:
        """The delay before retry `retry_index`: the server's Retry-After (capped) if given, else backoff."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        return self.backoff(retry_index, rng)


def parse_retry_after(
    value: object, *, date: object = None, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait from a `Retry-After` header value; None if absent or unreadable.

    Accepts delay-seconds (integer or decimal) and an HTTP-date; a date is measured from the
    response's own `Date` header when there is one (so clock skew does not matter), else from `now()`.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
        return None
    when = http_date(text)
    if when is None:
        return None
    reference = http_date(date) if isinstance(date, str) else None
    base = reference if reference is not None else now()
    return max(0.0, when - base)


def http_date(text: str) -> float | None:
    """An HTTP-date as epoch seconds, or None."""
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
