"""Keeping the API key out of sight: the key as a secret value, redaction of text, and the one log call site.

Every `-v` line of the api package goes through `ApiLog`, which formats the line and then redacts it, so
a path parameter, a status word or an exception name that happens to contain the key is logged as
`<redacted>` like it is in error messages.
"""

from __future__ import annotations

import logging
import re
from typing import NoReturn

LOGGER_NAME = "tpdeclare.api"
REDACTED = "<redacted>"
MIN_SECRET_CHARS = 4  # a shorter "key" would redact ordinary words; such keys are refused by the server anyway

_LOG_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Secret:
    """A string that shows as <redacted> in every repr, str, vars() or log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def found_in(self, text: str) -> bool:
        """Whether `text` contains the secret (never true for a secret too short to look for)."""
        return len(self._value) >= MIN_SECRET_CHARS and self._value in text

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a secret cannot be pickled")


def redact(text: str, secret: Secret) -> str:
    """`text` with every occurrence of the secret replaced by <redacted>."""
    if secret.found_in(text):
        return text.replace(secret.reveal(), REDACTED)
    return text


class ApiLog:
    """The api package's log lines, formatted, then redacted and kept on one line."""

    def __init__(self, secret: Secret, logger: logging.Logger | None = None):
        self._secret = secret
        self._logger = logger if logger is not None else logging.getLogger(LOGGER_NAME)

    def debug(self, fmt: str, *args: object) -> None:
        self._emit(logging.DEBUG, fmt, args)

    def warning(self, fmt: str, *args: object) -> None:
        self._emit(logging.WARNING, fmt, args)

    def _emit(self, level: int, fmt: str, args: tuple[object, ...]) -> None:
        if not self._logger.isEnabledFor(level):
            return
        try:
            text = fmt % args if args else fmt
        except (TypeError, ValueError):
            text = f"{fmt} {args!r}"
        text = _LOG_CONTROL.sub("?", redact(text, self._secret))
        self._logger.log(level, "%s", text)
