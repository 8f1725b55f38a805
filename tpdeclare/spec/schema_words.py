"""Words for JSON Schema violations: each jsonschema error as a Diagnostic users can act on, at its place."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tpdeclare.catalog import INSTANCE_TYPES
from tpdeclare.diagnostics import Diagnostic
from tpdeclare.spec.instance_types import judge_instance_type
from tpdeclare.spec.model import SourceRef
from tpdeclare.spec.source_map import SourceMap, YamlPath, dotted
from tpdeclare.spec.ssh_keys import ONE_KEY, refusal
from tpdeclare.suggestions import did_you_mean

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping (key: value)",
    "array": "a list",
    "null": "null",
}
_FIELD_WORDS = {"name": "cluster name", "stack": "stack name", "container": "container image",
                "from": "address", "to": "address"}

Place = Callable[..., Diagnostic]
_COUNT_AND_WORD = re.compile(r"[1-9][0-9]{0,2}x[A-Za-z0-9]{1,16}")


def quote(value: Any, limit: int = 60) -> str:
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"'{text}'"


def describe(value: Any) -> str:
    """A value's YAML kind in words, with the value when it is short: "a string ('two')"."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value:g})"
    if isinstance(value, str):
        return f"a string ({quote(value)})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _field_name(path: YamlPath) -> str:
    """The name of the thing at path, for messages: 'num_nodes', 'public key', 'address'."""
    for part in reversed(path):
        if isinstance(part, str):
            if len(path) >= 2 and path[-2] == "clusters" and part == path[-1]:
                return "cluster"
            return part
    return "value"


def explain(error: Any, smap: SourceMap) -> list[Diagnostic]:
    """One jsonschema ValidationError as diagnostics (an unknown-keys error gives one per key)."""
    path: YamlPath = tuple(error.absolute_path)
    keyword = error.validator
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}

    def at(ref: SourceRef, summary: str, hint: str | None = None, where: YamlPath = path) -> Diagnostic:
        return Diagnostic(summary, file=smap.file, line=ref.line, col=ref.col, path=dotted(where), hint=hint)

    if "propertyNames" in error.relative_schema_path:
        return [_bad_key_name(error, smap, path)]
    if keyword == "additionalProperties" and error.validator_value is False and isinstance(instance, dict):
        return _unknown_keys(instance, list(schema.get("properties", {})), smap, path, at)
    if keyword == "required" and isinstance(instance, dict):
        return _missing_keys(instance, error.validator_value, smap, path, at)

    ref = smap.value(path) or smap.locate(path)
    if keyword in ("type", "pattern", "maxLength"):
        from tpdeclare.spec.lifetimes import is_lifetime_path, value_words  # it imports this module

        if is_lifetime_path(path):
            return [at(ref, *value_words(path, instance))]
    in_keys = "public_keys" in path
    if keyword == "type":
        expected = error.validator_value
        expected = [expected] if isinstance(expected, str) else list(expected)
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in expected)
        hint = _type_hint(expected, instance, path)
        if in_keys:
            hint = f"{hint}; {ONE_KEY}" if hint else ONE_KEY
        return [at(ref, f"expected {words}, got {describe(instance)}", hint)]
    if in_keys and keyword in ("pattern", "maxLength") and isinstance(instance, str):
        refused = refusal(instance)  # the whole key check words it, as the loader would
        if refused is not None:
            return [at(ref, *refused)]
    if keyword == "pattern":
        return [_bad_pattern(instance, schema, path, ref, at)]
    if keyword == "enum":
        choices = [str(c) for c in error.validator_value]
        guess = did_you_mean(instance, choices) if isinstance(instance, str) else None
        listed = ", ".join(choices)
        hint = f"did you mean '{guess}'? (valid values: {listed})" if guess else f"valid values: {listed}"
        if len(path) >= 2 and path[-2] == "ignore_changes":
            return [at(ref, f"{quote(instance)} is not a cluster field", hint)]
        return [at(ref, f"{quote(instance)} is not one of the allowed values", hint)]
    limit = _limit_words(keyword, error.validator_value, instance, path)
    if limit is not None:
        return [at(ref, *limit)]
    if keyword == "uniqueItems" and isinstance(instance, list):
        repeated = _repeated_item(instance, path, ref, smap, at)
        if repeated is not None:
            return [repeated]
    return [at(ref, error.message)]


def _unknown_keys(instance: dict[str, Any], allowed: list[str], smap: SourceMap, path: YamlPath,
                  at: Place) -> list[Diagnostic]:
    out = []
    for key in instance:
        if key in allowed:
            continue
        where = path + (key,)
        ref = smap.key(where) or smap.locate(path)
        guess = did_you_mean(key, allowed)
        if guess:
            hint: str | None = f"did you mean '{guess}'?"
        elif allowed:
            hint = "valid keys here: " + ", ".join(allowed)
        else:
            hint = None
        if guess is None and path == ("defaults",) and key == "name":
            hint = "a name is per cluster; by default it is <stack>-<address>"
        out.append(at(ref, f"unknown key '{key}'", hint, where))
    return out


def _missing_keys(instance: dict[str, Any], required: list[str], smap: SourceMap, path: YamlPath,
                  at: Place) -> list[Diagnostic]:
    ref = smap.locate(path, prefer_key=True)
    out = []
    for key in required:
        if key in instance:
            continue
        hint = None
        if key == "clusters" and not path:
            hint = ("add `clusters:` with your clusters under it (`clusters: {}` declares none, destroying the "
                    "stack's clusters)")
        elif key == "max_hourly_cost":
            hint = "set `max_hourly_cost:` in USD per hour, or remove `budget:`"
        elif path and path[0] == "moved":
            hint = "write moves as `- {from: old-address, to: new-address}`"
        out.append(at(ref, f"missing required key '{key}'", hint))
    return out


def _bad_pattern(instance: Any, schema: dict[str, Any], path: YamlPath, ref: SourceRef, at: Place) -> Diagnostic:
    hint = schema.get("patternErrorMessage")
    if path and path[-1] == "instance_type" and isinstance(instance, str):
        # A count and a kind in the wrong letter case (8xfoo) is worded as the loader words an unknown type.
        shaped = _COUNT_AND_WORD.fullmatch(instance) is not None
        verdict = judge_instance_type(instance, "known types: " + ", ".join(INSTANCE_TYPES) if shaped else hint)
        if verdict.severity == "error":
            return at(ref, verdict.summary, verdict.hint)
        return at(ref, f"unknown instance type {quote(instance)}", hint)  # well-formed but too long a kind
    what = _FIELD_WORDS.get(_field_name(path), _field_name(path).replace("_", " "))
    if len(path) >= 2 and path[-2] == "public_keys":
        what = "SSH public key"
    return at(ref, f"{quote(instance)} is not a valid {what}", hint)


def _limit_words(keyword: str, bound: Any, instance: Any, path: YamlPath) -> tuple[str, str | None] | None:
    """The words for a numeric, length or count limit; None for other keywords."""
    if keyword == "minimum":
        return f"must be at least {bound}, got {instance}", _range_hint(path) or f"use a value of {bound} or more"
    if keyword == "maximum":
        return f"must be at most {bound}, got {instance}", _range_hint(path) or f"use a value of {bound} or less"
    if keyword == "exclusiveMinimum":
        return f"must be greater than {bound}, got {instance}", None
    if keyword == "exclusiveMaximum":
        return f"must be less than {bound}, got {instance}", None
    if keyword == "minLength":
        return ("must not be empty" if bound == 1 else f"must be at least {bound} characters long"), None
    if keyword == "maxLength":
        return (f"is longer than {bound} characters ({len(instance)})",
                "choose a shorter name" if path and path[-1] in ("name", "stack") else None)
    if keyword == "minItems":
        return f"needs at least {bound} entr{'y' if bound == 1 else 'ies'}", None
    if keyword == "maxItems":
        return f"has more than {bound} entries ({len(instance)})", None
    return None


def _repeated_item(instance: list[Any], path: YamlPath, ref: SourceRef, smap: SourceMap,
                   at: Place) -> Diagnostic | None:
    seen: list[Any] = []
    for index, item in enumerate(instance):
        if item in seen:
            dup_ref = smap.value(path + (index,)) or ref
            return at(dup_ref, f"{quote(item)} is listed twice", "remove the repeated entry", path + (index,))
        seen.append(item)
    return None


def _bad_key_name(error: Any, smap: SourceMap, path: YamlPath) -> Diagnostic:
    """A key of a user-keyed mapping (clusters, prices) that the key pattern rejects."""
    key = error.instance
    where = path + (key,)
    ref = smap.key(where) or smap.locate(path)
    what = {"clusters": "cluster address", "prices": "price kind"}.get(str(path[-1]) if path else "", "key")
    hint = error.schema.get("patternErrorMessage") if isinstance(error.schema, dict) else None
    if error.validator == "maxLength":
        summary = f"the {what} {quote(key)} is longer than {error.validator_value} characters"
        hint = None
    else:
        summary = f"{quote(key)} is not a valid {what}"
    if what == "cluster address" and isinstance(key, str):
        fixed = re.sub(r"[^a-z0-9-]+", "-", key.lower()).strip("-")
        fixed = re.sub(r"^[^a-z]+", "", fixed)[:63]
        if fixed and fixed != key:
            hint = f"did you mean '{fixed}'? ({hint})" if hint else f"did you mean '{fixed}'?"
    if what == "price kind" and isinstance(key, str):
        known = sorted({t.split("x", 1)[1] for t in INSTANCE_TYPES})
        guess = did_you_mean(key, known)
        if guess:
            hint = f"did you mean '{guess}'?"
    return Diagnostic(summary, file=smap.file, line=ref.line, col=ref.col, path=dotted(where), hint=hint)


def _type_hint(expected: list[str], instance: Any, path: YamlPath) -> str | None:
    if isinstance(instance, str) and ("integer" in expected or "number" in expected):
        try:
            float(instance)
        except ValueError:
            return "write a number, e.g. 2" if "integer" in expected else "write a number, e.g. 2.5"
        return "remove the quotes: a quoted number is a string"
    if isinstance(instance, str) and "boolean" in expected:
        if instance.lower() in ("true", "false", "yes", "no", "on", "off"):
            return "remove the quotes: write true or false"
        return "write true or false"
    if "array" in expected and isinstance(instance, (str, int, float)):
        return "write a list: one `- item` per line, or [item, item]"
    if "object" in expected and instance is None:
        if len(path) == 2 and path[0] == "clusters":
            return "give the cluster at least `instance_type:` (indented under it), or remove it"
        return "add its keys, indented under it, or remove it"
    if "string" in expected and isinstance(instance, (bool, int, float)):
        return "quote the value to make it a string"
    return None


def _range_hint(path: YamlPath) -> str | None:
    if path and path[-1] == "num_nodes":
        return "num_nodes is between 1 and 64; to have no cluster, remove it from `clusters`"
    return None
