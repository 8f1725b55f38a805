"""Typed, validated spec values: what the loader hands to the planner."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from tpdeclare.cluster_outputs import reference
from tpdeclare.frozen_values import field, frozen
from tpdeclare.spec.time_values import format_duration


@frozen
class SourceRef:
    """Where a value came from: file, 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@frozen
class S3Backend:
    """The spec's `backend: {s3: ...}`: the state object in a bucket."""

    bucket: str
    key: str | None = None  # None: tpdeclare/<stack>.json
    endpoint_url: str | None = None  # None: the environment's AWS_ENDPOINT_URL, else boto3's default
    region: str | None = None
    lock_ttl: int = 60
    source: SourceRef | None = None


@frozen
class Lifetime:
    """A cluster's `lifetime:` (DESIGN §10): when tpdeclare destroys it, and how long before that plans warn."""

    expires_after: int | None = None  # seconds, counted from the cluster's creation
    expires_at: str | None = None  # an instant, RFC 3339 in UTC (`2026-12-05T18:00:00Z`)
    warn_before: int | None = None  # seconds

    @property
    def key(self) -> str:
        """The lifetime as one canonical phrase (`expires_after 8h`, `expires_at 2026-12-05T18:00:00Z`): what
        state remembers of a cluster destroyed for expiry. Another key is another lifetime; warn_before is no
        part of it, since it does not move the end."""
        if self.expires_after is not None:
            return f"expires_after {format_duration(self.expires_after)}"
        return f"expires_at {self.expires_at}"


@frozen
class ClusterSpec:
    """One desired cluster, with defaults merged and the name resolved."""

    address: str
    instance_type: str
    num_nodes: int = 1
    name: str = ""  # the tp_cluster_name; loader resolves the default "<stack>-<address>"
    container: str | None = None
    deletion_protection: bool = False
    public_keys: tuple[str, ...] = ()
    prevent_destroy: bool = False
    ignore_changes: frozenset[str] = frozenset()
    source: SourceRef | None = None  # where the cluster's key is declared
    lifetime: Lifetime | None = None  # when tpdeclare destroys it (None: it lives until the spec says otherwise)
    storage: tuple[str, ...] = ()  # addresses of the volumes attached to it (not a field: see plan/storage_planner)

    def fields(self) -> dict[str, Any]:
        """The managed fields as a plain dict (the shape recorded in state as `spec`)."""
        return {
            "instance_type": self.instance_type,
            "num_nodes": self.num_nodes,
            "name": self.name,
            "container": self.container,
            "deletion_protection": self.deletion_protection,
            "public_keys": list(self.public_keys),
        }


VOLUME_FIELDS: tuple[str, ...] = ("size_gb", "name", "deletion_protection")


@frozen
class VolumeSpec:
    """One desired storage volume (top-level `storage:`), with its name resolved."""

    address: str
    size_gb: int
    name: str = ""  # the storage name; loader resolves the default "<stack>-<address>"
    deletion_protection: bool = False
    prevent_destroy: bool = False
    ignore_changes: frozenset[str] = frozenset()
    source: SourceRef | None = None  # where the volume's key is declared

    def fields(self) -> dict[str, Any]:
        """The managed fields as a plain dict (the shape recorded in state as the volume's `spec`)."""
        return {"size_gb": self.size_gb, "name": self.name, "deletion_protection": self.deletion_protection}


@frozen
class Move:
    """A `moved:` entry: rename an address without touching the cluster."""

    from_address: str
    to_address: str
    source: SourceRef | None = None


@frozen
class OutputRef:
    """An `outputs:` entry: a name for one output field of one declared cluster (clusters.ADDR.FIELD)."""

    name: str
    address: str
    field: str
    source: SourceRef | None = None

    @property
    def reference(self) -> str:
        return reference(self.address, self.field)


@frozen
class StackSpec:
    """A whole stack: every cluster declared across its files."""

    stack: str
    clusters: dict[str, ClusterSpec]  # address -> spec, in declaration order
    moves: tuple[Move, ...] = ()
    max_hourly_cost: float | None = None
    prices: dict[str, float] = field(default_factory=dict)  # GPU/CPU kind -> USD per unit-hour overrides
    files: tuple[str, ...] = ()  # the spec files, as given on the command line
    # (hashed name, bytes) of each file, for `content_hash`: hashed only when a saved plan is written or applied
    sources: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    outputs: dict[str, OutputRef] = field(default_factory=dict)  # `outputs:` name -> reference, in order
    volumes: dict[str, VolumeSpec] = field(default_factory=dict)  # `storage:` address -> volume, in order
    backend: S3Backend | None = None  # `backend:`; None: the local state file

    @cached_property
    def content_hash(self) -> str:
        """sha256 over the files' bytes (names + contents), for saved plans; "" for a stack read from no file."""
        from tpdeclare.spec.loader import content_hash  # hashlib, and the hash, only when asked

        return content_hash(self.sources) if self.sources else ""
