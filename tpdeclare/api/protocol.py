"""The ClusterApi seam: the TensorPool operations the rest of tpdeclare calls, as a Protocol every fake implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tpdeclare.api.client import ClusterInfo, CreateResult, DeleteResult, RequestInfo


class ClusterApi(Protocol):
    """What apply, recovery, refresh and the commands need of the engine (TensorPoolClient is the real one)."""

    def health(self) -> str: ...

    def create_cluster(
        self,
        *,
        instance_type: str,
        num_nodes: int,
        tp_cluster_name: str,
        container: str | None = None,
        deletion_protection: bool = False,
        public_keys: tuple[str, ...] | list[str] = (),
        save_keys: bool = False,
    ) -> CreateResult: ...

    def request_info(self, request_id: str) -> RequestInfo: ...

    def wait_for_request(
        self,
        request_id: str,
        *,
        deadline_seconds: float,
        what: str,
        on_poll: Callable[[RequestInfo], None] | None = None,
    ) -> RequestInfo: ...

    def list_clusters(self) -> list[ClusterInfo]: ...

    def cluster_info(self, cluster_id: str) -> ClusterInfo: ...

    def edit_cluster(
        self, cluster_id: str, *, cluster_name: str | None = None, deletion_protection: bool | None = None
    ) -> str: ...

    def delete_cluster(self, cluster_id: str) -> DeleteResult: ...
