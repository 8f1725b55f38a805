"""Probe before trust: does this bucket honour conditional writes? Checked once per bucket and prefix, cached.

A store that ignores `If-None-Match` or `If-Match` gives no mutual exclusion and no error (Incus #3651,
Backblaze B2, Garage by design), so before the first state write tpdeclare checks, on a probe object
beside the state:
  1. PUT with `If-None-Match: *` twice: the second must fail with 412;
  2. PUT with `If-Match` on a wrong ETag must fail with 412;
  3. DELETE with `If-Match` on a wrong ETag: honoured or not (only the release path depends on it);
  4. the probe is deleted, and the bucket's versioning read (how backups are kept).
The result is cached in $XDG_CACHE_HOME/tpdeclare/s3-probe.json (default ~/.cache), keyed by endpoint,
bucket and prefix. A store that fails is refused before anything is written.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict
from pathlib import Path

from tpdeclare.errors import StateError
from tpdeclare.frozen_values import frozen
from tpdeclare.state.s3_client import PreconditionFailed, S3Client

CACHE_VERSION = 1


@frozen
class ProbeResult:
    """What the probe found."""

    if_none_match: bool
    if_match: bool
    delete_if_match: bool
    versioning: bool

    @property
    def safe(self) -> bool:
        return self.if_none_match and self.if_match

    def why_unsafe(self) -> str:
        broken = [w for w, ok in (("If-None-Match: * (a second create of the same object succeeded)",
                                    self.if_none_match),
                                   ("If-Match (a write with a wrong ETag succeeded)", self.if_match)) if not ok]
        return "; ".join(broken)


def cache_path(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".cache")
    return Path(base) / "tpdeclare" / "s3-probe.json"


def _cache_key(client: S3Client, prefix: str) -> str:
    return f"{client.endpoint}|{client.bucket}|{prefix}"


def _read_cache(path: Path) -> dict[str, dict[str, bool]]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("version") != CACHE_VERSION or not isinstance(doc.get("results"), dict):
        return {}
    results: dict[str, dict[str, bool]] = doc["results"]
    return results


def run_probe(client: S3Client, prefix: str) -> ProbeResult:
    """The four checks, on a fresh probe object under `prefix` (always deleted after)."""
    key = f"{prefix}.tpdeclare-probe-{uuid.uuid4().hex[:12]}"
    try:
        first = client.put(key, b"probe 1\n", if_absent=True)
        try:
            client.put(key, b"probe 2\n", if_absent=True)
            if_none_match = False
        except PreconditionFailed:
            if_none_match = True
        wrong = '"00000000000000000000000000000000"' if first != '"00000000000000000000000000000000"' else '"1"'
        try:
            client.put(key, b"probe 3\n", if_match=wrong)
            if_match = False
        except PreconditionFailed:
            if_match = True
        try:
            client.delete(key, if_match=wrong)
            delete_if_match = False
        except PreconditionFailed:
            delete_if_match = True
    finally:
        client.delete(key)
    return ProbeResult(if_none_match, if_match, delete_if_match, client.versioning())


def probe(client: S3Client, prefix: str, *, cache: Path | None = None, fresh: bool = False) -> ProbeResult:
    """The bucket's probe result (cached; `fresh` probes again); StateError when it cannot be trusted."""
    path = cache or cache_path()
    results = _read_cache(path)
    key = _cache_key(client, prefix)
    found = results.get(key)
    if found is not None and not fresh:
        try:
            result = ProbeResult(**{k: bool(found[k]) for k in ("if_none_match", "if_match", "delete_if_match",
                                                                 "versioning")})
        except KeyError:
            result = run_probe(client, prefix)
    else:
        result = run_probe(client, prefix)
    if result.safe:  # only a trustworthy answer is remembered: a refused store is probed again next time
        results[key] = asdict(result)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": CACHE_VERSION, "results": results}, sort_keys=True))
            os.replace(tmp, path)
        except OSError:
            pass  # no cache: the probe runs again next time
    else:
        raise unsafe_error(client.bucket, result)
    return result


def unsafe_error(bucket: str, result: ProbeResult) -> StateError:
    return StateError(
        f"refusing to keep state in s3://{bucket}: the store ignores conditional writes — "
        f"{result.why_unsafe()}. Two runs could then both take the lock and overwrite each other's state",
        hint="use an S3 store that honours If-None-Match and If-Match on PutObject (AWS S3, TensorPool "
             "object storage, MinIO), or keep the state local; nothing was written",
    )
