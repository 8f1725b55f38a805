"""The on-disk cache of engines' OpenAPI documents: one file per engine URL, fresh for a day.

Where: `$XDG_CACHE_HOME/tpdeclare/openapi/` (else `~/.cache/tpdeclare/openapi/`), one file per engine,
named by the SHA-256 of its URL: `<first 32 hex digits>.json`. What (format_version 1):

    {"format_version": 1, "engine": "https://engine.tensorpool.dev", "fetched_at": 1796150000.0,
     "etag": "\\"abc\\"" | null, "sha256": "<hex of the document's bytes as served>", "document": {...}}

An entry younger than `MAX_AGE` is used without asking the engine. An older one is revalidated: with its
ETag as `If-None-Match` when the engine gave one (a 304 keeps it), else by fetching and comparing content
hashes. An unreadable, foreign or future-dated entry is ignored, and a cache that cannot be written is
no error: the document is then simply read again next time. The document holds no credential.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tpdeclare.frozen_values import frozen

FORMAT_VERSION = 1
MAX_AGE = 24 * 3600.0
FUTURE_SLACK = 300.0  # an entry dated further ahead than this was written under a wrong clock: refetch
XDG_CACHE_HOME = "XDG_CACHE_HOME"


def cache_directory(env: Mapping[str, str] = os.environ) -> Path:
    """The cache directory of OpenAPI documents, per the XDG base directory rules."""
    base = env.get(XDG_CACHE_HOME, "")
    root = Path(base) if base and Path(base).is_absolute() else Path(env.get("HOME") or Path.home()) / ".cache"
    return root / "tpdeclare" / "openapi"


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@frozen
class CachedDocument:
    """One engine's document as last read: when, its ETag, its content hash, and the document itself."""

    engine: str
    fetched_at: float  # seconds since the epoch, on the cache's clock
    etag: str | None
    sha256: str
    document: dict[str, Any]


class DocumentCache:
    """Reads and writes cached documents under `directory`; `clock` is wall time (seconds since the epoch)."""

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time):
        self.directory = directory
        self.clock = clock

    def path(self, engine: str) -> Path:
        return self.directory / f"{content_hash(engine.encode())[:32]}.json"

    def load(self, engine: str) -> CachedDocument | None:
        """The entry for `engine`, or None when there is none that can be trusted."""
        try:
            data = json.loads(self.path(engine).read_bytes())
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION or data.get("engine") != engine:
            return None
        fetched, etag, digest, doc = data.get("fetched_at"), data.get("etag"), data.get("sha256"), data.get("document")
        if isinstance(fetched, bool) or not isinstance(fetched, (int, float)) or not isinstance(digest, str) \
                or not isinstance(doc, dict) or not (etag is None or isinstance(etag, str)):
            return None
        if fetched > self.clock() + FUTURE_SLACK:
            return None
        return CachedDocument(engine, float(fetched), etag, digest, doc)

    def is_fresh(self, entry: CachedDocument) -> bool:
        return self.clock() - entry.fetched_at < MAX_AGE

    def save(self, engine: str, document: dict[str, Any], *, sha256: str, etag: str | None) -> CachedDocument:
        """Record a document just read (or revalidated); a failure to write is ignored."""
        entry = CachedDocument(engine, self.clock(), etag, sha256, document)
        payload = {"format_version": FORMAT_VERSION, "engine": engine, "fetched_at": entry.fetched_at,
                   "etag": etag, "sha256": sha256, "document": document}
        try:
            from tpdeclare.atomic_files import atomic_write

            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path(engine), json.dumps(payload, separators=(",", ":")).encode(), mode=0o644)
        except (OSError, ValueError, TypeError):
            pass  # a cache that cannot be written is read again next time
        return entry
