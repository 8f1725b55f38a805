"""Reads specs/tensorpool-api.json (or a dialect's served version of it): JSON Schema validators for its bodies."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from tpdeclare.resources import load_spec_json
from tpdeclare.sandbox.dialects import Dialect
from tpdeclare.sandbox.world import JsonDict

CONTRACT_FILE = "tensorpool-api.json"
_DOC_URI = "urn:tpdeclare:tensorpool-api"


class ApiContract:
    """The API contract document, with $refs resolvable from any schema inside it."""

    def __init__(self, doc: dict[str, Any]):
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.doc = doc
        self._validator_cls = Draft202012Validator
        self._by_name: dict[str, Any] = {}
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self._registry = Registry().with_resource(_DOC_URI, resource)
        self._routes = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"), template)
            for template in doc["paths"]
        ]

    def validator(self, pointer: str) -> Any:
        """A Draft 2020-12 validator for the schema at a JSON pointer (`#/components/schemas/X`)."""
        return self._validator_cls({"$ref": _DOC_URI + pointer}, registry=self._registry)

    def schema_validator(self, name: str) -> Any:
        """A validator for `components/schemas/<name>` (cached: the engine asks on every request)."""
        validator = self._by_name.get(name)
        if validator is None:
            validator = self._by_name[name] = self.validator(f"#/components/schemas/{name}")
        return validator

    def resolve(self, node: Any) -> Any:
        """Follow `$ref`s (to any depth) of an OpenAPI object such as a response."""
        while isinstance(node, dict) and "$ref" in node:
            node = self._pointer(node["$ref"])
        return node

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported: {ref}")
        node: Any = self.doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def path_template(self, path: str) -> str | None:
        """The documented path template (`/cluster/info/{cluster}`) a concrete path matches."""
        matches = [template for regex, template in self._routes if regex.match(path)]
        # Prefer a literal template over one with parameters (`/cluster/list` over `/cluster/{cluster}`).
        matches.sort(key=lambda t: t.count("{"))
        return matches[0] if matches else None

    def response_validator(self, method: str, template: str, status: int) -> Any:
        """A validator for the JSON body of one documented response, or None if it declares no body.

        Raises KeyError if the operation or status is not documented."""
        pointer, response = self._response(method, template, status)
        if "application/json" not in response.get("content", {}):
            return None
        return self.validator(pointer + "/content/application~1json/schema")

    def response_headers(self, method: str, template: str, status: int) -> JsonDict:
        """The headers a documented response declares (name -> header object)."""
        _, response = self._response(method, template, status)
        return {name: self.resolve(h) for name, h in response.get("headers", {}).items()}

    def request_validator(self, method: str, template: str) -> Any:
        """A validator for the JSON request body of an operation, or None if it takes none."""
        operation = self.doc["paths"][template][method.lower()]
        if "requestBody" not in operation:
            return None
        pointer = f"#/paths/{_escape(template)}/{method.lower()}/requestBody/content/application~1json/schema"
        return self.validator(pointer)

    def _response(self, method: str, template: str, status: int) -> tuple[str, JsonDict]:
        operation = self.doc["paths"][template][method.lower()]
        node = operation["responses"][str(status)]
        pointer = f"#/paths/{_escape(template)}/{method.lower()}/responses/{status}"
        while "$ref" in node:
            pointer = node["$ref"]
            node = self._pointer(pointer)
        return pointer, node


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@lru_cache(maxsize=1)
def load_contract() -> ApiContract:
    """The shipped contract document (cached)."""
    return ApiContract(load_spec_json(CONTRACT_FILE))


def request_schema(name: str) -> JsonDict:
    """`components/schemas/<name>` of the shipped contract, as plain JSON (no validator needed)."""
    schema: JsonDict = load_spec_json(CONTRACT_FILE)["components"]["schemas"][name]
    return schema


@lru_cache(maxsize=16)
def dialect_contract(dialect: Dialect) -> ApiContract:
    """The document a dialect serves at GET /openapi.json, as validators (what its answers conform to)."""
    from tpdeclare.sandbox.openapi_doc import served_document

    return ApiContract(served_document(dialect))
