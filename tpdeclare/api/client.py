"""The TensorPool API client: one method per endpoint, typed results, typed errors (the `ClusterApi` seam).

The paths, field names and status words it uses come from `api/vocabulary.py`; the exchange rules
(deadlines, the one retry layer, exactly-once sends) from `api/transport.py`; the checks of what the
server sends from `api/parsers.py`. With a `Discovery` (what the CLI gives it), the first call of a run
reads the engine's OpenAPI document, the field names are mapped from it and settled against the real
answers (`api/field_mapping.py`), every list must read as clusters with an ID and a name, and nothing
that changes a cluster is sent before one has (`api/capabilities.py`).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import requests

from tpdeclare.api import vocabulary as v
from tpdeclare.api.answer import Answer
from tpdeclare.api.arguments import check_key, check_timeout, edit_body, need_bool, need_str, path_id
from tpdeclare.api.capabilities import Lookup, lookup_from, refusal
from tpdeclare.api.discovery import NOT_LOOKED, Discovered, Discovery, Fetched
from tpdeclare.api.failures import MALFORMED_HINT
from tpdeclare.api.field_mapping import FieldMap, TextOnly
from tpdeclare.api.models import ClusterInfo, CreateResult, DeleteResult, EditResult, RequestInfo, SshCommand
from tpdeclare.api.parsers import BodyReader, ShapeError, json_body
from tpdeclare.api.polling import PollPolicy, wait_for_request
from tpdeclare.api.redaction import ApiLog, Secret, redact
from tpdeclare.api.retry import RetryPolicy
from tpdeclare.api.status_words import UnknownWords
from tpdeclare.api.storage_client import StorageEndpoints
from tpdeclare.api.storage_parsers import StorageReader
from tpdeclare.api.transport import MAX_BODY_BYTES, Observer, Transport
from tpdeclare.api.watchdog import watched_session
from tpdeclare.errors import (
    ApiError,
    ApiStatusError,
    MalformedAcceptance,
    MalformedResponse,
)

__all__ = [
    "ClusterInfo",
    "CreateResult",
    "DeleteResult",
    "PollPolicy",
    "RequestInfo",
    "RetryPolicy",
    "SshCommand",
    "TensorPoolClient",
]

T = TypeVar("T")


class TensorPoolClient(StorageEndpoints):
    """One method per TensorPool endpoint, with typed results and typed errors.

    Idempotent calls (health, list, info, request info, edit) are retried on 429/502/503/504 and on
    connection failures, with full-jitter backoff and Retry-After, within `max_retries` retries and
    `max_total_wait` seconds. Create and delete are sent exactly once: when the answer is lost they
    raise OutcomeUnknown, never a guess.

    `timeout` bounds each exchange as a whole (connect, headers and the entire body); a
    `(connect, total)` pair bounds the connect phase separately. `deadline` is the run's time limit, an
    absolute time on `clock`: no call is sent, and no retry or poll sleeps, past it (DeadlineExceeded,
    or PollTimeout from `wait_for_request`). `poll` sets the cadence of `wait_for_request`.

    The storage endpoints (`StorageApi`) follow the same rules: create, delete, attach and detach of a
    volume are sent exactly once; list, info and edit are idempotent and retried; the caller polls every
    request ID they return.

    `edit_cluster` returns once the edit is in effect: an engine that answers it with a CLUSTER_EDIT
    request is polled to its end (at most `edit_wait` seconds). `warn` receives the run's warnings
    (unknown status words, once each; names the answers gave differently); `observe` sees every answer.
    Without `discovery`, answers are read strictly by `response_fields`.
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
        deadline: float | None = None,
        poll: PollPolicy | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        response_fields: v.ResponseFields = v.BUILTIN_FIELDS,
        discovery: Discovery | None = None,
        warn: Callable[[str], None] | None = None,
        observe: Observer | None = None,
        edit_wait: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ):
        if not isinstance(base_url, str) or not base_url.strip():
            raise ValueError("base_url must be a non-empty string")
        if deadline is not None and (isinstance(deadline, bool) or not isinstance(deadline, (int, float))
                                     or math.isnan(deadline)):
            raise ValueError(f"deadline must be a time on the client's clock or None, not {deadline!r}")
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be an int >= 1, not {max_body_bytes!r}")
        self._key = Secret(check_key(api_key))
        self._log = ApiLog(self._key)
        self._poll = poll if poll is not None else PollPolicy()
        log = self._log
        self._warn = warn if warn is not None else (lambda line: log.warning("%s", line))
        self.unknown_words = UnknownWords(self._warn)
        self.field_map = FieldMap(response_fields, strict=discovery is None, warn=self._warn)
        self._bodies = BodyReader(self.field_map, self._key, self.unknown_words)
        self._storage = StorageReader(self.field_map, self._key, self.unknown_words, self._warn)
        self._discovery = discovery
        self._discovered: Discovered | None = None
        self._lookup: Lookup | None = None
        self._ready_lock = threading.Lock()
        self._edit_wait = edit_wait
        self._sleep = sleep
        self._clock = clock
        self._transport = Transport(
            base_url.strip().rstrip("/"),
            self._key,
            session=session if session is not None else watched_session(),
            timeout=check_timeout(timeout),
            policy=RetryPolicy(max_retries=max_retries, max_total_wait=max_total_wait),
            deadline=deadline,
            max_body_bytes=max_body_bytes,
            sleep=sleep,
            clock=clock,
            rng=rng,
            log=self._log,
            observe=observe,
        )

    def close(self) -> None:
        """Release the connections this client holds; it is not used again after this."""
        self._transport.close()

    def __repr__(self) -> str:
        return f"TensorPoolClient(base_url={self.base_url!r}, api_key=<redacted>)"

    __str__ = __repr__

    def __getstate__(self) -> object:
        raise TypeError("TensorPoolClient holds credentials and cannot be pickled")

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def deadline(self) -> float | None:
        """The run's time limit on the client's clock, or None."""
        return self._transport.deadline

    # ---------------------------------------------------------------------------------- compatibility
    @property
    def discovered(self) -> Discovered:
        """What discovery found (NOT_LOOKED before the first call, or without discovery)."""
        return self._discovered or NOT_LOOKED

    def discover(self) -> Discovered:
        """Read the engine's OpenAPI document (or the cached copy) once, and map the fields from it."""
        if self._discovery is None or self._discovered is not None:
            return self.discovered
        with self._ready_lock:
            if self._discovered is None:
                found = self._discovery.run(self._fetch_openapi)
                if found.mapping is not None:
                    self.field_map.propose(found.mapping.names)
                self._discovered = found
        return self.discovered

    def lookup_by_name(self) -> Lookup:
        """Establish that the list reads as clusters with an ID and a name (one list call unless one was
        read already); raises EngineIncompatible when it does not."""
        if self._lookup is None:
            self.list_clusters()
        assert self._lookup is not None
        return self._lookup

    def _before_change(self) -> None:
        """Nothing that changes a cluster is sent before lookup by name is established."""
        if self._discovery is not None:
            self.lookup_by_name()

    def _fetch_openapi(self, etag: str | None) -> Fetched:
        headers = {v.H_IF_NONE_MATCH: etag} if etag else None
        try:
            answer = self._transport.idempotent("GET", v.PATH_OPENAPI, headers=headers, also_ok=frozenset({304}))
        except ApiStatusError as exc:
            return Fetched(exc.status, missing=f"GET {v.PATH_OPENAPI} answered HTTP {exc.status}")
        except MalformedResponse as exc:
            return Fetched(None, missing=exc.message)
        if answer.oversized:
            return Fetched(answer.status, missing="the document is too large to read")
        return Fetched(answer.status, answer.body, answer.header(v.H_ETAG))

    # ---------------------------------------------------------------------------------- endpoints
    def health(self) -> str:
        """POST /health: the server's greeting. Raises Unauthorized for a bad key."""
        self.discover()
        answer = self._transport.idempotent("POST", v.PATH_HEALTH)
        return self._parse("POST", v.PATH_HEALTH, answer, self._bodies.message, allow_empty=True)

    def create_cluster(
        self,
        *,
        instance_type: str,
        num_nodes: int,
        tp_cluster_name: str,
        container: str | None = None,
        deletion_protection: bool = False,
        public_keys: Sequence[str] = (),
        save_keys: bool = False,
    ) -> CreateResult:
        """POST /cluster/create, sent exactly once (never retried).

        A lost, stalled or cut answer, or a 5xx, raises OutcomeUnknown; a 2xx we cannot read or whose IDs
        are unsafe raises MalformedAcceptance (also an OutcomeUnknown). A connection that was refused, so
        that nothing was sent, raises ApiConnectionError; a run deadline already passed, DeadlineExceeded.
        A 429 raises RateLimited: the request was not done.
        """
        need_str("instance_type", instance_type)
        need_str("tp_cluster_name", tp_cluster_name)
        if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
            raise ValueError(f"num_nodes must be an int >= 1, not {num_nodes!r}")
        if container is not None:
            need_str("container", container)
        keys = list(public_keys)
        if not all(isinstance(k, str) for k in keys):
            raise ValueError("public_keys must be strings")
        self._before_change()
        body: dict[str, Any] = {
            v.F_INSTANCE_TYPE: instance_type,
            v.F_NUM_NODES: num_nodes,
            v.F_TP_CLUSTER_NAME: tp_cluster_name,
            v.F_DELETION_PROTECTION: bool(deletion_protection),
            v.F_PUBLIC_KEYS: keys,
            v.F_SAVE_KEYS: bool(save_keys),
        }
        if container is not None:
            body[v.F_CONTAINER] = container
        subject = f"the cluster {tp_cluster_name!r}"
        answer = self._transport.once(
            "POST",
            v.PATH_CLUSTER_CREATE,
            body,
            not_done=f"{subject} was not created",
            unknown=f"{subject} may or may not have been created",
            unknown_hint=(
                f"do not create it by hand: the next tpdeclare run looks the name {tp_cluster_name!r} up "
                "and adopts the cluster if it exists"
            ),
        )
        return self._parse("POST", v.PATH_CLUSTER_CREATE, answer, self._bodies.create,
                           accepted=f"{subject} was probably created, but its ID is unknown")

    def request_info(self, request_id: str) -> RequestInfo:
        """GET /request/info/{request_id}: one poll of an asynchronous request."""
        path = v.PATH_REQUEST_INFO.format(request_id=path_id("request ID", request_id, self._key))
        self.discover()
        answer = self._transport.idempotent("GET", path)
        retry_after = answer.retry_after()
        return self._parse("GET", path, answer, lambda d: self._bodies.request_info(d, request_id, retry_after))

    def wait_for_request(
        self,
        request_id: str,
        *,
        deadline_seconds: float,
        what: str,
        on_poll: Callable[[RequestInfo], None] | None = None,
    ) -> RequestInfo:
        """Poll until COMPLETED or FAILED and return that RequestInfo (the caller judges FAILED).

        Between polls it sleeps the answer's Retry-After within the `PollPolicy` bounds (by default at
        least 1 s, but 0 when the server says 0; 2 s without the header). `on_poll(info)` is called after
        every poll. After `deadline_seconds`, or when the run's deadline leaves no time for the next poll,
        it raises PollTimeout naming `what`; the exception carries `request_id` and `last_info`.
        """
        return wait_for_request(
            lambda: self.request_info(request_id),
            request_id=request_id,
            deadline_seconds=deadline_seconds,
            what=what,
            on_poll=on_poll,
            policy=self._poll,
            run_deadline=self.deadline,
            clock=self._clock,
            sleep=self._sleep,
        )

    def list_clusters(self) -> list[ClusterInfo]:
        """GET /cluster/list?include_org=true: every cluster the key can see (one call). With discovery,
        a list that cannot be read as clusters with an ID and a name raises EngineIncompatible."""
        self.discover()
        answer = self._transport.idempotent("GET", v.PATH_CLUSTER_LIST, params=v.LIST_PARAMS)
        clusters = self._parse("GET", v.PATH_CLUSTER_LIST, answer, self._bodies.cluster_list)
        if self._discovery is not None:
            self._lookup = lookup_from(self.field_map, len(clusters))
        return clusters

    def cluster_info(self, cluster_id: str) -> ClusterInfo:
        """GET /cluster/info/{cluster_id}. Raises NotFound for an unknown cluster."""
        path = v.PATH_CLUSTER_INFO.format(cluster_id=path_id("cluster ID", cluster_id, self._key))
        self.discover()
        answer = self._transport.idempotent("GET", path)
        return self._parse("GET", path, answer, self._bodies.cluster_info)

    def ssh_command(self, instance_id: str, *, system: str) -> SshCommand:
        """GET /ssh/{instance_id}?system=...: the ready command to log in to an instance, as `tp ssh` asks
        for it (`system` is the user's platform.system(): Linux, Darwin, Windows). Raises NotFound for an
        unknown instance, Conflict (409) for one that cannot be reached yet."""
        path = v.PATH_SSH.format(instance_id=path_id("instance ID", instance_id, self._key))
        need_str("system", system)
        self.discover()
        answer = self._transport.idempotent("GET", path, params={v.SSH_SYSTEM_PARAM: system})
        return self._parse("GET", path, answer, lambda d: self._bodies.ssh(d, instance_id))

    def edit_cluster(
        self, cluster_id: str, *, cluster_name: str | None = None, deletion_protection: bool | None = None
    ) -> str:
        """PATCH /cluster/edit/{cluster_id}: rename and/or set deletion protection (idempotent, retried).

        Returns once the edit is in effect: an answer naming a CLUSTER_EDIT request is polled to its end
        (FAILED raises ApiError; no end within `edit_wait` or the run's deadline, PollTimeout)."""
        path = v.PATH_CLUSTER_EDIT.format(cluster_id=path_id("cluster ID", cluster_id, self._key))
        body = edit_body("edit_cluster", (
            ("cluster_name", v.F_EDIT_NAME, cluster_name, need_str),
            ("deletion_protection", v.F_DELETION_PROTECTION, deletion_protection, need_bool),
        ))
        self._before_change()
        answer = self._transport.idempotent("PATCH", path, body=body)
        edited: EditResult = self._parse("PATCH", path, answer, self._bodies.edit, allow_empty=True)
        if edited.request_id is not None:
            self._wait_for_edit(cluster_id, edited.request_id)
        return edited.message

    def _wait_for_edit(self, cluster_id: str, request_id: str) -> None:
        """Poll an asynchronous edit's CLUSTER_EDIT request to its end."""
        what = f"the edit of {cluster_id} to take effect"
        info = self.wait_for_request(request_id, deadline_seconds=self._edit_wait, what=what)
        if not info.succeeded:
            raise ApiError(
                f"the edit of {cluster_id} failed (request {request_id}): {info.external_message or info.status}",
                hint="nothing was recorded for it; run the command again, or check the cluster with `tp cluster info`",
            )

    def delete_cluster(self, cluster_id: str) -> DeleteResult:
        """DELETE /cluster/{cluster_id}, sent exactly once; a lost, stalled or cut answer or a 5xx raises
        OutcomeUnknown."""
        path = v.PATH_CLUSTER_DELETE.format(cluster_id=path_id("cluster ID", cluster_id, self._key))
        self._before_change()
        subject = f"the cluster {cluster_id}"
        answer = self._transport.once(
            "DELETE",
            path,
            None,
            not_done=f"{subject} was not asked to be destroyed",
            unknown=f"{subject} may or may not be being destroyed",
            unknown_hint="the next tpdeclare run checks the cluster's status before doing anything else",
        )
        return self._parse("DELETE", path, answer, lambda d: self._bodies.delete(d, cluster_id),
                           accepted=f"{subject} is probably being destroyed, but the request to poll is unknown")

    # ---------------------------------------------------------------------------------- bodies
    def _parse(self, method: str, path: str, answer: Answer, parser: Callable[[Any], T], *,
               accepted: str | None = None, allow_empty: bool = False,
               accepted_hint: str = "the next tpdeclare run looks the cluster up before doing anything else") -> T:
        """Decode a 2xx body and shape it with `parser`; any mismatch becomes MalformedResponse.

        `accepted` (create/delete) says what probably happened: the error is then MalformedAcceptance.
        """
        refused: str | None = None
        try:
            return parser(json_body(answer, allow_empty=allow_empty))
        except TextOnly as exc:
            problem = redact(str(exc), self._key)
            if path == v.PATH_CLUSTER_LIST:
                refused = redact(exc.seen, self._key)
        except ShapeError as exc:
            problem = redact(str(exc), self._key)
        if refused is not None:
            raise refusal(refused)
        # raised outside the except block, so the unredacted ShapeError is not kept as __context__
        message = f"{method} {path} answered HTTP {answer.status} but {problem}"
        if accepted is not None:
            raise MalformedAcceptance(f"{message}; {accepted}", hint=accepted_hint)
        raise MalformedResponse(message, hint=MALFORMED_HINT)

