"""The spec format's JSON Schema: valid 2020-12, documented, closed, and matched by the fast checker."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from tpdeclare.catalog import MAX_UNITS_PER_NODE
from tpdeclare.fields import MANAGED_FIELDS
from tpdeclare.identifiers import INSTANCE_TYPE
from tpdeclare.resources import spec_path
from tpdeclare.spec import schema as schema_mod
from tpdeclare.spec.schema import is_valid_fast, spec_schema, validate_document
from tpdeclare.spec.schema_words import describe
from tpdeclare.spec.source_map import dotted
from tpdeclare.spec.yamlsafe import load_yaml

from bad_spec_cases import KEY, KEY_B

SCHEMA = json.loads(spec_path("cluster.schema.json").read_text())


def _subschemas(node, where="#"):
    """Every schema object in the document, with a JSON pointer-ish location."""
    if isinstance(node, dict):
        yield where, node
        for key in ("properties", "$defs"):
            for name, sub in node.get(key, {}).items():
                yield from _subschemas(sub, f"{where}/{key}/{name}")
        for key in ("items", "additionalProperties", "propertyNames"):
            if isinstance(node.get(key), dict):
                yield from _subschemas(node[key], f"{where}/{key}")


def test_schema_is_valid_2020_12():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$id"] and SCHEMA["title"] and SCHEMA["description"]


def test_every_property_has_a_description():
    missing = [
        f"{where}/properties/{name}"
        for where, node in _subschemas(SCHEMA)
        for name, prop in node.get("properties", {}).items()
        if not prop.get("description")
    ]
    missing += [f"#/$defs/{name}" for name, d in SCHEMA["$defs"].items() if not d.get("description")]
    assert missing == []


def test_every_object_is_closed():
    for where, node in _subschemas(SCHEMA):
        if node.get("type") == "object":
            assert "additionalProperties" in node, where
            if "properties" in node:
                assert node["additionalProperties"] is False, where
            else:  # a map keyed by the user (clusters, prices): its keys are constrained instead
                assert "propertyNames" in node, where


def test_ignore_changes_names_exactly_the_managed_fields():
    enum = SCHEMA["$defs"]["lifecycle"]["properties"]["ignore_changes"]["items"]["enum"]
    assert enum == list(MANAGED_FIELDS)


def test_defaults_take_every_cluster_field_but_name_and_storage():
    # attachments are listed per cluster: a default one would restart every cluster's nodes unasked
    cluster = set(SCHEMA["$defs"]["cluster"]["properties"])
    assert set(SCHEMA["properties"]["defaults"]["properties"]) == cluster - {"name", "storage"}


def test_the_loader_uses_the_shipped_schema():
    assert spec_schema() == SCHEMA


def test_examples_validate():
    import yaml

    for name in ("examples/cluster.yaml", "examples/multi-node.yaml", "examples/team/shared.yaml"):
        doc = yaml.safe_load(spec_path("cluster.schema.json").parent.parent.joinpath(name).read_text())
        assert list(Draft202012Validator(SCHEMA).iter_errors(doc)) == []


# --- the fast checker may say "valid" only when jsonschema would --------------------------------------


def test_fast_checker_covers_the_whole_schema():
    assert is_valid_fast({"clusters": {}}) is True  # None would mean: every document goes to jsonschema


_NAMES = st.sampled_from([
    "stack", "defaults", "budget", "prices", "clusters", "moved", "instance_type", "num_nodes", "name",
    "container", "deletion_protection", "public_keys", "lifecycle", "prevent_destroy", "ignore_changes",
    "max_hourly_cost", "from", "to", "H100", "h100", "trainer", "Bad", "x",
])
_LEAF = (
    st.none() | st.booleans() | st.integers(-2, 70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1.0, 2.0, 0.5, "1xH100", "8xH200", "8x H100", "a", "research", "Research", "-a", "a-",
                       "ssh-ed25519 AAAA k", "ssh-ed25519", "container", "name", "img:1", "my img", "", "x" * 70])
)
_ANY = st.recursive(_LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NAMES, inner, max_size=4),
                    max_leaves=20)
_CLUSTER = st.fixed_dictionaries({}, optional={
    "instance_type": st.sampled_from(["1xH100", "8xH200", "8xh100", "H100x8", "", 8]) | _LEAF,
    "num_nodes": st.sampled_from([1, 2, 0, 65, 2.0, 2.5, "2", True]),
    "name": st.sampled_from(["a", "research-trainer", "A", "a-", "x" * 64, 5]),
    "container": st.sampled_from(["img", None, "my img", 3, ""]),
    "deletion_protection": st.sampled_from([True, False, "true", 1]),
    "public_keys": st.lists(st.sampled_from(["ssh-ed25519 AAAA k", "ssh-rsa B c", "~/.ssh/x.pub", 1]), max_size=3)
    | _LEAF,
    "lifecycle": st.fixed_dictionaries({}, optional={
        "prevent_destroy": st.sampled_from([True, False, "yes"]),
        "ignore_changes": st.lists(st.sampled_from(list(MANAGED_FIELDS) + ["nope", 1]), max_size=3),
    }) | _LEAF,
    "num_node": _LEAF,
})
_DOC = st.fixed_dictionaries({}, optional={
    "stack": st.sampled_from(["demo", "Demo", "", "a" * 64, 1]),
    "defaults": st.fixed_dictionaries({}, optional={"container": st.sampled_from(["img", None, 1]), "name": _LEAF})
    | _LEAF,
    "budget": st.fixed_dictionaries({}, optional={"max_hourly_cost": st.sampled_from([0, 10.5, -1, "5", None])}),
    "prices": st.dictionaries(st.sampled_from(["H100", "h100", "CPU", "B-200"]), st.sampled_from([1.5, -1, 0, "x"])),
    "clusters": st.dictionaries(st.sampled_from(["a", "trainer", "Bad_Name", "x-1", "1x"]), _CLUSTER | _LEAF,
                                max_size=3) | _LEAF,
    "moved": st.lists(st.fixed_dictionaries({}, optional={"from": st.sampled_from(["a", "B", 1]),
                                                         "to": st.sampled_from(["b", "", None])}), max_size=2)
    | _LEAF,
    "extra": _ANY,
})


_JSONSCHEMA = Draft202012Validator(SCHEMA)


@settings(max_examples=400, deadline=None)
@given(doc=_DOC | st.dictionaries(_NAMES, _ANY, max_size=5))
def test_fast_checker_agrees_with_jsonschema(doc):
    assert is_valid_fast(doc) == _JSONSCHEMA.is_valid(doc), doc


# --- words ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value,words", [
    (None, "nothing (an empty value)"), (True, "a boolean (true)"), (3, "an integer (3)"), (2.5, "a number (2.5)"),
    ("two", "a string ('two')"), ([1], "a list"), ({}, "a mapping"),
])
def test_describe(value, words):
    assert describe(value) == words


def test_dotted_paths():
    assert dotted(("clusters", "trainer", "num_nodes")) == "clusters.trainer.num_nodes"
    assert dotted(("moved", 0, "to")) == "moved[0].to"
    assert dotted(()) == ""


def test_every_schema_error_is_reported_with_its_place():
    raw = (b"stack: Demo\n"
           b"clusters:\n"
           b"  a:\n"
           b"    instance_type: 1xH100\n"
           b"    num_nodes: 0\n"
           b"    lifecycle: {prevent_destroy: maybe}\n"
           b"  b: {instance_type: 1xH100, colour: red}\n")
    doc = load_yaml(raw, "s.yaml")
    found = [d.format().splitlines()[0] for d in validate_document(doc.data, doc.source_map)]
    assert sorted(found) == sorted([
        "s.yaml:1:8: error: stack: 'Demo' is not a valid stack name",
        "s.yaml:5:16: error: clusters.a.num_nodes: must be at least 1, got 0",
        "s.yaml:6:34: error: clusters.a.lifecycle.prevent_destroy: expected true or false, got a string ('maybe')",
        "s.yaml:7:30: error: clusters.b.colour: unknown key 'colour'",
    ])


def test_validator_is_compiled_once(monkeypatch):
    schema_mod._validator()
    assert schema_mod._validator() is schema_mod._validator()


# --- patterns: exact at both ends, and read the same by editors (ECMAScript) as by Python --------------

def _patterns() -> dict[str, str]:
    found = {}
    for where, node in _subschemas(SCHEMA):
        if "pattern" in node:
            found[where] = node["pattern"]
        for key in ("propertyNames",):
            if isinstance(node.get(key), dict) and "pattern" in node[key]:
                found[f"{where}/{key}"] = node[key]["pattern"]
    for name, d in SCHEMA["$defs"].items():
        if "pattern" in d:
            found[f"#/$defs/{name}"] = d["pattern"]
    return found


_VALID = {"#/properties/stack": "research", "#/$defs/address": "gpu-box-2", "#/$defs/instance_type": "999xCPU",
          "#/$defs/container": "nvcr.io/nvidia/pytorch:25.01-py3", "#/properties/prices/propertyNames": "H100",
          "#/$defs/cluster/properties/name": "research-trainer", "#/$defs/public_keys/items": KEY,
          "#/properties/outputs/propertyNames": "trainer_ssh", "#/$defs/volume/properties/name": "research-data",
          "#/$defs/duration": "1h30m", "#/$defs/lifetime/properties/expires_at": "2026-12-05T18:00:00Z",
          "#/properties/backend/properties/s3/properties/bucket": "team-state",
          "#/properties/backend/properties/s3/properties/key": "tpdeclare/research.json",
          "#/properties/backend/properties/s3/properties/endpoint_url": "https://objects.example.com",
          "#/properties/backend/properties/s3/properties/region": "us-east-1"}


def test_every_pattern_refuses_a_trailing_newline():
    patterns = _patterns()
    assert set(patterns) == set(_VALID)
    for where, value in _VALID.items():
        assert re.search(patterns[where], value), where
        for tail in ("\n", "\r\n", "\n\n", " "):
            assert not re.search(patterns[where], value + tail), (where, tail)


def test_instance_types_are_within_the_shared_grammar_and_bound():
    pattern = SCHEMA["$defs"]["instance_type"]["pattern"]
    assert re.search(pattern, f"{MAX_UNITS_PER_NODE}xCPU") and not re.search(pattern, f"{MAX_UNITS_PER_NODE + 1}xCPU")
    for value in ("1xH100", "999xABCDEFGHIJKLMNOP", "1xa", "0xH100", "1xABCDEFGHIJKLMNOPQ", "1x", "x1"):
        if re.search(pattern, value):  # what the spec accepts, the state and the API client accept too
            assert INSTANCE_TYPE.fullmatch(value), value


_PROBES = ["research", "research\n", "Research", "-a", "a-", "gpu-box-2", "8xH200", "999xCPU", "1000xCPU", "8xh100",
           "8xH200\n", "img:1", "img 1", "img\n", "ïmg", "H100", "H100\n", "h100", "", "x" * 70, KEY, KEY + "\n",
           KEY + " " + KEY_B, KEY + "," + KEY_B, KEY.replace(" alice", ""), KEY + "\u2028", KEY + "\x00",
           'command="x" ' + KEY, KEY.replace("ssh-ed25519", "ssh-rsa"), KEY + " ", "ssh-ed25519 AAAA", KEY[:61]]


def test_patterns_read_the_same_in_ecmascript_unicode_mode():
    """yaml-language-server compiles each pattern as `new RegExp(pattern, "u")`: it must compile there and
    match exactly the probes Python's `re` matches."""
    patterns = _patterns()
    script = ("const {patterns, probes} = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const out = {}; for (const [w, p] of Object.entries(patterns)) {"
              " const r = new RegExp(p, 'u'); out[w] = probes.map(s => r.test(s)); }"
              "process.stdout.write(JSON.stringify(out));")
    proc = subprocess.run(["node", "-e", script], input=json.dumps({"patterns": patterns, "probes": _PROBES}),
                          capture_output=True, text=True, timeout=60, check=True)
    in_node = json.loads(proc.stdout)
    in_python = {w: [re.search(p, s) is not None for s in _PROBES] for w, p in patterns.items()}
    assert in_node == in_python


def test_a_string_test_remembers_only_what_passed_and_answers_the_same_each_time():
    from tpdeclare.spec import fast_schema

    check = fast_schema.compile_schema({"type": ["string", "null"], "pattern": "^a+$", "maxLength": 3})
    for _ in range(2):  # the second time from what it remembers
        assert [check(x) for x in ("a", "aaa", "aaaa", "b", "ab", "", None, 1, ["a"])] == [
            True, True, False, False, False, False, True, False, False]
    many = [f"{'a' * (i % 3 + 1)}" for i in range(3)] + [f"x{i}" for i in range(fast_schema._PASSED_BOUND + 10)]
    wide = fast_schema.compile_schema({"type": "string", "pattern": "^[a-z0-9]+$"})
    assert all(map(wide, many)) and all(map(wide, many)) and not wide("X") and not wide("X")
