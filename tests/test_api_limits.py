"""The client's limits over a scripted transport: the run's deadline, the poll cadence, body sizes, the
response-field mapping and the one redacting log call site (no network, no real sleeps)."""

from __future__ import annotations

import io
import logging
import socket
import threading

import pytest
import requests
import urllib3
from tpdeclare.api.client import TensorPoolClient
from tpdeclare.api.polling import PollPolicy
from tpdeclare.api.redaction import ApiLog, Secret
from tpdeclare.api.vocabulary import ResponseFields
from tpdeclare.api.watchdog import watching
from tpdeclare.errors import (
    ApiConnectionError,
    DeadlineExceeded,
    MalformedAcceptance,
    MalformedResponse,
    OutcomeUnknown,
    PollTimeout,
    ServerError,
)

from api_transport_fakes import BASE, CLUSTER, CREATED, KEY, FakeAdapter, FakeTime, Reply, create, make, poll

START = FakeTime.START

CALLS = {
    "health": lambda c: c.health(),
    "create": create,
    "poll": lambda c: c.request_info("r-1"),
    "wait": lambda c: c.wait_for_request("r-1", deadline_seconds=60, what="w"),
    "list": lambda c: c.list_clusters(),
    "info": lambda c: c.cluster_info("c-1"),
    "edit": lambda c: c.edit_cluster("c-1", deletion_protection=True),
    "delete": lambda c: c.delete_cluster("c-1"),
}


# ------------------------------------------------------------------------------------------ the run's deadline
@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("late", [0.0, 0.001, 3600.0])
def test_nothing_is_sent_once_the_runs_deadline_has_passed(call, late):
    client, adapter, t = make([Reply(200, {"message": "ok"})], deadline=START - late)
    expected = PollTimeout if call == "wait" else DeadlineExceeded
    with pytest.raises(expected) as info:
        CALLS[call](client)
    assert adapter.count == 0 and t.sleeps == []
    if expected is DeadlineExceeded:
        assert "the run's time limit had passed" in str(info.value) and "nothing was sent" in str(info.value)
        assert "--timeout" in info.value.hint


def test_a_create_after_the_deadline_says_it_was_not_created():
    client, adapter, _ = make([Reply(202, CREATED)], deadline=START)
    with pytest.raises(DeadlineExceeded) as info:
        create(client)
    assert str(info.value) == ("POST /cluster/create: the run's time limit had passed; nothing was sent, so the "
                               "cluster 'research-trainer' was not created")
    assert not isinstance(info.value, OutcomeUnknown) and adapter.count == 0


def test_no_retry_sleep_reaches_past_the_runs_deadline():
    busy = Reply(503, {"message": "busy"}, headers={"Retry-After": "3"})
    client, adapter, t = make([busy], deadline=START + 7, max_retries=10)
    with pytest.raises(DeadlineExceeded) as info:
        client.list_clusters()
    assert t.sleeps == [3.0, 3.0]  # a third would end at +9, past the deadline at +7
    assert adapter.count == 3
    assert str(info.value) == ("GET /cluster/list failed with HTTP 503: busy; the run's time limit (--timeout) "
                               "leaves no time to try again")
    assert "gave up after 3 attempts over 6s" in info.value.hint
    assert isinstance(info.value.__cause__, ServerError)


def test_a_poll_the_runs_deadline_stops_ends_the_wait_as_a_poll_timeout():
    busy = Reply(503, {"message": "busy"}, headers={"Retry-After": "3"})
    client, adapter, t = make([poll("PROCESSING", "4"), busy], deadline=START + 6)
    with pytest.raises(PollTimeout) as info:
        client.wait_for_request("r-1", deadline_seconds=600, what="cluster 'x'")
    assert t.sleeps == [4.0]  # then the 503's 3 s would end past the deadline
    assert adapter.count == 2
    assert "the run's time limit (--timeout) was reached while waiting for cluster 'x'" in str(info.value)
    assert info.value.last_info.status == "PROCESSING"


def test_a_deadline_far_away_changes_nothing():
    busy = Reply(503, {"message": "busy"}, headers={"Retry-After": "3"})
    client, adapter, t = make([busy, Reply(200, {"clusters": []})], deadline=START + 10_000)
    assert client.list_clusters() == [] and t.sleeps == [3.0] and adapter.count == 2


def test_polling_never_sleeps_past_the_runs_deadline():
    client, adapter, t = make([poll("PROCESSING", "4")], deadline=START + 10)
    with pytest.raises(PollTimeout) as info:
        client.wait_for_request("r-1", deadline_seconds=600, what="cluster 'x'")
    assert t.sleeps == [4.0, 4.0]  # the next 4 s would end at +12
    assert adapter.count == 3
    assert str(info.value) == ("the run's time limit (--timeout) was reached while waiting for cluster 'x' "
                               "(request r-1, last status PROCESSING)")
    assert info.value.last_info.status == "PROCESSING"


def test_the_deadline_is_checked_between_body_chunks_on_any_adapter():
    t = FakeTime()

    class SlowBody(io.BytesIO):
        def read(self, *args):  # every read of the body takes 20 s on the client's clock
            t.now += 20
            return super().read(*args)

    class StreamingAdapter(FakeAdapter):
        def send(self, request, **kwargs):
            self.sent.append((request, kwargs))
            raw = urllib3.HTTPResponse(body=SlowBody(b'{"clusters": []}' + b" " * 200_000), status=200,
                                       headers={"Content-Type": "application/json"}, preload_content=False)
            return requests.adapters.HTTPAdapter.build_response(self, request, raw)

    adapter = StreamingAdapter([])
    session = requests.Session()
    session.mount(BASE, adapter)
    client = TensorPoolClient(BASE, KEY, session=session, clock=t.clock, sleep=t.sleep, timeout=30, max_retries=0)
    with pytest.raises(ApiConnectionError) as info:
        client.list_clusters()
    assert "no complete answer within 30s" in str(info.value)
    with pytest.raises(OutcomeUnknown) as info:
        create(client)
    assert "no complete answer within 30s, so the cluster 'research-trainer' may or may not have been created" \
        in str(info.value)


@pytest.mark.parametrize("bad", ["soon", float("nan"), True])
def test_a_bad_deadline_is_refused(bad):
    with pytest.raises(ValueError, match="deadline"):
        TensorPoolClient(BASE, KEY, deadline=bad)


# ------------------------------------------------------------------------------------------ poll cadence
def test_the_poll_cadence_is_injected():
    policy = PollPolicy(default_interval=0.5, min_interval=0.1, max_interval=3.0, max_zero_polls=2)
    script = [poll("PENDING"), poll("PENDING", "0.01"), poll("PENDING", "99"), poll("PENDING", "0"),
              poll("PENDING", "0"), poll("PENDING", "0"), poll("COMPLETED")]
    client, _, t = make(script, poll=policy)
    assert client.wait_for_request("r-1", deadline_seconds=600, what="w").succeeded
    assert t.sleeps == [0.5, 0.1, 3.0, 0.0, 0.0, 0.1]


@pytest.mark.parametrize("kw", [{"default_interval": -1}, {"min_interval": float("inf")}, {"max_zero_polls": -1},
                                {"min_interval": 5, "max_interval": 1}, {"max_interval": "2"}])
def test_a_bad_poll_policy_is_refused(kw):
    with pytest.raises(ValueError):
        PollPolicy(**kw)


# ------------------------------------------------------------------------------------------ body sizes
@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_body_over_the_limit_is_refused_unread(call):
    big = Reply(202 if call in ("create", "delete") else 200, raw=b'{"message": "' + b"x" * 5000 + b'"}')
    client, adapter, _ = make([big], max_body_bytes=1000)
    expected = MalformedAcceptance if call in ("create", "delete") else MalformedResponse
    with pytest.raises(expected) as info:
        CALLS[call](client)
    assert "the body is too large to read" in str(info.value)
    assert adapter.count == 1


def test_an_error_body_over_the_limit_keeps_the_status():
    client, _, _ = make([Reply(404, raw=b"x" * 5000)], max_body_bytes=1000)
    with pytest.raises(Exception) as info:
        client.cluster_info("c-1")
    assert str(info.value) == "GET /cluster/info/c-1 failed with HTTP 404: Not Found (the body was too large to read)"


# ------------------------------------------------------------------------------------------ response fields
def test_responses_are_read_through_the_injected_field_names():
    aliased = ResponseFields(cluster_id="id", cluster_name="name", clusters="items", num_nodes="node_count",
                             status="state")
    cluster = {"id": "c-9", "name": "lab", "instance_type": "1xH100", "node_count": 1, "deletion_protection": False,
               "state": "running"}
    client, _, _ = make([Reply(200, {"items": [cluster]})], response_fields=aliased)
    [info] = client.list_clusters()
    assert (info.cluster_id, info.name, info.num_nodes, info.status) == ("c-9", "lab", 1, "RUNNING")
    client, _, _ = make([Reply(200, {"clusters": [CLUSTER]})], response_fields=aliased)
    with pytest.raises(MalformedResponse, match="field 'items' is missing"):
        client.list_clusters()


# ------------------------------------------------------------------------------------------ log lines
def test_every_api_log_line_is_redacted_and_kept_on_one_line(caplog):
    log = ApiLog(Secret(KEY), logging.getLogger("tpdeclare.api"))
    with caplog.at_level(logging.DEBUG, logger="tpdeclare.api"):
        log.debug("GET /cluster/info/%s -> %s", KEY, 404)
        log.warning("request %s has status %r", f"r-{KEY}", "A\nB\x1b[2J")
        log.debug("no args %s")
        log.debug("bad format %d", "x")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "GET /cluster/info/<redacted> -> 404"
    assert messages[1] == "request r-<redacted> has status 'A\\nB\\x1b[2J'"
    assert messages[2] == "no args %s"
    assert messages[3].startswith("bad format %d")
    assert all(KEY not in m and "\n" not in m and "\x1b" not in m for m in messages)


def test_nothing_is_formatted_when_the_level_is_off(caplog):
    class Loud:
        def __str__(self):
            raise AssertionError("formatted although the level is off")

    with caplog.at_level(logging.WARNING, logger="tpdeclare.api"):
        ApiLog(Secret(KEY)).debug("%s", Loud())
    assert caplog.records == []


# ------------------------------------------------------------------------------------------ the watchdog
def test_the_watchdog_cuts_a_blocked_read_when_the_injected_clock_passes_the_deadline():
    ours, theirs = socket.socketpair()
    now = [0.0]
    try:
        with watching(10.0, lambda: now[0]) as watch:
            watch.attach(ours)
            ours.settimeout(10)  # the backstop; the watchdog must end the read long before
            now[0] = 10.5
            assert ours.recv(1) == b""  # EOF: the connection was shut down under the blocked read
        assert watch.fired and not watch.sent
    finally:
        ours.close()
        theirs.close()


def test_a_clock_that_fails_counts_as_due():
    def broken() -> float:
        raise RuntimeError("no time")

    ours, theirs = socket.socketpair()
    try:
        with watching(1e9, broken) as watch:
            watch.attach(ours)
            ours.settimeout(10)
            assert ours.recv(1) == b""
        assert watch.fired
    finally:
        ours.close()
        theirs.close()


def test_a_finished_exchange_is_never_cut_and_one_thread_watches_them_all():
    now = [0.0]
    for _ in range(50):
        with watching(1.0, lambda: now[0]) as watch:
            pass
    now[0] = 5.0
    assert not watch.fired
    assert [t.name for t in threading.enumerate()].count("tpdeclare-api-watchdog") == 1
