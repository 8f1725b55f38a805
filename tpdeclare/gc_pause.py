"""Pausing Python's cyclic garbage collector while many small acyclic objects are built."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC for the block (reference counting still frees everything acyclic).

    Loading a 10,000-cluster spec or state builds a few objects per cluster and frees almost none; the
    collector's scans of everything already built were a third to a half of the time. Re-entrant: an
    inner block leaves the collector as the outer one found it.

    On leaving the outermost block, what it built moves to the oldest generation unscanned (a freeze
    then an unfreeze does that in one step): left young, all of it would be traversed by the very next
    collection, which then cost as much as the block saved. Full collections still see it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()
