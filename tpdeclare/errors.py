"""The one exception tree of tpdeclare, and the exit code each branch maps to.

    TpdeclareError                 user-facing failure; exit 1; message + optional hint
    ├── SpecError                  the spec files are invalid (carries every Diagnostic)
    ├── StateError                 the state file is unreadable, truncated, newer, or mismatched
    │   └── LockError              another run holds the state lock
    ├── PlanFileError              a saved plan is unreadable or stale
    ├── PolicyError                exit 3: budget, prevent_destroy, protected cluster
    ├── ApplyError                 some changes failed (each failure already reported)
    ├── Interrupted                exit 130: SIGINT/SIGTERM
    └── ApiError                   anything the TensorPool API (or the way to it) did wrong
        ├── ApiStatusError         a non-2xx answer: status, method, path, server's words
        │   ├── BadRequest (400)   ├── Unauthorized (401)  ├── PaymentRequired (402)
        │   ├── NotFound (404)     ├── Conflict (409)      ├── ValidationFailed (422)
        │   ├── RateLimited (429)  └── ServerError (5xx)
        ├── ApiConnectionError     no answer: refused, reset, timed out (idempotent calls only)
        ├── OutcomeUnknown         a mutating call was sent and no answer came back: it may have happened
        ├── MalformedResponse      an answer that is not the JSON we expect, or carries an unsafe value
        │   └── MalformedAcceptance  a 2xx to create/delete we cannot read; also an OutcomeUnknown
        ├── PollTimeout            a request did not reach a terminal status before the deadline
        └── DeadlineExceeded       the run's time limit stopped a call: not sent, or not tried again
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tpdeclare.diagnostics import Diagnostic


class TpdeclareError(Exception):
    """A failure the user can act on: printed as `Error: message` plus a hint, never as a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class SpecError(TpdeclareError):
    """The spec files are invalid; `diagnostics` holds every problem found."""

    def __init__(self, diagnostics: Iterable[Diagnostic], message: str | None = None):
        found = list(diagnostics)
        n = sum(1 for d in found if d.severity == "error")
        super().__init__(message or f"{n} error{'s' if n != 1 else ''} in the spec; nothing was changed")
        self.diagnostics = found


class StateError(TpdeclareError):
    """The state cannot be read or written safely."""


class LockError(StateError):
    """The state lock is held by another run."""


class PlanFileError(TpdeclareError):
    """A saved plan file is unreadable or no longer matches the state or specs."""


class PolicyError(TpdeclareError):
    """A plan is blocked by policy (budget, prevent_destroy, deletion protection)."""

    exit_code = 3


class ApplyError(TpdeclareError):
    """One or more changes failed during apply; the successes are recorded in state."""


class Interrupted(TpdeclareError):
    """The run was interrupted by SIGINT or SIGTERM."""

    exit_code = 130


class ApiError(TpdeclareError):
    """Anything that went wrong talking to the TensorPool API."""


class ApiStatusError(ApiError):
    """The API answered with a non-2xx status."""

    def __init__(self, status: int, method: str, path: str, server_message: str, hint: str | None = None):
        self.status = status
        self.method = method
        self.path = path
        self.server_message = server_message
        super().__init__(f"{method} {path} failed with HTTP {status}: {server_message}", hint)


class BadRequest(ApiStatusError):
    """HTTP 400: invalid parameters or a name conflict."""


class Unauthorized(ApiStatusError):
    """HTTP 401: the API key is missing or wrong."""


class PaymentRequired(ApiStatusError):
    """HTTP 402: the balance does not cover the request."""


class NotFound(ApiStatusError):
    """HTTP 404: no such cluster or request."""


class Conflict(ApiStatusError):
    """HTTP 409: e.g. destroying a cluster with deletion protection on."""


class ValidationFailed(ApiStatusError):
    """HTTP 422: the server rejected the body (FastAPI validation)."""


class RateLimited(ApiStatusError):
    """HTTP 429: too many requests."""


class ServerError(ApiStatusError):
    """HTTP 5xx: the server failed."""


class ApiConnectionError(ApiError):
    """No answer from the API (refused, reset, timed out)."""


class OutcomeUnknown(ApiError):
    """A mutating request was sent but no answer was read: it may or may not have taken effect."""


class MalformedResponse(ApiError):
    """The API answered with something that is not the JSON shape expected."""


class MalformedAcceptance(MalformedResponse, OutcomeUnknown):
    """A create/delete was accepted (2xx) but the answer is unreadable: it probably took effect, result unknown."""


class PollTimeout(ApiError):
    """A request did not reach a terminal status before the deadline; `last_info` is the last poll seen."""

    def __init__(self, message: str, hint: str | None = None, *, request_id: str | None = None,
                 last_info: object | None = None):
        super().__init__(message, hint)
        self.request_id = request_id
        self.last_info = last_info


class DeadlineExceeded(ApiError):
    """The run's time limit (the caller's deadline) stopped a call: it was not sent, or an idempotent call
    was not tried again. Never raised for a mutating call that was sent (that is OutcomeUnknown)."""
