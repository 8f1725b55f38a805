"""The API contract document (specs/tensorpool-api.json) is sound, and every sandbox answer conforms to it."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sandbox_fixtures import Caller, make_engine
from tpdeclare.resources import spec_path
from tpdeclare.sandbox.contract import load_contract
from tpdeclare.sandbox.engine import Drop, Response

DOC = json.loads(spec_path("tensorpool-api.json").read_text())
SEED = Path("/work/shared/seed/cluster-create-openapi.md")
URI = "urn:test:contract"
METHODS = ("get", "post", "put", "patch", "delete")


# ------------------------------------------------------------------------------------------ a small resolver


def _registry(doc: dict) -> Registry:
    return Registry().with_resource(URI, Resource.from_contents(doc, default_specification=DRAFT202012))


def _follow(doc: dict, node):
    """Follow local $refs of an OpenAPI object; returns (json pointer, resolved node)."""
    pointer = None
    while isinstance(node, dict) and "$ref" in node:
        pointer = node["$ref"]
        assert pointer.startswith("#/"), pointer
        node = doc
        for part in pointer[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return pointer, node


def _validator(doc: dict, pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": URI + pointer}, registry=_registry(doc))


def _response_pointer(doc: dict, template: str, method: str, status: int) -> tuple[str, dict]:
    escaped = template.replace("~", "~0").replace("/", "~1")
    node = doc["paths"][template][method]["responses"][str(status)]
    pointer, resolved = _follow(doc, node)
    return pointer or f"#/paths/{escaped}/{method}/responses/{status}", resolved


def _template(path: str) -> str | None:
    candidates = [t for t in DOC["paths"] if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", t), path)]
    candidates.sort(key=lambda t: t.count("{"))
    return candidates[0] if candidates else None


def _walk(node, path=""):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, path + "/" + key.replace("~", "~0").replace("/", "~1"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


# ------------------------------------------------------------------------------------------ the document


def test_document_is_openapi_31():
    assert DOC["openapi"].startswith("3.1.")
    assert DOC["info"]["title"] and DOC["info"]["version"]
    assert DOC["components"]["securitySchemes"]["HTTPBearer"] == {"type": "http", "scheme": "bearer"}
    for template, item in DOC["paths"].items():
        params = set(re.findall(r"\{([^}]+)\}", template))
        for method, op in item.items():
            assert method in METHODS, (template, method)
            assert op["operationId"] and op["responses"], (template, method)
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == params, (template, method)
            for status in op["responses"]:
                assert re.fullmatch(r"[1-5]\d\d", status), (template, method, status)
    operation_ids = [op["operationId"] for item in DOC["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_documents_the_endpoints_tpdeclare_uses():
    expected = {
        ("/health", "post"), ("/healthz", "get"), ("/cluster/create", "post"),
        ("/request/info/{request_id}", "get"), ("/cluster/list", "get"), ("/cluster/info/{cluster}", "get"),
        ("/cluster/edit/{cluster}", "patch"), ("/cluster/{cluster}", "delete"),
    }
    documented = {(t, m) for t, item in DOC["paths"].items() for m in item}
    assert expected <= documented
    assert {t for t, _ in documented - expected} == {"/_sandbox/stats", "/_sandbox/reset", "/_sandbox/faults"}


@pytest.mark.parametrize("name", sorted(DOC["components"]["schemas"]))
def test_every_component_schema_is_valid_json_schema_2020_12(name):
    Draft202012Validator.check_schema(DOC["components"]["schemas"][name])


def test_inline_schemas_are_valid_and_every_ref_resolves():
    for where, node in _walk(DOC):
        if "$ref" in node:
            _follow(DOC, node)  # raises KeyError if dangling
        if "schema" in node and isinstance(node["schema"], dict):
            Draft202012Validator.check_schema(node["schema"])
            _validator(DOC, "#" + where + "/schema").is_valid(None)  # every nested $ref resolves


@pytest.mark.skipif(not SEED.exists(), reason="the published OpenAPI seed is not in this checkout")
def test_seed_schemas_are_copied_verbatim():
    text = SEED.read_text()
    seed = yaml.safe_load(re.search(r"````yaml[^\n]*\n(.*?)````", text, re.S).group(1))
    for name in ("ClusterCreateRestRequest", "ClusterCreateRestResponse", "HTTPValidationError", "ValidationError"):
        assert DOC["components"]["schemas"][name] == seed["components"]["schemas"][name], name
    create = DOC["paths"]["/cluster/create"]["post"]
    seed_create = seed["paths"]["/cluster/create"]["post"]
    assert create["requestBody"] == seed_create["requestBody"]
    assert create["responses"]["202"] == seed_create["responses"]["202"]
    assert create["responses"]["422"] == seed_create["responses"]["422"]


def test_assumed_shapes_are_marked():
    for name in ("ClusterInfo", "ClusterListResponse", "ClusterInfoResponse", "Error", "HealthzResponse"):
        assert "[assumed]" in DOC["components"]["schemas"][name]["description"], name
    cluster = DOC["components"]["schemas"]["ClusterInfo"]
    assert cluster["required"] == ["cluster_id", "tp_cluster_name", "instance_type", "num_nodes", "container",
                                   "deletion_protection", "status", "instances", "created_at"]


def test_contract_module_matches_paths_like_the_engine():
    contract = load_contract()
    assert contract.path_template("/cluster/list") == "/cluster/list"
    assert contract.path_template("/cluster/c-1") == "/cluster/{cluster}"
    assert contract.path_template("/cluster/edit/c-1") == "/cluster/edit/{cluster}"
    assert contract.path_template("/nope") is None


# ------------------------------------------------------------------------------------------ conformance


class Recorder(Caller):
    def __init__(self, engine):
        super().__init__(engine)
        self.log: list[tuple[str, str, Response]] = []

    def __call__(self, method, target, body=None, **kwargs):
        r = super().__call__(method, target, body, **kwargs)
        assert not isinstance(r, Drop)
        self.log.append((method, target, r))
        return r


def _scripted_session() -> list[tuple[str, str, Response]]:
    engine, clock = make_engine(provision_seconds=10, destroy_seconds=10, balance=30.0, seed=5)
    call = Recorder(engine)
    call("POST", "/health")
    call("POST", "/health", key=None)
    call("GET", "/healthz", key=None)
    call("GET", "/cluster/list")  # empty list

    created = call.create("8xH200", "alpha", num_nodes=1, container="img:1").json()
    cid, rid = created["cluster_id"], created["request_id"]
    call.create("1xH100")  # generated name
    call.create("1xH100", "alpha")  # 400 taken
    call.create("9xZ900", "x")  # 400 unknown type
    call.create("1xH100", "x", num_nodes=2)  # 400 multi-node
    call.create("8xB200", "x", num_nodes=8)  # 402 balance
    call("POST", "/cluster/create", {"num_nodes": "many"})  # 422
    call("POST", "/cluster/create", raw=b"[")  # 422 json
    call("POST", "/cluster/create", {"instance_type": "1xH100"}, key=None)  # 401

    call("GET", f"/request/info/{rid}")  # PENDING
    clock.advance(5)
    call("GET", f"/request/info/{rid}")  # PROCESSING
    call("GET", "/cluster/list?include_org=false")  # PROVISIONING
    clock.advance(3)
    call("GET", f"/cluster/info/{cid}")  # CONFIGURING
    clock.advance(2)
    call("GET", f"/request/info/{rid}")  # COMPLETED
    call("GET", "/request/info/r-nope")  # 404
    call("GET", f"/request/info/{rid}", key=None)  # 401
    call("GET", "/cluster/list?include_org=perhaps")  # 422
    call("GET", "/cluster/list", key=None)  # 401
    call("GET", f"/cluster/info/{cid}")  # RUNNING
    call("GET", "/cluster/info/c-00000000")  # 404
    call("GET", f"/cluster/info/{cid}", key=None)  # 401

    call("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "beta", "deletion_protection": True})  # 202
    call("PATCH", f"/cluster/edit/{cid}", {"cluster_name": ""})  # 400
    call("PATCH", "/cluster/edit/c-00000000", {"cluster_name": "z"})  # 404
    call("PATCH", f"/cluster/edit/{cid}", {"deletion_protection": "sure"})  # 422
    call("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "z"}, key=None)  # 401
    call("DELETE", f"/cluster/{cid}")  # 409 protected
    call("PATCH", f"/cluster/edit/{cid}", {"deletion_protection": False})
    release = call("DELETE", f"/cluster/{cid}").json()["request_id"]  # 202
    call("DELETE", f"/cluster/{cid}")  # 202 again, same request
    call("GET", f"/cluster/info/{cid}")  # DESTROYING
    call("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "q"})  # 409 destroying
    call("GET", f"/request/info/{release}")
    call("DELETE", "/cluster/c-00000000")  # 404
    call("DELETE", f"/cluster/{cid}", key=None)  # 401
    clock.advance(10)
    call("GET", f"/request/info/{release}")  # COMPLETED

    engine.set_faults("provision:failed=1")
    failed = call.create("1xH100", "doomed").json()
    clock.advance(10)
    call("GET", f"/request/info/{failed['request_id']}")  # FAILED
    call("GET", f"/cluster/info/{failed['cluster_id']}")  # FAILED

    requests_by_endpoint = {
        "health": ("POST", "/health", None),
        "healthz": ("GET", "/healthz", None),
        "create": ("POST", "/cluster/create", {"instance_type": "1xH100"}),
        "request_info": ("GET", f"/request/info/{rid}", None),
        "list": ("GET", "/cluster/list", None),
        "info": ("GET", f"/cluster/info/{failed['cluster_id']}", None),
        "edit": ("PATCH", f"/cluster/edit/{failed['cluster_id']}", {"cluster_name": "n"}),
        "delete": ("DELETE", f"/cluster/{failed['cluster_id']}", None),
    }
    for endpoint, (method, target, body) in requests_by_endpoint.items():
        for status in (429, 500, 502, 503, 504):
            engine.set_faults(f"{endpoint}:{status}=1")
            call(method, target, body)
    engine.set_faults(None)

    call("GET", "/_sandbox/stats", key=None)
    call("POST", "/_sandbox/faults", {"spec": "list:latency=0"}, key=None)
    call("POST", "/_sandbox/faults", {"spec": "list:nope=1"}, key=None)
    call("POST", "/_sandbox/reset", key=None)
    call("GET", "/nowhere")
    call("GET", "/cluster/c-00000000")  # 405
    return call.log


def _strict(doc: dict) -> dict:
    """The contract with undeclared top-level properties forbidden (FastAPI's ValidationError items excepted,
    since real FastAPI adds `input`/`ctx`): the sandbox must send exactly the documented fields."""
    strict = copy.deepcopy(doc)
    for name, schema in strict["components"]["schemas"].items():
        if "properties" in schema and name != "ValidationError" and "additionalProperties" not in schema:
            schema["unevaluatedProperties"] = False
    return strict


def test_every_sandbox_answer_conforms_to_the_contract():
    log = _scripted_session()
    strict = _strict(DOC)
    seen: set[tuple[str, str, str]] = set()
    problems = []
    for method, target, r in log:
        path = target.split("?")[0]
        template = _template(path)
        where = f"{method} {target} -> {r.status}"
        assert r.headers.get("Content-Type") == "application/json", where
        body = json.loads(r.body)
        op = DOC["paths"].get(template, {}).get(method.lower()) if template else None
        if op is None:  # no such route: FastAPI's own 404/405 body
            assert r.status in (404, 405), where
            pointers = ["#/components/schemas/Error"]
        else:
            if str(r.status) not in op["responses"]:
                problems.append(f"{where}: status not documented")
                continue
            seen.add((template, method.lower(), str(r.status)))
            pointer, response = _response_pointer(DOC, template, method.lower(), r.status)
            assert "application/json" in response.get("content", {}), f"{where}: no body documented"
            pointers = [pointer + "/content/application~1json/schema"]
            for header, spec in response.get("headers", {}).items():
                _, spec = _follow(DOC, spec)
                if header not in r.headers:
                    problems.append(f"{where}: missing header {header}")
                elif not Draft202012Validator(spec["schema"]).is_valid(r.headers[header]):
                    problems.append(f"{where}: header {header}={r.headers[header]!r} does not match")
        for pointer in pointers:
            for doc, label in ((DOC, "contract"), (strict, "exact fields")):
                for error in _validator(doc, pointer).iter_errors(body):
                    problems.append(f"{where} ({label}): {error.message} at {list(error.absolute_path)}")
    assert not problems, "\n".join(problems)

    documented = {(t, m, s) for t, item in DOC["paths"].items() for m, op in item.items() for s in op["responses"]}
    missing = documented - seen
    assert not missing, f"the scripted session never produced: {sorted(missing)}"
