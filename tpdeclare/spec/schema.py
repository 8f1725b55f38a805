"""Checks a loaded spec document against specs/cluster.schema.json and words every violation as a Diagnostic.

jsonschema is the authority on what is wrong, and reports all of it. Because it costs ~100 µs per
cluster, a valid document (the common case) is first confirmed by a checker compiled from the same
schema for the keywords it uses; that checker may only say "valid" when jsonschema would (a test holds
it to that), and any doubt sends the document to jsonschema.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Any, Callable

from tpdeclare.catalog import INSTANCE_TYPES, suggest_instance_type
from tpdeclare.diagnostics import Diagnostic
from tpdeclare.resources import load_spec_json
from tpdeclare.spec.yamlsafe import SourceMap, dotted

SCHEMA_NAME = "cluster.schema.json"

_ANNOTATIONS = frozenset(
    {"description", "title", "$schema", "$id", "$comment", "$defs", "patternErrorMessage", "default", "examples"}
)


def spec_schema() -> dict:
    """The spec format's JSON Schema (parsed once)."""
    return load_spec_json(SCHEMA_NAME)


@lru_cache(maxsize=None)
def _validator():
    from jsonschema import Draft202012Validator  # heavy: imported only when a document needs it

    return Draft202012Validator(spec_schema())


def validate_document(data: dict, smap: SourceMap) -> list[Diagnostic]:
    """Every schema violation in one file's document, each placed by the source map. [] when valid."""
    fast = _fast_checker()
    if fast is not None and fast(data):
        return []
    diagnostics: list[Diagnostic] = []
    for error in _validator().iter_errors(data):
        diagnostics.extend(_explain(error, smap))
    return diagnostics


def is_valid_fast(data: Any) -> bool | None:
    """The compiled checker's verdict (None when the schema uses keywords it does not know). For tests."""
    fast = _fast_checker()
    return None if fast is None else fast(data)


# --- turning jsonschema errors into diagnostics ----------------------------------------------------

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping (key: value)",
    "array": "a list",
    "null": "null",
}


def _quote(value: Any, limit: int = 60) -> str:
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
        return f"a string ({_quote(value)})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _did_you_mean(word: str, choices, cutoff: float = 0.6) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return close[0] if close else None


_FIELD_WORDS = {"name": "cluster name", "stack": "stack name", "container": "container image",
                "from": "address", "to": "address"}


def _field_name(path: tuple) -> str:
    """The name of the thing at path, for messages: 'num_nodes', 'public key', 'address'."""
    for part in reversed(path):
        if isinstance(part, str):
            if len(path) >= 2 and path[-2] == "clusters" and part == path[-1]:
                return "cluster"
            return part
    return "value"


def _explain(error, smap: SourceMap) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    keyword = error.validator
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    file = smap.file

    def at(ref, summary, hint=None, where=path):
        return Diagnostic(summary, file=file, line=ref.line, col=ref.col, path=dotted(where), hint=hint)

    if "propertyNames" in error.relative_schema_path:
        return [_bad_key_name(error, smap, path)]

    if keyword == "additionalProperties" and error.validator_value is False and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in instance:
            if key in allowed:
                continue
            where = path + (key,)
            ref = smap.key(where) or smap.locate(path)
            guess = _did_you_mean(key, allowed)
            if guess:
                hint = f"did you mean '{guess}'?"
            elif allowed:
                hint = "valid keys here: " + ", ".join(allowed)
            else:
                hint = None
            if guess is None and path == ("defaults",) and key == "name":
                hint = "a name is per cluster; by default it is <stack>-<address>"
            out.append(at(ref, f"unknown key '{key}'", hint, where))
        return out

    if keyword == "required" and isinstance(instance, dict):
        ref = smap.locate(path, prefer_key=True)
        out = []
        for key in error.validator_value:
            if key in instance:
                continue
            hint = None
            if key == "clusters" and not path:
                hint = "add `clusters:` with your clusters under it (`clusters: {}` declares none, destroying the stack's clusters)"
            elif key == "max_hourly_cost":
                hint = "set `max_hourly_cost:` in USD per hour, or remove `budget:`"
            elif path and path[0] == "moved":
                hint = "write moves as `- {from: old-address, to: new-address}`"
            out.append(at(ref, f"missing required key '{key}'", hint))
        return out

    ref = smap.value(path) or smap.locate(path)

    if keyword == "type":
        expected = error.validator_value
        expected = [expected] if isinstance(expected, str) else list(expected)
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in expected)
        return [at(ref, f"expected {words}, got {describe(instance)}", _type_hint(expected, instance, path))]

    if keyword == "pattern":
        hint = schema.get("patternErrorMessage")
        if path and path[-1] == "instance_type" and isinstance(instance, str):
            guess = suggest_instance_type(instance)
            return [at(ref, f"unknown instance type {_quote(instance)}", f"did you mean '{guess}'?" if guess else hint)]
        what = _FIELD_WORDS.get(_field_name(path), _field_name(path).replace("_", " "))
        if len(path) >= 2 and path[-2] == "public_keys" and isinstance(instance, str):
            what = "SSH public key"
            if instance.endswith(".pub") or instance.startswith(("/", "~", "./")):
                hint = "paste the key itself (the contents of the .pub file), not the file's path"
        return [at(ref, f"{_quote(instance)} is not a valid {what}", hint)]

    if keyword == "enum":
        choices = [str(c) for c in error.validator_value]
        guess = _did_you_mean(instance, choices) if isinstance(instance, str) else None
        listed = ", ".join(choices)
        hint = f"did you mean '{guess}'? (valid values: {listed})" if guess else f"valid values: {listed}"
        if len(path) >= 2 and path[-2] == "ignore_changes":
            return [at(ref, f"{_quote(instance)} is not a cluster field", hint)]
        return [at(ref, f"{_quote(instance)} is not one of the allowed values", hint)]

    if keyword == "minimum":
        return [at(ref, f"must be at least {error.validator_value}, got {instance}",
                   _range_hint(path) or f"use a value of {error.validator_value} or more")]
    if keyword == "maximum":
        return [at(ref, f"must be at most {error.validator_value}, got {instance}",
                   _range_hint(path) or f"use a value of {error.validator_value} or less")]
    if keyword == "exclusiveMinimum":
        return [at(ref, f"must be greater than {error.validator_value}, got {instance}")]
    if keyword == "exclusiveMaximum":
        return [at(ref, f"must be less than {error.validator_value}, got {instance}")]
    if keyword == "minLength":
        return [at(ref, "must not be empty" if error.validator_value == 1 else f"must be at least {error.validator_value} characters long")]
    if keyword == "maxLength":
        return [at(ref, f"is longer than {error.validator_value} characters ({len(instance)})",
                   "choose a shorter name" if path and path[-1] in ("name", "stack") else None)]
    if keyword == "minItems":
        return [at(ref, f"needs at least {error.validator_value} entr{'y' if error.validator_value == 1 else 'ies'}")]
    if keyword == "maxItems":
        return [at(ref, f"has more than {error.validator_value} entries ({len(instance)})")]
    if keyword == "uniqueItems" and isinstance(instance, list):
        seen: list = []
        for index, item in enumerate(instance):
            if item in seen:
                dup_ref = smap.value(path + (index,)) or ref
                return [at(dup_ref, f"{_quote(item)} is listed twice", "remove the repeated entry", path + (index,))]
            seen.append(item)
    return [at(ref, error.message)]


def _bad_key_name(error, smap: SourceMap, path: tuple) -> Diagnostic:
    """A key of a user-keyed mapping (clusters, prices) that the key pattern rejects."""
    key = error.instance
    where = path + (key,)
    ref = smap.key(where) or smap.locate(path)
    what = {"clusters": "cluster address", "prices": "price kind"}.get(path[-1] if path else "", "key")
    hint = error.schema.get("patternErrorMessage") if isinstance(error.schema, dict) else None
    if error.validator == "maxLength":
        summary = f"the {what} {_quote(key)} is longer than {error.validator_value} characters"
        hint = None
    else:
        summary = f"{_quote(key)} is not a valid {what}"
    if what == "cluster address" and isinstance(key, str):
        fixed = re.sub(r"[^a-z0-9-]+", "-", key.lower()).strip("-")
        fixed = re.sub(r"^[^a-z]+", "", fixed)[:63]
        if fixed and fixed != key:
            hint = f"did you mean '{fixed}'? ({hint})" if hint else f"did you mean '{fixed}'?"
    if what == "price kind" and isinstance(key, str):
        known = sorted({t.split("x", 1)[1] for t in INSTANCE_TYPES})
        guess = _did_you_mean(key, known)
        if guess:
            hint = f"did you mean '{guess}'?"
    return Diagnostic(summary, file=smap.file, line=ref.line, col=ref.col, path=dotted(where), hint=hint)


def _type_hint(expected: list[str], instance: Any, path: tuple) -> str | None:
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


def _range_hint(path: tuple) -> str | None:
    if path and path[-1] == "num_nodes":
        return "num_nodes is between 1 and 64; to have no cluster, remove it from `clusters`"
    return None


# --- the compiled fast checker --------------------------------------------------------------------


class _Unsupported(Exception):
    """The schema uses a keyword the fast checker does not implement."""


@lru_cache(maxsize=None)
def _fast_checker() -> Callable[[Any], bool] | None:
    root = spec_schema()
    try:
        return _compile(root, root, {})
    except _Unsupported:
        return None


def _is_integer(x) -> bool:
    t = type(x)
    return t is int or (t is float and x.is_integer())


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "integer": _is_integer,
    "number": lambda x: type(x) is int or type(x) is float,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
}


def _never(_x) -> bool:
    return False


def _always(_x) -> bool:
    return True


def _compile(schema, root: dict, refs: dict) -> Callable[[Any], bool]:
    """A function x -> bool that is True only if x is valid against schema (2020-12 semantics)."""
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict):
        raise _Unsupported(repr(schema))
    supported = {
        "$ref", "type", "properties", "additionalProperties", "required", "propertyNames", "items",
        "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "enum",
        "uniqueItems", "minItems", "maxItems",
    }
    unknown = set(schema) - _ANNOTATIONS - supported
    if unknown:
        raise _Unsupported(", ".join(sorted(unknown)))

    ref_check = None
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            raise _Unsupported(ref)
        if ref not in refs:
            refs[ref] = None  # seen again before it is compiled: a recursive $ref
            refs[ref] = _compile(root["$defs"][ref[len("#/$defs/"):]], root, refs)
        ref_check = refs[ref]
        if ref_check is None:
            raise _Unsupported("recursive $ref")

    type_test = None
    if "type" in schema:
        types = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
        tests = [_TYPE_CHECKS[t] for t in types]
        type_test = tests[0] if len(tests) == 1 else (lambda x: any(test(x) for test in tests))

    enum_set = None
    if "enum" in schema:
        if not all(isinstance(o, str) for o in schema["enum"]):
            raise _Unsupported("non-string enum")
        enum_set = frozenset(schema["enum"])

    pattern = re.compile(schema["pattern"]).search if "pattern" in schema else None
    min_len = schema.get("minLength", 0)
    max_len = schema.get("maxLength")
    minimum, maximum, ex_min = schema.get("minimum"), schema.get("maximum"), schema.get("exclusiveMinimum")
    items = _compile(schema["items"], root, refs) if "items" in schema else None
    min_items, max_items = schema.get("minItems", 0), schema.get("maxItems")
    unique = schema.get("uniqueItems") is True
    obj = _compile_object(schema, root, refs) if {"properties", "additionalProperties", "required", "propertyNames"} & set(schema) else None
    has_string = pattern is not None or min_len or max_len is not None
    has_number = minimum is not None or maximum is not None or ex_min is not None
    has_array = items is not None or min_items or max_items is not None or unique

    def check(x) -> bool:
        if ref_check is not None and not ref_check(x):
            return False
        if type_test is not None and not type_test(x):
            return False
        if enum_set is not None and not (type(x) is str and x in enum_set):
            return False
        t = type(x)
        if t is str:
            if has_string:
                n = len(x)
                if n < min_len or (max_len is not None and n > max_len):
                    return False
                if pattern is not None and pattern(x) is None:
                    return False
        elif t is dict:
            if obj is not None and not obj(x):
                return False
        elif t is list:
            if has_array:
                if len(x) < min_items or (max_items is not None and len(x) > max_items):
                    return False
                if items is not None:
                    for v in x:
                        if not items(v):
                            return False
                # Only lists of strings are judged unique here; anything else goes to jsonschema.
                if unique and not (all(type(v) is str for v in x) and len(set(x)) == len(x)):
                    return False
        elif (t is int or t is float) and has_number:
            if minimum is not None and x < minimum:
                return False
            if maximum is not None and x > maximum:
                return False
            if ex_min is not None and x <= ex_min:
                return False
        return True

    if ref_check is not None and type_test is None and enum_set is None and obj is None \
            and not (has_string or has_number or has_array):
        return ref_check  # a bare $ref (plus annotations)
    special = _specialised(schema, pattern, min_len, max_len, minimum, maximum, ex_min)
    return special if special is not None else check


_STRING_KEYS = frozenset({"type", "pattern", "minLength", "maxLength"}) | _ANNOTATIONS
_NUMBER_KEYS = frozenset({"type", "minimum", "maximum", "exclusiveMinimum"}) | _ANNOTATIONS


def _specialised(schema: dict, pattern, min_len, max_len, minimum, maximum, ex_min):
    """For the leaf shapes a spec is mostly made of (a string, a string or null, a boolean, an
    integer with bounds), the same test as `check` with only the branches that can apply: a spec
    validates ~10 of these per cluster. None for any other shape."""
    kind = schema.get("type")
    keys = schema.keys()
    if kind in ("string", ["string", "null"]) and keys <= _STRING_KEYS:
        nullable = kind != "string"

        def check_string(x) -> bool:
            if type(x) is not str:
                return nullable and x is None
            n = len(x)
            if n < min_len or (max_len is not None and n > max_len):
                return False
            return pattern is None or pattern(x) is not None

        return check_string
    if kind == "boolean" and keys <= _ANNOTATIONS | {"type"}:
        return _is_bool
    if kind == "integer" and keys <= _NUMBER_KEYS:

        def check_integer(x) -> bool:
            t = type(x)
            if not (t is int or (t is float and x.is_integer())):
                return False
            if minimum is not None and x < minimum:
                return False
            if maximum is not None and x > maximum:
                return False
            return ex_min is None or x > ex_min

        return check_integer
    return None


def _is_bool(x) -> bool:
    return type(x) is bool


def _compile_object(schema: dict, root: dict, refs: dict) -> Callable[[Any], bool]:
    props = {k: _compile(v, root, refs) for k, v in schema.get("properties", {}).items()}
    required = frozenset(schema.get("required", ()))
    additional = schema.get("additionalProperties", True)
    closed = additional is False
    extra = None if additional is True or closed else _compile(additional, root, refs)
    names = _compile(schema["propertyNames"], root, refs) if "propertyNames" in schema else None
    allowed = frozenset(props)

    def check(x) -> bool:
        if type(x) is not dict:
            return True
        keys = x.keys()
        if required and not required <= keys:
            return False
        if closed and not keys <= allowed:
            return False
        get = props.get
        for key, value in x.items():
            test = get(key)
            if test is not None:
                if not test(value):
                    return False
            elif extra is not None and not extra(value):
                return False
            if names is not None and not names(key):
                return False
        return True

    return check
