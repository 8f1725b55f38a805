"""The storage-volume endpoints of the TensorPool client (/storage/...), one method each, as TensorPoolClient's mixin.

They use the client's transport (mutating calls sent at most once, reads retried), its body checks
(`api/storage_parsers.py`) and its key; `TensorPoolClient` is the only class that mixes them in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tpdeclare.api import vocabulary as v
from tpdeclare.api.arguments import edit_body, need_bool, need_size, need_str, path_id
from tpdeclare.api.models import EditResult
from tpdeclare.api.storage_models import (
    AttachResult,
    DetachResult,
    StorageCreateResult,
    StorageDeleteResult,
    VolumeInfo,
)

if TYPE_CHECKING:
    from tpdeclare.api.answer import Answer
    from tpdeclare.api.discovery import Discovered
    from tpdeclare.api.redaction import Secret
    from tpdeclare.api.storage_parsers import StorageReader
    from tpdeclare.api.transport import Transport

T = TypeVar("T")


class StorageEndpoints:
    """POST /storage/create, GET /storage/list and /storage/info/{id}, PATCH /storage/edit/{id},
    DELETE /storage/{id}, POST /storage/attach and /storage/detach."""

    if TYPE_CHECKING:  # what TensorPoolClient provides
        _key: Secret
        _storage: StorageReader
        _transport: Transport

        def discover(self) -> Discovered: ...

        def _before_change(self) -> None: ...

        def _parse(self, method: str, path: str, answer: Answer, parser: Callable[[Any], T], *,
                   accepted: str | None = None, allow_empty: bool = False, accepted_hint: str = ...) -> T: ...

    def create_storage(self, *, size_gb: int, name: str, deletion_protection: bool = False) -> StorageCreateResult:
        """POST /storage/create, sent exactly once (as create_cluster: a lost answer raises OutcomeUnknown, an
        unreadable 2xx MalformedAcceptance; a taken name is BadRequest)."""
        need_size("size_gb", size_gb)
        need_str("name", name)
        body = {v.F_STORAGE_SIZE: size_gb, v.F_STORAGE_NAME: name, v.F_DELETION_PROTECTION: bool(deletion_protection)}
        return self._send_once(
            "POST", v.PATH_STORAGE_CREATE, body, self._storage.create, f"the storage volume {name!r}",
            not_done="was not created", unknown="may or may not have been created",
            unknown_hint=(f"do not create it by hand: the next tpdeclare run looks the name {name!r} up and "
                          "adopts the volume if it exists"),
            accepted="was probably created, but its ID is unknown")

    def list_storage(self) -> list[VolumeInfo]:
        """GET /storage/list?include_org=true: every volume the key can see (one call)."""
        self.discover()
        answer = self._transport.idempotent("GET", v.PATH_STORAGE_LIST, params=v.LIST_PARAMS)
        return self._parse("GET", v.PATH_STORAGE_LIST, answer, self._storage.volume_list)

    def storage_info(self, storage_id: str) -> VolumeInfo:
        """GET /storage/info/{storage_id}. Raises NotFound for an unknown volume."""
        path = v.PATH_STORAGE_INFO.format(storage_id=path_id("storage ID", storage_id, self._key))
        self.discover()
        answer = self._transport.idempotent("GET", path)
        return self._parse("GET", path, answer, self._storage.volume_info)

    def edit_storage(self, storage_id: str, *, name: str | None = None, deletion_protection: bool | None = None,
                     size_gb: int | None = None) -> EditResult:
        """PATCH /storage/edit/{storage_id}: rename, set protection, grow (idempotent, retried). A shrink is
        BadRequest. The STORAGE_EDIT request it names, if any, is the caller's to poll."""
        path = v.PATH_STORAGE_EDIT.format(storage_id=path_id("storage ID", storage_id, self._key))
        body = edit_body("edit_storage", (
            ("name", v.F_STORAGE_EDIT_NAME, name, need_str),
            ("deletion_protection", v.F_DELETION_PROTECTION, deletion_protection, need_bool),
            ("size_gb", v.F_STORAGE_EDIT_SIZE, size_gb, need_size),
        ))
        self._before_change()
        answer = self._transport.idempotent("PATCH", path, body=body)
        return self._parse("PATCH", path, answer, self._storage.edit, allow_empty=True)

    def delete_storage(self, storage_id: str) -> StorageDeleteResult:
        """DELETE /storage/{storage_id}, sent exactly once. An attached or protected volume is Conflict."""
        path = v.PATH_STORAGE_DELETE.format(storage_id=path_id("storage ID", storage_id, self._key))
        return self._send_once(
            "DELETE", path, None, lambda d: self._storage.delete(d, storage_id), f"the storage volume {storage_id}",
            not_done="was not asked to be destroyed", unknown="may or may not be being destroyed",
            unknown_hint="the next tpdeclare run checks the volume's status before doing anything else",
            accepted="is probably being destroyed, but the request to poll is unknown")

    def attach_storage(self, storage_id: str, cluster_ids: Sequence[str]) -> AttachResult:
        """POST /storage/attach {storage_id, cluster_ids}, sent exactly once: one request to poll per cluster.
        Every node of each cluster restarts. A cluster that cannot take volumes is BadRequest."""
        sid = path_id("storage ID", storage_id, self._key)
        if isinstance(cluster_ids, str):
            raise ValueError("cluster_ids must be a sequence of cluster IDs, not one string")
        clusters = [path_id("cluster ID", c, self._key) for c in cluster_ids]
        if not clusters:
            raise ValueError("attach_storage needs at least one cluster ID")
        return self._send_link(v.PATH_STORAGE_ATTACH, {v.F_STORAGE_ID: sid, v.F_CLUSTER_IDS: clusters},
                               lambda d: self._storage.attach(d, sid), sid, "attached", f"to {', '.join(clusters)}",
                               polled="the requests to poll are")

    def detach_storage(self, storage_id: str, cluster_id: str) -> DetachResult:
        """POST /storage/detach {storage_id, cluster_id}, sent exactly once. Every node of the cluster restarts."""
        sid = path_id("storage ID", storage_id, self._key)
        cid = path_id("cluster ID", cluster_id, self._key)
        return self._send_link(v.PATH_STORAGE_DETACH, {v.F_STORAGE_ID: sid, v.F_CLUSTER_ID: cid},
                               lambda d: self._storage.detach(d, sid, cid), sid, "detached", f"from {cid}",
                               polled="the request to poll is")

    def _send_link(self, path: str, body: dict[str, Any], parser: Callable[[Any], T], sid: str, done: str,
                   where: str, *, polled: str) -> T:
        """POST an attach or a detach exactly once; its words say what was `done` `where` (`attached`,
        `to c-1, c-2`), and what would be `polled` had the 202 been readable."""
        return self._send_once(
            "POST", path, body, parser, f"the storage volume {sid}",
            not_done=f"was not {done} {where}", unknown=f"may or may not be being {done} {where}",
            unknown_hint="the next tpdeclare run reads the volume's attachments before doing anything else",
            accepted=f"is probably being {done}, but {polled} unknown")

    def _send_once(self, method: str, path: str, body: dict[str, Any] | None, parser: Callable[[Any], T],
                   subject: str, *, not_done: str, unknown: str, unknown_hint: str, accepted: str) -> T:
        """A change sent exactly once (never retried). Its words follow `subject`: `not_done` when nothing was
        sent, `unknown` (and the hint) when the answer was lost, `accepted` when a 202 cannot be read."""
        self._before_change()
        answer = self._transport.once(method, path, body, not_done=f"{subject} {not_done}",
                                      unknown=f"{subject} {unknown}", unknown_hint=unknown_hint)
        return self._parse(method, path, answer, parser, accepted=f"{subject} {accepted}", accepted_hint=_VOLUME_HINT)

_VOLUME_HINT = "the next tpdeclare run looks the volume up before doing anything else"
