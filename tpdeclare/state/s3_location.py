"""Where an S3-kept state lives: bucket, key, endpoint, region and lease length, from a spec or `s3://BUCKET/KEY`."""

from __future__ import annotations

import re

from tpdeclare.errors import TpdeclareError
from tpdeclare.frozen_values import frozen

DEFAULT_LOCK_TTL = 60  # seconds a lease lasts without renewal
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
KEY = re.compile(r"[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]{0,899}")
SCHEME = "s3://"


def default_key(stack: str) -> str:
    return f"tpdeclare/{stack}.json"


@frozen
class S3Location:
    """One state object and how to reach it (never any credential: those stay in boto3's chain)."""

    bucket: str
    key: str
    endpoint_url: str | None = None  # None: the environment's AWS_ENDPOINT_URL, else boto3's default
    region: str | None = None
    lock_ttl: int = DEFAULT_LOCK_TTL

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"

    @property
    def prefix(self) -> str:
        """The key's folder (what the conditional-write probe's result is cached for, with the bucket)."""
        return self.key.rsplit("/", 1)[0] + "/" if "/" in self.key else ""


def is_s3_url(value: str | None) -> bool:
    return bool(value) and str(value).startswith(SCHEME)


def parse_s3_url(value: str, *, flag: str = "--state") -> tuple[str, str]:
    """(bucket, key) of `s3://BUCKET/KEY`; a TpdeclareError naming `flag` and the fix otherwise."""
    rest = value[len(SCHEME):] if value.startswith(SCHEME) else value
    bucket, _, key = rest.partition("/")
    if not BUCKET.fullmatch(bucket):
        raise TpdeclareError(
            f"{flag} {value}: {bucket!r} is not a bucket name",
            hint="write s3://BUCKET/KEY, with a bucket of 3-63 lowercase letters, digits, dots and hyphens, "
                 "e.g. s3://team-state/tpdeclare/research.json",
        )
    if not KEY.fullmatch(key):
        raise TpdeclareError(
            f"{flag} {value}: {key!r} is not a usable state key" if key else f"{flag} {value}: no key after the bucket",
            hint="write s3://BUCKET/KEY, with a key of letters, digits and !_.*'()/- not starting with /, "
                 "e.g. s3://team-state/tpdeclare/research.json",
        )
    return bucket, key
