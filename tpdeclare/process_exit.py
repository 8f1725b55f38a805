"""Ending the `tpdeclare` process once a command is done, without freeing every object it built first."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

_kept: list[object] | None = None  # None: values are freed as usual (cli.main called in-process, as tests do)


def arm() -> None:
    """This process ends with exit_now: from here on, keep_until_exit keeps what it is given."""
    global _kept
    _kept = []


def keep_until_exit(value: object) -> None:
    """Leave `value` (a run's spec, state and plan) for the process's end to free; freeing it as the command
    returns would cost as much as the teardown exit_now skips. Does nothing unless arm() was called."""
    if _kept is not None:
        _kept.append(value)


def exit_now(code: int) -> NoReturn:
    """Exit with `code` as the interpreter would, less its teardown (the trick mypy's `--fast-exit` uses).

    A plan of 10,000 clusters holds about a million objects (kept by keep_until_exit); freeing them one by
    one, then tearing down the modules, is ~79 M instructions (~2.5 % of the whole run) spent after the last
    line is written. Every command has written, fsynced and closed what it keeps (state, journal, plan files,
    crash logs) before it returns, so nothing is left for that teardown to do but free memory, which the
    kernel does at once.

    What the interpreter's exit does that matters is done here too: it waits for threads that are not
    daemons (here: while one is alive, the exit is the interpreter's own), runs the `atexit` handlers
    (logging's flush, coverage's save) and flushes stdout and stderr. A flush that fails (a closed pipe) is
    left to the interpreter's exit, which reports it as it always has."""
    main = threading.main_thread()
    if any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()) or not _flushed():
        raise SystemExit(code)
    atexit._run_exitfuncs()
    if not _flushed():
        raise SystemExit(code)
    os._exit(code)


def _flushed() -> bool:
    try:
        # the originals too: error_handler swaps stdout for devnull after a broken pipe, and the interpreter's
        # exit still flushes what the original holds
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed pipe or a closed stream
        return False
    return True
