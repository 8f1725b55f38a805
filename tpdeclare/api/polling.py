"""Waiting for an asynchronous request: the poll cadence (`PollPolicy`) and the loop that polls to the end."""

from __future__ import annotations

import math
from collections.abc import Callable

from tpdeclare.api.failures import seconds_text
from tpdeclare.api.models import RequestInfo
from tpdeclare.errors import DeadlineExceeded, PollTimeout
from tpdeclare.frozen_values import frozen

STILL_RUNNING_HINT = "the request may still finish: the next tpdeclare run picks it up"


@frozen
class PollPolicy:
    """How long to wait between polls: the answer's Retry-After, within bounds.

    A positive Retry-After below `min_interval` is raised to it, one above `max_interval` cut to it;
    `Retry-After: 0` means poll again at once, but after `max_zero_polls` zeros in a row the wait is
    `min_interval` (a server that always says 0 must not make us spin). No header: `default_interval`.
    """

    default_interval: float = 2.0
    min_interval: float = 1.0
    max_interval: float = 60.0
    max_zero_polls: int = 20

    def __post_init__(self) -> None:
        for name in ("default_interval", "min_interval", "max_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise ValueError(f"{name} must be a number >= 0, not {value!r}")
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not be above max_interval")
        if isinstance(self.max_zero_polls, bool) or not isinstance(self.max_zero_polls, int) \
                or self.max_zero_polls < 0:
            raise ValueError(f"max_zero_polls must be an int >= 0, not {self.max_zero_polls!r}")

    def delay(self, retry_after: float | None) -> float:
        """The wait after a poll whose answer said `retry_after` (None: no header)."""
        if retry_after is None:
            return self.default_interval
        if retry_after == 0:
            return 0.0
        return min(self.max_interval, max(self.min_interval, retry_after))


def wait_for_request(
    poll: Callable[[], RequestInfo],
    *,
    request_id: str,
    deadline_seconds: float,
    what: str,
    on_poll: Callable[[RequestInfo], None] | None,
    policy: PollPolicy,
    run_deadline: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> RequestInfo:
    """Poll until COMPLETED or FAILED and return that RequestInfo (the caller judges FAILED).

    After `deadline_seconds`, or when the run's deadline leaves no time for the next poll, it raises
    PollTimeout naming `what`, with `request_id` and the last RequestInfo seen (`last_info`); a poll
    that the run's deadline stopped (DeadlineExceeded) ends the wait the same way. A status tpdeclare does
    not know keeps the wait going (the parser warned about it once), and the timeout then names it.
    """
    if isinstance(deadline_seconds, bool) or not isinstance(deadline_seconds, (int, float)) \
            or math.isnan(deadline_seconds):
        raise ValueError(f"deadline_seconds must be a number, not {deadline_seconds!r}")
    start = clock()
    zero_streak = 0
    info: RequestInfo | None = None
    while True:
        try:
            info = poll()
        except DeadlineExceeded:
            raise _timeout(what, request_id, info, None) from None
        if on_poll is not None:
            on_poll(info)
        if info.is_terminal:
            return info
        now = clock()
        remaining = deadline_seconds - (now - start)
        if remaining <= 0:
            raise _timeout(what, request_id, info, deadline_seconds)
        delay = policy.delay(info.retry_after)
        if delay == 0:
            zero_streak += 1
            if zero_streak > policy.max_zero_polls:
                delay = policy.min_interval
        else:
            zero_streak = 0
        delay = min(delay, remaining)
        if run_deadline is not None and now + delay >= run_deadline:
            raise _timeout(what, request_id, info, None)
        sleep(delay)


def _timeout(what: str, request_id: str, info: RequestInfo | None, deadline_seconds: float | None) -> PollTimeout:
    """PollTimeout after `deadline_seconds`, or (None) because the run's time limit came first."""
    last = f"request {request_id}, " + (f"last status {info.status}" if info is not None else "no status read")
    if info is not None and not info.is_known_status:
        last += ", a status tpdeclare does not know"
    if deadline_seconds is None:
        message = f"the run's time limit (--timeout) was reached while waiting for {what} ({last})"
    else:
        message = f"timed out after {seconds_text(deadline_seconds)} waiting for {what} ({last})"
    return PollTimeout(message, hint=STILL_RUNNING_HINT, request_id=request_id, last_info=info)
