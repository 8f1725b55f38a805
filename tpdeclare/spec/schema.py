"""Checks a loaded spec document against specs/cluster.schema.json: every violation, as a placed Diagnostic.

jsonschema is the authority on what is wrong, and reports all of it (`schema_words` words each error).
Because it costs ~100 µs per cluster, a valid document (the common case) is first confirmed by the
checker `fast_schema` compiles from the same schema; that checker may only say "valid" when jsonschema
would, and any doubt sends the document to jsonschema. jsonschema is imported only then.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from tpdeclare.diagnostics import Diagnostic
from tpdeclare.frozen_values import frozen
from tpdeclare.resources import load_spec_json
from tpdeclare.spec.fast_schema import Check, Unsupported, compile_schema
from tpdeclare.spec.source_map import SourceMap

SCHEMA_NAME = "cluster.schema.json"


def spec_schema() -> dict[str, Any]:
    """The spec format's JSON Schema (parsed once)."""
    schema: dict[str, Any] = load_spec_json(SCHEMA_NAME)
    return schema


@frozen
class NameRule:
    """A schema string rule the loader applies to values it makes itself (default names, file stems)."""

    pattern: re.Pattern[str]
    max_length: int

    def allows(self, value: str) -> bool:
        return 0 < len(value) <= self.max_length and self.pattern.search(value) is not None


@frozen
class SchemaRules:
    """The schema's rules the loader needs beyond validation, compiled once."""

    stack: NameRule
    cluster_name: NameRule
    address: re.Pattern[str]
    instance_type: re.Pattern[str]
    public_key: re.Pattern[str]


@cache
def rules() -> SchemaRules:
    schema = spec_schema()
    defs = schema["$defs"]
    stack, name = schema["properties"]["stack"], defs["cluster"]["properties"]["name"]
    return SchemaRules(
        stack=NameRule(re.compile(stack["pattern"]), stack["maxLength"]),
        cluster_name=NameRule(re.compile(name["pattern"]), name["maxLength"]),
        address=re.compile(defs["address"]["pattern"]),
        instance_type=re.compile(defs["instance_type"]["pattern"]),
        public_key=re.compile(defs["public_keys"]["items"]["pattern"]),
    )


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator  # heavy: imported only when a document needs it

    return Draft202012Validator(spec_schema())


@cache
def _fast_checker() -> Check | None:
    try:
        return compile_schema(spec_schema())
    except Unsupported:
        return None


def validate_document(data: dict[str, Any], smap: SourceMap) -> list[Diagnostic]:
    """Every schema violation in one file's document, each placed by the source map. [] when valid."""
    fast = _fast_checker()
    if fast is not None and fast(data):
        return []
    from tpdeclare.spec.schema_words import explain

    diagnostics: list[Diagnostic] = []
    for error in _validator().iter_errors(data):
        diagnostics.extend(explain(error, smap))
    return diagnostics


def is_valid_fast(data: Any) -> bool | None:
    """The compiled checker's verdict (None when the schema uses keywords it does not know). For tests."""
    fast = _fast_checker()
    return None if fast is None else fast(data)
