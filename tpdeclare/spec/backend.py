"""The `backend:` section: where the stack's state lives (an S3 bucket), set in at most one file of the stack."""

from __future__ import annotations

from tpdeclare.spec.model import S3Backend
from tpdeclare.spec.parsed import ParsedFile
from tpdeclare.spec.reporting import Reporter
from tpdeclare.state.s3_location import DEFAULT_LOCK_TTL


def load_backend(files: list[ParsedFile], report: Reporter) -> S3Backend | None:
    """The stack's S3 backend, or None; a second file that sets one is an error naming both places."""
    found: S3Backend | None = None
    for f in files:
        section = f.section("backend")
        if section is None or not isinstance(section.get("s3"), dict):
            continue  # absent, or a shape the schema already reported
        s3 = section["s3"]
        where = f.at(("backend",))
        if found is not None:
            report.error(f"the backend is set twice: also at {found.source}", where, path=("backend",),
                         hint="a stack has one state: keep one `backend:` section")
            continue
        if not isinstance(s3.get("bucket"), str):
            continue  # the schema said so
        ttl = s3.get("lock_ttl", DEFAULT_LOCK_TTL)
        found = S3Backend(
            bucket=s3["bucket"],
            key=s3["key"] if isinstance(s3.get("key"), str) else None,
            endpoint_url=s3["endpoint_url"] if isinstance(s3.get("endpoint_url"), str) else None,
            region=s3["region"] if isinstance(s3.get("region"), str) else None,
            lock_ttl=ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else DEFAULT_LOCK_TTL,
            source=where,
        )
    return found
