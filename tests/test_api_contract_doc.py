"""The API contract document (specs/tensorpool-api.json) is sound, and every sandbox answer conforms to it."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from tpdeclare.resources import spec_path
from tpdeclare.sandbox.contract import load_contract
from tpdeclare.sandbox.dialects import PRESETS, parse_dialect
from tpdeclare.sandbox.engine import Drop
from tpdeclare.sandbox.openapi_doc import served_document

from e2e_helpers import TEST_KEY, ServedSandbox
from sandbox_fixtures import KEY, Caller, FakeClock, make_engine, served_sandbox

DOC = json.loads(spec_path("tensorpool-api.json").read_text())
# The published create endpoint, as `shared/` (beside the repository) holds it. CI runs in a fresh clone
# with a copy of `shared/` next to it, so the path is found from this file, never from a fixed place.
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "cluster-create-openapi.md"
URI = "urn:test:contract"
METHODS = ("get", "post", "put", "patch", "delete")
PROVENANCE = {"published", "official-cli", "assumed", "sandbox-only"}


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


def _unmarked(node):
    """The document without its `x-provenance` marks (what the published copies are compared with)."""
    if isinstance(node, dict):
        return {k: _unmarked(v) for k, v in node.items() if k != "x-provenance"}
    if isinstance(node, list):
        return [_unmarked(v) for v in node]
    return node


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
        ("/cluster/edit/{cluster}", "patch"), ("/cluster/{cluster}", "delete"), ("/ssh/{instance_id}", "get"),
    }
    expected |= {("/storage/create", "post"), ("/storage/list", "get"), ("/storage/info/{storage_id}", "get"),
                 ("/storage/edit/{storage_id}", "patch"), ("/storage/{storage_id}", "delete"),
                 ("/storage/attach", "post"), ("/storage/detach", "post")}
    documented = {(t, m) for t, item in DOC["paths"].items() for m in item}
    assert expected <= documented
    assert {t for t, _ in documented - expected} == {"/openapi.json", "/_sandbox/stats", "/_sandbox/log",
                                                     "/_sandbox/reset", "/_sandbox/faults"}


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


# A verbatim copy of the published OpenAPI for POST /cluster/create (shared/seed/cluster-create-openapi.md,
# from https://engine.tensorpool.dev/openapi.json): what the contract is checked against when the seed
# file is not beside the repository, and itself checked against the seed file when it is.
PUBLISHED_CREATE_OPENAPI = """
paths:
  /cluster/create:
    post:
      tags:
        - cluster
      summary: Create cluster
      description: >-
        Provision a GPU cluster. Poll `GET /request/info/{request_id}` to track
        progress.
      operationId: cluster_create_cluster_create_post
      requestBody:
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/ClusterCreateRestRequest'
        required: true
      responses:
        '202':
          description: Cluster creation initiated
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/ClusterCreateRestResponse'
        '400':
          description: Invalid parameters or cluster name conflict
        '402':
          description: Insufficient balance
        '422':
          description: Validation Error
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/HTTPValidationError'
        '500':
          description: Internal server error
      security:
        - HTTPBearer: []
components:
  schemas:
    ClusterCreateRestRequest:
      properties:
        instance_type:
          type: string
          title: Instance Type
          description: >-
            GPU instance type (e.g., '1xH100', '8xH100', '1xH200', '8xH200',
            '8xB200'). See https://docs.tensorpool.dev/resources/instance-types
        public_keys:
          anyOf:
            - items:
                type: string
              type: array
            - type: 'null'
          title: Public Keys
          description: >-
            SSH public keys to add to cluster nodes. Combined with user and org
            saved keys.
          default: []
        num_nodes:
          anyOf:
            - type: integer
              minimum: 1
            - type: 'null'
          title: Num Nodes
          description: Number of nodes in the cluster
          default: 1
        tp_cluster_name:
          anyOf:
            - type: string
            - type: 'null'
          title: Tp Cluster Name
          description: Custom name for the cluster
        container:
          anyOf:
            - type: string
            - type: 'null'
          title: Container
          description: Container image for cluster instances
        deletion_protection:
          anyOf:
            - type: boolean
            - type: 'null'
          title: Deletion Protection
          description: Enable deletion protection
          default: false
        save_keys:
          type: boolean
          title: Save Keys
          description: Save new SSH keys to user profile
          default: true
      type: object
      required:
        - instance_type
      title: ClusterCreateRestRequest
      description: Request body for POST /cluster/create.
    ClusterCreateRestResponse:
      properties:
        cluster_id:
          type: string
          title: Cluster Id
          description: TensorPool cluster ID
        instance_ids:
          items:
            type: string
          type: array
          title: Instance Ids
          description: List of instance IDs
        request_id:
          anyOf:
            - type: string
            - type: 'null'
          title: Request Id
          description: Request ID for tracking
        message:
          type: string
          title: Message
          description: Status message
      type: object
      required:
        - cluster_id
        - message
      title: ClusterCreateRestResponse
      description: Response for POST /cluster/create.
    HTTPValidationError:
      properties:
        detail:
          items:
            $ref: '#/components/schemas/ValidationError'
          type: array
          title: Detail
      type: object
      title: HTTPValidationError
    ValidationError:
      properties:
        loc:
          items:
            anyOf:
              - type: string
              - type: integer
          type: array
          title: Location
        msg:
          type: string
          title: Message
        type:
          type: string
          title: Error Type
      type: object
      required:
        - loc
        - msg
        - type
      title: ValidationError
  securitySchemes:
    HTTPBearer:
      type: http
      scheme: bearer
"""
SEED_SCHEMAS = ("ClusterCreateRestRequest", "ClusterCreateRestResponse", "HTTPValidationError", "ValidationError")


def _seed_file_openapi() -> dict:
    text = SEED.read_text()
    return yaml.safe_load(re.search(r"````yaml[^\n]*\n(.*?)````", text, re.S).group(1))


def _published_copies() -> list[tuple[str, dict]]:
    """The published create OpenAPI: the embedded copy, plus the seed file when it is beside the repo."""
    copies = [("the embedded copy", yaml.safe_load(PUBLISHED_CREATE_OPENAPI))]
    if SEED.exists():
        copies.append((str(SEED), _seed_file_openapi()))
    return copies


def test_embedded_copy_matches_the_seed_file_when_present():
    embedded = yaml.safe_load(PUBLISHED_CREATE_OPENAPI)
    if not SEED.exists():  # nothing to compare with here; the contract is still checked against the copy
        assert set(SEED_SCHEMAS) <= set(embedded["components"]["schemas"])
        return
    seed = _seed_file_openapi()
    assert embedded["paths"] == seed["paths"]
    assert embedded["components"] == seed["components"]


def test_seed_schemas_are_copied_verbatim():
    doc = _unmarked(DOC)
    for label, seed in _published_copies():
        for name in SEED_SCHEMAS:
            assert doc["components"]["schemas"][name] == seed["components"]["schemas"][name], (label, name)
        create = doc["paths"]["/cluster/create"]["post"]
        seed_create = seed["paths"]["/cluster/create"]["post"]
        assert create["requestBody"] == seed_create["requestBody"], label
        assert create["responses"]["202"] == seed_create["responses"]["202"], label
        assert create["responses"]["422"] == seed_create["responses"]["422"], label
        assert create["operationId"] == seed_create["operationId"], label
        assert doc["components"]["securitySchemes"]["HTTPBearer"] == seed["components"]["securitySchemes"]["HTTPBearer"]


def test_assumed_shapes_are_marked():
    for name in ("ClusterInfo", "ClusterListResponse", "ClusterInfoResponse", "Error", "HealthzResponse"):
        assert "[assumed]" in DOC["components"]["schemas"][name]["description"], name
    cluster = DOC["components"]["schemas"]["ClusterInfo"]
    assert cluster["required"] == ["cluster_id", "tp_cluster_name", "instance_type", "num_nodes", "container",
                                   "deletion_protection", "status", "instances", "created_at"]


# ------------------------------------------------------------------------------------------ provenance

# Where each thing comes from, as ../shared/tensorpool-api.md says it ([doc] published, [cli] official CLI,
# [3p] and [assumed] assumed). The file must agree with this table; the table with the md file when present.
EXPECTED_PROVENANCE = {
    ("operation", "/health", "post"): "official-cli",
    ("operation", "/healthz", "get"): "published",
    ("operation", "/openapi.json", "get"): "published",
    ("operation", "/cluster/create", "post"): "published",
    ("operation", "/request/info/{request_id}", "get"): "published",
    ("operation", "/cluster/list", "get"): "official-cli",
    ("operation", "/cluster/info/{cluster}", "get"): "official-cli",
    ("operation", "/cluster/edit/{cluster}", "patch"): "published",
    ("operation", "/cluster/{cluster}", "delete"): "published",
    ("operation", "/ssh/{instance_id}", "get"): "official-cli",
    **{("field", "SshCommandResponse", f): "official-cli" for f in ("command", "message")},
    **{("field", "InstanceInfo", f): "assumed" for f in ("public_ip", "private_ip")},
    ("response", "/ssh/{instance_id}", "200"): "official-cli",
    ("response", "/ssh/{instance_id}", "404"): "assumed",
    ("response", "/ssh/{instance_id}", "409"): "assumed",
    **{("field", "ClusterCreateRestRequest", f): "published" for f in (
        "instance_type", "public_keys", "num_nodes", "tp_cluster_name", "container", "deletion_protection",
        "save_keys")},
    **{("field", "ClusterCreateRestResponse", f): "published" for f in ("cluster_id", "instance_ids", "request_id",
                                                                         "message")},
    **{("field", "RequestInfo", f): "published" for f in ("request_id", "request_type", "status", "created_at",
                                                           "object_id", "external_message")},
    **{("field", "ClusterInfo", f): "assumed" for f in ("cluster_id", "tp_cluster_name", "instance_type", "num_nodes",
                                                         "container", "deletion_protection", "status", "instances",
                                                         "created_at")},
    **{("field", "InstanceInfo", f): "assumed" for f in ("instance_id", "status")},
    ("field", "ClusterListResponse", "message"): "official-cli",
    ("field", "ClusterListResponse", "clusters"): "assumed",
    ("field", "ClusterInfoResponse", "message"): "official-cli",
    ("field", "ClusterInfoResponse", "cluster_info"): "assumed",
    ("field", "ClusterEditRequest", "cluster_name"): "published",
    ("field", "ClusterEditRequest", "deletion_protection"): "published",
    ("field", "ClusterEditResponse", "message"): "published",
    **{("field", "ClusterDeleteResponse", f): "published" for f in ("cluster_id", "request_id", "message")},
    ("field", "HealthResponse", "message"): "official-cli",
    ("field", "HealthzResponse", "status"): "assumed",
    **{("field", "Error", f): "official-cli" for f in ("message", "error", "external_message", "detail")},
    ("response", "/cluster/{cluster}", "409"): "assumed",
    ("response", "/cluster/edit/{cluster}", "409"): "assumed",
    ("response", "/cluster/create", "202"): "published",
    ("response", "/cluster/create", "402"): "published",
    # [cli] the storage endpoints as the official CLI sends them; their list/info shapes are assumed
    **{("operation", t, m): "official-cli" for t, m in (
        ("/storage/create", "post"), ("/storage/list", "get"), ("/storage/info/{storage_id}", "get"),
        ("/storage/edit/{storage_id}", "patch"), ("/storage/{storage_id}", "delete"), ("/storage/attach", "post"),
        ("/storage/detach", "post"))},
    **{("field", "StorageCreateRequest", f): "official-cli" for f in ("size", "name", "deletion_protection")},
    **{("field", "StorageEditRequest", f): "official-cli" for f in ("tp_storage_name", "deletion_protection",
                                                                      "size_gb")},
    **{("field", "StorageInfo", f): "assumed" for f in ("storage_id", "tp_storage_name", "size_gb", "status",
                                                         "cluster_ids")},
    ("field", "StorageAttachResponse", "request_ids"): "official-cli",
    ("field", "StorageListResponse", "volumes"): "assumed",
    ("field", "StorageListResponse", "message"): "official-cli",
}
SHARED_API_MD = SEED.parents[1] / "tensorpool-api.md"


def _provenance_sites(doc: dict):
    """(where, node) for everything that must say its provenance: operations, parameters, inline responses,
    component responses and headers, and every property of every schema in components (nested ones too)."""
    for template, item in doc["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {template}", op
            for param in op.get("parameters", []):
                yield f"{method.upper()} {template} parameter {param['name']}", param
            for status, response in op["responses"].items():
                if "$ref" not in response:
                    yield f"{method.upper()} {template} -> {status}", response
    for kind in ("responses", "headers"):
        for name, node in doc["components"][kind].items():
            yield f"components/{kind}/{name}", node
    for where, node in _walk(doc["components"]["schemas"], "components/schemas"):
        for name, prop in node.get("properties", {}).items():
            if isinstance(prop, dict):
                yield f"{where}/properties/{name}", prop


def test_every_operation_response_and_field_says_its_provenance():
    problems = [f"{where}: x-provenance {node.get('x-provenance')!r}" for where, node in _provenance_sites(DOC)
                if node.get("x-provenance") not in PROVENANCE]
    assert not problems, "\n".join(problems)
    assert len(list(_provenance_sites(DOC))) > 130  # the walk really visits the document


def test_provenance_matches_what_is_known():
    schemas = DOC["components"]["schemas"]
    for (kind, a, b), expected in EXPECTED_PROVENANCE.items():
        if kind == "operation":
            node = DOC["paths"][a][b]
        elif kind == "field":
            node = schemas[a]["properties"][b]
        else:
            node = next(op for op in DOC["paths"][a].values())["responses"][b]
        assert node["x-provenance"] == expected, (kind, a, b)
    for where, node in _provenance_sites(DOC):
        if node.get("description", "").startswith("[assumed]"):
            assert node["x-provenance"] == "assumed", where
        if where.startswith(("GET /_sandbox", "POST /_sandbox")) or "/Sandbox" in where:
            assert node["x-provenance"] == "sandbox-only", where
    for name, schema in schemas.items():  # every schema the published create endpoint names is published
        if name in SEED_SCHEMAS:
            assert {p["x-provenance"] for p in schema["properties"].values()} == {"published"}, name


def test_provenance_table_agrees_with_the_shared_api_notes_when_present():
    if not SHARED_API_MD.exists():  # CI has shared/ beside the clone; the table above is still checked
        return
    rows = re.findall(r"^\| `(GET|POST|PATCH|DELETE) (/[^`]*)` \|.*\| ([^|]+) \|$", SHARED_API_MD.read_text(), re.M)
    assert len(rows) >= 6
    first_word = {"doc": "published", "cli": "official-cli"}
    for method, path, sure in rows:
        template = re.sub(r"\{[^}]+\}", lambda m: m.group(0), path.split("?")[0])
        op = DOC["paths"].get(template, {}).get(method.lower())
        if op is None:  # storage endpoints and the like: not (yet) in the contract
            continue
        word = sure.strip().split(",")[0].split()[0]
        assert op["x-provenance"] == first_word.get(word, op["x-provenance"]), (method, path, sure)


def test_contract_module_matches_paths_like_the_engine():
    contract = load_contract()
    assert contract.path_template("/cluster/list") == "/cluster/list"
    assert contract.path_template("/cluster/c-1") == "/cluster/{cluster}"
    assert contract.path_template("/cluster/edit/c-1") == "/cluster/edit/{cluster}"
    assert contract.path_template("/nope") is None


# ------------------------------------------------------------------------------------------ conformance


DEFAULT_KEY = object()


@dataclass
class Exchange:
    """One request and the answer the sandbox gave it, as a client saw it."""

    method: str
    target: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Driver:
    """Sends the scripted session's requests one way (subclasses) and records every exchange."""

    def __init__(self, key: str, advance: Callable[[float], None], set_faults: Callable[[str | None], None]):
        self.key = key
        self.advance = advance  # let `seconds` of the sandbox's time pass
        self.set_faults = set_faults
        self.log: list[Exchange] = []

    def __call__(self, method, target, body=None, *, raw: bytes | None = None, key=DEFAULT_KEY) -> Exchange:
        key = self.key if key is DEFAULT_KEY else key
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        if data:
            headers["Content-Type"] = "application/json"
        exchange = self._send(method, target, headers, data)
        self.log.append(exchange)
        return exchange

    def create(self, instance_type: str = "1xH100", name: str | None = None, **fields) -> Exchange:
        body = {"instance_type": instance_type, **fields}
        if name is not None:
            body["tp_cluster_name"] = name
        return self("POST", "/cluster/create", body)

    def _send(self, method, target, headers, data) -> Exchange:  # pragma: no cover - interface
        raise NotImplementedError


class EngineDriver(Driver):
    """Engine.handle called directly, on a fake clock."""

    def __init__(self, engine, clock: FakeClock):
        super().__init__(KEY, clock.advance, engine.set_faults)
        self.caller = Caller(engine)

    def _send(self, method, target, headers, data) -> Exchange:
        r = self.caller.engine.handle(method, target, headers, data)
        assert not isinstance(r, Drop)
        return Exchange(method, target, r.status, r.headers, r.body)


class HttpDriver(Driver):
    """Real HTTP to a sandbox on 127.0.0.1 (no proxies, no ~/.netrc: only what the script sends)."""

    def __init__(self, base_url: str, key: str, advance, set_faults):
        super().__init__(key, advance, set_faults)
        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False

    def _send(self, method, target, headers, data) -> Exchange:
        r = self.session.request(method, self.base_url + target, headers=headers, data=data or None,
                                 timeout=10, allow_redirects=False)
        return Exchange(method, target, r.status_code, r.headers, r.content)


ENGINE_OPTIONS = {"provision_seconds": 10, "destroy_seconds": 10, "edit_seconds": 4, "balance": 30.0, "seed": 5}


def _run_script(transport: str, dialect: str = "default") -> list[Exchange]:
    """The scripted session over one transport: the engine itself, the engine served over HTTP in this
    process (fake clock), or `tpdeclare sandbox serve` in a subprocess (real clock, times scaled down)."""
    if transport == "engine":
        engine, clock = make_engine(dialect=dialect, **ENGINE_OPTIONS)
        driver = EngineDriver(engine, clock)
        _scripted_session(driver)
        return driver.log
    if transport == "http":
        clock = FakeClock()
        with served_sandbox(clock=clock, sleep=clock.sleep, dialect=dialect, **ENGINE_OPTIONS) as (base_url, engine):
            driver = HttpDriver(base_url, KEY, clock.advance, engine.set_faults)
            _scripted_session(driver)
            return driver.log
    assert transport == "serve"
    scale = 0.04  # 10 scripted seconds are 0.4 real ones; a destroy takes longer here, so that the
    # "edit while destroying" answer (409) stays reachable even on a slow machine
    served = ServedSandbox("--destroy-seconds", "2", "--balance", str(ENGINE_OPTIONS["balance"]), "--edit-seconds",
                           str(ENGINE_OPTIONS["edit_seconds"] * scale), "--dialect", dialect,
                           provision_seconds=10 * scale, key=TEST_KEY)
    try:
        def set_faults(spec):
            r = requests.post(served.url + "/_sandbox/faults", json={"spec": spec or ""}, timeout=10)
            assert r.status_code == 200, r.text

        driver = HttpDriver(served.url, TEST_KEY, lambda seconds: time.sleep(seconds * scale), set_faults)
        _scripted_session(driver)
        return driver.log
    finally:
        served.stop()


def _scripted_session(call: Driver) -> None:
    """Every endpoint, and every documented status of each (the conformance test checks the coverage)."""
    call("POST", "/health")
    call("POST", "/health", key=None)
    call("POST", "/health", key="wrong-key")
    call("GET", "/healthz", key=None)
    call("GET", "/openapi.json", key=None)
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
    call.advance(5)
    call("GET", f"/request/info/{rid}")  # PROCESSING
    call("GET", "/cluster/list?include_org=false")  # PROVISIONING
    instance = created["instance_ids"][0]
    call("GET", f"/ssh/{instance}?system=Linux")  # 409 not running yet
    call.advance(3)
    call("GET", f"/cluster/info/{cid}")  # CONFIGURING
    call.advance(2)
    call("GET", f"/request/info/{rid}")  # COMPLETED
    call("GET", "/request/info/r-nope")  # 404
    call("GET", f"/request/info/{rid}", key=None)  # 401
    call("GET", "/cluster/list?include_org=perhaps")  # 422
    call("GET", "/cluster/list", key=None)  # 401
    call("GET", f"/cluster/info/{cid}")  # RUNNING
    call("GET", "/cluster/info/c-00000000")  # 404
    call("GET", f"/cluster/info/{cid}", key=None)  # 401
    call("GET", f"/ssh/{instance}?system=Linux")  # 200
    call("GET", "/ssh/i-00000000?system=Darwin")  # 404
    call("GET", f"/ssh/{instance}", key=None)  # 401
    _storage_session(call, single_node=cid)

    call("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "beta", "deletion_protection": True})  # 202
    call.advance(ENGINE_OPTIONS["edit_seconds"])  # an asynchronous edit takes effect now
    call("PATCH", f"/cluster/edit/{cid}", {"cluster_name": ""})  # 400
    call("PATCH", "/cluster/edit/c-00000000", {"cluster_name": "z"})  # 404
    call("PATCH", f"/cluster/edit/{cid}", {"deletion_protection": "sure"})  # 422
    call("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "z"}, key=None)  # 401
    call("DELETE", f"/cluster/{cid}")  # 409 protected
    call("PATCH", f"/cluster/edit/{cid}", {"deletion_protection": False})
    call.advance(ENGINE_OPTIONS["edit_seconds"])
    release = call("DELETE", f"/cluster/{cid}").json()["request_id"]  # 202
    call("DELETE", f"/cluster/{cid}")  # 202 again, same request
    call("GET", f"/cluster/info/{cid}")  # DESTROYING
    call("PATCH", f"/cluster/edit/{cid}", {"cluster_name": "q"})  # 409 destroying
    call("GET", f"/request/info/{release}")
    call("DELETE", "/cluster/c-00000000")  # 404
    call("DELETE", f"/cluster/{cid}", key=None)  # 401
    call.advance(10)
    call("GET", f"/request/info/{release}")  # COMPLETED

    call.set_faults("provision:failed=1")
    failed = call.create("1xH100", "doomed").json()
    call.advance(10)
    call("GET", f"/request/info/{failed['request_id']}")  # FAILED
    call("GET", f"/cluster/info/{failed['cluster_id']}")  # FAILED
    # 409 on any clock: a failed cluster never runs (the 409 asked while provisioning needs the real clock of
    # `serve` to be slower than the calls before it, which a loaded machine may not be)
    call("GET", f"/ssh/{failed['instance_ids'][0]}?system=Linux")

    requests_by_endpoint = {
        "openapi": ("GET", "/openapi.json", None),
        "health": ("POST", "/health", None),
        "healthz": ("GET", "/healthz", None),
        "create": ("POST", "/cluster/create", {"instance_type": "1xH100"}),
        "request_info": ("GET", f"/request/info/{rid}", None),
        "list": ("GET", "/cluster/list", None),
        "info": ("GET", f"/cluster/info/{failed['cluster_id']}", None),
        "edit": ("PATCH", f"/cluster/edit/{failed['cluster_id']}", {"cluster_name": "n"}),
        "delete": ("DELETE", f"/cluster/{failed['cluster_id']}", None),
        "ssh": ("GET", f"/ssh/{failed['instance_ids'][0]}?system=Linux", None),
        "storage_create": ("POST", "/storage/create", {"size": 10}),
        "storage_list": ("GET", "/storage/list", None),
        "storage_info": ("GET", "/storage/info/s-00000000", None),
        "storage_edit": ("PATCH", "/storage/edit/s-00000000", {"size_gb": 20}),
        "storage_delete": ("DELETE", "/storage/s-00000000", None),
        "storage_attach": ("POST", "/storage/attach", {"storage_id": "s-00000000", "cluster_ids": ["c-1"]}),
        "storage_detach": ("POST", "/storage/detach", {"storage_id": "s-00000000", "cluster_id": "c-1"}),
    }
    for endpoint, (method, target, body) in requests_by_endpoint.items():
        for status in (429, 500, 502, 503, 504):
            call.set_faults(f"{endpoint}:{status}=1")
            call(method, target, body)
    call.set_faults(None)

    call("GET", "/_sandbox/stats", key=None)
    call("GET", "/_sandbox/log?since=3", key=None)
    call("GET", "/_sandbox/log?since=soon", key=None)
    call("POST", "/_sandbox/faults", {"spec": "list:latency=0"}, key=None)
    call("POST", "/_sandbox/faults", {"spec": "list:nope=1"}, key=None)
    call("POST", "/_sandbox/reset", key=None)
    call("GET", "/nowhere")
    call("GET", "/cluster/c-00000000")  # 405


def _storage_session(call: Driver, *, single_node: str) -> None:
    """The storage endpoints, every documented status of each (faults apart: `_scripted_session` adds them)."""
    call("GET", "/storage/list")  # empty
    cpu = call.create("32xCPU", "cpu-box").json()["cluster_id"]  # a CPU instance takes volumes
    created = call("POST", "/storage/create", {"size": 10, "name": "data", "deletion_protection": True}).json()
    sid = created["storage_id"]
    call("POST", "/storage/create", {"size": 10})  # generated name
    call("POST", "/storage/create", {"size": 10, "name": "data"})  # 400 taken
    call("POST", "/storage/create", {"size": 0, "name": "z"})  # 400 size
    call("POST", "/storage/create", {"size": 1000, "name": "huge"})  # 402: $100 a month
    call("POST", "/storage/create", {"size": "big"})  # 422
    call("POST", "/storage/create", {"size": 10}, key=None)  # 401
    call("PATCH", f"/storage/edit/{sid}", {"size_gb": 20})  # 409 still creating
    call("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [cpu]})  # 409 still creating
    call("GET", f"/storage/info/{sid}")  # CREATING
    call.advance(11)
    call("GET", f"/request/info/{created['request_id']}")  # COMPLETED
    call("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [single_node]})  # 400 single-node GPU
    call("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": ["c-00000000"]})  # 404
    call("POST", "/storage/attach", {"storage_id": sid})  # 422
    call("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [cpu]}, key=None)  # 401
    attached = call("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [cpu]}).json()  # 202
    call("POST", "/storage/attach", {"storage_id": sid, "cluster_ids": [cpu]})  # 409 attached already
    call("GET", f"/cluster/info/{cpu}")  # RESTARTING
    call("GET", f"/request/info/{attached['request_ids'][0]}")
    call("GET", "/storage/list?include_org=true")
    call("GET", "/storage/list?include_org=perhaps")  # 422
    call("GET", "/storage/list", key=None)  # 401
    call("GET", f"/storage/info/{sid}", key=None)  # 401
    call("GET", "/storage/info/s-00000000")  # 404
    call("DELETE", f"/storage/{sid}")  # 409 protected (and attached)
    call("PATCH", f"/storage/edit/{sid}", {"size_gb": 5})  # 400 shrink
    call("PATCH", f"/storage/edit/{sid}", {"size_gb": "lots"})  # 422
    call("PATCH", "/storage/edit/s-00000000", {"size_gb": 50})  # 404
    call("PATCH", f"/storage/edit/{sid}", {"size_gb": 50}, key=None)  # 401
    call("PATCH", f"/storage/edit/{sid}", {"size_gb": 20, "tp_storage_name": "data2", "deletion_protection": False})
    call("DELETE", f"/storage/{sid}")  # 409 attached
    call.advance(4)
    call("POST", "/storage/detach", {"storage_id": sid, "cluster_id": single_node})  # 409 not attached
    call("POST", "/storage/detach", {"storage_id": "s-00000000", "cluster_id": cpu})  # 404
    call("POST", "/storage/detach", {"storage_id": sid})  # 422
    call("POST", "/storage/detach", {"storage_id": sid, "cluster_id": cpu}, key=None)  # 401
    detached = call("POST", "/storage/detach", {"storage_id": sid, "cluster_id": cpu}).json()  # 202
    call.advance(4)
    call("GET", f"/request/info/{detached['request_id']}")  # COMPLETED
    call("DELETE", f"/storage/{sid}")  # 202
    call("DELETE", f"/storage/{sid}")  # 202 again, same request
    call("GET", f"/storage/info/{sid}")  # DESTROYING
    call("DELETE", "/storage/s-00000000")  # 404
    call("DELETE", f"/storage/{sid}", key=None)  # 401


def _strict(doc: dict) -> dict:
    """The contract with undeclared top-level properties forbidden (FastAPI's ValidationError items excepted,
    since real FastAPI adds `input`/`ctx`): the sandbox must send exactly the documented fields."""
    strict = copy.deepcopy(doc)
    for name, schema in strict["components"]["schemas"].items():
        if "properties" in schema and name != "ValidationError" and "additionalProperties" not in schema:
            schema["unevaluatedProperties"] = False
    return strict


COMBINED_DIALECTS = ("aliased+lowercase+async-edit", "aliased-bare+lowercase", "text-only+async-edit")
CONFORMANCE_RUNS = ([("engine", name) for name in [*sorted(PRESETS), *COMBINED_DIALECTS]]
                    + [("http", "default"), ("http", "async-edit"), ("serve", "default"), ("serve", "aliased")])


def _reference(dialect: str) -> dict:
    """What a dialect's answers must match: its served document for the API, the contract for the
    sandbox-only paths and /openapi.json itself (which FastAPI does not list in the document)."""
    merged = copy.deepcopy(served_document(parse_dialect(dialect)))
    for template, item in DOC["paths"].items():
        if template not in merged["paths"]:
            merged["paths"][template] = copy.deepcopy(item)
    for kind, named in DOC["components"].items():
        for name, node in named.items():
            merged["components"].setdefault(kind, {}).setdefault(name, copy.deepcopy(node))
    return merged


@pytest.mark.parametrize("transport, dialect", CONFORMANCE_RUNS)
def test_every_sandbox_answer_conforms_to_its_served_document(transport, dialect):
    log = _run_script(transport, dialect)
    ref = _reference(dialect)
    strict = _strict(ref)
    seen: set[tuple[str, str, str]] = set()
    problems = []
    for r in log:
        method, target = r.method, r.target
        path = target.split("?")[0]
        template = _template(path)
        where = f"{method} {target} -> {r.status}"
        assert r.headers.get("Content-Type") == "application/json", where
        if transport != "engine":  # over HTTP the body length is declared, and exact
            assert int(r.headers["Content-Length"]) == len(r.body), where
        body = json.loads(r.body)
        if path == "/openapi.json" and r.status == 200:
            assert body == served_document(parse_dialect(dialect)), where
        op = ref["paths"].get(template, {}).get(method.lower()) if template else None
        if op is None:  # no such route: FastAPI's own 404/405 body
            assert r.status in (404, 405), where
            pointers = ["#/components/schemas/Error"]
        else:
            if str(r.status) not in op["responses"]:
                problems.append(f"{where}: status not documented")
                continue
            seen.add((template, method.lower(), str(r.status)))
            pointer, response = _response_pointer(ref, template, method.lower(), r.status)
            assert "application/json" in response.get("content", {}), f"{where}: no body documented"
            pointers = [pointer + "/content/application~1json/schema"]
            for header, spec in response.get("headers", {}).items():
                _, spec = _follow(ref, spec)
                if header not in r.headers:
                    problems.append(f"{where}: missing header {header}")
                elif not Draft202012Validator(spec["schema"]).is_valid(r.headers[header]):
                    problems.append(f"{where}: header {header}={r.headers[header]!r} does not match")
        for pointer in pointers:
            for doc, label in ((ref, "contract"), (strict, "exact fields")):
                for error in _validator(doc, pointer).iter_errors(body):
                    problems.append(f"{where} ({label}): {error.message} at {list(error.absolute_path)}")
    assert not problems, "\n".join(problems)

    documented = {(t, m, s) for t, item in ref["paths"].items() for m, op in item.items() for s in op["responses"]}
    missing = documented - seen
    assert not missing, f"the scripted session never produced: {sorted(missing)}"
