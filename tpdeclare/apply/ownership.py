"""Whose cluster is it: the exactly-once rules for finding our cluster by name, shared by apply and recovery."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tpdeclare.state.model import CREATING, READY, TAINTED, Record, RecordStatus

if TYPE_CHECKING:  # the client module imports requests: not needed to judge a cluster
    from tpdeclare.api.client import ClusterInfo

# A cluster found under our name is adopted only if it was made after our intent (allowing this much
# clock skew between us and the engine) and matches the shape we asked for. Anything else is a stranger.
CLOCK_SKEW_SECONDS = 120.0


def utcnow_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_time(text: str | None) -> str | None:
    """An engine's time as the state records times (RFC 3339, UTC, `Z`); None if absent or unreadable."""
    value = parse_time(text)
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time (`Z` allowed) as an aware datetime; None if absent or unreadable."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def live_by_name(clusters: Iterable[ClusterInfo]) -> dict[str | None, ClusterInfo]:
    """name -> ClusterInfo for every cluster that is not being destroyed."""
    return {c.name: c for c in clusters if not is_gone(c)}


def is_gone(cluster: ClusterInfo) -> bool:
    """Destroyed, or on its way: no longer a cluster anyone can use."""
    return cluster.is_destroying or cluster.is_destroyed


def stranger_reason(found: ClusterInfo, intent: Record) -> str | None:
    """Why `found` (a ClusterInfo under our intent's name) is not the cluster our intent made, or None."""
    want = intent.spec
    if found.instance_type != want.get("instance_type") or int(found.num_nodes or 1) != int(want.get("num_nodes") or 1):
        return (
            f"it is a {found.num_nodes} × {found.instance_type} cluster, but the intent asked for "
            f"{want.get('num_nodes')} × {want.get('instance_type')}"
        )
    made = parse_time(found.created_at)
    intended = parse_time(intent.created_at)
    if made is not None and intended is not None and (intended - made).total_seconds() > CLOCK_SKEW_SECONDS:
        return f"it was created at {found.created_at}, before tpdeclare recorded its intent at {intent.created_at}"
    return None


def recorded_elsewhere(found: ClusterInfo, address: str, records: Mapping[str, Record]) -> str | None:
    """Why `found` cannot be the intent's at `address`: its ID is already recorded at another address
    (names are unique, so that address's create made it, not ours)."""
    for other, rec in records.items():
        if other != address and rec.cluster_id == found.cluster_id:
            return f"it is already recorded at address '{other}'"
    return None


def status_of(found: ClusterInfo) -> RecordStatus:
    """The record status an engine cluster status maps to."""
    if found.is_running:
        return READY
    if found.is_failed:
        return TAINTED
    return CREATING
