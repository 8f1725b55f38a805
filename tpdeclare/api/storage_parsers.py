"""Reading the storage endpoints' 2xx bodies into `VolumeInfo` and the 202 results, with the known field aliases.

Only the requests the official CLI sends and the fields it reads (`storage_id`, `request_id`, `request_ids`,
`message`) are known; the structure of list and info answers is assumed (specs/tensorpool-api.json). So each
volume field is read by the first of its known names that is present with the right JSON kind (the rule of
`field_aliases.pick`), and the name found is kept for the rest of the run; a name other than the contract's
is warned about once. Every value is checked as `parsers.BodyReader` checks a cluster's: IDs must be safe,
names free of control characters, nothing may contain the API key. Any mismatch is a ShapeError, which the
client turns into MalformedResponse (MalformedAcceptance for an accepted create, delete, attach or detach).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tpdeclare.api import status_words
from tpdeclare.api.field_aliases import Alias, json_type, kinds_of, pick
from tpdeclare.api.field_mapping import FieldMap, ShapeError, describe_fields, field_path, json_object, shown_keys
from tpdeclare.api.models import EditResult
from tpdeclare.api.parsers import EMPTY, NAME_CHARS, WORD_CHARS, BodyReader
from tpdeclare.api.redaction import Secret
from tpdeclare.api.status_words import UnknownWords
from tpdeclare.api.storage_models import (
    AttachResult,
    DetachResult,
    StorageCreateResult,
    StorageDeleteResult,
    VolumeInfo,
)
from tpdeclare.api.vocabulary import R_MESSAGE, R_REQUEST_ID, R_REQUEST_IDS, R_STORAGE_ID

__all__ = ["LIST_WRAPPER", "INFO_WRAPPER", "VOLUME_FIELDS", "StorageReader"]

LIST_WRAPPER = Alias("volumes", "the list of volumes", ("volumes", "storage", "storages", "storage_volumes",
                                                          "items", "data", "results"), "array")
INFO_WRAPPER = Alias("storage_info", "the volume", ("storage_info", "storage", "volume", "info", "data"), "object")
VOLUME_FIELDS: tuple[Alias, ...] = (
    Alias("storage_id", "the volume's ID", ("storage_id", "id", "storageId", "volume_id"), "string"),
    Alias("name", "the volume's name", ("tp_storage_name", "storage_name", "name", "tpStorageName", "storageName"),
          "string", required=False, nullable=True),
    Alias("size_gb", "the volume's size in GB", ("size_gb", "size", "sizeGb", "size_in_gb", "capacity_gb"),
          "integer"),
    Alias("deletion_protection", "the deletion protection flag",
          ("deletion_protection", "protected", "deletion_protected", "deletionProtection"), "boolean"),
    Alias("status", "the volume's status", ("status", "state", "storage_status"), "string"),
    Alias("cluster_ids", "the clusters it is attached to", ("cluster_ids", "clusters", "attached_to",
                                                            "attached_clusters", "clusterIds", "attachments"),
          "array", required=False, nullable=True),
    Alias("created_at", "the creation time", ("created_at", "created", "creation_time", "createdAt"), "string",
          required=False, nullable=True),
)
_KIND_WORDS = {"array": "an array", "string": "a string", "integer": "an integer", "boolean": "a boolean"}
_CLUSTER_ID_KEYS = ("cluster_id", "id")  # an attachment given as an object instead of an ID


class StorageReader:
    """Turns decoded 2xx bodies of the storage endpoints into results (thread-safe)."""

    def __init__(self, fields: FieldMap, secret: Secret, words: UnknownWords, warn: Callable[[str], None]):
        self._check = BodyReader(fields, secret, words)  # its value checks (IDs, names, prose, the key)
        self._words = words
        self._warn = warn
        self._names: dict[str, str] = {}  # attr -> the wire name settled on this run
        self._lock = threading.Lock()

    # ---------------------------------------------------------------------------------- 202 answers
    def create(self, data: Any) -> StorageCreateResult:
        d = json_object(data, "")
        c = self._check
        return StorageCreateResult(storage_id=c._id(d, R_STORAGE_ID, "", required=True),
                                   request_id=c._id(d, R_REQUEST_ID, "", required=False),
                                   message=c._prose(d, R_MESSAGE, ""))

    def delete(self, data: Any, storage_id: str) -> StorageDeleteResult:
        d = json_object(data, "")
        c = self._check
        return StorageDeleteResult(storage_id=c._id(d, R_STORAGE_ID, "", required=False) or storage_id,
                                   request_id=c._id(d, R_REQUEST_ID, "", required=False),
                                   message=c._prose(d, R_MESSAGE, ""))

    def attach(self, data: Any, storage_id: str) -> AttachResult:
        """`request_ids` (one per cluster); an engine that names a single `request_id` instead is read too.
        An answer with neither cannot be followed, so it is refused."""
        d = json_object(data, "")
        c = self._check
        if d.get(R_REQUEST_IDS) is not None:
            ids = c._id_list(d, R_REQUEST_IDS, "")
        elif d.get(R_REQUEST_ID) is not None:
            ids = (c._id(d, R_REQUEST_ID, "", required=True),)
        else:
            raise ShapeError(f"field '{R_REQUEST_IDS}' is missing (no request to follow the attach by)")
        return AttachResult(storage_id=c._id(d, R_STORAGE_ID, "", required=False) or storage_id, request_ids=ids,
                            message=c._prose(d, R_MESSAGE, ""))

    def detach(self, data: Any, storage_id: str, cluster_id: str) -> DetachResult:
        d = json_object(data, "")
        c = self._check
        return DetachResult(storage_id=storage_id, cluster_id=cluster_id,
                            request_id=c._id(d, R_REQUEST_ID, "", required=False), message=c._prose(d, R_MESSAGE, ""))

    def edit(self, data: Any) -> EditResult:
        if data is EMPTY:
            return EditResult(message="", request_id=None)
        d = json_object(data, "")
        return EditResult(message=self._check._prose(d, R_MESSAGE, ""),
                          request_id=self._check._id(d, R_REQUEST_ID, "", required=False))

    # ---------------------------------------------------------------------------------- list and info
    def volume_list(self, data: Any) -> list[VolumeInfo]:
        if isinstance(data, list):  # tolerate a bare array
            items, where = data, ""
        else:
            d = json_object(data, "")
            where = self._wrapper(LIST_WRAPPER, d)
            items = d[where]
        return [self.volume(item, f"{where}[{i}]") for i, item in enumerate(items)]

    def volume_info(self, data: Any) -> VolumeInfo:
        d = json_object(data, "")
        if pick(VOLUME_FIELDS[0], kinds_of(d), self._names.get("storage_id")).name is not None \
                and pick(INFO_WRAPPER, kinds_of(d)).name is None:
            return self.volume(d, "")  # the volume object itself, with `message` beside its fields
        where = self._wrapper(INFO_WRAPPER, d)
        return self.volume(d[where], where)

    def volume(self, data: Any, where: str) -> VolumeInfo:
        d = json_object(data, where)
        names = self._settle(d, where)
        c = self._check
        storage_id = c._id(d, names["storage_id"], where, required=True)
        size = c._get(d, names["size_gb"], where, "int", required=True)
        if size < 1:
            raise ShapeError(f"field '{field_path(where, names['size_gb'])}' should be at least 1 (GB), not {size}")
        name_key = names.get("name")
        created_key = names.get("created_at")
        info = VolumeInfo(
            storage_id=storage_id,
            name=c._text(d, name_key, where, NAME_CHARS, required=False) if name_key else None,
            size_gb=size,
            deletion_protection=c._get(d, names["deletion_protection"], where, "bool", required=True),
            status=c._status(d, names["status"], where),
            cluster_ids=self._attachments(d, names.get("cluster_ids"), where),
            created_at=c._text(d, created_key, where, WORD_CHARS, required=False) if created_key else None,
        )
        self._words.check(status_words.VOLUME, info.status, f"storage volume {storage_id}")
        return info

    # ---------------------------------------------------------------------------------- inside
    def _attachments(self, d: dict[str, Any], key: str | None, where: str) -> tuple[str, ...]:
        if key is None or d.get(key) is None:
            return ()
        values = d[key]
        if not isinstance(values, list):
            raise ShapeError(f"field '{field_path(where, key)}' should be an array, not {json_type(values)}")
        out = []
        for i, item in enumerate(values):
            at = f"{field_path(where, key)}[{i}]"
            if isinstance(item, dict):
                found = next((k for k in _CLUSTER_ID_KEYS if isinstance(item.get(k), str)), None)
                if found is None:
                    raise ShapeError(f"{at} names no cluster (looked for {', '.join(map(repr, _CLUSTER_ID_KEYS))})")
                out.append(self._check._safe_id(item[found], f"{at}.{found}"))
            elif isinstance(item, str):
                out.append(self._check._safe_id(item, at))
            else:
                raise ShapeError(f"{at} should be a cluster ID (a string), not {json_type(item)}")
        return tuple(out)

    def _settle(self, d: dict[str, Any], where: str) -> dict[str, str]:
        """The wire name of each volume field in `d`, by the alias rule; the first one found is kept."""
        present = kinds_of(d)
        names: dict[str, str] = {}
        renamed = []
        with self._lock:
            for alias in VOLUME_FIELDS:
                got = pick(alias, present, self._names.get(alias.attr))
                if got.name is None:
                    if got.ambiguous or alias.required:
                        raise ShapeError(_unreadable(alias, got.candidates, present, where))
                    wrong = [n for n in alias.names if n in present and "null" not in present[n]]
                    if wrong:  # there, but not of its kind: never read as absent (no attachments, say)
                        raise ShapeError(f"field '{field_path(where, wrong[0])}' should be {_KIND_WORDS[alias.kind]}, "
                                         f"not {json_type(d[wrong[0]])}")
                    continue
                names[alias.attr] = got.name
                if self._names.get(alias.attr) != got.name:
                    if got.name != alias.contract_name and alias.attr not in self._names:
                        renamed.append(f"{alias.label} {got.name!r} (not {alias.contract_name!r})")
                    self._names[alias.attr] = got.name
        if renamed:
            self._warn("the engine's storage answers name these fields otherwise than the built-in contract says: "
                       f"{', '.join(renamed)}; reading the answers' names")
        return names

    def _wrapper(self, alias: Alias, d: dict[str, Any]) -> str:
        present = kinds_of(d)
        got = pick(alias, present, self._names.get(alias.attr))
        if got.name is None:
            if got.ambiguous:
                raise ShapeError(_unreadable(alias, got.candidates, present, ""))
            raise ShapeError(f"it holds no {alias.label.removeprefix('the ')} tpdeclare can read (looked for "
                             f"{', '.join(map(repr, alias.names))}; the answer has {describe_fields(d)})")
        with self._lock:
            self._names[alias.attr] = got.name
        return got.name


def _unreadable(alias: Alias, candidates: tuple[str, ...], present: dict[str, frozenset[str]], where: str) -> str:
    place = f" in {where}" if where else ""
    if len(candidates) > 1:
        return (f"cannot tell which field{place} is {alias.label}: {', '.join(map(repr, candidates))} all could "
                f"be, and the contract names '{alias.contract_name}'")
    return (f"no field{place} can be read as {alias.label} (looked for {', '.join(map(repr, alias.names))} as "
            f"{alias.kind}; it has {shown_keys(list(present)) or 'no fields'})")
