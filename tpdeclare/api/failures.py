"""Classifying what went wrong: transport failures (sent or not, retryable or not) and HTTP statuses, as typed errors.

The one boundary where `requests`, `urllib3`, `http.client`, `ssl` and `socket` exceptions become
tpdeclare errors. "Nothing was sent" is claimed only with proof (the connection never completed); any
doubt means the request may have reached the server.
"""

from __future__ import annotations

import http.client
import socket
import ssl

import requests
import urllib3.exceptions

from tpdeclare.api.answer import Answer
from tpdeclare.api.redaction import Secret, redact
from tpdeclare.api.server_text import OBJECT_REPR, excerpt, server_words
from tpdeclare.api.vocabulary import H_LOCATION
from tpdeclare.errors import (
    ApiConnectionError,
    ApiStatusError,
    BadRequest,
    Conflict,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)

RETRY_STATUSES = frozenset({429, 502, 503, 504})  # retried on idempotent calls only

STATUS_ERRORS: dict[int, type[ApiStatusError]] = {
    400: BadRequest,
    401: Unauthorized,
    402: PaymentRequired,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
}
STATUS_HINTS = {
    400: "the server rejected the request's parameters (for a create: also a cluster name already taken)",
    401: "check TENSORPOOL_KEY: the API key is missing, wrong or revoked",
    402: "top up the balance of your TensorPool account, then run again",
    403: "the API key is not allowed to do this; check TENSORPOOL_KEY and your organisation's permissions",
    404: "no such cluster or request: it may have been deleted outside tpdeclare",
    409: "the cluster's state forbids this (e.g. deletion protection is on: turn it off first)",
    422: "the server rejected the request body; the TensorPool API may have changed: check for a newer tpdeclare",
    429: "the API is rate limiting this key; wait a minute and run again",
}
# The storage endpoints' own words where the cluster ones would mislead (/storage/...).
STORAGE_STATUS_HINTS = {
    400: "the server rejected the request's parameters (for a volume: also a name already taken, a shrink, or an "
         "attach to a single-node GPU cluster)",
    404: "no such volume, cluster or request: it may have been deleted outside tpdeclare",
    409: "the volume's or the cluster's state forbids this now (a volume still being created or attached, deletion "
         "protection on, a cluster not running): run plan again to see what changed",
}
SERVER_ERROR_HINT = "TensorPool's server failed; try again later"
MALFORMED_HINT = "the TensorPool API may have changed; check for a newer tpdeclare, or report this answer"
NETWORK_HINT = "check the network and the engine URL (--engine / TENSORPOOL_ENGINE)"


class ExchangeExpired(Exception):
    """Internal: an exchange outlived its deadline and was cut off (connect, headers or body).

    `not_sent` is True only when the transport saw that no byte of the request was written.
    `by_run_deadline` when the caller's run deadline, not the per-call timeout, was the limit.
    """

    def __init__(self, seconds: float, *, not_sent: bool, by_run_deadline: bool):
        self.seconds = seconds
        self.not_sent = not_sent
        self.by_run_deadline = by_run_deadline
        super().__init__(describe_expiry(self))


def describe_expiry(exc: ExchangeExpired) -> str:
    limit = "before the run's time limit" if exc.by_run_deadline else f"within {seconds_text(exc.seconds)}"
    if exc.not_sent:
        return f"could not connect {limit}"
    return f"no complete answer {limit}"


TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError,
                    ExchangeExpired)

_BAD_REQUEST_SETUP = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.URLRequired,
    requests.exceptions.InvalidHeader,
)
_NAME_RESOLUTION: tuple[type[BaseException], ...] = (socket.gaierror,) + (
    (urllib3.exceptions.NameResolutionError,) if hasattr(urllib3.exceptions, "NameResolutionError") else ()
)
# Seen anywhere in the cause chain, these mean the TCP connection (or the TLS handshake) never completed.
_NOT_SENT = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    requests.exceptions.ConnectTimeout,
    ConnectionRefusedError,
    ssl.SSLCertVerificationError,
) + _NAME_RESOLUTION
# ...unless one of these is also in the chain: then bytes may have left and been acted on.
_MAYBE_SENT = (
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    requests.exceptions.ReadTimeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    http.client.RemoteDisconnected,
    http.client.IncompleteRead,
)
_CUT_OFF = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
            http.client.IncompleteRead)
_CLOSED = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, http.client.RemoteDisconnected,
           urllib3.exceptions.ProtocolError)
# The first kind whose exception types appear in the chain names the failure.
_KINDS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    (_BAD_REQUEST_SETUP[:4], "invalid engine URL"),
    ((requests.exceptions.InvalidHeader,), "a header could not be sent"),
    (_NAME_RESOLUTION, "host name not found"),
    ((ConnectionRefusedError,), "connection refused"),
    ((urllib3.exceptions.NewConnectionError,), "could not connect"),
    ((requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError), "timed out connecting"),
    ((requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError), "timed out waiting for the answer"),
    ((ssl.SSLCertVerificationError,), "TLS certificate verification failed"),
    ((requests.exceptions.SSLError, ssl.SSLError, urllib3.exceptions.SSLError), "TLS error"),
    (_CUT_OFF, "the answer was cut off"),
    ((http.client.RemoteDisconnected,), "the connection was closed before an answer"),
    ((http.client.HTTPException,), "the answer was not valid HTTP"),  # a bad status line, too many headers
    (_CLOSED, "the connection was closed before an answer"),
    ((TimeoutError, requests.exceptions.Timeout), "timed out"),
)


def reason_chain(exc: BaseException, limit: int = 10) -> list[BaseException]:
    """The exception and the ones it wraps (MaxRetryError.reason, args[0], __cause__), outermost first."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and len(chain) < limit and id(current) not in seen:
        chain.append(current)
        seen.add(id(current))
        nested: BaseException | None = None
        reason = getattr(current, "reason", None) if isinstance(current, urllib3.exceptions.MaxRetryError) else None
        if isinstance(reason, BaseException):
            nested = reason
        else:
            for arg in getattr(current, "args", ()):
                if isinstance(arg, BaseException):
                    nested = arg
                    break
        if nested is None:
            nested = current.__cause__
        current = nested
    return chain


def _has(chain: list[BaseException], types: tuple[type[BaseException], ...]) -> bool:
    return any(isinstance(e, types) for e in chain)


def definitely_not_sent(exc: BaseException) -> bool:
    """True only when the failure proves no byte of the request reached the server."""
    if isinstance(exc, ExchangeExpired):
        return exc.not_sent
    chain = reason_chain(exc)
    if _has(chain, _BAD_REQUEST_SETUP):
        return True
    if _has(chain, _MAYBE_SENT):
        return False
    return _has(chain, _NOT_SENT)


def transport_retryable(exc: BaseException) -> bool:
    """Transient transport failures are retried (idempotent calls); a bad URL or TLS setup is not."""
    chain = reason_chain(exc)
    return not _has(chain, _BAD_REQUEST_SETUP + (ssl.SSLCertVerificationError,))


def describe_transport(exc: BaseException, secret: Secret) -> str:
    """A short human description of a transport failure, e.g. `connection refused ([Errno 111] ...)`."""
    if isinstance(exc, ExchangeExpired):
        return describe_expiry(exc)
    chain = reason_chain(exc)
    kind = next((words for types, words in _KINDS if _has(chain, types)), "connection failed")
    detail = ""
    for e in reversed(chain):  # the innermost readable text says most
        detail = excerpt(OBJECT_REPR.sub("", str(e)).strip(" :"), 160)
        if detail:
            break
    detail = redact(detail, secret)
    if not detail or detail.lower() == kind:
        return kind
    return f"{kind} ({detail})"


def safe_cause(exc: BaseException, secret: Secret) -> BaseException | None:
    """`exc` for `raise ... from`, unless any text in its chain shows the key (then no cause at all)."""
    for e in reason_chain(exc):
        try:
            if secret.found_in(str(e)) or secret.found_in(repr(e)):
                return None
        except Exception:
            return None
    return exc


def status_error(method: str, path: str, answer: Answer, secret: Secret, *, summary: str | None = None
                 ) -> ApiStatusError:
    """The typed error for a non-2xx answer, with the server's words (redacted) and a hint."""
    status = answer.status or 0
    words = redact(server_words(answer), secret)
    if status in STATUS_ERRORS:
        cls = STATUS_ERRORS[status]
    elif 500 <= status < 600:
        cls = ServerError
    else:
        cls = ApiStatusError
    hint = (STORAGE_STATUS_HINTS.get(status) if path.startswith("/storage/") else None) or STATUS_HINTS.get(status)
    if hint is None and 500 <= status < 600:
        hint = SERVER_ERROR_HINT
    if hint is None and 300 <= status < 400:
        location = excerpt(answer.header(H_LOCATION) or "", 120)
        hint = "the engine URL redirects" + (f" to {location}" if location else "") + "; use the final URL"
    if summary:
        hint = f"{hint} ({summary})" if hint else summary
    return cls(status, method, path, words, redact(hint, secret) if hint else None)


def connection_error(method: str, path: str, base_url: str, exc: BaseException, secret: Secret,
                     summary: str | None) -> ApiConnectionError:
    """The typed error for an idempotent call that got no answer."""
    what = describe_transport(exc, secret)
    hint = f"{NETWORK_HINT}; {summary}" if summary else NETWORK_HINT
    return ApiConnectionError(f"{method} {path}: cannot reach the API at {base_url}: {what}", hint=hint)


def seconds_text(seconds: float, digits: int = 3) -> str:
    return f"{round(seconds, digits):g}s"
