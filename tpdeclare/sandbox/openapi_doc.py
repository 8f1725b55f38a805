"""The OpenAPI document the sandbox serves at GET /openapi.json: its contract, reshaped to the dialect it speaks.

FastAPI serves the document of the routes it includes, with the component schemas they reference.
So: the `/_sandbox/` control paths and `/openapi.json` itself are left out, as are the contract's
`x-provenance` marks (tpdeclare's own bookkeeping, not something an engine says); each dialect's
renamed fields, wrappers, status words and edit answers replace the contract's; and component schemas
nothing references any more are pruned.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from tpdeclare.resources import load_spec_json
from tpdeclare.sandbox.contract import CONTRACT_FILE
from tpdeclare.sandbox.dialects import BARE, Dialect
from tpdeclare.sandbox.world import JsonDict

SANDBOX_PREFIX = "/_sandbox/"
OWN_PATH = "/openapi.json"  # FastAPI does not list the document's own route in it


def _strip_marks(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_marks(v) for k, v in node.items() if not k.startswith("x-provenance")}
    if isinstance(node, list):
        return [_strip_marks(v) for v in node]
    return node


def _renamed(schema: JsonDict, renames: tuple[tuple[str, str], ...]) -> JsonDict:
    mapping = dict(renames)
    out = dict(schema)
    out["properties"] = {mapping.get(k, k): v for k, v in schema["properties"].items()}
    out["required"] = [mapping.get(k, k) for k in schema["required"]]
    return out


def _lowercase_enum(schema: JsonDict, prop: str) -> None:
    field = schema["properties"][prop]
    field["enum"] = [word.lower() for word in field["enum"]]
    field["description"] = field.get("description", "") + " Spelt in lower case by this engine."


def _message_only(title: str, what: str) -> JsonDict:
    return {"title": title, "type": "object", "description": f"{what}: only a readable text table.",
            "properties": {"message": {"type": "string"}}, "required": ["message"]}


def _reshape(schemas: JsonDict, dialect: Dialect) -> None:
    if dialect.lowercase_statuses:
        _lowercase_enum(schemas["ClusterInfo"], "status")
        _lowercase_enum(schemas["RequestInfo"], "status")
        _lowercase_enum(schemas["StorageInfo"], "status")
    if dialect.volume_fields:
        schemas["StorageInfo"] = _renamed(schemas["StorageInfo"], dialect.volume_fields)
    _reshape_answers(schemas, "Storage", dialect.storage_wrapper, dialect.text_only, ("volume", "volumes"))
    if dialect.instance_fields:
        schemas["InstanceInfo"] = _renamed(schemas["InstanceInfo"], dialect.instance_fields)
    if dialect.cluster_fields:
        schemas["ClusterInfo"] = _renamed(schemas["ClusterInfo"], dialect.cluster_fields)
    _reshape_answers(schemas, "Cluster", dialect.info_wrapper, dialect.text_only, ("cluster", "clusters"))
    if dialect.async_edits:
        schemas["ClusterEditResponse"] = {
            "title": "ClusterEditResponse", "type": "object",
            "description": "The edit is accepted as a CLUSTER_EDIT request; it takes effect when the request "
                           "completes. Poll `GET /request/info/{request_id}`.",
            "properties": {"cluster_id": {"type": "string"}, "request_id": {"type": "string"},
                           "message": {"type": "string"}},
            "required": ["cluster_id", "request_id", "message"],
        }


def _reshape_answers(schemas: JsonDict, kind: str, wrapper: str | None, text_only: bool,
                     nouns: tuple[str, str]) -> None:
    """`{kind}InfoResponse` and `{kind}ListResponse` as the dialect sends them: the info wrapper (bare, or
    another name than the contract's `{kind.lower()}_info`), or only a text `message`."""
    own, info = schemas[f"{kind}Info"], schemas[f"{kind}InfoResponse"]
    one, many = nouns
    contract_wrapper = f"{kind.lower()}_info"
    if wrapper is BARE:
        info["properties"] = {**own["properties"], "message": {"type": "string"}}
        info["required"] = [*own["required"], "message"]
        info["description"] = f"The {one}'s own fields, and a readable text `message`."
    elif wrapper != contract_wrapper:
        info["properties"] = {wrapper: info["properties"][contract_wrapper], "message": info["properties"]["message"]}
        info["required"] = [wrapper, "message"]
        info["description"] = f"`{wrapper}` and a readable text `message`."
    if text_only:
        schemas[f"{kind}ListResponse"] = _message_only(f"{kind}ListResponse", f"The {many}")
        schemas[f"{kind}InfoResponse"] = _message_only(f"{kind}InfoResponse", f"The {one}")


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _prune(doc: JsonDict) -> None:
    """Drop component schemas and responses that nothing reachable from the paths references."""
    components = doc["components"]
    reachable: set[str] = set()
    frontier = _refs(doc["paths"])
    while frontier:
        ref = frontier.pop()
        if ref in reachable:
            continue
        reachable.add(ref)
        _, _, kind, name = ref.split("/", 3)
        frontier |= _refs(components[kind][name])
    for kind in ("schemas", "responses", "headers"):
        for name in list(components.get(kind, {})):
            if f"#/components/{kind}/{name}" not in reachable:
                del components[kind][name]


@functools.lru_cache(maxsize=32)
def _document(dialect: Dialect) -> JsonDict:
    doc: JsonDict = _strip_marks(copy.deepcopy(load_spec_json(CONTRACT_FILE)))
    doc["paths"] = {path: item for path, item in doc["paths"].items()
                    if not path.startswith(SANDBOX_PREFIX) and path != OWN_PATH}
    doc["tags"] = [tag for tag in doc.get("tags", []) if tag["name"] != "sandbox-only"]
    doc["info"]["x-sandbox-dialect"] = dialect.name
    doc["info"]["description"] += f" Served by the tpdeclare sandbox in the `{dialect.name}` dialect."
    _reshape(doc["components"]["schemas"], dialect)
    _prune(doc)
    return doc


def served_document(dialect: Dialect) -> JsonDict:
    """The OpenAPI document for `dialect` (a fresh copy: callers may change it)."""
    doc: JsonDict = copy.deepcopy(_document(dialect))
    return doc


@functools.lru_cache(maxsize=32)
def served_bytes(dialect: Dialect) -> bytes:
    """The document for `dialect` as the body of GET /openapi.json."""
    return json.dumps(_document(dialect)).encode()
