"""Status words the engine sends that tpdeclare does not know: each warned about once per run, never guessed at.

Statuses are compared upper-cased. An unknown request status keeps polling (until COMPLETED, FAILED or
the deadline); an unknown cluster status means the cluster still exists: only a 404 or a word in
`vocabulary.CLUSTER_GONE` says it is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tpdeclare.api.vocabulary import CLUSTER_STATUSES, REQUEST_STATUSES, VOLUME_STATUSES

REQUEST = "request"
CLUSTER = "cluster"
VOLUME = "volume"
_KNOWN = {REQUEST: frozenset(REQUEST_STATUSES), CLUSTER: frozenset(CLUSTER_STATUSES),
          VOLUME: frozenset(VOLUME_STATUSES)}
_MEANING = {
    REQUEST: "still polling until it is COMPLETED or FAILED, or the deadline passes",
    CLUSTER: "it is treated as still existing, never as gone",
    VOLUME: "it is treated as still existing, never as gone",
}


def is_known(kind: str, word: str) -> bool:
    return word.upper() in _KNOWN[kind]


class UnknownWords:
    """Warns once per run about each unknown (kind, word); remembers what it saw, for reports."""

    def __init__(self, warn: Callable[[str], None]):
        self._warn = warn
        self._seen: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def check(self, kind: str, word: str, subject: str) -> None:
        """Note a status `word` of `subject` (e.g. `request r-1`); warn if it is unknown and new this run."""
        upper = word.upper()
        if upper in _KNOWN[kind]:
            return
        with self._lock:
            if (kind, upper) in self._seen:
                return
            self._seen[(kind, upper)] = subject
        self._warn(f"{subject} has an unknown status {upper!r} (a word tpdeclare does not know); {_MEANING[kind]}")

    def seen(self) -> dict[str, list[str]]:
        """kind -> the unknown words seen this run, sorted."""
        out: dict[str, list[str]] = {}
        with self._lock:
            for kind, word in sorted(self._seen):
                out.setdefault(kind, []).append(word)
        return out
