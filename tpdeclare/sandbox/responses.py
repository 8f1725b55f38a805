"""The answers the sandbox engine gives: Response and Drop, and builders for JSON, message and FastAPI bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class Response:
    """One HTTP answer: status, body bytes and headers (Content-Type included)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class Drop:
    """Commit-then-drop: the request took effect, and the transport must close without answering."""

    def __repr__(self) -> str:
        return "Drop()"


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer (FastAPI's default encoding: non-ASCII escaped)."""
    return Response(status, json.dumps(payload).encode(), {**JSON_HEADERS, **(headers or {})})


def message(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    """The API's own error or progress answer, `{"message": text}`."""
    return json_response(status, {"message": text}, headers)


def detail(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    """FastAPI's own answer for routing and security errors, `{"detail": text}`."""
    return json_response(status, {"detail": text}, headers)


def error_item(loc: list[str | int], kind: str, msg: str, value: Any,
               ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """One pydantic error item as FastAPI puts it in a 422 body."""
    item: dict[str, Any] = {"type": kind, "loc": list(loc), "msg": msg, "input": value}
    if ctx is not None:
        item["ctx"] = ctx
    return item


def validation_error(items: list[dict[str, Any]]) -> Response:
    """FastAPI's 422: `{"detail": [error items]}`."""
    return json_response(422, {"detail": items})


def seconds(value: float) -> str:
    """A Retry-After value: whole seconds unless configured fractional."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
