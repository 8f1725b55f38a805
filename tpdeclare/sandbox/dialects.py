"""Dialects: plausible variants of the real TensorPool API that the sandbox can speak instead of the contract's.

Only the create endpoint is published; list, info, status words and edits are assumed (see
specs/tensorpool-api.json, `x-provenance`). A dialect changes exactly those assumed shapes, so that the
client's discovery and tolerance can be tested against each:

    default       the contract as written (what the client reads today)
    aliased       ClusterInfo fields id / name / node_count / state (instances: id / state); info wraps
                  the cluster in `cluster`; StorageInfo fields id / name / size / attached_to / state,
                  storage info wraps the volume in `storage`
    aliased-bare  ClusterInfo fields id / cluster_name / nodes (status stays); info answers the cluster
                  object itself, with `message` beside its fields; StorageInfo fields id / storage_name /
                  size, storage info answers the volume itself
    lowercase     request, cluster and volume statuses in lower case (`completed`, `running`)
    async-edit    PATCH /cluster/edit answers 202 {cluster_id, request_id, message}; the edit is a
                  CLUSTER_EDIT request and takes effect only when it completes
    text-only     list and info (of clusters and of volumes) answer only a text `message`

Names combine with `+` (e.g. `aliased+lowercase+async-edit`); the two aliased ones exclude each other,
and text-only excludes both. `GET /openapi.json` describes exactly what a dialect sends.
"""

from __future__ import annotations

from dataclasses import replace

from tpdeclare.errors import TpdeclareError
from tpdeclare.frozen_values import frozen

CANONICAL_CLUSTER_FIELDS = ("cluster_id", "tp_cluster_name", "instance_type", "num_nodes", "container",
                            "deletion_protection", "status", "instances", "created_at")
CANONICAL_INSTANCE_FIELDS = ("instance_id", "status", "public_ip", "private_ip")
INFO_WRAPPER = "cluster_info"
STORAGE_WRAPPER = "storage_info"
BARE = None  # `info_wrapper` of a dialect whose info is the cluster object itself


@frozen
class Dialect:
    """What the sandbox sends where the real API is unknown."""

    name: str = "default"
    cluster_fields: tuple[tuple[str, str], ...] = ()  # (canonical, wire name) of the renamed fields only
    instance_fields: tuple[tuple[str, str], ...] = ()
    info_wrapper: str | None = INFO_WRAPPER
    lowercase_statuses: bool = False
    async_edits: bool = False
    text_only: bool = False
    volume_fields: tuple[tuple[str, str], ...] = ()  # (canonical, wire name) of a StorageInfo's renamed fields
    storage_wrapper: str | None = STORAGE_WRAPPER  # where GET /storage/info puts the volume (None: bare)

    def cluster_key(self, canonical: str) -> str:
        """The wire name of a ClusterInfo field."""
        return dict(self.cluster_fields).get(canonical, canonical)

    def volume_key(self, canonical: str) -> str:
        """The wire name of a StorageInfo field."""
        return dict(self.volume_fields).get(canonical, canonical)

    def instance_key(self, canonical: str) -> str:
        """The wire name of an InstanceInfo field."""
        return dict(self.instance_fields).get(canonical, canonical)

    def status_word(self, status: str) -> str:
        """A request or cluster status as this dialect spells it."""
        return status.lower() if self.lowercase_statuses else status

    @property
    def aliased(self) -> bool:
        """Whether ClusterInfo fields or the info wrapper differ from the contract's."""
        return bool(self.cluster_fields) or self.info_wrapper != INFO_WRAPPER

    @property
    def reshapes_reads(self) -> bool:
        """Whether list and info bodies differ in shape (at most one such preset combines)."""
        return self.aliased or self.text_only


DEFAULT = Dialect()
PRESETS: dict[str, Dialect] = {
    "default": DEFAULT,
    "aliased": Dialect(
        "aliased",
        cluster_fields=(("cluster_id", "id"), ("tp_cluster_name", "name"), ("num_nodes", "node_count"),
                        ("status", "state")),
        instance_fields=(("instance_id", "id"), ("status", "state")),
        info_wrapper="cluster",
        volume_fields=(("storage_id", "id"), ("tp_storage_name", "name"), ("size_gb", "size"),
                       ("cluster_ids", "attached_to"), ("status", "state")),
        storage_wrapper="storage",
    ),
    "aliased-bare": Dialect(
        "aliased-bare",
        cluster_fields=(("cluster_id", "id"), ("tp_cluster_name", "cluster_name"), ("num_nodes", "nodes")),
        info_wrapper=BARE,
        volume_fields=(("storage_id", "id"), ("tp_storage_name", "storage_name"), ("size_gb", "size")),
        storage_wrapper=BARE,
    ),
    "lowercase": Dialect("lowercase", lowercase_statuses=True),
    "async-edit": Dialect("async-edit", async_edits=True),
    "text-only": Dialect("text-only", text_only=True),
}
DIALECT_HELP = (
    "speak a plausible variant of the real API: " + ", ".join(PRESETS)
    + "; combine with + (e.g. aliased+lowercase+async-edit). GET /openapi.json describes the result"
)


def parse_dialect(text: str | None, *, source: str = "--dialect") -> Dialect:
    """The dialect a name or `a+b+c` combination means; TpdeclareError naming `source` otherwise."""
    names = [part.strip() for part in (text or "default").split("+")]
    if any(not n for n in names):
        raise TpdeclareError(f"{source} {text!r}: an empty dialect name", hint=DIALECT_HELP)
    result = DEFAULT
    for name in names:
        preset = PRESETS.get(name)
        if preset is None:
            from tpdeclare.suggestions import did_you_mean

            guess = did_you_mean(name, PRESETS)
            suffix = f" (did you mean {guess}?)" if guess else ""
            raise TpdeclareError(f"{source}: unknown dialect {name!r}{suffix}", hint=DIALECT_HELP)
        if preset is DEFAULT:
            continue
        if preset.reshapes_reads and result.reshapes_reads:
            raise TpdeclareError(f"{source} {text!r}: {name} cannot be combined with {result.name}",
                                 hint="aliased, aliased-bare and text-only each reshape list and info; " + DIALECT_HELP)
        result = replace(
            result,
            name=name if result is DEFAULT else f"{result.name}+{name}",
            cluster_fields=result.cluster_fields + preset.cluster_fields,
            instance_fields=result.instance_fields + preset.instance_fields,
            info_wrapper=preset.info_wrapper if preset.aliased else result.info_wrapper,
            volume_fields=result.volume_fields + preset.volume_fields,
            storage_wrapper=preset.storage_wrapper if preset.aliased else result.storage_wrapper,
            lowercase_statuses=result.lowercase_statuses or preset.lowercase_statuses,
            async_edits=result.async_edits or preset.async_edits,
            text_only=result.text_only or preset.text_only,
        )
    return result
