"""Stopping a run gracefully: the Stopped signal and a sleep that a stop request cuts short."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Stopped(Exception):
    """The run was asked to stop (first SIGINT/SIGTERM, or a lost lock): leave records as they are for
    the next run, start nothing new. Not a TpdeclareError: the command layer turns it into one."""


def interruptible_sleep(stop: threading.Event) -> Callable[[float], None]:
    """A `sleep(seconds)` that returns early by raising Stopped as soon as `stop` is set."""

    def sleep(seconds: float) -> None:
        if stop.wait(max(0.0, seconds)):
            raise Stopped()

    return sleep


def check(stop: threading.Event) -> None:
    """Raise Stopped if `stop` is set: call before starting anything that changes money."""
    if stop.is_set():
        raise Stopped()
