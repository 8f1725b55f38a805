"""Reading an engine's OpenAPI document defensively: the schema of an answer, its properties and their kinds.

The document is what the server sent, so it is input: only local `$ref`s (`#/...`) are followed, to a
bounded depth and never in a cycle; anything that is not the expected shape reads as "not described".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tpdeclare.api.field_aliases import ANY

MAX_DEPTH = 32
_TEMPLATE = re.compile(r"\{[^{}/]*\}")
_COMBINERS = ("anyOf", "oneOf")
_JSON = "application/json"


class OpenApiDocument:
    """One decoded OpenAPI document: answers' schemas by method and path template."""

    def __init__(self, document: Mapping[str, Any]):
        self.document = document
        paths = document.get("paths")
        self._paths: dict[str, Mapping[str, Any]] = {}
        if isinstance(paths, Mapping):
            for template, item in paths.items():
                if isinstance(template, str) and isinstance(item, Mapping):
                    self._paths[normalise_path(template)] = item

    @property
    def title(self) -> str | None:
        info = self.document.get("info")
        title = info.get("title") if isinstance(info, Mapping) else None
        return title if isinstance(title, str) else None

    def success_schema(self, method: str, path: str) -> dict[str, Any] | None:
        """The JSON schema of the first 2xx answer of `method path` (resolved), or None if not described."""
        item = self._paths.get(normalise_path(path))
        op = item.get(method.lower()) if item is not None else None
        responses = op.get("responses") if isinstance(op, Mapping) else None
        if not isinstance(responses, Mapping):
            return None
        for code in sorted(k for k in responses if isinstance(k, str) and k[:1] == "2"):
            answer = self.resolve(responses[code])
            content = answer.get("content") if answer is not None else None
            media = content.get(_JSON) if isinstance(content, Mapping) else None
            schema = media.get("schema") if isinstance(media, Mapping) else None
            resolved = self.resolve(schema)
            if resolved is not None:
                return resolved
        return None

    def resolve(self, node: object, depth: int = 0) -> dict[str, Any] | None:
        """`node` with its `$ref` (and an allOf of objects) followed; None when it cannot be."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or len(seen) >= MAX_DEPTH or not ref.startswith("#/"):
                return None
            seen.add(ref)
            node = self._pointer(ref)
        if not isinstance(node, Mapping):
            return None
        parts = node.get("allOf")
        if isinstance(parts, list) and depth < MAX_DEPTH:
            merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
            props: dict[str, Any] = dict(merged.get("properties") or {})
            for part in parts:
                resolved = self.resolve(part, depth + 1)
                if resolved is not None and isinstance(resolved.get("properties"), Mapping):
                    props.update(resolved["properties"])
                    merged.setdefault("type", resolved.get("type"))
            merged["properties"] = props
            return merged
        return dict(node)

    def properties(self, schema: Mapping[str, Any] | None) -> dict[str, frozenset[str]]:
        """name -> the JSON kinds a property of `schema` may have (ANY when it does not say)."""
        props = schema.get("properties") if schema is not None else None
        if not isinstance(props, Mapping):
            return {}
        return {name: self.kinds(prop) for name, prop in props.items() if isinstance(name, str)}

    def kinds(self, node: object, depth: int = 0) -> frozenset[str]:
        schema = self.resolve(node, depth)
        if schema is None or depth > MAX_DEPTH:
            return frozenset({ANY})
        kind = schema.get("type")
        if isinstance(kind, str):
            return frozenset({kind})
        if isinstance(kind, list) and all(isinstance(k, str) for k in kind):
            return frozenset(kind)
        for combiner in _COMBINERS:
            options = schema.get(combiner)
            if isinstance(options, list) and options:
                return frozenset().union(*(self.kinds(o, depth + 1) for o in options))
        if isinstance(schema.get("properties"), Mapping):
            return frozenset({"object"})
        return frozenset({ANY})

    def property_schema(self, schema: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
        """The schema of property `name` of `schema` (the non-null option of an anyOf/oneOf), resolved."""
        props = schema.get("properties") if schema is not None else None
        return self.non_null(props.get(name)) if isinstance(props, Mapping) else None

    def items_schema(self, schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The item schema of an array schema, resolved."""
        return self.non_null(schema.get("items")) if schema is not None else None

    def non_null(self, node: object) -> dict[str, Any] | None:
        schema = self.resolve(node)
        if schema is None:
            return None
        for combiner in _COMBINERS:
            options = schema.get(combiner)
            if isinstance(options, list):
                real = [r for r in (self.resolve(o) for o in options) if r is not None and r.get("type") != "null"]
                return real[0] if len(real) == 1 else None
        return schema

    def enum_words(self, schema: Mapping[str, Any] | None, name: str) -> tuple[str, ...]:
        """The `enum` of a string property, if the document gives one."""
        prop = self.property_schema(schema, name)
        words = prop.get("enum") if prop is not None else None
        return tuple(w for w in words if isinstance(w, str)) if isinstance(words, list) else ()

    def _pointer(self, ref: str) -> object:
        node: object = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node


def normalise_path(template: str) -> str:
    """`/cluster/info/{cluster}` and `/cluster/info/{cluster_id}` are the same path."""
    return _TEMPLATE.sub("{}", template.rstrip("/") or "/")
