"""What every apply operation shares: the API, the recorder, the clock, the stop flag, the deadline, the pace."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tpdeclare.api.protocol import ClusterApi
from tpdeclare.frozen_values import frozen
from tpdeclare.interrupt import Stopped
from tpdeclare.state.recorder import Recorder


@frozen
class Pace:
    """How often apply looks again, and how long it allows a killed run's create to land (seconds)."""

    cluster_poll: float = 1.0  # between `GET /cluster/info` polls when no request ID is known
    progress_every: float = 10.0  # between "Still creating..." lines
    # A create sent by a run that was killed can still land a little later. Before an intent that nothing
    # was found for is dropped or rewritten, apply looks again until the intent is this old.
    late_create_grace: float = 30.0
    late_create_poll: float = 2.0


@dataclass
class ApplyContext:
    """The collaborators of one apply; operations read them, and only the recorder changes state."""

    api: ClusterApi
    recorder: Recorder
    report: Callable[[str], None] = lambda line: None
    stop: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    deadline_at: float | None = None  # on `clock`: nothing waits past it (--timeout bounds the whole apply)
    pace: Pace = field(default_factory=Pace)
    import_hint_files: str = "SPEC"  # the spec arguments, for `tpdeclare import` hints

    def check_stop(self) -> None:
        """Raise Stopped if the run was asked to stop: call before starting anything that changes money."""
        if self.stop.is_set():
            raise Stopped()

    def sleep(self, seconds: float) -> None:
        """Sleep, cut short (Stopped) by a stop request; never past the deadline."""
        remaining = self.remaining()
        if remaining is not None:
            seconds = min(seconds, max(0.0, remaining))
        if self.stop.wait(max(0.0, seconds)):
            raise Stopped()

    def remaining(self) -> float | None:
        """Seconds left before the deadline (may be negative), or None without one."""
        return None if self.deadline_at is None else self.deadline_at - self.clock()

    def past_deadline(self) -> bool:
        remaining = self.remaining()
        return remaining is not None and remaining <= 0


def elapsed_text(seconds: float) -> str:
    """Terraform's `1m12s` style."""
    whole = int(seconds)
    return f"{whole // 60}m{whole % 60}s" if whole >= 60 else f"{whole}s"
