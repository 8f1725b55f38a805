"""A validity test compiled from the spec's JSON Schema, for the common case: a document that is valid.

jsonschema costs ~100 µs per cluster; this compiled test costs a few. It may only say "valid" when
jsonschema would (tests/test_spec_schema.py holds it to that with generated documents); any doubt, or a
keyword it does not implement, means "ask jsonschema". It implements 2020-12 semantics for the keywords
the spec schema uses; `compile_schema` raises `Unsupported` for any other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

ANNOTATIONS = frozenset(
    {"description", "title", "$schema", "$id", "$comment", "$defs", "patternErrorMessage", "default", "examples"}
)
_SUPPORTED = frozenset({
    "$ref", "type", "properties", "additionalProperties", "required", "propertyNames", "items",
    "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "enum",
    "uniqueItems", "minItems", "maxItems",
})
_OBJECT_KEYWORDS = frozenset({"properties", "additionalProperties", "required", "propertyNames"})
_STRING_KEYS = frozenset({"type", "pattern", "minLength", "maxLength"}) | ANNOTATIONS
_NUMBER_KEYS = frozenset({"type", "minimum", "maximum", "exclusiveMinimum"}) | ANNOTATIONS


_PASSED_BOUND = 4096  # strings remembered as valid per string test


class Unsupported(Exception):
    """The schema uses a keyword the fast checker does not implement."""


def compile_schema(root: Mapping[str, Any]) -> Check:
    """x -> True only if x is valid against the root schema. Raises Unsupported."""
    return _compile(root, root, {})


def _is_integer(x: Any) -> bool:
    t = type(x)
    return t is int or (t is float and x.is_integer())


def _is_bool(x: Any) -> bool:
    return type(x) is bool


_TYPE_CHECKS: dict[str, Check] = {
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "integer": _is_integer,
    "number": lambda x: type(x) is int or type(x) is float,
    "boolean": _is_bool,
    "null": lambda x: x is None,
}


def _never(_x: Any) -> bool:
    return False


def _always(_x: Any) -> bool:
    return True


def _compile_ref(schema: Mapping[str, Any], root: Mapping[str, Any], refs: dict[str, Check | None]) -> Check:
    ref = schema["$ref"]
    if not ref.startswith("#/$defs/"):
        raise Unsupported(ref)
    if ref not in refs:
        refs[ref] = None  # seen again before it is compiled: a recursive $ref
        refs[ref] = _compile(root["$defs"][ref[len("#/$defs/"):]], root, refs)
    check = refs[ref]
    if check is None:
        raise Unsupported("recursive $ref")
    return check


def _compile_type(schema: Mapping[str, Any]) -> Check:
    types = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
    tests = [_TYPE_CHECKS[t] for t in types]
    return tests[0] if len(tests) == 1 else (lambda x: any(test(x) for test in tests))


def _compile(schema: Any, root: Mapping[str, Any], refs: dict[str, Check | None]) -> Check:
    """A function x -> bool that is True only if x is valid against schema (2020-12 semantics)."""
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict):
        raise Unsupported(repr(schema))
    unknown = set(schema) - ANNOTATIONS - _SUPPORTED
    if unknown:
        raise Unsupported(", ".join(sorted(unknown)))

    ref_check = _compile_ref(schema, root, refs) if "$ref" in schema else None
    type_test = _compile_type(schema) if "type" in schema else None
    enum_set = None
    if "enum" in schema:
        if not all(isinstance(o, str) for o in schema["enum"]):
            raise Unsupported("non-string enum")
        enum_set = frozenset(schema["enum"])

    pattern = re.compile(schema["pattern"]).search if "pattern" in schema else None
    min_len: int = schema.get("minLength", 0)
    max_len: int | None = schema.get("maxLength")
    minimum, maximum, ex_min = schema.get("minimum"), schema.get("maximum"), schema.get("exclusiveMinimum")
    items = _compile(schema["items"], root, refs) if "items" in schema else None
    min_items: int = schema.get("minItems", 0)
    max_items: int | None = schema.get("maxItems")
    unique = schema.get("uniqueItems") is True
    obj = _compile_object(schema, root, refs) if _OBJECT_KEYWORDS & set(schema) else None
    has_string = pattern is not None or min_len or max_len is not None
    has_number = minimum is not None or maximum is not None or ex_min is not None
    has_array = items is not None or min_items or max_items is not None or unique

    def check(x: Any) -> bool:
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


def _specialised(schema: Mapping[str, Any], pattern: Callable[[str], object] | None, min_len: int,
                 max_len: int | None, minimum: Any, maximum: Any, ex_min: Any) -> Check | None:
    """For the leaf shapes a spec is mostly made of (a string, a string or null, a boolean, an
    integer with bounds), the same test as `check` with only the branches that can apply: a spec
    validates ~10 of these per cluster. None for any other shape."""
    kind = schema.get("type")
    keys = schema.keys()
    if kind in ("string", ["string", "null"]) and keys <= _STRING_KEYS:
        nullable = kind != "string"
        # The strings that passed, up to a bound: a spec repeats its instance types, images and keys, and the
        # test is a function of the string alone (a set lookup is cheaper than the pattern's search).
        passed: set[str] = set()

        def check_string(x: Any) -> bool:
            if type(x) is not str:
                return nullable and x is None
            if x in passed:
                return True
            n = len(x)
            if n < min_len or (max_len is not None and n > max_len):
                return False
            if pattern is None:
                return True
            if pattern(x) is None:
                return False
            if len(passed) < _PASSED_BOUND:
                passed.add(x)
            return True

        return check_string
    if kind == "boolean" and keys <= ANNOTATIONS | {"type"}:
        return _is_bool
    if kind == "integer" and keys <= _NUMBER_KEYS:

        def check_integer(x: Any) -> bool:
            t = type(x)
            if not (t is int or (t is float and x.is_integer())):
                return False
            if minimum is not None and x < minimum:
                return False
            if maximum is not None and x > maximum:
                return False
            return ex_min is None or bool(x > ex_min)

        return check_integer
    return None


def _compile_object(schema: Mapping[str, Any], root: Mapping[str, Any], refs: dict[str, Check | None]) -> Check:
    props = {k: _compile(v, root, refs) for k, v in schema.get("properties", {}).items()}
    required = frozenset(schema.get("required", ()))
    additional = schema.get("additionalProperties", True)
    closed = additional is False
    extra = None if additional is True or closed else _compile(additional, root, refs)
    names = _compile(schema["propertyNames"], root, refs) if "propertyNames" in schema else None
    allowed = frozenset(props)

    def check(x: Any) -> bool:
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
