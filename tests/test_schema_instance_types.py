"""The schema's instance-type rule: its examples are the catalogue (editors complete them), and it refuses
exactly what `tpdeclare validate` refuses, so an editor flags every near miss and never a new type."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from tpdeclare.catalog import INSTANCE_TYPES, MULTI_NODE_TYPES
from tpdeclare.resources import load_spec_json
from tpdeclare.spec.loader import load_stack

SCHEMA = load_spec_json("cluster.schema.json")
VALIDATOR = Draft202012Validator(SCHEMA)


def schema_accepts(instance_type: str) -> bool:
    return VALIDATOR.is_valid({"clusters": {"t": {"instance_type": instance_type}}})


def validate_accepts(instance_type: str) -> bool:
    raw = ("stack: demo\nclusters:\n  t:\n    instance_type: " + _quoted(instance_type) + "\n").encode()
    spec, diagnostics = load_stack(["spec.yaml"], preread={"spec.yaml": raw})
    return not any(d.severity == "error" for d in diagnostics)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def test_the_examples_are_the_catalogue_in_its_order():
    assert SCHEMA["$defs"]["instance_type"]["examples"] == list(INSTANCE_TYPES)
    assert set(MULTI_NODE_TYPES) <= set(INSTANCE_TYPES)
    assert all(schema_accepts(t) and validate_accepts(t) for t in INSTANCE_TYPES)


def _respellings(t: str) -> list[str]:
    count, kind = t.split("x", 1)
    return [t.lower(), t.upper(), f"{count}x{kind.lower()}", f"{count}x {kind}", f"{kind}x{count}", f"{count}{kind}",
            f"{count}X{kind}", f"{count}x{kind[0]}{kind[1:].lower()}", f"{count}x{kind}s", f" {t}", f"{count}-{kind}"]


def test_every_respelling_of_a_catalogue_entry_is_refused_by_both():
    for t in INSTANCE_TYPES:
        for near in _respellings(t):
            if near == t:
                continue
            assert not schema_accepts(near), near
            assert not validate_accepts(near), near


KINDS = st.text(alphabet="ABCHLSXabchlsx0123456789 -_", min_size=0, max_size=20)
COUNTS = st.one_of(st.integers(0, 1200).map(str), st.text(alphabet="0123456789", min_size=0, max_size=5))


@settings(max_examples=400, deadline=None)
@given(count=COUNTS, sep=st.sampled_from(["x", "X", "", " x", "x "]), kind=KINDS)
def test_the_schema_refuses_exactly_what_validate_refuses(count, sep, kind):
    value = f"{count}{sep}{kind}"
    assert schema_accepts(value) == validate_accepts(value), value


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(INSTANCE_TYPES), st.integers(0, 10), st.sampled_from("abcdefghXYZ019 -"))
def test_one_character_off_a_catalogue_entry(t, where, char):
    position = min(where, len(t))
    for value in (t[:position] + char + t[position:], t[:position] + char + t[position + 1:]):
        assert schema_accepts(value) == validate_accepts(value), value
