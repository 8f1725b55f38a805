"""`--engine sandbox`: a `requests` adapter that answers from an in-process sandbox engine, world on disk.

The world lives in `state/_sandbox-engine.json` under the working directory (file-locked per request),
so separate tpdeclare commands see the same clusters and the timeline survives between them.

Environment variables (read by `make_inprocess_session`):
    TPDECLARE_SANDBOX_PROVISION_SECONDS   seconds a create takes to reach COMPLETED (default 5)
    TPDECLARE_SANDBOX_DESTROY_SECONDS     seconds a destroy takes (default: the provisioning time)
    TPDECLARE_SANDBOX_EDIT_SECONDS        seconds an edit takes in an async-edit dialect (default: the destroy time)
    TPDECLARE_SANDBOX_DIALECT             the dialect to speak (tpdeclare/sandbox/dialects.py; default: default)
    TPDECLARE_SANDBOX_RETRY_AFTER         Retry-After of polls, 429 and 503 (default 1; 0 if provisioning is 0)
    TPDECLARE_SANDBOX_BALANCE             starting balance in USD (default 10000)
    TPDECLARE_SANDBOX_FAULTS              a fault spec (grammar: tpdeclare/sandbox/faults.py)
    TPDECLARE_SANDBOX_SEED                seed for fault draws and IDs
    TPDECLARE_SANDBOX_KEY                 the only API key accepted; unset = any non-empty key, and the
                                          session then sends `Authorization: Bearer sandbox` unless the
                                          caller sets its own header
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from tpdeclare.errors import TpdeclareError
from tpdeclare.sandbox.dialects import parse_dialect
from tpdeclare.sandbox.engine import Drop, Engine, coerce_seed
from tpdeclare.sandbox.world import FileWorld

INPROCESS_BASE_URL = "http://sandbox.invalid"
DEFAULT_DATA_PATH = Path("state") / "_sandbox-engine.json"
DEFAULT_PROVISION_SECONDS = 5.0
PLACEHOLDER_KEY = "sandbox"


class SandboxAdapter(BaseAdapter):
    """Answers a PreparedRequest from Engine.handle instead of the network."""

    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        split = urlsplit(str(request.url))
        target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        started = time.monotonic()
        result = self.engine.handle(request.method or "GET", target, dict(request.headers), _body_bytes(request.body))
        elapsed = time.monotonic() - started
        if isinstance(result, Drop):
            # The engine committed the request; the caller must treat the outcome as unknown.
            raise requests.exceptions.ConnectionError(
                "Connection aborted: the sandbox closed the connection without a response", request=request
            )
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        if read_timeout is not None and elapsed > read_timeout:
            raise requests.exceptions.ReadTimeout(
                f"the sandbox took {elapsed:.2f}s to answer (read timeout {read_timeout}s)", request=request
            )
        import urllib3

        try:
            reason = HTTPStatus(result.status).phrase
        except ValueError:
            reason = ""
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(result.body),
            headers={**result.headers, "Content-Length": str(len(result.body))},
            status=result.status,
            reason=reason,
            preload_content=False,
            decode_content=False,
        )
        # build_response only sets attributes (`self` stands in for the connection adapter)
        response = HTTPAdapter.build_response(self, request, raw)  # type: ignore[arg-type]
        if not stream:
            _ = response.content
        return response

    def close(self) -> None:
        self.engine.world.close()


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    return b"".join(part.encode("utf-8") if isinstance(part, str) else part for part in body)


def _env_float(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise TpdeclareError(f"{name}={text!r} is not a number") from None
    if value < 0:
        raise TpdeclareError(f"{name}={text!r} must be >= 0")
    return value


def _env_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """_env_float with a default that is a number."""
    value = _env_float(env, name, default)
    return default if value is None else value


def make_inprocess_engine(data_path: str | os.PathLike[str] | None = None,
                          env: Mapping[str, str] | None = None) -> Engine:
    """The Engine that `--engine sandbox` uses, configured from TPDECLARE_SANDBOX_* variables."""
    env = os.environ if env is None else env
    try:
        return Engine(
            FileWorld(data_path if data_path is not None else DEFAULT_DATA_PATH),
            api_key=env.get("TPDECLARE_SANDBOX_KEY") or None,
            provision_seconds=_env_seconds(env, "TPDECLARE_SANDBOX_PROVISION_SECONDS", DEFAULT_PROVISION_SECONDS),
            destroy_seconds=_env_float(env, "TPDECLARE_SANDBOX_DESTROY_SECONDS", None),
            edit_seconds=_env_float(env, "TPDECLARE_SANDBOX_EDIT_SECONDS", None),
            retry_after=_env_float(env, "TPDECLARE_SANDBOX_RETRY_AFTER", None),
            balance=_env_seconds(env, "TPDECLARE_SANDBOX_BALANCE", 10_000.0),
            faults=env.get("TPDECLARE_SANDBOX_FAULTS") or None,
            seed=coerce_seed(env.get("TPDECLARE_SANDBOX_SEED")),
            dialect=parse_dialect(env.get("TPDECLARE_SANDBOX_DIALECT") or None, source="TPDECLARE_SANDBOX_DIALECT"),
        )
    except TpdeclareError as exc:
        if "fault spec" in exc.message:
            raise TpdeclareError(f"TPDECLARE_SANDBOX_FAULTS: {exc.message}", hint=exc.hint) from exc
        raise


def make_inprocess_session(data_path: str | os.PathLike[str] | None = None,
                           env: Mapping[str, str] | None = None) -> requests.Session:
    """A requests.Session whose `INPROCESS_BASE_URL` is served by the in-process sandbox engine."""
    env = os.environ if env is None else env
    engine = make_inprocess_engine(data_path, env)
    session = requests.Session()
    session.mount(INPROCESS_BASE_URL + "/", SandboxAdapter(engine))
    if not env.get("TPDECLARE_SANDBOX_KEY"):
        session.headers["Authorization"] = f"Bearer {PLACEHOLDER_KEY}"
    return session
