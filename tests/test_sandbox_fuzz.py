"""No input makes the sandbox answer 500, and its request validation is pydantic v2's lax mode, checked against
pydantic itself.

Two properties over generated input:
- arbitrary methods, paths, query strings, headers and bodies (JSON of any shape and depth, and bytes that are
  not JSON) get an answer below 500 from `Engine.handle`, in every dialect, and over real HTTP;
- for the create and edit bodies, the sandbox's verdict (the coerced fields, or the list of error types,
  locations and inputs) equals what pydantic v2 gives for the same model, validated in Python mode from
  `json.loads` output with `from_attributes=True`, as FastAPI does.
pydantic's own words (`msg`) are not compared: the tests never depend on a library's wording.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from tpdeclare.sandbox.contract import request_schema
from tpdeclare.sandbox.dialects import PRESETS
from tpdeclare.sandbox.lax_validation import MAX_DEPTH, validate_model
from tpdeclare.sandbox.responses import Drop
from tpdeclare.sandbox.routes import ROUTE_TABLE

from sandbox_fixtures import KEY, Caller, make_engine, served_sandbox


class ClusterCreateRestRequest(BaseModel):
    """The published create model (shared/seed/cluster-create-openapi.md), as a FastAPI server declares it."""

    instance_type: str
    public_keys: list[str] | None = []
    num_nodes: Annotated[int, Field(ge=1)] | None = 1
    tp_cluster_name: str | None = None
    container: str | None = None
    deletion_protection: bool | None = False
    save_keys: bool = True


class ClusterEditRequest(BaseModel):
    cluster_name: str | None = None
    deletion_protection: bool | None = None


MODELS = {"ClusterCreateRestRequest": ClusterCreateRestRequest, "ClusterEditRequest": ClusterEditRequest}


def _pydantic(model: type[BaseModel], data: Any) -> tuple[dict | None, list[tuple]]:
    try:
        value = TypeAdapter(model).validate_python(data, from_attributes=True)
    except ValidationError as exc:
        return None, [(e["type"], ["body", *e["loc"]], _same(e["input"])) for e in exc.errors()]
    return value.model_dump(), []


def _ours(name: str, data: Any) -> tuple[dict | None, list[tuple]]:
    out, items = validate_model(data, request_schema(name), ["body"])
    if items:
        return None, [(i["type"], i["loc"], _same(i["input"])) for i in items]
    return out, []


def _same(value: Any) -> Any:
    """A value comparable across both (NaN equals NaN; a missing field's input is the whole body)."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {k: _same(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_same(v) for v in value]
    return value


# Values that probe every lax rule: numeric strings with signs, underscores, whitespace and ".0" tails,
# floats at the 64-bit edge, bool words in any case, and things that are none of these.
_WORDS = ["true", "True", "TRUE", "yes", "on", "1", "0", "t", "f", "y", "n", "no", "off", "false", "tRuE", "",
          " true", "maybe", "2", "2.0", "2.00", " 2 ", "\t7\n", "\xa07", "+3", "-1", "0", "00012", "1_000", "1__0",
          "_1", "1_", "2.5", "2.", ".5", "1e3", "0x10", "NaN", "inf", "١", "9" * 19, "9223372036854775808",
          "1" * 4300, "1" * 4301, "0" * 4400 + "7", "2_0.0", "2.0_0", "\u200b1", "\x1c1", "1 2"]
_FLOATS = [2.0, 2.5, 1.0, 0.0, -0.0, -1.0, 1e-300, 3.0000000001, 9.2e18, 2.0**63, -(2.0**63), 2.0**62, 1e308,
           float("inf"), float("-inf"), float("nan"), 0.5]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-3, max_value=70), st.sampled_from(_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(_WORDS), st.text(max_size=12),
    st.from_regex(r"[ \t]?[+-]?[0-9_]{1,6}(\.[0-9_]{0,3})?[ \t]?", fullmatch=True),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)


def _bodies(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    names = list(model.model_fields)
    field_values = st.fixed_dictionaries({}, optional={n: values for n in names})
    extra = st.dictionaries(st.text(max_size=6), values, max_size=2)
    objects = st.builds(lambda fields, more: {**more, **fields}, field_values, extra)
    return st.one_of(objects, objects, objects, values)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_request_validation_is_pydantics_lax_mode(name):
    model = MODELS[name]

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_bodies(model))
    def check(data):
        assert _ours(name, data) == _pydantic(model, data)

    check()


# A wide corpus of named cases, so that the rules the brief spells out are pinned down by name as well.
@pytest.mark.parametrize("num_nodes, verdict", [
    (2, 2), (2.0, 2), ("2", 2), (" 2 ", 2), ("2.0", 2), ("2.00", 2), ("+2", 2), ("0_2", 2), (True, 1),
    (None, None), (2.5, "int_from_float"), (1.0000001, "int_from_float"), ("2.5", "int_parsing"),
    ("two", "int_parsing"), ("", "int_parsing"), ("1e3", "int_parsing"), (0, "greater_than_equal"),
    (False, "greater_than_equal"), ("-1", "greater_than_equal"), (-0.0, "greater_than_equal"),
    (float("nan"), "finite_number"), (float("inf"), "finite_number"), (2.0**63, "int_parsing_size"),
    ("1" * 4301, "int_parsing_size"), ([2], "int_type"), ({"n": 2}, "int_type"),
])
def test_num_nodes_coercion_corpus(num_nodes, verdict):
    body = {"instance_type": "8xH200", "num_nodes": num_nodes}
    ours = _ours("ClusterCreateRestRequest", body)
    assert ours == _pydantic(ClusterCreateRestRequest, body)
    if isinstance(verdict, str):
        assert [kind for kind, _, _ in ours[1]] == [verdict]
    else:
        assert ours[0]["num_nodes"] == verdict


@pytest.mark.parametrize("flag, verdict", [
    (True, True), ("true", True), ("True", True), ("YES", True), ("on", True), ("1", True), (1, True), (1.0, True),
    ("t", True), ("y", True), (False, False), ("false", False), ("off", False), ("no", False), ("0", False),
    (0, False), (0.0, False), ("n", False), ("f", False), (None, None), (2, "bool_parsing"), (2.0, "bool_parsing"),
    (-1, "bool_parsing"), ("sure", "bool_parsing"), (" true", "bool_parsing"), ("", "bool_parsing"),
    (0.5, "bool_type"), (float("inf"), "bool_type"), ([], "bool_type"), ({}, "bool_type"),
    (2**63 - 1, "bool_parsing"), (2**63, "bool_type"), (-(2**63), "bool_parsing"), (-(2**63) - 1, "bool_type"),
])
def test_bool_coercion_corpus(flag, verdict):
    body = {"deletion_protection": flag}
    ours = _ours("ClusterEditRequest", body)
    assert ours == _pydantic(ClusterEditRequest, body)
    if isinstance(verdict, str):
        assert [kind for kind, _, _ in ours[1]] == [verdict]
    else:
        assert ours[0]["deletion_protection"] is verdict


def test_coerced_values_reach_the_world():
    engine, _ = make_engine(provision_seconds=0)
    call = Caller(engine)
    created = call.ok("POST", "/cluster/create", {"instance_type": "8xH200", "num_nodes": 2.0,
                                                  "deletion_protection": "true", "save_keys": "no",
                                                  "unknown_field": {"ignored": True}}, status=202)
    info = call.ok("GET", f"/cluster/info/{created['cluster_id']}")["cluster_info"]
    assert (info["num_nodes"], info["deletion_protection"]) == (2, True)
    assert len(created["instance_ids"]) == 2
    r = call("POST", "/cluster/create", {"instance_type": "8xH200", "num_nodes": 2.5})
    assert r.status == 422
    assert [(i["type"], i["loc"], i["input"]) for i in r.json()["detail"]] == [
        ("int_from_float", ["body", "num_nodes"], 2.5)]


# ------------------------------------------------------------------------------------------ never a 500


TEMPLATE_PATHS = [template for _, template, _ in ROUTE_TABLE]
path_parts = st.one_of(st.sampled_from(["c-00000000", "r-000000000000", "list", "info", "edit", "..", "%2F", "%00",
                                        "%ff", "", "x" * 300, "c-1?x=y", "é", "%20"]),
                       st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8))
paths = st.one_of(
    st.builds(lambda t, part: t.replace("{request_id}", part).replace("{cluster}", part),
              st.sampled_from(TEMPLATE_PATHS), path_parts),
    st.builds(lambda parts: "/" + "/".join(parts), st.lists(path_parts, max_size=4)),
)
queries = st.one_of(st.just(""), st.sampled_from(["include_org=true", "include_org=maybe", "include_org=",
                                                  "include_org=1&include_org=x", "since=3", "since=x", "%zz=1",
                                                  "a=b&&c", "instances=true"]),
                    st.text(max_size=12))
json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10), scalars),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["instance_type", "num_nodes", "tp_cluster_name", "cluster_name", "deletion_protection", "public_keys",
         "container", "save_keys", "spec", "x"]), inner, max_size=5),
    max_leaves=12,
)


def _deep(depth: int, opener: str) -> bytes:
    return (opener * depth).encode()


raw_bodies = st.one_of(
    st.builds(lambda v: json.dumps(v).encode(), json_like),
    st.builds(lambda d, o: _deep(d, o), st.integers(min_value=MAX_DEPTH - 2, max_value=200_000), st.sampled_from("[{")),
    st.builds(lambda d: b'{"instance_type": ' + b"[" * d + b"]" * d + b"}", st.integers(min_value=0, max_value=5000)),
    st.binary(max_size=40),
    st.sampled_from([b"NaN", b'{"num_nodes": NaN}', b'{"num_nodes": Infinity, "instance_type": "8xH200"}',
                     b'{"instance_type": "8xH200", "num_nodes": 1e999}', b"\xff\xfe{", b'"\\ud800"',
                     b'{"instance_type": "8xH200", "num_nodes": ' + b"9" * 5000 + b"}",
                     b"{" + b'"a":1,' * 3000 + b"}"]),
)
methods = st.one_of(st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "get", "TRACE"]),
                    st.from_regex(r"[A-Z]{1,8}", fullmatch=True))
auth_headers = st.one_of(
    st.just({}), st.just({"Authorization": f"Bearer {KEY}"}), st.just({"Authorization": "Bearer wrong"}),
    st.builds(lambda v: {"Authorization": v}, st.text(max_size=20)),
    st.builds(lambda k, v: {"Authorization": f"Bearer {KEY}", k: v}, st.sampled_from(
        ["Content-Type", "Content-Length", "X-Client-Type", "Accept", "Transfer-Encoding"]), st.text(max_size=10)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=methods, path=paths, query=queries, headers=auth_headers, body=raw_bodies,
       dialect=st.sampled_from(sorted(PRESETS)), setup=st.booleans())
def test_no_input_gives_a_500(method, path, query, headers, body, dialect, setup):
    engine, clock = make_engine(provision_seconds=10, dialect=dialect, seed=1)
    if setup:  # a world with a cluster in it, so that IDs can hit something
        call = Caller(engine)
        created = call.create("8xH200", "fz", num_nodes=2).json()
        path = path.replace("c-00000000", created["cluster_id"]).replace("r-000000000000", created["request_id"])
        clock.advance(5)
    target = path + (f"?{query}" if query else "")
    r = engine.handle(method, target, headers, body)
    assert not isinstance(r, Drop)
    assert 200 <= r.status < 500, (method, target, headers, body[:200], r.status, r.body[:300])
    assert r.headers["Content-Type"] == "application/json"
    json.loads(r.body)  # always a JSON body


@pytest.mark.parametrize("body", [
    b'{"instance_type": "8xH200", "num_nodes": 2.0}',  # the example of issue 9.11: coerced, accepted
    b"[" * 100_000, b"{" * 100_000, b'{"a":' * 50_000, b'{"instance_type": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    b'{"public_keys": [' + b"[" * 70 + b"]" * 70 + b'], "instance_type": "1xH100"}',
    b'{"instance_type": "8xH200", "num_nodes": 100000000000000000000}',
])
def test_deep_and_odd_bodies_are_4xx_over_http(body):
    with served_sandbox(provision_seconds=1) as (base, engine):
        headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        for method, path in (("POST", "/cluster/create"), ("PATCH", "/cluster/edit/c-00000000"),
                             ("POST", "/_sandbox/faults")):
            r = requests.request(method, base + path, data=body, headers=headers, timeout=10)
            assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
            r.json()
        r = requests.post(base + "/cluster/create", data=body, headers=headers, timeout=10)
        if body.startswith(b'{"instance_type": "8xH200", "num_nodes": 2.0'):
            assert r.status_code == 202 and len(r.json()["instance_ids"]) == 2  # valid: 2.0 is 2
            assert engine.stats()["clusters_by_status"] == {"PROVISIONING": 2}
        elif b"100000000000000000000" in body:
            assert r.status_code == 400 and "64" in r.json()["message"]
        else:
            assert r.status_code == 422
            assert r.json()["detail"][0]["type"] in ("json_invalid", "string_type", "model_attributes_type")


@pytest.mark.parametrize("target, status", [
    ("//[", 404), ("//[/cluster/list", 404), ("http://engine.test/cluster/list?include_org=true", 200),
    ("HTTPS://engine.test/healthz", 200), ("*", 404), ("", 404), ("/cluster/list#frag", 200), ("/%", 404),
    ("/cluster/info/%zz", 404), ("/request/info/..%2F..%2Fx", 404), ("/cluster/list?%", 200),
])
def test_odd_request_targets(target, status):
    engine, _ = make_engine()
    r = Caller(engine)("GET", target)
    assert r.status == status, (target, r.body)


def test_head_answers_like_get_without_changing_anything():
    with served_sandbox() as (base, engine):
        r = requests.head(base + "/healthz", timeout=10)
        assert (r.status_code, r.content) == (200, b"")
        assert requests.head(base + "/cluster/create", timeout=10).status_code == 405


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "TRACE", "CONNECT"])
def test_unknown_methods_get_fastapis_405_or_404_over_http(method):
    with served_sandbox() as (base, _):
        r = requests.request(method, base + "/cluster/list", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        assert (r.status_code, r.json()) == (405, {"detail": "Method Not Allowed"})
        r = requests.request(method, base + "/nowhere", timeout=10)
        assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
