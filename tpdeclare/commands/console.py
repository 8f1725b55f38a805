"""The terminal: the only writer of results (stdout) and warnings (stderr), thread-safe, coloured or not."""

from __future__ import annotations

import os
import sys
import threading
from typing import TextIO

from tpdeclare.plan.render_text import Palette


class Console:
    """stdout for results, stderr for warnings; one line at a time from any thread."""

    def __init__(self, colour: bool, out: TextIO | None = None, err: TextIO | None = None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.palette = Palette(colour)
        self._lock = threading.Lock()

    def print(self, text: str = "", end: str = "\n") -> None:
        with self._lock:
            self.out.write(text + end)
            self.out.flush()

    def warn(self, text: str) -> None:
        with self._lock:
            self.err.write(self.palette.paint("33", "Warning: ") + text + "\n")
            self.err.flush()


def colour_enabled(no_color: bool) -> bool:
    """Colour only on a terminal, and never with --no-color, NO_COLOR or TERM=dumb."""
    if no_color or "NO_COLOR" in os.environ:
        return False
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
