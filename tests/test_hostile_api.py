"""The real client against a hostile server over real HTTP (tests/hostile_server.py): every answer a server
can get wrong, on every endpoint, ends in the designed error, with the designed number of requests, and
the canary key never appears in any error, repr, log record or printed message.

Timing: where an answer is to be lost, each exchange has a 0.3 s deadline (`CUT`) and drips send one byte
every 0.05 s, so a dripped answer would take tens of seconds, and the generous upper bound on a call's
duration (`SLOW`) proves it was cut; elsewhere the deadline is a roomy `TIMEOUT`. Retry sleeps are
recorded, not slept.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass

import pytest
from tpdeclare.api.client import TensorPoolClient
from tpdeclare.api.models import EditResult
from tpdeclare.error_handler import print_error
from tpdeclare.errors import (
    ApiConnectionError,
    ApiStatusError,
    BadRequest,
    DeadlineExceeded,
    MalformedAcceptance,
    MalformedResponse,
    NotFound,
    OutcomeUnknown,
    PollTimeout,
    RateLimited,
    ServerError,
    TpdeclareError,
    Unauthorized,
)

from hostile_server import ECHO_KEY, Close, Drip, Garbage, HostileServer, Huge, Json, ManyHeaders, Raw, Reset, Stall

CANARY = "tp-canary-9f8e7d6c5b4a3"
CUT = 0.3  # the deadline of an exchange whose answer is to be lost
TIMEOUT = 3.0  # the deadline of every other exchange: never reached by a good answer, even on a busy machine
DRIP = 0.05
SLOW = 8.0  # far above every cut-off exchange here, far below any dripped answer's end
MAX_BODY = 256 * 1024

CLUSTER = {"cluster_id": "c-3f9a1b2c", "tp_cluster_name": "lab-a", "instance_type": "1xH100", "num_nodes": 1,
           "container": None, "deletion_protection": False, "status": "RUNNING",
           "instances": [{"instance_id": "i-1", "status": "running"}], "created_at": "2026-11-26T10:00:00Z"}
CREATED = {"cluster_id": "c-1", "instance_ids": ["i-1"], "request_id": "r-1", "message": "ok" + " " * 400 + "."}
DELETED = {"cluster_id": "c-1", "request_id": "r-2", "message": "bye" + " " * 400 + "."}
VOLUME = {"storage_id": "s-1", "tp_storage_name": "vol-a", "size_gb": 100, "deletion_protection": False,
          "status": "READY", "cluster_ids": ["c-9"], "mount_path": "/mnt/s-1", "created_at": "2026-11-26T10:00:00Z"}
POLL = {"request_id": "r-1", "request_type": "CLUSTER_CLAIM", "status": "PROCESSING", "object_id": "c-1",
        "external_message": "x" * 400}

# call name -> (method, path pattern, how to call it, a good answer)
CALLS = {
    "create": ("POST", "/cluster/create",
               lambda c: c.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="lab-a"),
               Json(202, CREATED)),
    "delete": ("DELETE", "/cluster/c-1", lambda c: c.delete_cluster("c-1"), Json(202, DELETED)),
    "list": ("GET", "/cluster/list", lambda c: c.list_clusters(), Json(200, {"clusters": [CLUSTER] * 3})),
    "info": ("GET", "/cluster/info/c-1", lambda c: c.cluster_info("c-1"), Json(200, {"cluster_info": CLUSTER})),
    "poll": ("GET", "/request/info/r-1", lambda c: c.request_info("r-1"), Json(200, POLL)),
    "health": ("POST", "/health", lambda c: c.health(), Json(200, {"message": "hi" * 300})),
    "edit": ("PATCH", "/cluster/edit/c-1", lambda c: c.edit_cluster("c-1", cluster_name="lab-b"),
             Json(202, {"message": "edited" * 100})),
    # the storage endpoints (StorageApi) go through the same retry layer
    "storage_create": ("POST", "/storage/create", lambda c: c.create_storage(size_gb=100, name="vol-a"),
                       Json(202, {"storage_id": "s-1", "request_id": "r-3", "message": "ok" + " " * 400 + "."})),
    "storage_delete": ("DELETE", "/storage/s-1", lambda c: c.delete_storage("s-1"),
                       Json(202, {"request_id": "r-4", "message": "bye"})),
    "storage_attach": ("POST", "/storage/attach", lambda c: c.attach_storage("s-1", ["c-9"]),
                       Json(202, {"request_ids": ["r-5"], "message": "attaching"})),
    "storage_detach": ("POST", "/storage/detach", lambda c: c.detach_storage("s-1", "c-9"),
                       Json(202, {"request_id": "r-6", "message": "detaching"})),
    "storage_list": ("GET", "/storage/list", lambda c: c.list_storage(), Json(200, {"volumes": [VOLUME] * 3})),
    "storage_info": ("GET", "/storage/info/s-1", lambda c: c.storage_info("s-1"),
                     Json(200, {"storage_info": VOLUME})),
    "storage_edit": ("PATCH", "/storage/edit/s-1", lambda c: c.edit_storage("s-1", size_gb=200),
                     Json(202, {"message": "grown"})),
}
ONCE = ("create", "delete", "storage_create", "storage_delete", "storage_attach", "storage_detach")
IDEMPOTENT = ("list", "info", "poll", "health", "edit", "storage_list", "storage_info", "storage_edit")
SUBJECT = {"create": "the cluster 'lab-a' may or may not have been created",
           "delete": "the cluster c-1 may or may not be being destroyed",
           "storage_create": "the storage volume 'vol-a' may or may not have been created",
           "storage_delete": "the storage volume s-1 may or may not be being destroyed",
           "storage_attach": "the storage volume s-1 may or may not be being attached to c-9",
           "storage_detach": "the storage volume s-1 may or may not be being detached from c-9"}


@pytest.fixture
def server():
    with HostileServer() as s:
        yield s


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(server: HostileServer, **kw) -> tuple[TensorPoolClient, Sleeps]:
    sleeps = Sleeps()
    kw.setdefault("timeout", TIMEOUT)
    kw.setdefault("max_retries", 1)
    return TensorPoolClient(server.url, CANARY, sleep=sleeps, rng=lambda: 0.5, max_body_bytes=MAX_BODY, **kw), sleeps


def texts_of(err: BaseException) -> list[str]:
    out, seen = [], set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        out += [str(e), repr(e), str(getattr(e, "hint", "") or ""), repr(e.args), repr(vars(e))]
        e = e.__cause__ or e.__context__
    printed = io.StringIO()
    if isinstance(err, TpdeclareError):
        print_error(err, printed)
    out.append(printed.getvalue())
    return out


@dataclass
class Outcome:
    result: object
    error: BaseException | None
    seconds: float


def run(server: HostileServer, call: str, *acts, caplog, **client_kw) -> Outcome:
    """Script the call's path with `acts`, make the call, and check what every case must hold."""
    method, path, invoke, _ = CALLS[call]
    server.on(method, path, *acts)
    client, _ = client_for(server, **client_kw)
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    result, error = None, None
    try:
        result = invoke(client)
    except Exception as exc:  # noqa: BLE001 - the checks below say what it must be
        error = exc
    seconds = time.monotonic() - started
    if error is not None:
        assert isinstance(error, TpdeclareError), f"not a tpdeclare error: {error!r}"
        for text in texts_of(error):
            assert CANARY not in text
            assert "Traceback" not in text
    assert CANARY not in repr(result) and CANARY not in repr(client)
    assert CANARY not in caplog.text
    assert all(CANARY not in r.getMessage() for r in caplog.records)
    assert seconds < SLOW, f"the call took {seconds:.1f}s: it was not cut off"
    return Outcome(result, error, seconds)


def expect(outcome: Outcome, cls: type[BaseException], *words: str) -> BaseException:
    err = outcome.error
    assert type(err) is cls, f"expected {cls.__name__}, got {err!r}"
    for w in words:
        assert w in str(err), (w, str(err))
    return err


# ------------------------------------------------------------------------------------------ lost answers
def _answer(call: str):
    return CALLS[call][3]


LOST = {  # an act that loses the answer, and the words it must be described with
    "drip-status": (lambda a: Drip(a, DRIP, "status"), f"no complete answer within {CUT}s"),
    "drip-headers": (lambda a: Drip(a, DRIP, "headers"), f"no complete answer within {CUT}s"),
    "drip-body": (lambda a: Drip(a, DRIP, "body"), f"no complete answer within {CUT}s"),
    "stall-status": (lambda a: Stall(a, "status"), f"no complete answer within {CUT}s"),
    "stall-headers": (lambda a: Stall(a, "headers"), f"no complete answer within {CUT}s"),
    "stall-body": (lambda a: Stall(a, "body"), f"no complete answer within {CUT}s"),
    "close-before-answer": (lambda a: Close(a, "status"), "the connection was closed before an answer"),
    "close-mid-body": (lambda a: Close(a, "body"), "the answer was cut off"),
    "reset": (lambda a: Reset(), "the connection was closed before an answer"),
    "short-content-length": (lambda a: Raw(a.status, b'{"cluster_id": "c-1"}', content_length=200),
                             "the answer was cut off"),
    "too-many-headers": (lambda a: ManyHeaders(150, a), "the answer was not valid HTTP"),
    "not-http": (lambda a: Garbage(b"SSH-2.0-OpenSSH_9.6\r\n"), "the answer was not valid HTTP"),
    "bad-status-line": (lambda a: Garbage(b"HTTP/1.1 OK fine\r\n\r\n"), "the answer was not valid HTTP"),
    "endless-header-line": (lambda a: Garbage(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n"),
                            "the answer was not valid HTTP"),
}


def deadline_for(lost: str) -> float:
    """CUT for an answer that never completes (it is cut there); the roomy TIMEOUT for one that comes at once
    but broken (reset, garbage, too many headers...), so that how fast a loaded machine sends it cannot turn
    it into a cut-off."""
    return CUT if lost.startswith(("drip-", "stall-")) else TIMEOUT


@pytest.mark.parametrize("lost", sorted(LOST))
@pytest.mark.parametrize("call", ONCE)
def test_a_lost_answer_to_create_or_delete_is_outcome_unknown_and_sent_once(server, call, lost, caplog):
    make, words = LOST[lost]
    outcome = run(server, call, make(_answer(call)), caplog=caplog, timeout=deadline_for(lost))
    err = outcome.error
    assert isinstance(err, OutcomeUnknown) and not isinstance(err, MalformedAcceptance), repr(err)
    assert words in str(err) and str(err).endswith(SUBJECT[call]), str(err)
    method, path, _, _ = CALLS[call]
    assert server.count(method, path) == 1
    assert server.count() == 1  # and nothing else was sent


# The reads share one retry layer: every way of losing an answer on the list, a sample on the others.
SAMPLE = ("drip-headers", "stall-body", "close-mid-body", "reset", "not-http")
READ_CASES = [(call, lost) for call in IDEMPOTENT for lost in (sorted(LOST) if call == "list" else SAMPLE)]


@pytest.mark.parametrize("call, lost", READ_CASES, ids=[f"{c}-{lost}" for c, lost in READ_CASES])
def test_a_lost_answer_to_a_read_is_retried_then_a_connection_error(server, call, lost, caplog):
    make, words = LOST[lost]
    outcome = run(server, call, make(_answer(call)), caplog=caplog, timeout=deadline_for(lost))
    err = expect(outcome, ApiConnectionError, "cannot reach the API", words)
    assert "gave up after 2 attempts" in err.hint
    method, path, _, _ = CALLS[call]
    assert server.count(method, path) == 2 and server.count() == 2


@pytest.mark.parametrize("call", IDEMPOTENT)
def test_a_read_whose_first_answer_is_lost_succeeds_on_the_retry(server, call, caplog):
    method, path, _, good = CALLS[call]
    # The dripped first answer lasts longer than TIMEOUT, so it is cut whatever the load; the good answer then
    # has the roomy TIMEOUT too (a CUT-short deadline for it would depend on how fast this machine answers).
    outcome = run(server, call, Drip(good, DRIP, "headers"), good, caplog=caplog)
    assert outcome.error is None and outcome.result is not None
    assert server.count(method, path) == 2


# ------------------------------------------------------------------------------------------ unsafe IDs
UNSAFE_IDS = {
    "traversal": "../../x", "query": "c-1?x=y", "fragment": "c-1#f", "percent": "c-%2e%2e", "slash": "c/1",
    "url": "https://evil.test/c-1", "space": "c 1", "newline": "c-1\n", "escape": "c-\x1b[2J", "nul": "c-\x00",
    "bidi": "c-\u202e1", "zero-width": "c-\u200b1", "non-ascii": "é-1", "overlong": "c" * 129, "dotdot": "..",
    "leading-dash": "-c",
}
KEY_IDS = {"key": ECHO_KEY, "key-inside": f"c-{ECHO_KEY}-1"}


def _with(body: dict, path: tuple, value):
    """A copy of `body` with the value at `path` (keys and list indexes) replaced."""
    import copy

    out = copy.deepcopy(body)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


ID_FIELDS = {  # call -> (field path in the body, the body, its name in the message)
    "create": [(("cluster_id",), CREATED, "cluster_id"), (("request_id",), CREATED, "request_id"),
               (("instance_ids", 0), CREATED, "instance_ids[0]")],
    "delete": [(("cluster_id",), DELETED, "cluster_id"), (("request_id",), DELETED, "request_id")],
    "list": [(("clusters", 1, "cluster_id"), {"clusters": [CLUSTER, dict(CLUSTER, cluster_id="c-2")]},
              "clusters[1].cluster_id"),
             (("clusters", 0, "instances", 0, "instance_id"), {"clusters": [CLUSTER]},
              "clusters[0].instances[0].instance_id")],
    "info": [(("cluster_info", "cluster_id"), {"cluster_info": CLUSTER}, "cluster_info.cluster_id")],
    "poll": [(("request_id",), POLL, "request_id"), (("object_id",), POLL, "object_id")],
}
ID_CASES = [(call, path, body, name, value_id)
            for call, fields in ID_FIELDS.items() for path, body, name in fields
            for value_id in (*UNSAFE_IDS, *KEY_IDS)]


@pytest.mark.parametrize("call, path, body, name, value_id", ID_CASES,
                         ids=[f"{c[0]}-{c[3]}-{c[4]}" for c in ID_CASES])
def test_an_unsafe_id_from_the_server_is_refused(server, call, path, body, name, value_id, caplog):
    value = {**UNSAFE_IDS, **KEY_IDS}[value_id]
    status = 202 if call in ONCE else 200
    outcome = run(server, call, Json(status, _with(body, path, value)), caplog=caplog)
    cls = MalformedAcceptance if call in ONCE else MalformedResponse
    if value_id in KEY_IDS:
        err = expect(outcome, cls, f"field '{name}' is an ID containing the API key")
    else:
        err = expect(outcome, cls, f"field '{name}' is not a valid ID: ")
        assert "\n" not in str(err) and "\x1b" not in str(err) and "\u202e" not in str(err)
    if call in ONCE:
        assert "probably" in str(err)  # it took effect: the next run looks it up
    method, http_path, _, _ = CALLS[call]
    assert server.count(method, http_path) == 1  # refused, not retried


@pytest.mark.parametrize("call", ["create", "delete"])
def test_an_accepted_create_or_delete_without_ids(server, call, caplog):
    body = {"message": "accepted"} if call == "create" else {"message": "bye"}
    outcome = run(server, call, Json(202, body), caplog=caplog)
    if call == "create":
        expect(outcome, MalformedAcceptance, "field 'cluster_id' is missing", "was probably created")
    else:  # a delete's answer may omit its IDs: the cluster is the one asked for, no request to poll
        assert outcome.error is None and outcome.result.cluster_id == "c-1" and outcome.result.request_id is None
    assert server.count() == 1


# ------------------------------------------------------------------------------------------ unsafe names and words
UNSAFE_TEXT = {
    "escape": "lab-\x1b[31ma", "newline": "lab\nb", "cr": "lab\rb", "nul": "lab\x00", "bidi": "lab\u202eb",
    "zero-width": "lab\u200bb", "line-separator": "lab\u2028b", "del": "lab\x7f", "c1": "lab\x9b",
    "overlong": "l" * 1100,
}
TEXT_FIELDS = [("tp_cluster_name", "clusters[0].tp_cluster_name"), ("status", "clusters[0].status"),
               ("instance_type", "clusters[0].instance_type"), ("container", "clusters[0].container"),
               ("created_at", "clusters[0].created_at")]
TEXT_CASES = [(f, n, t) for f, n in TEXT_FIELDS for t in (*UNSAFE_TEXT, "key")]


@pytest.mark.parametrize("field, name, text_id", TEXT_CASES, ids=[f"{c[0]}-{c[2]}" for c in TEXT_CASES])
def test_an_unsafe_name_or_word_is_refused_never_altered(server, field, name, text_id, caplog):
    value = f"lab-{ECHO_KEY}" if text_id == "key" else UNSAFE_TEXT[text_id]
    outcome = run(server, "list", Json(200, {"clusters": [_with(CLUSTER, (field,), value)]}), caplog=caplog)
    err = expect(outcome, MalformedResponse, f"field '{name}' ")
    if text_id == "key":
        assert "containing the API key" in str(err)
    for bad in ("\n", "\r", "\x1b", "\x00", "\u202e", "\u200b", "\u2028", "\x7f", "\x9b"):
        assert bad not in str(err)


@pytest.mark.parametrize("name", ["Lab Cluster", "café-été", "lab_a.b", "ラボ"])
def test_printable_names_are_kept_as_they_are(server, name, caplog):
    outcome = run(server, "list", Json(200, {"clusters": [_with(CLUSTER, ("tp_cluster_name",), name)]}),
                  caplog=caplog)
    assert outcome.error is None and outcome.result[0].name == name


@pytest.mark.parametrize("value", ["PROCESSING\n", "PROC\x1bESSING", ECHO_KEY])
def test_an_unsafe_request_status_is_refused(server, value, caplog):
    expect(run(server, "poll", Json(200, _with(POLL, ("status",), value)), caplog=caplog), MalformedResponse,
           "field 'status' ")


# ------------------------------------------------------------------------------------------ the key echoed back
@pytest.mark.parametrize("call", sorted(CALLS))
def test_the_key_echoed_in_the_servers_prose_is_redacted(server, call, caplog):
    method, path, _, good = CALLS[call]
    body = {**good.body}
    for name in ("message", "external_message"):
        if name in body:
            body[name] = f"your key is {ECHO_KEY}, \x1b[31mcongratulations"
    outcome = run(server, call, Json(good.status, body, headers={"X-Echo": ECHO_KEY}), caplog=caplog)
    assert outcome.error is None
    shown = repr(outcome.result)
    if "message" in body or "external_message" in body:
        assert "<redacted>" in shown and "\x1b" not in shown


@pytest.mark.parametrize("status, cls", [(400, BadRequest), (401, Unauthorized), (403, ApiStatusError),
                                         (404, None), (409, None), (422, None), (500, None), (503, None)])
@pytest.mark.parametrize("where", ["message", "detail", "html", "reason"])
def test_the_key_echoed_in_an_error_is_redacted(server, status, cls, where, caplog):
    if where == "message":
        act = Json(status, {"message": f"bad key {ECHO_KEY}"})
    elif where == "detail":
        act = Json(status, {"detail": [{"loc": ["body", ECHO_KEY], "msg": f"is {ECHO_KEY}", "type": "x"}]})
    elif where == "html":
        act = Raw(status, f"<pre>Authorization: Bearer {ECHO_KEY}</pre>".encode())
    else:
        act = Raw(status, b"", reason=f"Key {ECHO_KEY}")
    outcome = run(server, "create", act, caplog=caplog)
    assert isinstance(outcome.error, OutcomeUnknown if status >= 500 else ApiStatusError)
    if cls is not None:
        assert type(outcome.error) is cls
    assert "<redacted>" in str(outcome.error)
    assert server.count() == 1


def test_a_redirect_to_a_url_with_the_key_is_not_followed_and_not_shown(server, caplog):
    act = Raw(302, b"", headers={"Location": f"https://evil.test/?k={ECHO_KEY}"})
    err = expect(run(server, "list", act, caplog=caplog), ApiStatusError, "HTTP 302")
    assert "redirects to https://evil.test/?k=<redacted>" in err.hint
    assert server.count() == 1


# ------------------------------------------------------------------------------------------ bodies
@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("body_id", ["not-json", "truncated-json", "html", "huge-declared", "huge-undeclared",
                                     "nested-deep", "wrong-type", "status-line-then-close"])
def test_an_unreadable_success_body_is_malformed(server, call, body_id, caplog):
    status = 202 if call in ONCE else 200
    act = {
        "not-json": Raw(status, b"Accepted, thanks"),
        "truncated-json": Raw(status, b'{"cluster_id": "c-1", "clus'),
        "html": Raw(status, b"<html><body>maintenance</body></html>"),
        "huge-declared": Huge(status, MAX_BODY * 4),
        "huge-undeclared": Huge(status, MAX_BODY * 4, declared=False),
        "nested-deep": Raw(status, b"[" * 50_000 + b"]" * 50_000),
        "wrong-type": Json(status, [1, 2, 3]),
        "status-line-then-close": Close(Json(status, {"message": "x"}), "headers"),  # no headers, empty body
    }[body_id]
    outcome = run(server, call, act, caplog=caplog)
    if body_id == "status-line-then-close" and call in ("health", "edit", "storage_edit"):
        assert outcome.error is None  # an empty 2xx says nothing, and nothing is wrong
        assert outcome.result in ("", EditResult("", None))
        return
    cls = MalformedAcceptance if call in ONCE else MalformedResponse
    err = expect(outcome, cls, "answered HTTP")
    if body_id.startswith("huge"):
        assert "too large to read" in str(err)
    assert server.count() == 1


def test_a_huge_error_body_is_not_read(server, caplog):
    err = expect(run(server, "list", Huge(500, MAX_BODY * 8), caplog=caplog), ServerError, "too large to read")
    assert err.status == 500


# ------------------------------------------------------------------------------------------ statuses
@pytest.mark.parametrize("status, cls", [(429, RateLimited), (502, ServerError), (503, ServerError),
                                         (504, ServerError)])
def test_transient_statuses_retry_reads_but_a_create_only_when_it_did_nothing(server, status, cls, caplog):
    """A 429 did nothing, so even a create is tried again; a 5xx to a create may have done it: never again."""
    busy = Json(status, {"message": "busy"}, headers={"Retry-After": "0"})
    expect(run(server, "list", busy, caplog=caplog), cls, "busy")
    assert server.count("GET", "/cluster/list") == 2
    outcome = run(server, "create", busy, caplog=caplog)
    assert isinstance(outcome.error, RateLimited if status == 429 else OutcomeUnknown)
    assert server.count("POST", "/cluster/create") == (2 if status == 429 else 1)


def test_a_taken_name_is_a_definite_bad_request(server, caplog):
    act = Json(400, {"message": "Cluster name 'lab-a' is already in use"})
    expect(run(server, "create", act, caplog=caplog), BadRequest, "Cluster name 'lab-a' is already in use")
    assert server.count() == 1


# ------------------------------------------------------------------------------------------ the run's deadline
@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_call_after_the_runs_deadline_is_not_sent(server, call, caplog):
    outcome = run(server, call, _answer(call), caplog=caplog, deadline=time.monotonic() - 1)
    expect(outcome, DeadlineExceeded, "the run's time limit had passed", "nothing was sent")
    assert server.count() == 0


class PastDeadlineOnceSent:
    """A run clock at 0 until the server has the request, then far past any deadline: the run's time limit
    falls exactly between sending and the answer, however slow the machine (no timing window)."""

    def __init__(self, server: HostileServer):
        self.server = server

    def __call__(self) -> float:
        return 0.0 if self.server.count() == 0 else 1000.0

@pytest.mark.parametrize("call", ONCE)
def test_the_runs_deadline_cuts_a_stalled_create_or_delete_to_outcome_unknown(server, call, caplog):
    outcome = run(server, call, Stall(_answer(call), "headers"), caplog=caplog, timeout=30,
                  deadline=1.0, clock=PastDeadlineOnceSent(server))
    expect(outcome, OutcomeUnknown, "no complete answer before the run's time limit", SUBJECT[call])
    assert server.count() == 1


def test_the_runs_deadline_cuts_a_read_and_leaves_no_retry(server, caplog):
    outcome = run(server, "list", Drip(_answer("list"), DRIP, "body"), caplog=caplog, timeout=30, max_retries=5,
                  deadline=1.0, clock=PastDeadlineOnceSent(server))
    err = expect(outcome, DeadlineExceeded, "GET /cluster/list: cannot reach the API at",
                 "no complete answer before the run's time limit")
    assert "gave up after 1 attempt" in err.hint and "--timeout" in err.hint
    assert server.count() == 1


class SteppedClock:
    """A clock that moves only when slept on."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_polling_stops_at_the_runs_deadline(server):
    server.on("GET", "/request/info/r-1", Json(200, POLL, headers={"Retry-After": "1"}))
    clock = SteppedClock()
    client = TensorPoolClient(server.url, CANARY, timeout=TIMEOUT, deadline=2.5, clock=clock, sleep=clock.sleep)
    with pytest.raises(PollTimeout) as info:
        client.wait_for_request("r-1", deadline_seconds=600, what="cluster 'lab-a'")
    assert str(info.value) == ("the run's time limit (--timeout) was reached while waiting for cluster 'lab-a' "
                               "(request r-1, last status PROCESSING)")
    assert info.value.last_info.status == "PROCESSING" and info.value.request_id == "r-1"
    assert clock.sleeps == [1.0, 1.0]  # a third sleep would end past the deadline: it is not taken
    assert server.count() == 3


def test_the_empty_engine_script_serves_health_and_an_empty_list(server):
    client, _ = client_for(server.empty_engine())
    assert client.health() == "ok" and client.list_clusters() == []
    with pytest.raises(NotFound, match="HTTP 404: Not Found"):  # unscripted paths answer 404
        client.cluster_info("c-1")
    assert [(s.method, s.path) for s in server.seen] == [("POST", "/health"), ("GET", "/cluster/list"),
                                                         ("GET", "/cluster/info/c-1")]
    assert all(s.headers["authorization"] == f"Bearer {CANARY}" for s in server.seen)


@pytest.mark.parametrize("retries", [0, 3])
def test_a_read_the_runs_deadline_cuts_is_deadline_exceeded_whatever_the_retry_budget(server, retries, caplog):
    outcome = run(server, "info", Stall(_answer("info"), "status"), caplog=caplog, max_retries=retries,
                  deadline=1.0, clock=PastDeadlineOnceSent(server))
    expect(outcome, DeadlineExceeded, "no complete answer before the run's time limit")
    assert server.count() == 1
