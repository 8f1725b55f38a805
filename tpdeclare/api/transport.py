"""HTTP exchanges with the engine: each under one deadline, the whole body read, and the ONE retry layer.

- Every exchange has a deadline covering connect, headers and the whole body: the per-call `timeout`,
  cut to the run's `deadline` when that comes first (`watchdog.watching`). A call whose deadline has
  already passed is not sent. Bodies are read to the end here, bounded by `max_body_bytes`.
- `idempotent()` retries 429/502/503/504 and transport failures under `RetryPolicy`; no retry sleep
  reaches past the run's deadline, and when the deadline ends a call it raises DeadlineExceeded (with
  the last try's failure as its cause). Nothing else in tpdeclare retries an API call.
- `once()` sends a mutating request so that it takes effect at most once: a lost or cut answer, or a
  5xx, is OutcomeUnknown, never retried; only what provably did nothing (a 429, or a connection that
  provably sent no byte) is tried again, under the same RetryPolicy. "Nothing was sent" is said only
  with proof.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Mapping
from typing import Any

import requests
import requests.auth
from requests.structures import CaseInsensitiveDict

from tpdeclare import __version__
from tpdeclare.api.answer import Answer
from tpdeclare.api.failures import (
    MALFORMED_HINT,
    NETWORK_HINT,
    RETRY_STATUSES,
    TRANSPORT_ERRORS,
    ExchangeExpired,
    connection_error,
    definitely_not_sent,
    describe_transport,
    safe_cause,
    seconds_text,
    status_error,
    transport_retryable,
)
from tpdeclare.api.redaction import ApiLog, Secret
from tpdeclare.api.retry import RetryPolicy
from tpdeclare.api.vocabulary import H_AUTHORIZATION, H_CONTENT_LENGTH
from tpdeclare.api.watchdog import Watch, watching
from tpdeclare.errors import (
    ApiConnectionError,
    DeadlineExceeded,
    MalformedAcceptance,
    MalformedResponse,
    OutcomeUnknown,
)

USER_AGENT = f"tpdeclare/{__version__}"
MAX_BODY_BYTES = 32 * 1024 * 1024  # far above 10,000 clusters' list; a body beyond it is refused unread
CHUNK_BYTES = 64 * 1024
# The socket read timeout is the watchdog's backstop: a little longer than the exchange's deadline, so
# that the watchdog, which knows what was sent, is the one that ends a stalled exchange. (The connect
# timeout is exact: until a connection exists the watchdog has nothing to cut.)
SOCKET_GRACE = 0.5
DEADLINE_HINT = "the run's time limit (--timeout) was reached; run again, with a longer --timeout if needed"

Params = Mapping[str, str]
Body = Mapping[str, Any]
Observer = Callable[[str, str, Answer], None]  # (method, path, answer): every answer read, for diagnosis


class _NotSent(Exception):
    """Internal: the run's deadline had passed before the exchange began, so nothing was sent."""


class BearerAuth(requests.auth.AuthBase):
    """Adds `Authorization: Bearer <key>` (and keeps requests from consulting ~/.netrc instead)."""

    __slots__ = ("_key",)

    def __init__(self, key: Secret):
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[H_AUTHORIZATION] = f"Bearer {self._key.reveal()}"
        return request

    def __repr__(self) -> str:
        return "<BearerAuth (redacted)>"

    __str__ = __repr__

    def __getstate__(self) -> object:
        raise TypeError("the API credentials cannot be pickled")


class Transport:
    """Sends requests to one engine with one key; see the module docstring for the rules it keeps."""

    def __init__(
        self,
        base_url: str,
        key: Secret,
        *,
        session: requests.Session,
        timeout: tuple[float, float],
        policy: RetryPolicy,
        deadline: float | None,
        max_body_bytes: int,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: Callable[[], float],
        log: ApiLog,
        observe: Observer | None = None,
    ):
        self.base_url = base_url
        self.deadline = deadline
        self._key = key
        self._auth = BearerAuth(key)
        self._session = session
        self._connect_timeout, self._timeout = timeout
        self._policy = policy
        self._max_body = max_body_bytes
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._log = log
        self._observe = observe

    def close(self) -> None:
        """Release the session's connections (and the in-process sandbox's file lock)."""
        self._session.close()

    # ------------------------------------------------------------------------------------ idempotent
    def idempotent(self, method: str, path: str, *, params: Params | None = None, body: Body | None = None,
                   headers: Mapping[str, str] | None = None, also_ok: frozenset[int] = frozenset()) -> Answer:
        """Send an idempotent request, retrying transient failures within the budget; return a 2xx answer
        (or one whose status is in `also_ok`, e.g. 304 to a conditional GET)."""
        policy = self._policy
        start = self._clock()
        attempt = 0
        last: Answer | BaseException | None = None
        deadline_stop = False
        while True:
            answer, failure = self._attempt(method, path, params, body, headers)
            if isinstance(failure, _NotSent):
                if last is None:
                    raise self._deadline_error(method, path, "nothing was sent")
                deadline_stop = True
                break
            attempt += 1
            retry_after = None
            if failure is not None:
                if not transport_retryable(failure):
                    raise connection_error(method, path, self.base_url, failure, self._key, None) from safe_cause(
                        failure, self._key)
                last = failure
                if isinstance(failure, ExchangeExpired) and failure.by_run_deadline:
                    deadline_stop = True  # no time is left for another try
                    break
            else:
                assert answer is not None
                status = self._status(method, path, answer, accepted=None)
                if 200 <= status < 300 or status in also_ok:
                    return answer
                if status not in RETRY_STATUSES:
                    raise status_error(method, path, answer, self._key)
                last, retry_after = answer, answer.retry_after()
            if attempt > policy.max_retries:
                break
            delay = policy.delay(attempt - 1, retry_after, self._rng)
            now = self._clock()
            if (now - start) + delay > policy.max_total_wait:
                break
            if self.deadline is not None and now + delay >= self.deadline:
                deadline_stop = True
                break
            why = f"HTTP {last.status}" if isinstance(last, Answer) else type(last).__name__
            self._log.debug("%s %s: retry %d/%d in %.2fs (%s)", method, path, attempt, policy.max_retries, delay, why)
            self._sleep(delay)
        summary = f"gave up after {attempt} attempt{'s' if attempt != 1 else ''} over " \
                  f"{seconds_text(self._clock() - start, 1)}"
        if deadline_stop:
            stopped, cause = self._deadline_stop(method, path, last, summary)
            raise stopped from cause
        if isinstance(last, Answer):
            raise status_error(method, path, last, self._key, summary=summary)
        assert last is not None
        raise connection_error(method, path, self.base_url, last, self._key, summary) from safe_cause(last, self._key)

    def _deadline_stop(self, method: str, path: str, last: Answer | BaseException | None, summary: str
                       ) -> tuple[DeadlineExceeded, BaseException | None]:
        """The run's deadline ends an idempotent call: what the last try got, and that none can follow."""
        if isinstance(last, Answer):
            err: Exception = status_error(method, path, last, self._key)
            cause: BaseException | None = err
        else:
            assert last is not None
            err = connection_error(method, path, self.base_url, last, self._key, None)
            cause = safe_cause(last, self._key)
        message = str(err)
        if not (isinstance(last, ExchangeExpired) and last.by_run_deadline):
            message += "; the run's time limit (--timeout) leaves no time to try again"
        return DeadlineExceeded(message, hint=f"{DEADLINE_HINT} ({summary})"), cause

    # ------------------------------------------------------------------------------------ exactly once
    def once(self, method: str, path: str, body: Body | None, *, not_done: str, unknown: str, unknown_hint: str
             ) -> Answer:
        """Send a non-idempotent request so that it takes effect at most once; return a 2xx answer or raise,
        OutcomeUnknown when unsure. A 429 or a connection that provably sent nothing did nothing: those alone
        are tried again, within the RetryPolicy and the run's deadline."""
        start = self._clock()
        attempt = 0
        while True:
            answer, failure = self._attempt(method, path, None, body, None)
            attempt += 1
            if isinstance(failure, _NotSent):
                raise self._deadline_error(method, path, f"nothing was sent, so {not_done}")
            retry_after: float | None = None
            if failure is not None:
                what = describe_transport(failure, self._key)
                cause = safe_cause(failure, self._key)
                if not (definitely_not_sent(failure) and not self._adapter_may_resend(method, path)):
                    lost = "" if isinstance(failure, ExchangeExpired) else "; no answer was read"
                    raise OutcomeUnknown(f"{method} {path}: {what}{lost}, so {unknown}", hint=unknown_hint) from cause
                refused: Exception = ApiConnectionError(
                    f"{method} {path}: cannot reach the API at {self.base_url}: {what}; "
                    f"nothing was sent, so {not_done}",
                    hint=f"{NETWORK_HINT}, then run again",
                )
                if not transport_retryable(failure):  # a bad URL or TLS set-up: asking again cannot help
                    raise refused from cause
            else:
                assert answer is not None
                status = self._status(method, path, answer, accepted=unknown)
                if 200 <= status < 300:
                    return answer
                err = status_error(method, path, answer, self._key)
                if status >= 500:
                    raise OutcomeUnknown(f"{err.message}; {unknown}", hint=unknown_hint) from err
                if status != 429:
                    raise err
                refused, cause, retry_after = err, None, answer.retry_after()
            delay = self._policy.delay(attempt - 1, retry_after, self._rng)
            now = self._clock()
            if (attempt > self._policy.max_retries or (now - start) + delay > self._policy.max_total_wait
                    or (self.deadline is not None and now + delay >= self.deadline)):
                raise refused from cause
            self._log.debug("%s %s: not done (%s); retry %d/%d in %.2fs", method, path, type(refused).__name__,
                            attempt, self._policy.max_retries, delay)
            self._sleep(delay)

    # ------------------------------------------------------------------------------------ one exchange
    def _attempt(self, method: str, path: str, params: Params | None, body: Body | None,
                 extra_headers: Mapping[str, str] | None) -> tuple[Answer | None, BaseException | None]:
        """One exchange under its deadline. A transport failure is returned, not raised, so that the typed
        error made from it later is not chained to it implicitly (`__context__`) when its text is unsafe."""
        now = self._clock()
        deadline, by_run = now + self._timeout, False
        if self.deadline is not None and self.deadline <= deadline:
            deadline, by_run = self.deadline, True
        remaining = deadline - now
        if remaining <= 0:
            return None, _NotSent()
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "identity",
                   **(extra_headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        answer: Answer | None = None
        failure: BaseException | None = None
        with watching(deadline, self._clock) as watch:
            try:
                resp = self._session.request(
                    method, self.base_url + path, params=params, data=data, headers=headers, auth=self._auth,
                    timeout=(min(self._connect_timeout, remaining), remaining + SOCKET_GRACE),
                    allow_redirects=False, stream=True,
                )
                try:
                    answer = self._read(resp, watch, deadline)
                finally:
                    resp.close()
            except TRANSPORT_ERRORS as exc:
                failure = exc
        elapsed = self._clock() - now
        if watch.fired:  # cut off: whatever requests made of the EOF is not an answer
            answer = None
            not_sent = (watch.saw_connection and not watch.sent) or (
                failure is not None and definitely_not_sent(failure))
            failure = ExchangeExpired(deadline - now, not_sent=not_sent, by_run_deadline=by_run)
        if failure is not None:
            self._log.debug("%s %s -> %s after %.3fs", method, path, type(failure).__name__, elapsed)
        elif answer is not None:
            self._log.debug("%s %s -> %s in %.3fs", method, path, answer.status, elapsed)
            if self._observe is not None:
                self._observe(method, path, answer)
        return answer, failure

    def _read(self, resp: requests.Response, watch: Watch, deadline: float) -> Answer:
        """The whole answer, body included, within the deadline and the size bound."""
        status = resp.status_code if isinstance(resp.status_code, int) and not isinstance(resp.status_code, bool) \
            else None
        reason: object = resp.reason
        if isinstance(reason, bytes):
            reason = reason.decode("latin-1", "replace")
        try:
            headers: Mapping[str, str] = CaseInsensitiveDict(resp.headers)
        except Exception:
            headers = {}
        answer = Answer(status, reason if isinstance(reason, str) else "", headers)
        declared = _content_length(answer.header(H_CONTENT_LENGTH))
        if declared is not None and declared > self._max_body:
            return Answer(status, answer.reason, headers, oversized=True)
        if resp.raw is None:  # an adapter that read the body itself
            content = resp.content
            body = content if isinstance(content, bytes) else b""
        else:
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_content(CHUNK_BYTES):
                size += len(chunk)
                if size > self._max_body:
                    return Answer(status, answer.reason, headers, oversized=True)
                chunks.append(chunk)
                if watch.fired:
                    break
                if self._clock() >= deadline:
                    watch.fire()  # no socket to cut (another adapter), but past the deadline all the same
                    break
            body = b"".join(chunks)
        if len(body) > self._max_body:
            return Answer(status, answer.reason, headers, oversized=True)
        if declared is not None and len(body) < declared and not watch.fired:
            raise http.client.IncompleteRead(b"", declared - len(body))  # urllib3 1.x does not check
        return Answer(status, answer.reason, headers, body)

    # ------------------------------------------------------------------------------------ helpers
    def _status(self, method: str, path: str, answer: Answer, *, accepted: str | None) -> int:
        if answer.status is not None:
            return answer.status
        message = f"{method} {path}: the answer has no HTTP status"
        if accepted is not None:
            raise MalformedAcceptance(f"{message}; {accepted}")
        raise MalformedResponse(message, hint=MALFORMED_HINT)

    def _deadline_error(self, method: str, path: str, consequence: str) -> DeadlineExceeded:
        return DeadlineExceeded(f"{method} {path}: the run's time limit had passed; {consequence}", hint=DEADLINE_HINT)

    def _adapter_may_resend(self, method: str, path: str) -> bool:
        """Whether the session's adapter could have retried (and so sent) the request on its own."""
        try:
            adapter = self._session.get_adapter(self.base_url + path)
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


def _content_length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())
