"""The `ClusterApi` seam: the endpoint methods the rest of tpdeclare calls, as a typing.Protocol.

`TensorPoolClient` implements it against a real engine (or the sandbox); test fakes implement it in
memory, and `tests/api_contract.py` holds every implementation to the same behaviour. `SshApi` is a
ClusterApi that can also say how to log in to an instance: what `tpdeclare output` needs, and nothing
that plans or applies does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from tpdeclare.api.models import ClusterInfo, CreateResult, DeleteResult, EditResult, RequestInfo, SshCommand
from tpdeclare.api.storage_models import (
    AttachResult,
    DetachResult,
    StorageCreateResult,
    StorageDeleteResult,
    VolumeInfo,
)


@runtime_checkable
class ClusterApi(Protocol):
    """What tpdeclare needs from an engine. Errors are `tpdeclare.errors.ApiError`s:

    - `create_cluster` and `delete_cluster` are sent at most once: an answer that may have been lost
      raises OutcomeUnknown (MalformedAcceptance for an unreadable 2xx), never a guess; a taken name on
      create raises BadRequest; a protected cluster on delete raises Conflict.
    - the other calls are idempotent and retried by the implementation itself; an unknown cluster or
      request raises NotFound.
    - `wait_for_request` polls until COMPLETED or FAILED (returned, for the caller to judge), or raises
      PollTimeout naming `what` after `deadline_seconds`.
    """

    def health(self) -> str: ...

    def create_cluster(self, *, instance_type: str, num_nodes: int, tp_cluster_name: str, container: str | None = None,
                       deletion_protection: bool = False, public_keys: Sequence[str] = (),
                       save_keys: bool = False) -> CreateResult: ...

    def request_info(self, request_id: str) -> RequestInfo: ...

    def wait_for_request(self, request_id: str, *, deadline_seconds: float, what: str,
                         on_poll: Callable[[RequestInfo], None] | None = None) -> RequestInfo: ...

    def list_clusters(self) -> list[ClusterInfo]: ...

    def cluster_info(self, cluster_id: str) -> ClusterInfo: ...

    def edit_cluster(self, cluster_id: str, *, cluster_name: str | None = None,
                     deletion_protection: bool | None = None) -> str: ...

    def delete_cluster(self, cluster_id: str) -> DeleteResult: ...


@runtime_checkable
class SshApi(ClusterApi, Protocol):
    """A ClusterApi that also answers `GET /ssh/{instance_id}` (idempotent, retried; NotFound for an unknown
    instance, Conflict for one that cannot be reached yet)."""

    def ssh_command(self, instance_id: str, *, system: str) -> SshCommand: ...


@runtime_checkable
class StorageApi(ClusterApi, Protocol):
    """A ClusterApi that also manages NFS storage volumes (the /storage endpoints).

    - `create_storage`, `delete_storage`, `attach_storage` and `detach_storage` are sent at most once,
      like create_cluster: a possibly lost answer raises OutcomeUnknown; a taken name raises BadRequest;
      a protected or attached volume on delete raises Conflict; an attach the engine refuses (a
      single-node GPU cluster) and a shrink raise BadRequest.
    - `list_storage`, `storage_info` and `edit_storage` are idempotent and retried; an unknown volume
      raises NotFound. Every returned request ID is polled with `wait_for_request`.
    """

    def create_storage(self, *, size_gb: int, name: str, deletion_protection: bool = False) -> StorageCreateResult: ...

    def list_storage(self) -> list[VolumeInfo]: ...

    def storage_info(self, storage_id: str) -> VolumeInfo: ...

    def edit_storage(self, storage_id: str, *, name: str | None = None, deletion_protection: bool | None = None,
                     size_gb: int | None = None) -> EditResult: ...

    def delete_storage(self, storage_id: str) -> StorageDeleteResult: ...

    def attach_storage(self, storage_id: str, cluster_ids: Sequence[str]) -> AttachResult: ...

    def detach_storage(self, storage_id: str, cluster_id: str) -> DetachResult: ...
