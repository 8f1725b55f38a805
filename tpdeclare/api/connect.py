"""Choose the engine and the API key (flag, environment, ./.env) and build the API client from them."""

from __future__ import annotations

import importlib
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tpdeclare.errors import TpdeclareError

if TYPE_CHECKING:  # the client imports requests: only make_client loads it
    from tpdeclare.api.client import TensorPoolClient

DEFAULT_ENGINE = "https://engine.tensorpool.dev"
SANDBOX = "sandbox"
ENGINE_ENV = "TENSORPOOL_ENGINE"
KEY_ENV = "TENSORPOOL_KEY"
DOTENV = ".env"
SANDBOX_MODULE = "tpdeclare.sandbox.inprocess"
SANDBOX_DATA = Path("state") / "_sandbox-engine.json"
SANDBOX_KEY = "sandbox-key"

_ENGINE_HINT = (
    "use https://HOST (e.g. https://engine.tensorpool.dev), http://127.0.0.1:PORT for a local engine, "
    "or 'sandbox'"
)


def resolve_engine(engine_arg: str | None, env: Mapping[str, str] = os.environ) -> str:
    """The engine to talk to: --engine, else $TENSORPOOL_ENGINE, else the public API; 'sandbox' as is.

    `engine_arg` is None when --engine was not given. A given but empty or blank --engine, or a
    TENSORPOOL_ENGINE that is set but empty or blank, raises TpdeclareError naming which one: an empty
    value never silently means the public (paying) API. Surrounding whitespace and trailing slashes are
    removed; the URL itself is checked by `check_engine_url` (make_client does).
    """
    if engine_arg is not None:
        value = _given("--engine", engine_arg, "--engine is empty")
    elif ENGINE_ENV in env:
        value = _given(ENGINE_ENV, env[ENGINE_ENV], f"{ENGINE_ENV} is set but empty")
    else:
        value = DEFAULT_ENGINE
    if value.lower() == SANDBOX:
        return SANDBOX
    return value.rstrip("/")


def _given(where: str, value: object, empty: str) -> str:
    """An engine named by `where`, stripped; refused when it is empty or blank."""
    if not isinstance(value, str) or not value.strip():
        if where.startswith("--"):
            hint = (f"give an engine URL (e.g. {DEFAULT_ENGINE}) or 'sandbox', or leave {where} out to use "
                    f"${ENGINE_ENV} or the public API")
        else:
            hint = f"set {where} to an engine URL or 'sandbox', or unset it to use the public API ({DEFAULT_ENGINE})"
        raise TpdeclareError(f"{empty}: no engine to talk to", hint=hint)
    return value.strip()


def resolve_api_key(env: Mapping[str, str] = os.environ, cwd: str | os.PathLike[str] = ".") -> str | None:
    """$TENSORPOOL_KEY, else a `TENSORPOOL_KEY=...` line in <cwd>/.env (quotes stripped); None if neither."""
    value = env.get(KEY_ENV)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return _key_from_dotenv(Path(cwd) / DOTENV)


def check_engine_url(url: str) -> None:
    """Refuse an engine URL that is malformed, carries credentials, or is plain http to a non-local host."""
    shown = _display_url(url)
    if not url or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise TpdeclareError(f"invalid engine URL {shown!r}: it is empty or contains spaces", hint=_ENGINE_HINT)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
        host = parts.hostname
    except ValueError as exc:
        raise TpdeclareError(f"invalid engine URL {shown!r}: {exc}", hint=_ENGINE_HINT) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TpdeclareError(
            f"invalid engine URL {shown!r}: it must start with https:// (or http:// for a local engine)",
            hint=_ENGINE_HINT,
        )
    if not host:
        raise TpdeclareError(f"invalid engine URL {shown!r}: no host name", hint=_ENGINE_HINT)
    if parts.username is not None or parts.password is not None:
        raise TpdeclareError(
            f"invalid engine URL {shown!r}: it must not contain credentials",
            hint="put the API key in TENSORPOOL_KEY, not in the URL",
        )
    if parts.query or parts.fragment:
        raise TpdeclareError(f"invalid engine URL {shown!r}: it must not have a query or fragment", hint=_ENGINE_HINT)
    if scheme == "http" and not is_loopback_host(host):
        raise TpdeclareError(
            f"refusing to send the API key over plain http to {host}",
            hint="use https://, or http:// only for an engine on this machine (127.0.0.1, ::1, localhost)",
        )


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (also as an IPv4-mapped address)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.is_loopback:
        return True
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(mapped is not None and mapped.is_loopback)


def make_client(
    engine_arg: str | None,
    *,
    env: Mapping[str, str] = os.environ,
    cwd: str | os.PathLike[str] = ".",
    discover: bool = False,
    **client_kwargs: Any,
) -> TensorPoolClient:
    """The API client for the resolved engine; 'sandbox' is the in-process engine under <cwd>/state/.

    `discover`: the client reads the engine's OpenAPI document on its first call and maps fields from it
    (what every CLI run does); the document of a remote engine is cached (`api/openapi_cache.py`), a
    local one's (the sandbox, a loopback URL) is read every run: it is free, and a restarted local engine
    may speak another dialect. Raises TpdeclareError for a bad engine URL or a missing key (a key is
    optional for the sandbox).
    """
    engine = resolve_engine(engine_arg, env)
    key = resolve_api_key(env, cwd)
    if engine == SANDBOX:
        from tpdeclare.api.client import TensorPoolClient

        inprocess = importlib.import_module(SANDBOX_MODULE)
        session = inprocess.make_inprocess_session(Path(cwd) / SANDBOX_DATA, env=env)
        if discover:
            client_kwargs["discovery"] = _discovery(inprocess.INPROCESS_BASE_URL, env, cached=False)
        return TensorPoolClient(inprocess.INPROCESS_BASE_URL, key or SANDBOX_KEY, session=session, **client_kwargs)
    check_engine_url(engine)
    if discover:
        local = is_loopback_host(urlsplit(engine).hostname or "")
        client_kwargs["discovery"] = _discovery(engine, env, cached=not local)
    if not key:
        raise TpdeclareError(
            f"no API key: set {KEY_ENV} (or put a {KEY_ENV}=... line in ./.env)",
            hint="get a key from your TensorPool dashboard, or try tpdeclare without one using --engine sandbox",
        )
    from tpdeclare.api.client import TensorPoolClient

    return TensorPoolClient(engine, key, **client_kwargs)


def _discovery(engine: str, env: Mapping[str, str], *, cached: bool) -> Any:
    from tpdeclare.api.discovery import Discovery
    from tpdeclare.api.openapi_cache import DocumentCache, cache_directory

    return Discovery(engine, DocumentCache(cache_directory(env)) if cached else None)


def _key_from_dotenv(path: Path) -> str | None:
    """The last `TENSORPOOL_KEY=` assignment in a dotenv file, unquoted; None if absent or unreadable."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")  # -sig: Notepad's BOM
    except OSError:
        return None
    found: str | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export") :].strip()
        name, sep, value = line.partition("=")
        if not sep or name.strip() != KEY_ENV:
            continue
        found = _dotenv_value(value.strip())
    return found or None


def _dotenv_value(value: str) -> str:
    """A dotenv value: quoted ('...' or "...") taken verbatim, unquoted cut at an inline ` #` comment."""
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        if end != -1:
            return value[1:end].strip()
        return value[1:].strip()  # an unterminated quote: take the rest
    for marker in (" #", "\t#"):
        cut = value.find(marker)
        if cut != -1:
            value = value[:cut]
    return value.strip()


def _display_url(url: str) -> str:
    """The URL for an error message, with any user:password@ removed."""
    if "@" in url:
        scheme, sep, rest = url.partition("://")
        if sep:
            netloc, slash, path = rest.partition("/")
            if "@" in netloc:
                return f"{scheme}://***@{netloc.rsplit('@', 1)[1]}{slash}{path}"
    return url
