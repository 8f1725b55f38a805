"""Discovery: read the engine's `GET /openapi.json` (cached), and map the fields tpdeclare needs from it.

`map_document` reads the answers of list, info, request info and edit from a document and names, for
each field tpdeclare reads, the wire name the document gives (through the alias table of
`field_aliases`). Fields the document does not describe keep the built-in contract's names. Nothing here
is trusted blindly: `FieldMap` checks every proposal against the first real answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import field
from typing import Any

from tpdeclare.api import vocabulary as v
from tpdeclare.api.field_aliases import GROUPS, INFO_WRAPPER, LIST_WRAPPER, pick
from tpdeclare.api.openapi_cache import CachedDocument, DocumentCache, content_hash
from tpdeclare.api.openapi_schema import OpenApiDocument
from tpdeclare.frozen_values import frozen

FETCHED = "fetched"  # read from the engine this run
CACHED = "cache"  # the cached copy, younger than a day
REVALIDATED = "revalidated"  # the cached copy, which the engine said is unchanged (304, or the same hash)


@frozen
class Fetched:
    """One `GET /openapi.json`: the status and body, or `missing` saying why there is no document."""

    status: int | None
    body: bytes = b""
    etag: str | None = None
    missing: str | None = None


@frozen
class DocumentMapping:
    """What a document says about the answers tpdeclare reads."""

    names: dict[str, str | None]  # ResponseFields attribute -> the wire name the document gives
    unmapped: dict[str, str]  # attribute -> why the document gives none (in an answer it describes)
    described: frozenset[str]  # the answers it describes: list, info, cluster, instance, request, edit
    list_text_only: bool  # its list answer holds no array of clusters
    info_text_only: bool
    async_edits: bool  # its edit answer carries a request ID to poll
    statuses: dict[str, tuple[str, ...]] = field(default_factory=dict)  # cluster / request -> enum words
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group -> every property it describes


@frozen
class Discovered:
    """The outcome of discovery for one run."""

    found: bool
    source: str | None = None  # FETCHED, CACHED or REVALIDATED
    sha256: str | None = None
    etag: str | None = None
    reason: str | None = None  # why no document was found
    mapping: DocumentMapping | None = None
    document: OpenApiDocument | None = None


NOT_LOOKED = Discovered(found=False, reason="not looked for")


class Discovery:
    """Finds one engine's document: from the cache while it is fresh, else from the engine."""

    def __init__(self, engine: str, cache: DocumentCache | None):
        self.engine = engine
        self.cache = cache

    def run(self, fetch: Callable[[str | None], Fetched]) -> Discovered:
        """`fetch(etag)` reads GET /openapi.json (conditionally when given an ETag)."""
        entry = self.cache.load(self.engine) if self.cache is not None else None
        if entry is not None and self.cache is not None and self.cache.is_fresh(entry):
            return _from(entry.document, CACHED, entry.sha256, entry.etag)
        got = fetch(entry.etag if entry is not None else None)
        if got.status == 304 and entry is not None:
            return self._keep(entry, entry.document, entry.sha256, entry.etag)
        if got.missing is not None:
            return Discovered(found=False, reason=got.missing)
        document = _decode(got.body)
        if isinstance(document, str):
            return Discovered(found=False, reason=document)
        digest = content_hash(got.body)
        if entry is not None and entry.sha256 == digest:
            return self._keep(entry, document, digest, got.etag)
        if self.cache is not None:
            self.cache.save(self.engine, document, sha256=digest, etag=got.etag)
        return _from(document, FETCHED, digest, got.etag)

    def _keep(self, entry: CachedDocument, document: dict[str, Any], digest: str, etag: str | None) -> Discovered:
        assert self.cache is not None
        self.cache.save(self.engine, document, sha256=digest, etag=etag or entry.etag)
        return _from(document, REVALIDATED, digest, etag or entry.etag)


def _decode(body: bytes) -> dict[str, Any] | str:
    """The document, or why the body is not one."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return "the answer is not JSON"
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        return "the answer is not an OpenAPI document (no `paths`)"
    return document


def _from(document: dict[str, Any], source: str, digest: str, etag: str | None) -> Discovered:
    doc = OpenApiDocument(document)
    return Discovered(found=True, source=source, sha256=digest, etag=etag, mapping=map_document(doc), document=doc)


def map_document(doc: OpenApiDocument) -> DocumentMapping:
    """The wire names a document gives for the fields tpdeclare reads."""
    names: dict[str, str | None] = {}
    unmapped: dict[str, str] = {}
    described: set[str] = set()
    cluster_schema = None
    list_text = info_text = False
    list_schema = doc.success_schema("GET", v.PATH_CLUSTER_LIST)
    if list_schema is not None:
        described.add("list")
        if "array" in doc.kinds(list_schema):
            names[LIST_WRAPPER.attr] = None
            cluster_schema = doc.items_schema(list_schema)
        else:
            got = pick(LIST_WRAPPER, doc.properties(list_schema))
            if got.name is not None:
                names[LIST_WRAPPER.attr] = got.name
                cluster_schema = doc.items_schema(doc.property_schema(list_schema, got.name))
            elif got.ambiguous:
                unmapped[LIST_WRAPPER.attr] = _ambiguous(got.candidates)
            else:
                list_text = True
    info_schema = doc.success_schema("GET", v.PATH_CLUSTER_INFO)
    if info_schema is not None:
        described.add("info")
        props = doc.properties(info_schema)
        got = pick(INFO_WRAPPER, props)
        info_cluster = None
        if got.name is not None:
            names[INFO_WRAPPER.attr] = got.name
            info_cluster = doc.property_schema(info_schema, got.name)
        elif pick(GROUPS["cluster"][0], props).name is not None:
            names[INFO_WRAPPER.attr] = None
            info_cluster = info_schema
        elif got.ambiguous:
            unmapped[INFO_WRAPPER.attr] = _ambiguous(got.candidates)
        else:
            info_text = True
        cluster_schema = cluster_schema or info_cluster
    statuses: dict[str, tuple[str, ...]] = {}
    fields: dict[str, tuple[str, ...]] = {}
    if doc.properties(cluster_schema):
        assert cluster_schema is not None
        described.add("cluster")
        fields["cluster"] = _map_group(doc, "cluster", cluster_schema, names, unmapped)
        statuses["cluster"] = doc.enum_words(cluster_schema, names.get("status") or "status")
        instance_schema = doc.items_schema(doc.property_schema(cluster_schema, names.get("instances") or "instances"))
        if doc.properties(instance_schema):
            assert instance_schema is not None
            described.add("instance")
            fields["instance"] = _map_group(doc, "instance", instance_schema, names, unmapped)
    request_schema = doc.success_schema("GET", v.PATH_REQUEST_INFO)
    if doc.properties(request_schema):
        assert request_schema is not None
        described.add("request")
        fields["request"] = _map_group(doc, "request", request_schema, names, unmapped)
        statuses["request"] = doc.enum_words(request_schema, names.get("request_status") or "status")
    edit_schema = doc.success_schema("PATCH", v.PATH_CLUSTER_EDIT)
    if doc.properties(edit_schema):
        assert edit_schema is not None
        described.add("edit")
        fields["edit"] = _map_group(doc, "edit", edit_schema, names, unmapped)
    return DocumentMapping(names=names, unmapped=unmapped, described=frozenset(described), list_text_only=list_text,
                           info_text_only=info_text, async_edits="edit_request_id" in names, statuses=statuses,
                           fields=fields)


def _map_group(doc: OpenApiDocument, group: str, schema: dict[str, Any], names: dict[str, str | None],
               unmapped: dict[str, str]) -> tuple[str, ...]:
    """Map one group's fields from its schema; returns every property the schema describes."""
    props = doc.properties(schema)
    for alias in GROUPS[group]:
        got = pick(alias, props)
        if got.name is not None:
            names[alias.attr] = got.name
        elif got.ambiguous:
            unmapped[alias.attr] = _ambiguous(got.candidates)
        elif alias.required:
            unmapped[alias.attr] = "not described"
    return tuple(props)


def _ambiguous(candidates: tuple[str, ...]) -> str:
    return "ambiguous: " + " or ".join(repr(c) for c in candidates)
