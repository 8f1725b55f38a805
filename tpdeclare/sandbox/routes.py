"""The sandbox's route table and how a request finds its endpoint (FastAPI's rules), and the bearer-key check.

Order matters as in FastAPI: the first full match wins (HEAD matches a GET route); a path that
matches only under another method is a 405 with `Allow`; no match at all is a 404. A new endpoint is
one row here and one handler (`engine.HANDLERS`).
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import unquote

from tpdeclare.frozen_values import frozen

# (method, path template, endpoint name)
ROUTE_TABLE: tuple[tuple[str, str, str], ...] = (
    ("GET", "/openapi.json", "openapi"),
    ("POST", "/health", "health"),
    ("GET", "/healthz", "healthz"),
    ("POST", "/cluster/create", "create"),
    ("GET", "/request/info/{request_id}", "request_info"),
    ("GET", "/cluster/list", "list"),
    ("GET", "/cluster/info/{cluster}", "info"),
    ("GET", "/ssh/{instance_id}", "ssh"),
    ("PATCH", "/cluster/edit/{cluster}", "edit"),
    ("DELETE", "/cluster/{cluster}", "delete"),
    ("POST", "/storage/create", "storage_create"),
    ("GET", "/storage/list", "storage_list"),
    ("GET", "/storage/info/{storage_id}", "storage_info"),
    ("PATCH", "/storage/edit/{storage_id}", "storage_edit"),
    ("POST", "/storage/attach", "storage_attach"),
    ("POST", "/storage/detach", "storage_detach"),
    ("DELETE", "/storage/{storage_id}", "storage_delete"),
    ("GET", "/_sandbox/stats", "_stats"),
    ("GET", "/_sandbox/log", "_log"),
    ("POST", "/_sandbox/reset", "_reset"),
    ("POST", "/_sandbox/faults", "_faults"),
)
# Endpoints that answer without a key (besides the /_sandbox/ control paths).
PUBLIC_ENDPOINTS = frozenset({"healthz", "openapi"})
MUTATING_ENDPOINTS = frozenset({"create", "edit", "delete", "storage_create", "storage_edit", "storage_delete",
                                "storage_attach", "storage_detach"})

_ROUTES = tuple(
    (method, re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"), name)
    for method, template, name in ROUTE_TABLE
)


@frozen
class Match:
    """Where a request goes: an endpoint and its path parameters, or the methods the path allows."""

    endpoint: str | None
    params: dict[str, str]
    allowed: frozenset[str]


def split_target(target: str) -> tuple[str, str]:
    """(path, query) of an HTTP request target: origin form (`/p?q`) or absolute form (`http://h/p?q`).
    Never raises: urllib's URL parser refuses some targets a client can send (`//[`)."""
    head, _, query = target.partition("?")
    head = head.partition("#")[0]
    scheme, sep, rest = head.partition("://")
    if sep and scheme.lower() in ("http", "https") and "/" not in scheme:
        head = "/" + rest.partition("/")[2]
    return head or "/", query.partition("#")[0]


def route(method: str, path: str) -> Match:
    """The endpoint for `method path` (endpoint None: 405 if `allowed`, else 404)."""
    allowed: set[str] = set()
    for route_method, regex, name in _ROUTES:
        m = regex.match(path)
        if m is None:
            continue
        if route_method == method or (method == "HEAD" and route_method == "GET"):  # Starlette's rule
            return Match(name, {k: unquote(v) for k, v in m.groupdict().items()}, frozenset(allowed))
        allowed.add(route_method)
    return Match(None, {}, frozenset(allowed))


NOT_AUTHENTICATED = "Not authenticated"
INVALID_CREDENTIALS = "Invalid authentication credentials"


def bearer_problem(header: str | None) -> tuple[str | None, str | None]:
    """(the key of an `Authorization: Bearer <key>` header, None) or (None, what FastAPI's HTTPBearer
    answers): "Not authenticated" with no header or no credentials, "Invalid authentication credentials"
    for another scheme."""
    scheme, _, key = (header or "").strip().partition(" ")
    key = key.strip()
    if not scheme or not key:
        return None, NOT_AUTHENTICATED
    if scheme.lower() != "bearer":
        return None, INVALID_CREDENTIALS
    return key, None


def key_accepted(presented: str, expected: str | None) -> bool:
    """Whether a presented key is accepted (`expected` None: any non-empty key)."""
    return expected is None or hmac.compare_digest(presented.encode(), expected.encode())
