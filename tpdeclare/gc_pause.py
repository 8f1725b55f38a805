"""Pausing Python's cyclic garbage collector while many small acyclic objects are built."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0  # blocks inside gc_paused, in every thread (the collector is one per process)
_resume = False  # whether the outermost block found the collector enabled


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC for the block (reference counting still frees everything acyclic).

    Loading a 10,000-cluster spec or state builds a few objects per cluster and frees almost none; the
    collector's scans of everything already built were a third to a half of the time. Re-entrant and safe
    across threads (apply workers, the sandbox's request threads): the collector stays paused while any
    thread is inside a block, and the last block to leave restores it as the first one found it.

    On leaving the outermost block, what it built moves to the oldest generation unscanned (a freeze
    then an unfreeze does that in one step): left young, all of it would be traversed by the very next
    collection, which then cost as much as the block saved. Full collections still see it.
    """
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.freeze()
                gc.unfreeze()
                gc.enable()
