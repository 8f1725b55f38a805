"""Signals during apply: the first SIGINT/SIGTERM stops launching work and finishes recording; the second exits."""

from __future__ import annotations

import io
import os
import signal
import threading
from types import FrameType
from typing import Any

from tpdeclare.commands.console import Console


class StopOnSignal:
    """First SIGINT/SIGTERM: stop launching work and finish recording; second: exit at once (130).

    Until the executor starts (`immediate`: loading, waiting for the lock, recovery, planning, the
    prompt), no cluster is being changed, so the first signal raises KeyboardInterrupt at once (exit 130);
    every state write is atomic or journaled, so that is safe.
    """

    def __init__(self, console: Console):
        self.console = console
        self.stop = threading.Event()
        self.immediate = True
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            os._exit(130)  # the second signal: intents on disk make the next run whole
        self.stop.set()
        if self.immediate:
            raise KeyboardInterrupt
        self._say(
            "\nInterrupt received: no new operations will start; recording what is in flight. "
            "Interrupt again to exit at once (the next run will resolve what was left).\n"
        )

    def _say(self, text: str) -> None:
        """Write from the signal handler without the console's lock: the interrupted code may hold it."""
        out = self.console.out
        try:
            os.write(out.fileno(), text.encode("utf-8", "replace"))
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            pass

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
