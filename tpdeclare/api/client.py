"""The TensorPool REST API client: the only module that knows the API's paths, field names and statuses."""

from __future__ import annotations

import http
import http.client
import json
import logging
import math
import random
import re
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote

import requests
import requests.adapters
import requests.auth
import urllib3.exceptions

from tpdeclare import __version__
from tpdeclare.api.retry import RetryPolicy, parse_retry_after
from tpdeclare.errors import (
    ApiConnectionError,
    ApiStatusError,
    BadRequest,
    Conflict,
    MalformedAcceptance,
    MalformedResponse,
    NotFound,
    OutcomeUnknown,
    PaymentRequired,
    PollTimeout,
    RateLimited,
    ServerError,
    TpdeclareError,
    Unauthorized,
    ValidationFailed,
)

__all__ = [
    "ClusterInfo",
    "CreateResult",
    "DeleteResult",
    "RequestInfo",
    "TensorPoolClient",
]

log = logging.getLogger("tpdeclare.api")

# --------------------------------------------------------------------------------------------------
# The API's vocabulary. When TensorPool renames something, this block is what changes.
# --------------------------------------------------------------------------------------------------
PATH_HEALTH = "/health"
PATH_CLUSTER_CREATE = "/cluster/create"
PATH_CLUSTER_LIST = "/cluster/list"
PATH_CLUSTER_INFO = "/cluster/info/{cluster_id}"
PATH_CLUSTER_EDIT = "/cluster/edit/{cluster_id}"
PATH_CLUSTER_DELETE = "/cluster/{cluster_id}"
PATH_REQUEST_INFO = "/request/info/{request_id}"

LIST_PARAMS = {"include_org": "true"}

# POST /cluster/create request fields
F_INSTANCE_TYPE = "instance_type"
F_NUM_NODES = "num_nodes"
F_TP_CLUSTER_NAME = "tp_cluster_name"
F_CONTAINER = "container"
F_DELETION_PROTECTION = "deletion_protection"
F_PUBLIC_KEYS = "public_keys"
F_SAVE_KEYS = "save_keys"
# PATCH /cluster/edit request fields (edit says cluster_name, not tp_cluster_name)
F_EDIT_NAME = "cluster_name"
# response fields
F_CLUSTER_ID = "cluster_id"
F_INSTANCE_IDS = "instance_ids"
F_REQUEST_ID = "request_id"
F_MESSAGE = "message"
F_CLUSTERS = "clusters"
F_CLUSTER_INFO = "cluster_info"
F_STATUS = "status"
F_INSTANCES = "instances"
F_INSTANCE_ID = "instance_id"
F_CREATED_AT = "created_at"
F_REQUEST_TYPE = "request_type"
F_OBJECT_ID = "object_id"
F_EXTERNAL_MESSAGE = "external_message"
# error bodies: the server's words, in the order the official CLI looks for them
ERROR_TEXT_FIELDS = ("message", "error", "external_message")
F_DETAIL = "detail"  # FastAPI: a string, or [{"loc": [...], "msg": "...", "type": "..."}]

# request statuses (GET /request/info)
REQUEST_PENDING = "PENDING"
REQUEST_PROCESSING = "PROCESSING"
REQUEST_RETRYING = "RETRYING"
REQUEST_COMPLETED = "COMPLETED"
REQUEST_FAILED = "FAILED"
REQUEST_STATUSES = (REQUEST_PENDING, REQUEST_PROCESSING, REQUEST_RETRYING, REQUEST_COMPLETED, REQUEST_FAILED)
REQUEST_TERMINAL = frozenset({REQUEST_COMPLETED, REQUEST_FAILED})
# request types
REQUEST_TYPE_CREATE = "CLUSTER_CLAIM"
REQUEST_TYPE_DESTROY = "CLUSTER_RELEASE"
REQUEST_TYPE_EDIT = "CLUSTER_EDIT"

# cluster statuses (ClusterInfo.status)
CLUSTER_PENDING = "PENDING"
CLUSTER_PROVISIONING = "PROVISIONING"
CLUSTER_CONFIGURING = "CONFIGURING"
CLUSTER_RUNNING = "RUNNING"
CLUSTER_DESTROYING = "DESTROYING"
CLUSTER_DESTROYED = "DESTROYED"
CLUSTER_FAILED = "FAILED"
CLUSTER_STATUSES = (
    CLUSTER_PENDING,
    CLUSTER_PROVISIONING,
    CLUSTER_CONFIGURING,
    CLUSTER_RUNNING,
    CLUSTER_DESTROYING,
    CLUSTER_DESTROYED,
    CLUSTER_FAILED,
)

# --------------------------------------------------------------------------------------------------
# HTTP behaviour
# --------------------------------------------------------------------------------------------------
RETRY_STATUSES = frozenset({429, 502, 503, 504})  # retried on idempotent calls only
DEFAULT_POLL_INTERVAL = 2.0  # no Retry-After on a poll answer
MIN_POLL_INTERVAL = 1.0  # a positive Retry-After below this is raised to it (0 stays 0)
MAX_POLL_INTERVAL = 60.0
MAX_ZERO_POLLS = 20  # a server that says "Retry-After: 0" forever must not make us spin
USER_AGENT = f"tpdeclare/{__version__}"
EXCERPT_CHARS = 200
SERVER_WORDS_CHARS = 2000

_STATUS_ERRORS: dict[int, type[ApiStatusError]] = {
    400: BadRequest,
    401: Unauthorized,
    402: PaymentRequired,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
}
_STATUS_HINTS = {
    400: "the server rejected the request's parameters (for a create: also a cluster name already taken)",
    401: "check TENSORPOOL_KEY: the API key is missing, wrong or revoked",
    402: "top up the balance of your TensorPool account, then run again",
    403: "the API key is not allowed to do this; check TENSORPOOL_KEY and your organisation's permissions",
    404: "no such cluster or request: it may have been deleted outside tpdeclare",
    409: "the cluster's state forbids this (e.g. deletion protection is on: turn it off first)",
    422: "the server rejected the request body; the TensorPool API may have changed: check for a newer tpdeclare",
    429: "the API is rate limiting this key; wait a minute and run again",
}
_SERVER_ERROR_HINT = "TensorPool's server failed; try again later"
_MALFORMED_HINT = "the TensorPool API may have changed; check for a newer tpdeclare, or report this answer"


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreateResult:
    """The 202 answer to POST /cluster/create."""

    cluster_id: str
    instance_ids: tuple[str, ...]
    request_id: str | None
    message: str


@dataclass(frozen=True)
class RequestInfo:
    """One poll of an asynchronous request (GET /request/info/{id})."""

    request_id: str
    request_type: str | None
    status: str
    object_id: str | None
    external_message: str | None
    retry_after: float | None  # the answer's Retry-After header, seconds; None without one

    @property
    def is_terminal(self) -> bool:
        """COMPLETED or FAILED; PENDING, PROCESSING, RETRYING (and unknown statuses) keep polling."""
        return self.status.upper() in REQUEST_TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.status.upper() == REQUEST_COMPLETED

    @property
    def failed(self) -> bool:
        return self.status.upper() == REQUEST_FAILED

    @property
    def is_known_status(self) -> bool:
        return self.status.upper() in REQUEST_STATUSES


@dataclass(frozen=True)
class ClusterInfo:
    """One cluster as the API reports it (list or info)."""

    cluster_id: str
    name: str | None  # the tp_cluster_name; None for an unnamed cluster
    instance_type: str
    num_nodes: int
    container: str | None
    deletion_protection: bool
    status: str
    instance_ids: tuple[str, ...]
    created_at: str | None

    @property
    def is_destroyed(self) -> bool:
        """DESTROYED: the cluster no longer exists (it may still be listed)."""
        return self.status.upper() == CLUSTER_DESTROYED

    @property
    def is_destroying(self) -> bool:
        return self.status.upper() == CLUSTER_DESTROYING

    @property
    def is_failed(self) -> bool:
        return self.status.upper() == CLUSTER_FAILED

    @property
    def is_running(self) -> bool:
        return self.status.upper() == CLUSTER_RUNNING


@dataclass(frozen=True)
class DeleteResult:
    """The 202 answer to DELETE /cluster/{id}."""

    cluster_id: str
    request_id: str | None
    message: str


# --------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------
class _Secret:
    """A string that shows as <redacted> in every repr, str, vars() or log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a secret cannot be pickled")


class _BearerAuth(requests.auth.AuthBase):
    """Adds `Authorization: Bearer <key>` (and keeps requests from consulting ~/.netrc instead)."""

    __slots__ = ("_key",)

    def __init__(self, key: _Secret):
        self._key = key

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        return request

    def __repr__(self) -> str:
        return "<BearerAuth (redacted)>"

    __str__ = __repr__

    def __getstate__(self):
        raise TypeError("the API credentials cannot be pickled")


class TensorPoolClient:
    """One method per TensorPool endpoint, with typed results and typed errors.

    Idempotent calls (health, list, info, request info, edit) are retried on 429/502/503/504 and on
    connection failures, with full-jitter backoff and Retry-After, within `max_retries` retries and
    `max_total_wait` seconds. Create and delete are sent exactly once: when the answer is lost they
    raise OutcomeUnknown, never a guess.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = 30.0,
        max_retries: int = 5,
        max_total_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ):
        if not isinstance(base_url, str) or not base_url.strip():
            raise ValueError("base_url must be a non-empty string")
        self._base_url = base_url.strip().rstrip("/")
        self._key = _Secret(_check_key(api_key))
        self._auth = _BearerAuth(self._key)
        self._timeout = _check_timeout(timeout)
        self._policy = RetryPolicy(max_retries=max_retries, max_total_wait=max_total_wait)
        self._session = session if session is not None else _default_session()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng

    def __repr__(self) -> str:
        return f"TensorPoolClient(base_url={self._base_url!r}, api_key=<redacted>)"

    __str__ = __repr__

    def __getstate__(self):
        raise TypeError("TensorPoolClient holds credentials and cannot be pickled")

    @property
    def base_url(self) -> str:
        return self._base_url

    # ---------------------------------------------------------------------------------- endpoints
    def health(self) -> str:
        """POST /health: the server's greeting. Raises Unauthorized for a bad key."""
        resp = self._call_idempotent("POST", PATH_HEALTH)
        return self._parse("POST", PATH_HEALTH, resp, _parse_message_body)

    def create_cluster(
        self,
        *,
        instance_type: str,
        num_nodes: int,
        tp_cluster_name: str,
        container: str | None = None,
        deletion_protection: bool = False,
        public_keys: tuple[str, ...] | list[str] = (),
        save_keys: bool = False,
    ) -> CreateResult:
        """POST /cluster/create, sent exactly once (never retried).

        A lost answer (reset, read timeout) or a 5xx raises OutcomeUnknown; a 2xx we cannot read raises
        MalformedAcceptance (also an OutcomeUnknown). A connection that was refused, so that nothing was
        sent, raises ApiConnectionError. A 429 raises RateLimited: the request was not done.
        """
        _need_str("instance_type", instance_type)
        _need_str("tp_cluster_name", tp_cluster_name)
        if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
            raise ValueError(f"num_nodes must be an int >= 1, not {num_nodes!r}")
        if container is not None:
            _need_str("container", container)
        keys = list(public_keys)
        if not all(isinstance(k, str) for k in keys):
            raise ValueError("public_keys must be strings")
        body: dict[str, Any] = {
            F_INSTANCE_TYPE: instance_type,
            F_NUM_NODES: num_nodes,
            F_TP_CLUSTER_NAME: tp_cluster_name,
            F_DELETION_PROTECTION: bool(deletion_protection),
            F_PUBLIC_KEYS: keys,
            F_SAVE_KEYS: bool(save_keys),
        }
        if container is not None:
            body[F_CONTAINER] = container
        subject = f"the cluster {tp_cluster_name!r}"
        resp = self._call_once(
            "POST",
            PATH_CLUSTER_CREATE,
            body,
            not_done=f"{subject} was not created",
            unknown=f"{subject} may or may not have been created",
            unknown_hint=(
                f"do not create it by hand: the next tpdeclare run looks the name {tp_cluster_name!r} up "
                "and adopts the cluster if it exists"
            ),
        )
        return self._parse(
            "POST",
            PATH_CLUSTER_CREATE,
            resp,
            _parse_create,
            accepted=f"{subject} was probably created, but its ID is unknown",
        )

    def request_info(self, request_id: str) -> RequestInfo:
        """GET /request/info/{request_id}: one poll of an asynchronous request."""
        path = PATH_REQUEST_INFO.format(request_id=_path_param("request_id", request_id))
        resp = self._call_idempotent("GET", path)
        retry_after = self._retry_after(resp)
        return self._parse("GET", path, resp, lambda d: _parse_request_info(d, request_id, retry_after))

    def wait_for_request(
        self,
        request_id: str,
        *,
        deadline_seconds: float,
        what: str,
        on_poll: Callable[[RequestInfo], None] | None = None,
    ) -> RequestInfo:
        """Poll until COMPLETED or FAILED and return that RequestInfo (the caller judges FAILED).

        Between polls it sleeps the answer's Retry-After, at least 1 s (but 0 when the server says 0),
        2 s without the header. `on_poll(info)` is called after every poll. After `deadline_seconds`
        it raises PollTimeout naming `what`; the exception carries `request_id` and `last_info`.
        """
        if isinstance(deadline_seconds, bool) or not isinstance(deadline_seconds, (int, float)):
            raise ValueError(f"deadline_seconds must be a number, not {deadline_seconds!r}")
        start = self._clock()
        zero_streak = 0
        warned_unknown = False
        while True:
            info = self.request_info(request_id)
            if on_poll is not None:
                on_poll(info)
            if info.is_terminal:
                return info
            if not info.is_known_status and not warned_unknown:
                warned_unknown = True
                log.warning("request %s has an unknown status %r; still polling", request_id, info.status)
            remaining = deadline_seconds - (self._clock() - start)
            if remaining <= 0:
                err = PollTimeout(
                    f"timed out after {_fmt_seconds(deadline_seconds)} waiting for {what} "
                    f"(request {request_id}, last status {info.status})",
                    hint="the request may still finish: the next tpdeclare run picks it up",
                )
                err.request_id = request_id  # type: ignore[attr-defined]
                err.last_info = info  # type: ignore[attr-defined]
                raise err
            delay = _poll_delay(info.retry_after)
            if delay == 0:
                zero_streak += 1
                if zero_streak > MAX_ZERO_POLLS:
                    delay = MIN_POLL_INTERVAL
            else:
                zero_streak = 0
            self._sleep(min(delay, remaining))

    def list_clusters(self) -> list[ClusterInfo]:
        """GET /cluster/list?include_org=true: every cluster the key can see (one call)."""
        resp = self._call_idempotent("GET", PATH_CLUSTER_LIST, params=LIST_PARAMS)
        return self._parse("GET", PATH_CLUSTER_LIST, resp, _parse_cluster_list)

    def cluster_info(self, cluster_id: str) -> ClusterInfo:
        """GET /cluster/info/{cluster_id}. Raises NotFound for an unknown cluster."""
        path = PATH_CLUSTER_INFO.format(cluster_id=_path_param("cluster_id", cluster_id))
        resp = self._call_idempotent("GET", path)
        return self._parse("GET", path, resp, _parse_cluster_info_body)

    def edit_cluster(
        self, cluster_id: str, *, cluster_name: str | None = None, deletion_protection: bool | None = None
    ) -> str:
        """PATCH /cluster/edit/{cluster_id}: rename and/or set deletion protection (idempotent, retried)."""
        path = PATH_CLUSTER_EDIT.format(cluster_id=_path_param("cluster_id", cluster_id))
        body: dict[str, Any] = {}
        if cluster_name is not None:
            _need_str("cluster_name", cluster_name)
            body[F_EDIT_NAME] = cluster_name
        if deletion_protection is not None:
            if not isinstance(deletion_protection, bool):
                raise ValueError(f"deletion_protection must be a bool, not {deletion_protection!r}")
            body[F_DELETION_PROTECTION] = deletion_protection
        if not body:
            raise ValueError("edit_cluster needs cluster_name or deletion_protection")
        resp = self._call_idempotent("PATCH", path, body=body)
        return self._parse("PATCH", path, resp, _parse_message_body)

    def delete_cluster(self, cluster_id: str) -> DeleteResult:
        """DELETE /cluster/{cluster_id}, sent exactly once; a lost answer or 5xx raises OutcomeUnknown."""
        path = PATH_CLUSTER_DELETE.format(cluster_id=_path_param("cluster_id", cluster_id))
        subject = f"the cluster {cluster_id}"
        resp = self._call_once(
            "DELETE",
            path,
            None,
            not_done=f"{subject} was not asked to be destroyed",
            unknown=f"{subject} may or may not be being destroyed",
            unknown_hint="the next tpdeclare run checks the cluster's status before doing anything else",
        )
        return self._parse(
            "DELETE",
            path,
            resp,
            lambda d: _parse_delete(d, cluster_id),
            accepted=f"{subject} is probably being destroyed, but the request to poll is unknown",
        )

    # ---------------------------------------------------------------------------------- transport
    def _send(
        self, method: str, path: str, *, params: dict | None = None, body: dict | None = None
    ) -> requests.Response:
        """One HTTP exchange; foreign exceptions propagate to the caller, which classifies them."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        started = self._clock()
        try:
            resp = self._session.request(
                method,
                self._base_url + path,
                params=params,
                data=data,
                headers=headers,
                auth=self._auth,
                timeout=self._timeout,
                allow_redirects=False,
            )
            resp.content  # noqa: B018 - read the whole body here, where transport errors are handled
        except Exception as exc:
            log.debug("%s %s -> %s after %.3fs", method, path, type(exc).__name__, self._clock() - started)
            raise
        log.debug("%s %s -> %s in %.3fs", method, path, resp.status_code, self._clock() - started)
        return resp

    def _send_catching(
        self, method: str, path: str, *, params: dict | None = None, body: dict | None = None
    ) -> tuple[requests.Response | None, BaseException | None]:
        """`_send`, with a transport failure returned instead of raised, so that the typed error raised
        from it later is not chained to it implicitly (`__context__`) when its text is unsafe."""
        try:
            return self._send(method, path, params=params, body=body), None
        except _TRANSPORT_ERRORS as exc:
            return None, exc

    def _call_idempotent(
        self, method: str, path: str, *, params: dict | None = None, body: dict | None = None
    ) -> requests.Response:
        """Send an idempotent request, retrying transient failures within the budget; return a 2xx."""
        policy = self._policy
        start = self._clock()
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            resp, failure = self._send_catching(method, path, params=params, body=body)
            if failure is not None:
                if not _transport_retryable(failure):
                    raise self._connection_error(method, path, failure, None) from _safe_cause(failure, self._key)
                last_exc: BaseException | None = failure
                last_resp = None
            else:
                status = _status_of(method, path, resp, accepted=None)
                if 200 <= status < 300:
                    return resp
                if status not in RETRY_STATUSES:
                    raise self._status_error(method, path, resp)
                last_exc, last_resp = None, resp
                retry_after = self._retry_after(resp)
            if attempt > policy.max_retries:
                break
            delay = policy.delay(attempt - 1, retry_after, self._rng)
            if (self._clock() - start) + delay > policy.max_total_wait:
                break
            log.debug(
                "%s %s: retry %d/%d in %.2fs (%s)",
                method,
                path,
                attempt,
                policy.max_retries,
                delay,
                last_resp.status_code if last_resp is not None else type(last_exc).__name__,
            )
            self._sleep(delay)
        summary = (
            f"gave up after {attempt} attempt{'s' if attempt != 1 else ''} "
            f"over {_fmt_seconds(self._clock() - start, 1)}"
        )
        if last_resp is not None:
            raise self._status_error(method, path, last_resp, summary=summary)
        assert last_exc is not None
        raise self._connection_error(method, path, last_exc, summary) from _safe_cause(last_exc, self._key)

    def _call_once(
        self, method: str, path: str, body: dict | None, *, not_done: str, unknown: str, unknown_hint: str
    ) -> requests.Response:
        """Send a non-idempotent request exactly once; return a 2xx or raise, OutcomeUnknown when unsure."""
        resp, failure = self._send_catching(method, path, body=body)
        if failure is not None:
            what = _describe_transport(failure, self._key)
            cause = _safe_cause(failure, self._key)
            if _definitely_not_sent(failure) and not self._adapter_may_resend(method, path):
                raise ApiConnectionError(
                    f"{method} {path}: cannot reach the API at {self._base_url}: {what}; "
                    f"nothing was sent, so {not_done}",
                    hint="check the network and the engine URL (--engine / TENSORPOOL_ENGINE), then run again",
                ) from cause
            raise OutcomeUnknown(
                f"{method} {path}: {what}; no answer was read, so {unknown}", hint=unknown_hint
            ) from cause
        status = _status_of(method, path, resp, accepted=unknown)
        if 200 <= status < 300:
            return resp
        err = self._status_error(method, path, resp)
        if status >= 500:
            raise OutcomeUnknown(f"{err.message}; {unknown}", hint=unknown_hint) from err
        raise err

    def _adapter_may_resend(self, method: str, path: str) -> bool:
        """Whether the session's adapter could have retried (and so sent) the request on its own."""
        try:
            adapter = self._session.get_adapter(self._base_url + path)
        except Exception:
            return False  # no adapter: nothing can have been sent
        retries = getattr(adapter, "max_retries", None)
        if retries is None:
            return False
        total = getattr(retries, "total", None)
        if total is False or total == 0:
            return False
        allowed = getattr(retries, "allowed_methods", None)
        if isinstance(allowed, (frozenset, set, list, tuple)) and method.upper() not in allowed:
            return False
        return True

    def _retry_after(self, resp: requests.Response) -> float | None:
        try:
            headers = resp.headers
            return parse_retry_after(headers.get("Retry-After"), date=headers.get("Date"))
        except Exception:  # a header we cannot read is a header we ignore
            return None

    # ---------------------------------------------------------------------------------- errors
    def _status_error(
        self, method: str, path: str, resp: requests.Response, *, summary: str | None = None
    ) -> ApiStatusError:
        """The typed error for a non-2xx answer, with the server's words and a hint."""
        status = resp.status_code
        words = _redact(_server_words(resp), self._key)
        if status in _STATUS_ERRORS:
            cls = _STATUS_ERRORS[status]
        elif 500 <= status < 600:
            cls = ServerError
        else:
            cls = ApiStatusError
        hint = _STATUS_HINTS.get(status)
        if hint is None and 500 <= status < 600:
            hint = _SERVER_ERROR_HINT
        if hint is None and 300 <= status < 400:
            location = _excerpt(str(_header(resp, "Location") or ""), 120)
            hint = "the engine URL redirects" + (f" to {location}" if location else "") + "; use the final URL"
        if summary:
            hint = f"{hint} ({summary})" if hint else summary
        return cls(status, method, path, words, _redact(hint, self._key) if hint else None)

    def _connection_error(
        self, method: str, path: str, exc: BaseException, summary: str | None
    ) -> ApiConnectionError:
        what = _describe_transport(exc, self._key)
        hint = "check the network and the engine URL (--engine / TENSORPOOL_ENGINE)"
        if summary:
            hint = f"{hint}; {summary}"
        return ApiConnectionError(f"{method} {path}: cannot reach the API at {self._base_url}: {what}", hint=hint)

    def _parse(
        self,
        method: str,
        path: str,
        resp: requests.Response,
        parser: Callable[[Any], Any],
        *,
        accepted: str | None = None,
    ):
        """Decode a 2xx body and shape it with `parser`; any mismatch becomes MalformedResponse.

        `accepted` (create/delete) says what probably happened: the error is then MalformedAcceptance.
        """
        try:
            return parser(_json_body(resp, allow_empty=parser is _parse_message_body))
        except _ShapeError as exc:
            problem = _redact(str(exc), self._key)
        # raised outside the except block, so the unredacted _ShapeError is not kept as __context__
        message = f"{method} {path} answered HTTP {resp.status_code} but {problem}"
        if accepted is not None:
            raise MalformedAcceptance(
                f"{message}; {accepted}",
                hint="the next tpdeclare run looks the cluster up before doing anything else",
            )
        raise MalformedResponse(message, hint=_MALFORMED_HINT)


# --------------------------------------------------------------------------------------------------
# Helpers: arguments
# --------------------------------------------------------------------------------------------------
def _default_session() -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(max_retries=0)  # retries are ours, so create is never resent
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _check_key(api_key: object) -> str:
    """The key, stripped; refused (without echoing it) if it cannot travel in an HTTP header."""
    if not isinstance(api_key, str) or not api_key.strip():
        raise TpdeclareError("no API key", hint="set TENSORPOOL_KEY")
    key = api_key.strip()
    if any(not ("\x21" <= ch <= "\x7e") for ch in key):
        raise TpdeclareError(
            "the API key contains characters that cannot be sent in an HTTP header "
            "(spaces, control or non-ASCII characters)",
            hint="check TENSORPOOL_KEY (or the TENSORPOOL_KEY line in ./.env) for stray characters",
        )
    return key


def _check_timeout(timeout: object) -> float | tuple[float, float]:
    def ok(x: object) -> bool:
        return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x) and x > 0

    if ok(timeout):
        return float(timeout)  # type: ignore[arg-type]
    if isinstance(timeout, tuple) and len(timeout) == 2 and all(ok(x) for x in timeout):
        return (float(timeout[0]), float(timeout[1]))
    raise ValueError(f"timeout must be seconds > 0 or a (connect, read) pair, not {timeout!r}")


def _need_str(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")


def _path_param(name: str, value: object) -> str:
    _need_str(name, value)
    return quote(value, safe="")  # type: ignore[arg-type]


def _poll_delay(retry_after: float | None) -> float:
    if retry_after is None:
        return DEFAULT_POLL_INTERVAL
    if retry_after == 0:
        return 0.0
    return min(MAX_POLL_INTERVAL, max(MIN_POLL_INTERVAL, retry_after))


def _fmt_seconds(seconds: float, digits: int = 3) -> str:
    return f"{round(seconds, digits):g}s"


# --------------------------------------------------------------------------------------------------
# Helpers: transport failures
# --------------------------------------------------------------------------------------------------
_TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)

_BAD_REQUEST_SETUP = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.URLRequired,
    requests.exceptions.InvalidHeader,
)
_NAME_RESOLUTION = (socket.gaierror,) + (
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


def _reason_chain(exc: BaseException, limit: int = 10) -> list[BaseException]:
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


def _definitely_not_sent(exc: BaseException) -> bool:
    """True only when the failure proves no byte of the request reached the server."""
    chain = _reason_chain(exc)
    if any(isinstance(e, _BAD_REQUEST_SETUP) for e in chain):
        return True
    if any(isinstance(e, _MAYBE_SENT) for e in chain):
        return False
    return any(isinstance(e, _NOT_SENT) for e in chain)


def _transport_retryable(exc: BaseException) -> bool:
    """Transient transport failures are retried (idempotent calls); a bad URL or TLS setup is not."""
    chain = _reason_chain(exc)
    if any(isinstance(e, _BAD_REQUEST_SETUP) for e in chain):
        return False
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        return False
    return True


def _describe_transport(exc: BaseException, key: _Secret) -> str:
    """A short human description of a transport failure, e.g. `connection refused ([Errno 111] ...)`."""
    chain = _reason_chain(exc)

    def has(*types: type) -> bool:
        return any(isinstance(e, types) for e in chain)

    if has(*_BAD_REQUEST_SETUP[:4]):
        kind = "invalid engine URL"
    elif has(requests.exceptions.InvalidHeader):
        kind = "a header could not be sent"
    elif has(*_NAME_RESOLUTION):
        kind = "host name not found"
    elif has(ConnectionRefusedError):
        kind = "connection refused"
    elif has(urllib3.exceptions.NewConnectionError):
        kind = "could not connect"
    elif has(requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError):
        kind = "timed out connecting"
    elif has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError):
        kind = "timed out waiting for the answer"
    elif has(ssl.SSLCertVerificationError):
        kind = "TLS certificate verification failed"
    elif has(requests.exceptions.SSLError, ssl.SSLError, urllib3.exceptions.SSLError):
        kind = "TLS error"
    elif has(requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
             http.client.IncompleteRead):
        kind = "the answer was cut off"
    elif has(ConnectionResetError, ConnectionAbortedError, BrokenPipeError, http.client.RemoteDisconnected,
             urllib3.exceptions.ProtocolError):
        kind = "the connection was closed before an answer"
    elif has(TimeoutError, requests.exceptions.Timeout):
        kind = "timed out"
    else:
        kind = "connection failed"
    detail = ""
    for e in reversed(chain):  # the innermost readable text says most
        detail = _excerpt(_OBJECT_REPR.sub("", str(e)).strip(" :"), 160)
        if detail:
            break
    detail = _redact(detail, key)
    if not detail or detail.lower() == kind:
        return kind
    return f"{kind} ({detail})"


def _safe_cause(exc: BaseException, secret: _Secret) -> BaseException | None:
    """`exc` for `raise ... from`, unless any text in its chain shows the key (then no cause at all)."""
    key = secret.reveal()
    if len(key) < 4:
        return exc
    for e in _reason_chain(exc):
        try:
            if key in str(e) or key in repr(e):
                return None
        except Exception:
            return None
    return exc


# --------------------------------------------------------------------------------------------------
# Helpers: the server's words
# --------------------------------------------------------------------------------------------------
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")
_TAG = re.compile(r"<[^<>]{0,500}>")
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WHITESPACE = re.compile(r"\s+")


def _redact(text: str, secret: _Secret) -> str:
    key = secret.reveal()
    if key and len(key) >= 4 and key in text:
        return text.replace(key, "<redacted>")
    return text


def _clean(text: str, limit: int = SERVER_WORDS_CHARS) -> str:
    """Server text made safe for a terminal: no escapes or control characters, bounded length."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n")).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One short line from arbitrary text (tags and control characters removed)."""
    if "<" in text and ">" in text:
        text = _TAG.sub(" ", text)
    text = _WHITESPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _header(resp: requests.Response, name: str) -> object:
    try:
        return resp.headers.get(name)
    except Exception:
        return None


def _status_text(resp: requests.Response) -> str:
    reason = resp.reason
    if isinstance(reason, bytes):
        reason = reason.decode("latin-1", "replace")
    if isinstance(reason, str) and _excerpt(reason, 80):
        return _excerpt(reason, 80)
    try:
        return http.HTTPStatus(resp.status_code).phrase
    except ValueError:
        return f"HTTP {resp.status_code}"


def _server_words(resp: requests.Response) -> str:
    """What the server said about a failure: message, error, external_message, FastAPI detail, else text."""
    raw = resp.content or b""
    status_text = _status_text(resp)
    if not raw.strip():
        return status_text
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return _with_excerpt(status_text, raw.decode("utf-8", "replace"))
    if isinstance(body, dict):
        for field in ERROR_TEXT_FIELDS:
            words = _words_of(body.get(field))
            if words:
                return words
        detail = body.get(F_DETAIL)
        if isinstance(detail, list) and detail:
            lines = [_validation_line(item) for item in detail[:20]]
            if len(detail) > 20:
                lines.append(f"… and {len(detail) - 20} more")
            return _clean("\n".join(line for line in lines if line)) or status_text
        words = _words_of(detail)
        if words:
            return words
    elif isinstance(body, str) and body.strip():
        return _clean(body)
    return _with_excerpt(status_text, _compact_json(body))


def _with_excerpt(status_text: str, text: str) -> str:
    excerpt = _excerpt(text)
    return f"{status_text}: {excerpt}" if excerpt else status_text


def _words_of(value: object) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        for field in ERROR_TEXT_FIELDS + ("msg", F_DETAIL):
            if isinstance(value.get(field), str) and value[field].strip():
                return _clean(value[field])
    return _excerpt(_compact_json(value))


def _validation_line(item: object) -> str:
    """One FastAPI validation error as `field: problem` (the leading "body" of loc dropped)."""
    if not isinstance(item, dict):
        return _words_of(item)
    msg = item.get("msg")
    msg = _clean(msg, 300) if isinstance(msg, str) else _excerpt(_compact_json(msg), 300)
    loc = item.get("loc")
    field = ""
    if isinstance(loc, list):
        parts = list(loc)
        if parts and parts[0] == "body":
            parts = parts[1:]
        for part in parts:
            if isinstance(part, int) and not isinstance(part, bool):
                field += f"[{part}]"
            else:
                field += ("." if field else "") + _excerpt(str(part), 60)
    elif isinstance(loc, str):
        field = _excerpt(loc, 60)
    if field and msg:
        return f"{field}: {msg}"
    return msg or field


def _compact_json(value: object) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)[:1000]
    except (ValueError, TypeError, RecursionError):
        return str(type(value).__name__)


# --------------------------------------------------------------------------------------------------
# Helpers: success bodies (parse defensively: extra fields are fine, missing or mistyped ones are not)
# --------------------------------------------------------------------------------------------------
class _ShapeError(Exception):
    """Internal: a 2xx body does not have the expected shape (becomes MalformedResponse)."""


_MISSING = object()
_EMPTY = object()  # an empty 2xx body, where one is acceptable


def _status_of(method: str, path: str, resp: requests.Response, *, accepted: str | None) -> int:
    status = getattr(resp, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    message = f"{method} {path}: the answer has no HTTP status"
    if accepted is not None:
        raise MalformedAcceptance(f"{message}; {accepted}")
    raise MalformedResponse(message, hint=_MALFORMED_HINT)


def _json_body(resp: requests.Response, *, allow_empty: bool = False) -> Any:
    raw = resp.content or b""
    if not raw.strip():
        if allow_empty:
            return _EMPTY
        raise _ShapeError("the body is empty (expected JSON)")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        excerpt = _excerpt(raw.decode("utf-8", "replace"), 120)
        raise _ShapeError(f"the body is not JSON: {excerpt!r}") from None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _name(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _object(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise _ShapeError(f"{where or 'the body'} should be a JSON object, not {_json_type(value)}")
    return value


def _get(d: dict, key: str, where: str, kind: str, *, required: bool, nullable: bool = False) -> Any:
    """d[key] checked against `kind` ("str", "int", "bool", "str_list"); _MISSING when absent."""
    value = d.get(key, _MISSING)
    if value is _MISSING or (value is None and not nullable):
        if required:
            raise _ShapeError(f"field '{_name(where, key)}' is missing")
        return _MISSING
    if value is None:
        return None
    ok = {
        "str": lambda v: isinstance(v, str),
        "nonempty_str": lambda v: isinstance(v, str) and v != "",
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "list": lambda v: isinstance(v, list),
        "str_list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    }[kind](value)
    if not ok:
        expected = {
            "str": "a string",
            "nonempty_str": "a non-empty string",
            "int": "an integer",
            "bool": "a boolean",
            "list": "an array",
            "str_list": "an array of strings",
        }[kind]
        raise _ShapeError(f"field '{_name(where, key)}' should be {expected}, not {_json_type(value)}")
    return value


def _opt(d: dict, key: str, where: str, kind: str, default: Any = None) -> Any:
    value = _get(d, key, where, kind, required=False, nullable=True)
    return default if value is _MISSING or value is None else value


def _parse_message_body(data: Any) -> str:
    if data is _EMPTY:  # e.g. 204 No Content: nothing to say, nothing wrong
        return ""
    return _opt(_object(data, ""), F_MESSAGE, "", "str", "")


def _parse_create(data: Any) -> CreateResult:
    d = _object(data, "")
    return CreateResult(
        cluster_id=_get(d, F_CLUSTER_ID, "", "nonempty_str", required=True),
        instance_ids=tuple(_opt(d, F_INSTANCE_IDS, "", "str_list", [])),
        request_id=_opt(d, F_REQUEST_ID, "", "nonempty_str"),
        message=_opt(d, F_MESSAGE, "", "str", ""),
    )


def _parse_delete(data: Any, cluster_id: str) -> DeleteResult:
    d = _object(data, "")
    return DeleteResult(
        cluster_id=_opt(d, F_CLUSTER_ID, "", "nonempty_str", cluster_id),
        request_id=_opt(d, F_REQUEST_ID, "", "nonempty_str"),
        message=_opt(d, F_MESSAGE, "", "str", ""),
    )


def _parse_request_info(data: Any, request_id: str, retry_after: float | None) -> RequestInfo:
    d = _object(data, "")
    return RequestInfo(
        request_id=_opt(d, F_REQUEST_ID, "", "nonempty_str", request_id),
        request_type=_opt(d, F_REQUEST_TYPE, "", "str"),
        status=_get(d, F_STATUS, "", "nonempty_str", required=True).strip().upper(),
        object_id=_opt(d, F_OBJECT_ID, "", "str"),
        external_message=_opt(d, F_EXTERNAL_MESSAGE, "", "str"),
        retry_after=retry_after,
    )


def _parse_cluster(data: Any, where: str) -> ClusterInfo:
    d = _object(data, where)
    instance_ids = []
    instances = _opt(d, F_INSTANCES, where, "list", [])
    for i, inst in enumerate(instances):
        inst_where = f"{_name(where, F_INSTANCES)}[{i}]"
        instance_ids.append(_get(_object(inst, inst_where), F_INSTANCE_ID, inst_where, "nonempty_str", required=True))
    num_nodes = _get(d, F_NUM_NODES, where, "int", required=True)
    if num_nodes < 1:
        raise _ShapeError(f"field '{_name(where, F_NUM_NODES)}' should be at least 1, not {num_nodes}")
    return ClusterInfo(
        cluster_id=_get(d, F_CLUSTER_ID, where, "nonempty_str", required=True),
        name=_opt(d, F_TP_CLUSTER_NAME, where, "str"),
        instance_type=_get(d, F_INSTANCE_TYPE, where, "nonempty_str", required=True),
        num_nodes=num_nodes,
        container=_opt(d, F_CONTAINER, where, "str"),
        deletion_protection=_get(d, F_DELETION_PROTECTION, where, "bool", required=True),
        status=_get(d, F_STATUS, where, "nonempty_str", required=True).strip().upper(),
        instance_ids=tuple(instance_ids),
        created_at=_opt(d, F_CREATED_AT, where, "str"),
    )


def _parse_cluster_list(data: Any) -> list[ClusterInfo]:
    if isinstance(data, list):  # tolerate a bare array
        items, where = data, ""
    else:
        items = _get(_object(data, ""), F_CLUSTERS, "", "list", required=True)
        where = F_CLUSTERS
    return [_parse_cluster(item, f"{where}[{i}]") for i, item in enumerate(items)]


def _parse_cluster_info_body(data: Any) -> ClusterInfo:
    d = _object(data, "")
    if F_CLUSTER_INFO in d:
        return _parse_cluster(d[F_CLUSTER_INFO], F_CLUSTER_INFO)
    if F_CLUSTER_ID in d:  # tolerate the ClusterInfo at top level
        return _parse_cluster(d, "")
    raise _ShapeError(f"field '{F_CLUSTER_INFO}' is missing")
