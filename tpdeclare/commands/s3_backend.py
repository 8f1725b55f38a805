"""The S3 state store a run uses: its location from --state s3://BUCKET/KEY or the spec's `backend:`, and its words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tpdeclare.commands.context import Context
from tpdeclare.state.s3_location import DEFAULT_LOCK_TTL, S3Location, default_key, is_s3_url, parse_s3_url

if TYPE_CHECKING:
    from tpdeclare.spec.model import S3Backend
    from tpdeclare.state.lock import LockInfo
    from tpdeclare.state.s3_store import S3StateStore


def location(ctx: Context, stack: str, backend: S3Backend | None) -> S3Location:
    """--state s3://BUCKET/KEY wins over the spec's bucket and key (its endpoint, region and lock_ttl stay)."""
    endpoint = backend.endpoint_url if backend else None
    region = backend.region if backend else None
    ttl = backend.lock_ttl if backend else DEFAULT_LOCK_TTL
    if is_s3_url(ctx.options.state):
        bucket, key = parse_s3_url(str(ctx.options.state))
    else:
        assert backend is not None
        bucket, key = backend.bucket, backend.key or default_key(stack)
    return S3Location(bucket=bucket, key=key, endpoint_url=endpoint, region=region, lock_ttl=ttl)


def s3_store(ctx: Context, stack: str, backend: S3Backend | None) -> S3StateStore:
    from tpdeclare.state.s3_store import S3StateStore

    def took_over(holder: LockInfo, age: float) -> None:
        ctx.console.warn(f"took over the state lock of {holder.describe()}: its lease ended {age:.0f}s ago "
                         f"without renewal (that run is presumed dead)")

    return S3StateStore(location(ctx, stack, backend), on_takeover=took_over)
