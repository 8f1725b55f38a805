"""Maps every way a command can end to what the user reads and an exit code; bugs go to a log file."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from tpdeclare import errors


def _secrets() -> list[str]:
    """The API key as the client would find it (env, then ./.env); short values are not key material."""
    try:
        from tpdeclare.api.connect import resolve_api_key

        key = resolve_api_key(os.environ, ".") or ""
    except Exception:  # the handler must never fail while handling
        key = os.environ.get("TENSORPOOL_KEY", "")
    return [key] if len(key) >= 8 else []


def redact(text: str) -> str:
    """Remove the API key from text about to be shown or logged (defence in depth)."""
    for secret in _secrets():
        text = text.replace(secret, "<redacted>")
    return text


class RedactingFilter:
    """A logging filter that removes the API key from every record before any handler writes it."""

    def filter(self, record: object) -> bool:
        import logging

        if isinstance(record, logging.LogRecord):
            text = record.getMessage()
            clean = redact(text)
            if clean != text:
                record.msg, record.args = clean, None
        return True


def crash_log_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tpdeclare"


def write_crash_log(exc: BaseException) -> Path:
    import tempfile  # only on a crash: not at every start
    import traceback

    text = redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    header = f"tpdeclare crash at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\nargv: {redact(' '.join(sys.argv))}\n\n"
    for directory in (crash_log_dir(), Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"tpdeclare-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(header + text)
            return path
        except OSError:
            continue
    raise OSError("no writable directory for the crash log")


def print_error(exc: errors.TpdeclareError, stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    if isinstance(exc, errors.SpecError):
        for diag in sorted(exc.diagnostics, key=lambda d: d.sort_key()):
            stream.write(redact(diag.format()) + "\n")
    stream.write(redact(f"Error: {exc.message}") + "\n")
    if exc.hint:
        stream.write(redact(f"  hint: {exc.hint}") + "\n")
    stream.flush()


@contextlib.contextmanager
def error_handler(result: list[int]) -> Iterator[None]:
    """Run a command body; put its exit code (or the error's) in result[0]. Never lets a traceback out."""
    try:
        yield
    except errors.TpdeclareError as exc:
        print_error(exc)
        result[0] = exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        result[0] = 130
    except BrokenPipeError:
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")
        result[0] = 1
    except Exception as exc:  # a bug: one line for the user, the traceback in a log
        try:
            path = write_crash_log(exc)
            where = f"the traceback is in {path}"
        except OSError:
            where = "no crash log could be written"
        sys.stderr.write(f"Error: tpdeclare hit an internal error ({type(exc).__name__}); {where}. Please report it.\n")
        result[0] = 1
