"""Discovery: the field names an OpenAPI document gives (each sandbox dialect's, and hostile ones), and the
per-engine cache of documents (fresh for a day, revalidated by ETag or content hash; on an injected clock)."""

from __future__ import annotations

import json
import os

import pytest
from tpdeclare.api.discovery import CACHED, FETCHED, REVALIDATED, Discovery, Fetched, map_document
from tpdeclare.api.openapi_cache import MAX_AGE, DocumentCache, cache_directory, content_hash
from tpdeclare.api.openapi_schema import OpenApiDocument, normalise_path
from tpdeclare.sandbox.dialects import parse_dialect
from tpdeclare.sandbox.openapi_doc import served_bytes, served_document

ENGINE = "https://engine.example"


def mapping(dialect: str):
    return map_document(OpenApiDocument(served_document(parse_dialect(dialect))))


# ------------------------------------------------------------------------------------------ documents
EXPECTED = {
    "default": {"clusters": "clusters", "cluster_info": "cluster_info", "cluster_id": "cluster_id",
                "cluster_name": "tp_cluster_name", "num_nodes": "num_nodes", "status": "status",
                "instance_id": "instance_id", "request_status": "status"},
    "aliased": {"clusters": "clusters", "cluster_info": "cluster", "cluster_id": "id", "cluster_name": "name",
                "num_nodes": "node_count", "status": "state", "instance_id": "id", "request_status": "status"},
    "aliased-bare": {"clusters": "clusters", "cluster_info": None, "cluster_id": "id", "cluster_name": "cluster_name",
                     "num_nodes": "nodes", "status": "status", "instance_id": "instance_id"},
    "lowercase": {"cluster_id": "cluster_id", "status": "status"},
}


@pytest.mark.parametrize("dialect", list(EXPECTED))
def test_each_dialects_document_maps_to_its_wire_names(dialect):
    m = mapping(dialect)
    for attr, wire in EXPECTED[dialect].items():
        assert m.names[attr] == wire, attr
    assert m.described == {"list", "info", "cluster", "instance", "request", "edit"}
    assert not m.list_text_only and not m.info_text_only and not m.async_edits
    assert m.unmapped == {}


def test_lowercase_statuses_are_read_from_the_enums():
    assert "running" in mapping("lowercase").statuses["cluster"]
    assert "COMPLETED" in mapping("default").statuses["request"]


def test_an_asynchronous_edit_is_seen_in_the_edit_answer():
    m = mapping("async-edit")
    assert m.async_edits and m.names["edit_request_id"] == "request_id"
    assert mapping("aliased+lowercase+async-edit").async_edits


def test_a_text_only_document_says_the_list_holds_no_clusters():
    m = mapping("text-only")
    assert m.list_text_only and m.info_text_only
    assert "cluster" not in m.described and "cluster_id" not in m.names


def test_a_bare_array_list_and_ambiguous_wrappers():
    doc = {"paths": {"/cluster/list": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
        "type": "array", "items": {"$ref": "#/components/schemas/C"}}}}}}}},
        "/cluster/info/{x}": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
            "type": "object", "properties": {"cluster": {"type": "object"}, "data": {"type": "object"}}}}}}}}}},
        "components": {"schemas": {"C": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "cluster_name": {"type": "string"}}}}}}
    m = map_document(OpenApiDocument(doc))
    assert m.names["clusters"] is None and m.names["cluster_id"] == "id"
    assert m.unmapped["cluster_info"] == "ambiguous: 'cluster' or 'data'"
    assert m.unmapped["cluster_name"] == "ambiguous: 'cluster_name' or 'name'"
    assert m.unmapped["num_nodes"] == "not described"


HOSTILE = [
    {},
    {"paths": []},
    {"paths": {"/cluster/list": "x"}},
    {"paths": {"/cluster/list": {"get": {"responses": []}}}},
    {"paths": {"/cluster/list": {"get": {"responses": {"200": {"$ref": "#/components/responses/A"}}}}},
     "components": {"responses": {"A": {"$ref": "#/components/responses/A"}}}},  # a $ref cycle
    {"paths": {"/cluster/list": {"get": {"responses": {"200": {"$ref": "https://evil.example/doc.json#/x"}}}}}},
    {"paths": {"/cluster/list": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
        "allOf": [{"$ref": "#/components/schemas/S"}]}}}}}}}},
     "components": {"schemas": {"S": {"allOf": [{"$ref": "#/components/schemas/S"}]}}}},  # allOf cycle
    {"paths": {"/cluster/list": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
        "type": "object", "properties": {"clusters": {"type": "array", "items": {"anyOf": "x"}}}}}}}}}}}},
    {"paths": {"/cluster/list": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
        "type": "object", "properties": {"clusters": {"type": ["array", 3]}}}}}}}}}}},
]


@pytest.mark.parametrize("document", HOSTILE)
def test_a_malformed_or_hostile_document_reads_as_not_described(document):
    m = map_document(OpenApiDocument(document))  # must not raise, loop or recurse without end
    assert "cluster" not in m.described


def test_a_deeply_nested_ref_chain_is_bounded():
    schemas = {f"S{i}": {"$ref": f"#/components/schemas/S{i + 1}"} for i in range(100)}
    schemas["S100"] = {"type": "object", "properties": {"clusters": {"type": "array"}}}
    doc = {"paths": {"/cluster/list": {"get": {"responses": {"200": {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/S0"}}}}}}}}, "components": {"schemas": schemas}}
    assert OpenApiDocument(doc).success_schema("GET", "/cluster/list") is None


def test_path_templates_match_whatever_their_parameter_names():
    assert normalise_path("/cluster/info/{cluster}") == normalise_path("/cluster/info/{cluster_id}/")
    assert normalise_path("/cluster/{c}") != normalise_path("/cluster/list")


# ------------------------------------------------------------------------------------------ cache
class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Engine:
    """A scripted GET /openapi.json: counts fetches and the ETags sent."""

    def __init__(self, body: bytes, etag: str | None = None):
        self.body, self.etag, self.asked = body, etag, []

    def __call__(self, etag: str | None) -> Fetched:
        self.asked.append(etag)
        if etag is not None and etag == self.etag:
            return Fetched(304)
        return Fetched(200, self.body, self.etag)


DOC = served_bytes(parse_dialect("aliased"))


def test_a_fresh_document_is_read_from_the_cache_without_asking(tmp_path):
    clock = Clock()
    cache = DocumentCache(tmp_path, clock=clock)
    engine = Engine(DOC)
    first = Discovery(ENGINE, cache).run(engine)
    assert (first.found, first.source, first.sha256) == (True, FETCHED, content_hash(DOC))
    clock.now += MAX_AGE - 1
    again = Discovery(ENGINE, cache).run(engine)
    assert again.source == CACHED and engine.asked == [None]
    assert again.mapping == first.mapping


def test_a_day_old_document_is_revalidated_by_etag(tmp_path):
    clock = Clock()
    cache = DocumentCache(tmp_path, clock=clock)
    engine = Engine(DOC, etag='"v1"')
    Discovery(ENGINE, cache).run(engine)
    clock.now += MAX_AGE
    kept = Discovery(ENGINE, cache).run(engine)
    assert kept.source == REVALIDATED and engine.asked == [None, '"v1"']
    clock.now += 10
    assert Discovery(ENGINE, cache).run(engine).source == CACHED  # the 304 renewed the day


def test_without_an_etag_the_content_hash_decides(tmp_path):
    clock = Clock()
    cache = DocumentCache(tmp_path, clock=clock)
    engine = Engine(DOC)
    Discovery(ENGINE, cache).run(engine)
    clock.now += MAX_AGE + 1
    assert Discovery(ENGINE, cache).run(engine).source == REVALIDATED
    changed = served_bytes(parse_dialect("aliased-bare"))
    clock.now += MAX_AGE + 1
    got = Discovery(ENGINE, cache).run(Engine(changed))
    assert got.source == FETCHED and got.sha256 == content_hash(changed)
    assert got.mapping.names["cluster_info"] is None
    assert cache.load(ENGINE).sha256 == content_hash(changed)


def test_the_cache_file_is_per_engine_and_documented(tmp_path):
    clock = Clock()
    cache = DocumentCache(tmp_path, clock=clock)
    Discovery(ENGINE, cache).run(Engine(DOC, etag='"e"'))
    Discovery("https://other.example", cache).run(Engine(served_bytes(parse_dialect("default"))))
    assert len(list(tmp_path.glob("*.json"))) == 2
    data = json.loads(cache.path(ENGINE).read_text())
    assert set(data) == {"format_version", "engine", "fetched_at", "etag", "sha256", "document"}
    assert (data["format_version"], data["engine"], data["fetched_at"], data["etag"]) == (1, ENGINE, clock.now, '"e"')
    assert data["document"] == json.loads(DOC)
    assert cache.path(ENGINE).name == content_hash(ENGINE.encode())[:32] + ".json"


@pytest.mark.parametrize("damage", [
    lambda text: "not json",
    lambda text: json.dumps({**json.loads(text), "format_version": 99}),
    lambda text: json.dumps({**json.loads(text), "engine": "https://elsewhere.example"}),
    lambda text: json.dumps({**json.loads(text), "fetched_at": "yesterday"}),
    lambda text: json.dumps({**json.loads(text), "fetched_at": 1_800_000_000.0 + 10 * 86400}),  # from the future
    lambda text: json.dumps({**json.loads(text), "document": []}),
    lambda text: json.dumps({**json.loads(text), "etag": 5}),
])
def test_an_untrustworthy_cache_entry_is_ignored_and_replaced(tmp_path, damage):
    cache = DocumentCache(tmp_path, clock=Clock())
    Discovery(ENGINE, cache).run(Engine(DOC))
    path = cache.path(ENGINE)
    path.write_text(damage(path.read_text()))
    engine = Engine(DOC)
    assert Discovery(ENGINE, cache).run(engine).source == FETCHED and engine.asked == [None]
    assert cache.load(ENGINE) is not None


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = DocumentCache(blocker / "openapi", clock=Clock())
    assert Discovery(ENGINE, cache).run(Engine(DOC)).found
    assert cache.load(ENGINE) is None


@pytest.mark.parametrize("fetched,reason", [
    (Fetched(404, missing="GET /openapi.json answered HTTP 404"), "GET /openapi.json answered HTTP 404"),
    (Fetched(200, b"<html>docs</html>"), "the answer is not JSON"),
    (Fetched(200, b'{"openapi": "3.1.0"}'), "the answer is not an OpenAPI document (no `paths`)"),
    (Fetched(200, b"[1, 2]"), "the answer is not an OpenAPI document (no `paths`)"),
])
def test_no_document_means_the_built_in_contract(tmp_path, fetched, reason):
    got = Discovery(ENGINE, DocumentCache(tmp_path, clock=Clock())).run(lambda etag: fetched)
    assert (got.found, got.reason, got.mapping) == (False, reason, None)
    assert list(tmp_path.iterdir()) == []


def test_without_a_cache_every_run_fetches():
    engine = Engine(DOC)
    Discovery(ENGINE, None).run(engine)
    Discovery(ENGINE, None).run(engine)
    assert engine.asked == [None, None]


@pytest.mark.parametrize("env,expected", [
    ({"XDG_CACHE_HOME": "/var/cache/me", "HOME": "/home/u"}, "/var/cache/me/tpdeclare/openapi"),
    ({"XDG_CACHE_HOME": "relative/dir", "HOME": "/home/u"}, "/home/u/.cache/tpdeclare/openapi"),
    ({"XDG_CACHE_HOME": "", "HOME": "/home/u"}, "/home/u/.cache/tpdeclare/openapi"),
    ({"HOME": "/home/u"}, "/home/u/.cache/tpdeclare/openapi"),
])
def test_the_cache_directory_follows_xdg(env, expected):
    assert str(cache_directory(env)) == expected.replace("/", os.sep)
