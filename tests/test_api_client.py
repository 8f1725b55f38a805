"""Tests for the TensorPool API client, over a scripted fake transport (no network, no real sleeps)."""

from __future__ import annotations

import json
import logging
import socket
import threading

import pytest
import requests
import urllib3.exceptions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter
from tpdeclare.api.client import ClusterInfo, RequestInfo, TensorPoolClient
from tpdeclare.api.models import InstanceInfo
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
from urllib3.util.retry import Retry

from api_transport_fakes import (
    BASE,
    CLUSTER,
    CREATED,
    KEY,
    FakeAdapter,
    FakeTime,
    Reply,
    create,
    make,
    poll,
    refused,
    remote_disconnected,
    reset,
)


# ----------------------------------------------------------------------------------------- requests sent
def test_every_call_sends_bearer_auth_timeout_and_no_redirects():
    client, adapter, _ = make([Reply(200, {"message": "ok"})])
    assert client.health() == "ok"
    request, kwargs = adapter.sent[0]
    assert request.method == "POST"
    assert request.url == BASE + "/health"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["User-Agent"].startswith("tpdeclare/")
    assert kwargs["timeout"] == (30.0, 30.5)  # the socket-level backstop; the whole exchange is bounded to 30 s


def test_timeout_is_configurable_as_connect_total_pair():
    client, adapter, _ = make([Reply(200, {"clusters": []})], timeout=(3, 20))
    client.list_clusters()
    assert adapter.sent[0][1]["timeout"] == (3.0, 20.5)


def test_socket_timeouts_are_cut_to_the_run_deadline():
    client, adapter, t = make([Reply(200, {"clusters": []})], timeout=(10, 20), deadline=FakeTime.START + 4)
    client.list_clusters()
    assert adapter.sent[0][1]["timeout"] == (4.0, 4.5)


@pytest.mark.parametrize("bad", [0, -1, "30", (1, 2, 3), (1, None), float("nan")])
def test_bad_timeout_is_refused(bad):
    with pytest.raises(ValueError):
        TensorPoolClient(BASE, KEY, timeout=bad)


def test_netrc_cannot_replace_the_bearer_header(tmp_path, monkeypatch):
    (tmp_path / ".netrc").write_text("machine engine.test login someone password other\n")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    client, adapter, _ = make([Reply(200, {"message": "ok"})])
    client.health()
    assert adapter.sent[0][0].headers["Authorization"] == f"Bearer {KEY}"


def test_create_sends_the_documented_body_with_save_keys_false():
    client, adapter, _ = make([Reply(202, CREATED)])
    result = create(client, public_keys=("ssh-ed25519 AAA a@b",))
    assert result.cluster_id == "c-1"
    assert result.instance_ids == ("i-1",)
    assert result.request_id == "r-1"
    assert result.message == "Cluster creation initiated"
    request = adapter.sent[0][0]
    assert (request.method, request.url) == ("POST", BASE + "/cluster/create")
    assert request.headers["Content-Type"] == "application/json"
    assert adapter.body() == {
        "instance_type": "8xH200",
        "num_nodes": 2,
        "tp_cluster_name": "research-trainer",
        "deletion_protection": False,
        "public_keys": ["ssh-ed25519 AAA a@b"],
        "save_keys": False,
    }


def test_create_sends_container_and_protection_when_given():
    client, adapter, _ = make([Reply(202, CREATED)])
    create(client, container="nvcr.io/nvidia/pytorch:25.01-py3", deletion_protection=True)
    body = adapter.body()
    assert body["container"] == "nvcr.io/nvidia/pytorch:25.01-py3"
    assert body["deletion_protection"] is True
    assert body["save_keys"] is False


@pytest.mark.parametrize(
    "kw",
    [{"tp_cluster_name": ""}, {"tp_cluster_name": None}, {"num_nodes": 0}, {"num_nodes": True}, {"instance_type": ""}],
)
def test_create_refuses_bad_arguments_before_sending(kw):
    client, adapter, _ = make([Reply(202, CREATED)])
    with pytest.raises(ValueError):
        create(client, **kw)
    assert adapter.count == 0


def test_create_tolerates_null_request_id_and_missing_optional_fields():
    client, _, _ = make([Reply(202, {"cluster_id": "c-9", "request_id": None, "future_field": {"x": 1}})])
    assert create(client).request_id is None


def test_list_clusters_parses_cluster_info_and_asks_for_org_clusters():
    other = dict(CLUSTER, cluster_id="c-2", tp_cluster_name=None, instances=[], extra="ignored")
    del other["created_at"]
    client, adapter, _ = make([Reply(200, {"clusters": [CLUSTER, other], "message": "table"})])
    clusters = client.list_clusters()
    assert adapter.sent[0][0].url == BASE + "/cluster/list?include_org=true"
    assert clusters[0] == ClusterInfo(
        cluster_id="c-3f9a1b2c",
        name="research-trainer",
        instance_type="8xH200",
        num_nodes=2,
        container=None,
        deletion_protection=True,
        status="RUNNING",
        instance_ids=("i-1", "i-2"),
        created_at="2026-11-26T10:00:00Z",
        instances=(InstanceInfo("i-1", "running"), InstanceInfo("i-2", "running")),
    )
    assert clusters[0].is_running and not clusters[0].is_destroyed
    assert clusters[1].name is None and clusters[1].instance_ids == () and clusters[1].created_at is None


@pytest.mark.parametrize("bad", ["c-../x y", "../../x", "c-1?x=y", "c-1#f", "c-1%2F", "https://evil.test/c-1",
                                 "c 1", "c-1\n", "\x1b[31mc", "c-\u202e1", "é", "a" * 129, "-c", "_c"])
def test_unsafe_path_ids_are_refused_before_anything_is_sent(bad):
    client, adapter, _ = make([Reply(200, {"cluster_info": CLUSTER, "message": "x"})])
    calls = [lambda: client.cluster_info(bad), lambda: client.edit_cluster(bad, cluster_name="n"),
             lambda: client.delete_cluster(bad), lambda: client.request_info(bad),
             lambda: client.wait_for_request(bad, deadline_seconds=5, what="w")]
    for call in calls:
        with pytest.raises(TpdeclareError) as info:
            call()
        assert "nothing was sent" in str(info.value)
        assert "\n" not in str(info.value) and "\x1b" not in str(info.value)
    assert adapter.count == 0


def test_a_path_id_that_contains_the_key_is_refused_without_showing_it(caplog):
    caplog.set_level(logging.DEBUG)
    client, adapter, _ = make([Reply(200, {"cluster_info": CLUSTER})])
    for call in (lambda: client.cluster_info(KEY), lambda: client.delete_cluster(f"c-{KEY}"),
                 lambda: client.request_info(KEY)):
        with pytest.raises(TpdeclareError) as info:
            call()
        assert "contains the API key; nothing was sent" in str(info.value)
        assert all(KEY not in text for text in _texts(info.value))
    assert adapter.count == 0 and KEY not in caplog.text


def test_cluster_info_tolerates_a_top_level_cluster():
    client, _, _ = make([Reply(200, CLUSTER)])
    assert client.cluster_info("c-3f9a1b2c").name == "research-trainer"


def test_edit_sends_only_the_given_fields():
    client, adapter, _ = make([Reply(202, {"message": "edited"})])
    assert client.edit_cluster("c-1", cluster_name="new-name") == "edited"
    request = adapter.sent[0][0]
    assert (request.method, request.url) == ("PATCH", BASE + "/cluster/edit/c-1")
    assert adapter.body() == {"cluster_name": "new-name"}
    client.edit_cluster("c-1", deletion_protection=False)
    assert adapter.body() == {"deletion_protection": False}
    with pytest.raises(ValueError):
        client.edit_cluster("c-1")


def test_edit_and_health_accept_an_empty_success_body():
    client, _, _ = make([Reply(204, raw=b"")])
    assert client.edit_cluster("c-1", deletion_protection=True) == ""
    assert client.health() == ""


def test_statuses_are_normalised_to_upper_case():
    client, _, _ = make([poll(" completed "), Reply(200, {"clusters": [dict(CLUSTER, status="running")]})])
    assert client.request_info("r-1").status == "COMPLETED"
    assert client.list_clusters()[0].status == "RUNNING"


def test_delete_parses_the_answer():
    client, adapter, _ = make([Reply(202, {"cluster_id": "c-1", "request_id": "r-2", "message": "bye"})])
    result = client.delete_cluster("c-1")
    assert (adapter.sent[0][0].method, adapter.sent[0][0].url) == ("DELETE", BASE + "/cluster/c-1")
    assert (result.cluster_id, result.request_id, result.message) == ("c-1", "r-2", "bye")


def test_request_info_parses_status_and_retry_after():
    client, adapter, _ = make([poll("PROCESSING", "3", external_message="warming up")])
    info = client.request_info("r-1")
    assert adapter.sent[0][0].url == BASE + "/request/info/r-1"
    assert info == RequestInfo("r-1", "CLUSTER_CLAIM", "PROCESSING", "c-1", "warming up", 3.0)
    assert not info.is_terminal and not info.succeeded


# ----------------------------------------------------------------------------------------- status errors
@pytest.mark.parametrize(
    "status, cls",
    [
        (400, BadRequest),
        (401, Unauthorized),
        (402, PaymentRequired),
        (404, NotFound),
        (409, Conflict),
        (422, ValidationFailed),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
        (507, ServerError),
        (403, ApiStatusError),
        (418, ApiStatusError),
        (302, ApiStatusError),
    ],
)
def test_each_status_maps_to_its_error_with_the_servers_words(status, cls):
    client, adapter, _ = make([Reply(status, {"message": f"words for {status}"})], max_retries=0)
    with pytest.raises(ApiStatusError) as info:
        client.list_clusters()
    err = info.value
    assert type(err) is cls
    assert (err.status, err.method, err.path) == (status, "GET", "/cluster/list")
    assert err.server_message == f"words for {status}"
    assert str(err) == f"GET /cluster/list failed with HTTP {status}: words for {status}"
    assert adapter.count == 1


@pytest.mark.parametrize(
    "body, words",
    [
        ({"message": "m", "error": "e", "external_message": "x", "detail": "d"}, "m"),
        ({"error": "e", "external_message": "x", "detail": "d"}, "e"),
        ({"external_message": "x", "detail": "d"}, "x"),
        ({"detail": "Cluster not found"}, "Cluster not found"),
        ({"message": "", "error": None, "detail": "d"}, "d"),
        ({"error": {"code": "E1", "message": "nested words"}}, "nested words"),
        (
            {
                "detail": [
                    {"loc": ["body", "num_nodes"], "msg": "Input should be greater than or equal to 1", "type": "x"},
                    {"loc": ["body", "public_keys", 0], "msg": "Input should be a valid string", "type": "y"},
                    {"loc": ["query", "include_org"], "msg": "bad flag", "type": "z"},
                    {"loc": ["body"], "msg": "Field required", "type": "missing"},
                ]
            },
            "num_nodes: Input should be greater than or equal to 1\n"
            "public_keys[0]: Input should be a valid string\n"
            "query.include_org: bad flag\n"
            "Field required",
        ),
    ],
)
def test_server_words_follow_the_official_cli_order(body, words):
    client, _, _ = make([Reply(422, body)])
    with pytest.raises(ValidationFailed) as info:
        client.list_clusters()
    assert info.value.server_message == words


@pytest.mark.parametrize(
    "reply, words",
    [
        (Reply(404, raw=b""), "Not Found"),
        (Reply(404, raw=b"  \n"), "Not Found"),
        (
            Reply(502, raw=b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
                  b"<hr>nginx</body></html>"),
            "Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx",
        ),
        (Reply(500, raw=b"oops \x1b[31mred\x1b[0m\x00 text"), "Internal Server Error: oops red text"),
        (Reply(500, raw=b"\xff\xfe\xfa binary"), "Internal Server Error: \ufffd\ufffd\ufffd binary"),
        (Reply(400, {"unexpected": 1}), 'Bad Request: {"unexpected":1}'),
        (Reply(400, [1, 2]), "Bad Request: [1,2]"),
        (Reply(599, raw=b"", reason=""), "HTTP 599"),
        (Reply(400, raw=b"", reason="Custom Reason"), "Custom Reason"),
    ],
)
def test_non_json_or_wordless_error_bodies_give_status_text_and_excerpt(reply, words):
    client, _, _ = make([reply], max_retries=0)
    with pytest.raises(ApiStatusError) as info:
        client.list_clusters()
    assert info.value.server_message == words


def test_long_error_bodies_are_cut_short():
    client, _, _ = make([Reply(500, raw=b"x" * 100_000)])
    with pytest.raises(ServerError) as info:
        client.list_clusters()
    assert len(info.value.server_message) < 300
    assert info.value.server_message.endswith("…")


@pytest.mark.parametrize(
    "status, fragment",
    [(401, "check TENSORPOOL_KEY"), (402, "top up the balance"), (404, "deleted outside"), (409, "deletion protection"),
     (429, "rate limiting"), (500, "try again later"), (422, "API may have changed")],
)
def test_errors_carry_a_helpful_hint(status, fragment):
    client, _, _ = make([Reply(status, {"message": "no"})], max_retries=0)
    with pytest.raises(ApiStatusError) as info:
        client.list_clusters()
    assert fragment in info.value.hint


def test_redirect_is_not_followed_and_says_where():
    client, adapter, _ = make([Reply(301, raw=b"", headers={"Location": "https://elsewhere.test/cluster/list"})])
    with pytest.raises(ApiStatusError) as info:
        client.list_clusters()
    assert adapter.count == 1
    assert "redirects to https://elsewhere.test/cluster/list" in info.value.hint


# ----------------------------------------------------------------------------------------- malformed 2xx
@pytest.mark.parametrize(
    "call, reply, fragment",
    [
        ("list", Reply(200, raw=b"<html>hi</html>"), "GET /cluster/list answered HTTP 200 but the body is not JSON"),
        ("list", Reply(200, raw=b""), "GET /cluster/list answered HTTP 200 but the body is empty"),
        ("list", Reply(200, {"message": "x"}), "field 'clusters' is missing"),
        ("list", Reply(200, {"clusters": {"a": 1}}), "field 'clusters' should be an array, not an object"),
        ("list", Reply(200, {"clusters": [dict(CLUSTER, num_nodes="2")]}),
         "field 'clusters[0].num_nodes' should be an integer, not a string"),
        ("list", Reply(200, {"clusters": [dict(CLUSTER, deletion_protection=None)]}),
         "field 'clusters[0].deletion_protection' is missing"),
        ("list", Reply(200, {"clusters": [dict(CLUSTER, instances=[{"status": "x"}])]}),
         "field 'clusters[0].instances[0].instance_id' is missing"),
        ("list", Reply(200, {"clusters": [dict(CLUSTER, num_nodes=True)]}), "should be an integer, not a boolean"),
        ("list", Reply(200, {"clusters": ["c-1"]}), "clusters[0] should be a JSON object, not a string"),
        ("info", Reply(200, {"message": "x"}), "GET /cluster/info/c-1 answered HTTP 200 but field 'cluster_info'"),
        ("info", Reply(200, {"cluster_info": None}), "cluster_info should be a JSON object, not null"),
        ("poll", Reply(200, {"request_id": "r-1"}), "GET /request/info/r-1 answered HTTP 200 but field 'status'"),
        ("poll", Reply(200, {"status": 3}), "field 'status' should be a non-empty string, not a number"),
        ("health", Reply(200, raw=b"[1"), "POST /health answered HTTP 200 but the body is not JSON"),
        ("edit", Reply(202, {"message": 5}), "field 'message' should be a string, not a number"),
    ],
)
def test_malformed_success_bodies_raise_malformed_response(call, reply, fragment):
    client, _, _ = make([reply])
    calls = {
        "list": client.list_clusters,
        "info": lambda: client.cluster_info("c-1"),
        "poll": lambda: client.request_info("r-1"),
        "health": client.health,
        "edit": lambda: client.edit_cluster("c-1", cluster_name="n"),
    }
    with pytest.raises(MalformedResponse) as info:
        calls[call]()
    assert fragment in str(info.value)
    assert not isinstance(info.value, OutcomeUnknown)
    assert "API may have changed" in info.value.hint


@pytest.mark.parametrize(
    "reply, fragment",
    [
        (Reply(202, {"request_id": "r-1", "message": "ok"}), "field 'cluster_id' is missing"),
        (Reply(202, {"cluster_id": 17}), "field 'cluster_id' should be a non-empty string, not a number"),
        (Reply(202, raw=b"Accepted"), "the body is not JSON"),
        (Reply(202, raw=b""), "the body is empty"),
    ],
)
def test_unreadable_create_acceptance_is_malformed_and_outcome_unknown(reply, fragment):
    client, adapter, _ = make([reply])
    with pytest.raises(MalformedResponse) as info:
        create(client)
    err = info.value
    assert isinstance(err, MalformedAcceptance) and isinstance(err, OutcomeUnknown)
    assert str(err).startswith("POST /cluster/create answered HTTP 202 but ")
    assert fragment in str(err)
    assert "'research-trainer' was probably created" in str(err)
    assert adapter.count == 1


def test_unreadable_delete_acceptance_is_outcome_unknown():
    client, adapter, _ = make([Reply(202, raw=b"not json")])
    with pytest.raises(MalformedAcceptance):
        client.delete_cluster("c-1")
    assert adapter.count == 1


# ----------------------------------------------------------------------------------------- retries
@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_idempotent_calls_retry_transient_statuses_honouring_retry_after(status):
    busy = Reply(status, {"message": "busy"}, headers={"Retry-After": "3"})
    client, adapter, t = make([busy, Reply(200, {"clusters": []})])
    assert client.list_clusters() == []
    assert adapter.count == 2
    assert t.sleeps == [3.0]


def test_backoff_is_exponential_with_full_jitter_and_bounded():
    client, adapter, t = make([Reply(503, {"message": "down"})], max_retries=7, rng=lambda: 0.5)
    with pytest.raises(ServerError) as info:
        client.list_clusters()
    assert adapter.count == 8
    # 0.5 * min(30, 0.5 * 2**n)
    assert t.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0]
    assert "gave up after 8 attempts" in info.value.hint
    assert info.value.server_message == "down"


def test_jitter_uses_the_injected_rng():
    draws = iter([0.0, 1.0, 0.25])
    client, _, t = make([Reply(502, raw=b"")], max_retries=3, rng=lambda: next(draws))
    with pytest.raises(ServerError):
        client.list_clusters()
    assert t.sleeps == [0.0, 1.0, 0.5]


def test_retry_after_is_capped_at_60_seconds():
    slow = Reply(429, {"message": "slow"}, headers={"Retry-After": "3600"})
    client, _, t = make([slow, Reply(200, {"message": "ok"})])
    client.health()
    assert t.sleeps == [60.0]


def test_retry_after_as_http_date_is_measured_from_the_date_header():
    headers = {"Retry-After": "Wed, 26 Nov 2026 10:00:07 GMT", "Date": "Wed, 26 Nov 2026 10:00:00 GMT"}
    client, _, t = make([Reply(503, raw=b"", headers=headers), Reply(200, {"message": "ok"})])
    client.health()
    assert t.sleeps == [7.0]


def test_total_wait_is_bounded():
    client, adapter, t = make([Reply(429, {"message": "slow"}, headers={"Retry-After": "50"})], max_total_wait=120)
    with pytest.raises(RateLimited) as info:
        client.list_clusters()
    assert t.sleeps == [50.0, 50.0]  # a third 50 s wait would pass 120 s
    assert adapter.count == 3
    assert "gave up after 3 attempts over 100s" in info.value.hint


def test_max_retries_zero_means_one_attempt():
    client, adapter, t = make([Reply(503, raw=b"")], max_retries=0)
    with pytest.raises(ServerError):
        client.list_clusters()
    assert adapter.count == 1 and t.sleeps == []


@pytest.mark.parametrize("status", [500, 400, 401, 404, 422])
def test_non_transient_statuses_are_not_retried(status):
    client, adapter, t = make([Reply(status, {"message": "no"})])
    with pytest.raises(ApiStatusError):
        client.list_clusters()
    assert adapter.count == 1 and t.sleeps == []


@pytest.mark.parametrize(
    "exc",
    [refused, reset, remote_disconnected, lambda: requests.ConnectTimeout("connect timed out"),
     lambda: requests.ReadTimeout("read timed out"), lambda: requests.exceptions.ChunkedEncodingError("cut")],
)
def test_connection_errors_are_retried_for_idempotent_calls(exc):
    client, adapter, t = make([exc(), exc(), Reply(200, {"clusters": []})])
    assert client.list_clusters() == []
    assert adapter.count == 3
    assert t.sleeps == [0.25, 0.5]


def test_connection_errors_after_the_budget_raise_api_connection_error():
    client, adapter, t = make([refused()], max_retries=2)
    with pytest.raises(ApiConnectionError) as info:
        client.list_clusters()
    assert adapter.count == 3
    assert str(info.value).startswith(
        "GET /cluster/list: cannot reach the API at https://engine.test: connection refused"
    )
    assert "gave up after 3 attempts" in info.value.hint
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def test_a_bad_url_is_not_retried():
    client, adapter, t = make([requests.exceptions.InvalidURL("bad")])
    with pytest.raises(ApiConnectionError) as info:
        client.health()
    assert adapter.count == 1 and t.sleeps == []
    assert "invalid engine URL" in str(info.value)


@pytest.mark.parametrize("call", ["health", "info", "poll", "edit"])
def test_every_idempotent_endpoint_retries(call):
    ok = {
        "health": Reply(200, {"message": "ok"}),
        "info": Reply(200, {"cluster_info": CLUSTER}),
        "poll": poll("COMPLETED"),
        "edit": Reply(202, {"message": "ok"}),
    }[call]
    client, adapter, _ = make([Reply(503, raw=b""), reset(), ok])
    {
        "health": client.health,
        "info": lambda: client.cluster_info("c-1"),
        "poll": lambda: client.request_info("r-1"),
        "edit": lambda: client.edit_cluster("c-1", deletion_protection=True),
    }[call]()
    assert adapter.count == 3


# ----------------------------------------------------------------------------------------- create/delete: exactly once
@pytest.mark.parametrize(
    "exc, fragment",
    [
        (reset, "the connection was closed before an answer"),
        (remote_disconnected, "the connection was closed before an answer"),
        (lambda: requests.ReadTimeout("read timed out"), "timed out waiting for the answer"),
        (lambda: requests.Timeout("timed out"), "timed out"),
        (lambda: requests.exceptions.ChunkedEncodingError("cut"), "the answer was cut off"),
        (lambda: requests.ConnectionError("something odd"), "connection failed"),
        (lambda: requests.exceptions.SSLError("EOF occurred in violation of protocol"), "TLS error"),
        (lambda: OSError("weird"), "connection failed"),
        # a refusal wrapped together with a reset is not proof that nothing was sent
        (lambda: requests.ConnectionError(ConnectionResetError(ConnectionRefusedError())), "refused"),
    ],
)
def test_create_is_never_retried_and_a_lost_answer_is_outcome_unknown(exc, fragment):
    client, adapter, t = make([exc(), Reply(202, CREATED)])
    with pytest.raises(OutcomeUnknown) as info:
        create(client)
    assert adapter.count == 1 and t.sleeps == []
    message = str(info.value)
    assert message.startswith("POST /cluster/create: ")
    assert fragment in message
    assert message.endswith("the cluster 'research-trainer' may or may not have been created")
    assert "looks the name 'research-trainer' up" in info.value.hint


@pytest.mark.parametrize("status", [500, 502, 503, 504, 507])
def test_create_5xx_is_outcome_unknown_and_not_retried(status):
    client, adapter, t = make([Reply(status, {"message": "boom"}, headers={"Retry-After": "1"}), Reply(202, CREATED)])
    with pytest.raises(OutcomeUnknown) as info:
        create(client)
    assert adapter.count == 1 and t.sleeps == []
    assert str(info.value) == (
        f"POST /cluster/create failed with HTTP {status}: boom; "
        "the cluster 'research-trainer' may or may not have been created"
    )
    assert isinstance(info.value.__cause__, ServerError)
    assert info.value.__cause__.status == status


@pytest.mark.parametrize(
    "exc",
    [
        refused,
        lambda: requests.ConnectionError(ConnectionRefusedError(111, "Connection refused")),
        lambda: requests.ConnectTimeout("connect timed out"),
        lambda: requests.ConnectionError(
            urllib3.exceptions.MaxRetryError(
                None, "/", urllib3.exceptions.NameResolutionError("engine.test", None, socket.gaierror(-2, "x"))
            )
        ),
    ],
)
def test_create_that_was_never_sent_did_nothing_and_is_sent_again(exc):
    """The client is the one retry layer: a create that provably never left did nothing, so it is tried
    again under the RetryPolicy (and taken once)."""
    client, adapter, t = make([exc(), Reply(202, CREATED)])
    assert create(client).cluster_id
    assert adapter.count == 2 and len(t.sleeps) == 1


def test_create_refused_on_every_try_is_a_plain_connection_error():
    client, adapter, t = make([refused() for _ in range(10)])
    with pytest.raises(ApiConnectionError) as info:
        create(client)
    assert not isinstance(info.value, OutcomeUnknown)
    assert adapter.count == 6 and len(t.sleeps) == 5  # the first try and max_retries=5 more
    assert str(info.value).endswith("nothing was sent, so the cluster 'research-trainer' was not created")


def test_create_with_a_bad_url_is_not_tried_again():
    client, adapter, t = make([requests.exceptions.InvalidURL("bad url"), Reply(202, CREATED)])
    with pytest.raises(ApiConnectionError):
        create(client)
    assert adapter.count == 1 and t.sleeps == []


def _cert_failure():
    import ssl

    inner = urllib3.exceptions.SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    return requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(None, "/", inner))


def test_a_failed_certificate_check_is_not_retried_and_proves_nothing_was_sent():
    client, adapter, t = make([_cert_failure()])
    with pytest.raises(ApiConnectionError) as info:
        client.list_clusters()
    assert adapter.count == 1 and t.sleeps == []
    assert "TLS certificate verification failed" in str(info.value)
    with pytest.raises(ApiConnectionError) as info:
        create(client)
    assert not isinstance(info.value, OutcomeUnknown)


def test_an_unreachable_proxy_proves_nothing_was_sent():
    nce = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    proxy = urllib3.exceptions.ProxyError("Unable to connect to proxy", nce)
    client, _, _ = make([requests.exceptions.ProxyError(urllib3.exceptions.MaxRetryError(None, "/", proxy))])
    with pytest.raises(ApiConnectionError) as info:
        create(client)
    assert not isinstance(info.value, OutcomeUnknown)


def test_create_refusal_through_an_adapter_that_retries_posts_is_outcome_unknown():
    # urllib3 may have sent the POST on an earlier attempt and then been refused on a later one
    client, adapter, _ = make([refused()])
    adapter.max_retries = Retry(total=3, allowed_methods=None)
    with pytest.raises(OutcomeUnknown):
        create(client)
    adapter.max_retries = Retry(total=3)  # the default allowed methods exclude POST
    with pytest.raises(ApiConnectionError) as info:
        create(client)
    assert not isinstance(info.value, OutcomeUnknown)


def test_create_rate_limited_did_nothing_and_is_sent_again_after_retry_after():
    client, adapter, t = make([Reply(429, {"message": "slow"}, headers={"Retry-After": "3"}), Reply(202, CREATED)])
    assert create(client).cluster_id
    assert adapter.count == 2 and t.sleeps == [3.0]


@pytest.mark.parametrize("status, cls", [(400, BadRequest), (402, PaymentRequired),
                                         (401, Unauthorized), (422, ValidationFailed)])
def test_create_client_errors_are_definite_and_not_retried(status, cls):
    client, adapter, t = make([Reply(status, {"message": "no"}, headers={"Retry-After": "1"}), Reply(202, CREATED)])
    with pytest.raises(cls) as info:
        create(client)
    assert not isinstance(info.value, OutcomeUnknown)
    assert adapter.count == 1 and t.sleeps == []


def test_delete_lost_answer_is_outcome_unknown_and_not_retried():
    client, adapter, _ = make([reset(), Reply(202, {"cluster_id": "c-1", "request_id": "r-2", "message": "ok"})])
    with pytest.raises(OutcomeUnknown) as info:
        client.delete_cluster("c-1")
    assert adapter.count == 1
    assert str(info.value).endswith("the cluster c-1 may or may not be being destroyed")


@pytest.mark.parametrize("status, cls", [(503, OutcomeUnknown), (500, OutcomeUnknown), (409, Conflict),
                                         (404, NotFound)])
def test_delete_status_errors(status, cls):
    client, adapter, _ = make([Reply(status, {"message": "m"}), Reply(202, {"request_id": "r-2"})])
    with pytest.raises(cls):
        client.delete_cluster("c-1")
    assert adapter.count == 1


def test_delete_never_sent_is_a_connection_error():
    client, _, _ = make([refused()])
    with pytest.raises(ApiConnectionError) as info:
        client.delete_cluster("c-1")
    assert not isinstance(info.value, OutcomeUnknown)


# ----------------------------------------------------------------------------------------- polling
def test_polling_honours_retry_after_with_a_one_second_floor_and_zero():
    script = [poll("PENDING", "5"), poll("PROCESSING", "0"), poll("PROCESSING"), poll("RETRYING", "0.3"),
              poll("PROCESSING", "garbage"), poll("COMPLETED", "2")]
    client, adapter, t = make(script)
    seen = []
    info = client.wait_for_request("r-1", deadline_seconds=600, what="cluster x", on_poll=seen.append)
    assert info.succeeded and info.is_terminal
    assert t.sleeps == [5.0, 0.0, 2.0, 1.0, 2.0]
    assert [i.status for i in seen] == ["PENDING", "PROCESSING", "PROCESSING", "RETRYING", "PROCESSING", "COMPLETED"]
    assert adapter.count == 6


def test_polling_returns_failed_for_the_caller_to_judge():
    client, _, _ = make([poll("PROCESSING", "0"), poll("FAILED", external_message="no capacity")])
    info = client.wait_for_request("r-1", deadline_seconds=60, what="x")
    assert info.failed and info.is_terminal and not info.succeeded
    assert info.external_message == "no capacity"


def test_polling_a_zero_provision_sandbox_does_not_sleep():
    client, _, t = make([poll("COMPLETED", "0")])
    client.wait_for_request("r-1", deadline_seconds=60, what="x")
    assert t.sleeps == []


def test_polling_stops_at_the_deadline_with_poll_timeout():
    client, adapter, t = make([poll("PROCESSING", "4")])
    with pytest.raises(PollTimeout) as info:
        client.wait_for_request("r-1", deadline_seconds=10, what="cluster 'research-trainer' to be provisioned")
    assert str(info.value) == (
        "timed out after 10s waiting for cluster 'research-trainer' to be provisioned "
        "(request r-1, last status PROCESSING)"
    )
    assert t.sleeps == [4.0, 4.0, 2.0]  # the last sleep is cut to the deadline, then one final poll
    assert adapter.count == 4
    assert info.value.last_info.status == "PROCESSING"
    assert info.value.request_id == "r-1"


def test_polling_with_zero_deadline_polls_once():
    client, adapter, _ = make([poll("PROCESSING")])
    with pytest.raises(PollTimeout):
        client.wait_for_request("r-1", deadline_seconds=0, what="x")
    assert adapter.count == 1


def test_polling_does_not_spin_when_the_server_always_says_zero():
    client, _, t = make([poll("PROCESSING", "0")])
    with pytest.raises(PollTimeout):
        client.wait_for_request("r-1", deadline_seconds=5, what="x")
    assert t.sleeps[:20] == [0.0] * 20
    assert t.sleeps[20:] == [1.0] * 5


def test_polling_keeps_going_through_an_unknown_status(caplog):
    client, _, _ = make([poll("QUEUED", "1"), poll("COMPLETED")])
    with caplog.at_level(logging.WARNING, logger="tpdeclare.api"):
        assert client.wait_for_request("r-1", deadline_seconds=60, what="x").succeeded
    assert "unknown status 'QUEUED'" in caplog.text


def test_polling_errors_propagate_typed():
    client, _, _ = make([Reply(404, {"detail": "Request not found"})])
    with pytest.raises(NotFound) as info:
        client.wait_for_request("r-404", deadline_seconds=60, what="x")
    assert info.value.server_message == "Request not found"


# ----------------------------------------------------------------------------------------- retry module
def test_parse_retry_after():
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("1.5") == 1.5
    for bad in (None, "", "-1", "nan", "inf", "soon", 5):
        assert parse_retry_after(bad) is None
    assert parse_retry_after("Wed, 26 Nov 2026 10:00:00 GMT", date="Wed, 26 Nov 2026 10:00:30 GMT") == 0.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=lambda: 0.0) == 60.0


def test_retry_policy_validates():
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(max_total_wait=float("nan"))
    assert RetryPolicy().backoff(1000, lambda: 1.0) == 30.0


# ----------------------------------------------------------------------------------------- logging
def test_debug_log_has_method_path_status_and_elapsed_but_no_headers(caplog):
    client, _, _ = make([Reply(200, {"clusters": []})])
    with caplog.at_level(logging.DEBUG):
        client.list_clusters()
    assert "GET /cluster/list -> 200 in 0.000s" in caplog.text
    assert "Bearer" not in caplog.text and KEY not in caplog.text


# ----------------------------------------------------------------------------------------- the key never leaks
SECRET = "tpk_SECRET_7f3e9a1c5b"


def _texts(err: BaseException) -> list[str]:
    out = []
    seen = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        out += [str(e), repr(e), str(getattr(e, "hint", "") or ""), str(e.args)]
        for attr in ("server_message", "last_info"):
            if hasattr(e, attr):
                out.append(repr(getattr(e, attr)))
        e = e.__cause__ or e.__context__
    return out


def _leaky_client(script, **kw):
    adapter = FakeAdapter(script)
    session = requests.Session()
    session.mount(BASE, adapter)
    t = FakeTime()
    client = TensorPoolClient(BASE, SECRET, session=session, sleep=t.sleep, clock=t.clock, max_retries=1, **kw)
    return client, adapter


LEAK_SCRIPTS = [
    [Reply(401, {"message": f"bad key {SECRET}"})],  # a server that echoes the key
    [Reply(500, raw=f"<pre>Authorization: Bearer {SECRET}</pre>".encode())],
    [Reply(422, {"detail": [{"loc": ["body", SECRET], "msg": f"is {SECRET}", "type": "x"}]})],
    [Reply(302, raw=b"", headers={"Location": f"https://x.test/?k={SECRET}"})],
    [Reply(200, raw=f"not json {SECRET}".encode())],
    [Reply(200, {"clusters": [{"cluster_id": SECRET}]})],
    [Reply(202, raw=f"{SECRET}".encode())],
    [refused()],
    [reset()],
    [requests.ReadTimeout(f"read timed out for {SECRET}")],  # even if a transport error quoted it
    [requests.ConnectionError(ConnectionRefusedError(f"refused {SECRET}"))],
    [poll("PROCESSING", "1")],
]


@pytest.mark.parametrize("script", LEAK_SCRIPTS)
def test_the_api_key_never_appears_in_errors(script, caplog):
    caplog.set_level(logging.DEBUG)
    calls = [
        lambda c: c.health(),
        lambda c: c.list_clusters(),
        lambda c: c.cluster_info("c-1"),
        lambda c: c.request_info("r-1"),
        lambda c: c.wait_for_request("r-1", deadline_seconds=3, what="w"),
        lambda c: c.edit_cluster("c-1", cluster_name="n"),
        lambda c: c.delete_cluster("c-1"),
        lambda c: create(c),
    ]
    raised = 0
    for call in calls:
        client, adapter = _leaky_client(list(script))
        assert SECRET not in repr(client) and SECRET not in str(client) and SECRET not in str(vars(client))
        try:
            call(client)
        except TpdeclareError as err:
            raised += 1
            for text in _texts(err):
                assert SECRET not in text
        for request, _ in adapter.sent:  # it was sent, in the header only
            assert request.headers["Authorization"] == f"Bearer {SECRET}"
            assert SECRET not in request.url
    assert raised > 0
    assert SECRET not in caplog.text


@pytest.mark.parametrize("bad", [f"{SECRET}\r\nX-Evil: 1", f"{SECRET}é", f"tp {SECRET}", "   "])
def test_a_key_that_cannot_be_a_header_is_refused_without_echoing_it(bad):
    with pytest.raises(TpdeclareError) as info:
        TensorPoolClient(BASE, bad)
    for text in _texts(info.value):
        assert SECRET not in text


def test_the_key_is_stripped():
    adapter = FakeAdapter([Reply(200, {"message": "ok"})])
    session = requests.Session()
    session.mount(BASE, adapter)
    TensorPoolClient(BASE, f"  {KEY}\n", session=session).health()
    assert adapter.sent[-1][0].headers["Authorization"] == f"Bearer {KEY}"


def test_client_cannot_be_pickled():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(TensorPoolClient(BASE, SECRET))


class _Server:
    """A real TCP listener on 127.0.0.1 that misbehaves in a chosen way."""

    def __init__(self, mode):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.mode = mode
        self.conns = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            try:
                conn.recv(65536)
                if self.mode == "close":
                    conn.close()
                elif self.mode == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    conn.close()
                elif self.mode == "garbage":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
                    conn.close()
                # "hang": keep the connection open, never answer
            except OSError:
                pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("mode", ["refused", "close", "reset", "hang", "garbage"])
def test_real_requests_exceptions_never_carry_the_key(mode, caplog):
    caplog.set_level(logging.DEBUG)
    server = None if mode == "refused" else _Server(mode)
    port = _closed_port() if server is None else server.port
    t = FakeTime()
    client = TensorPoolClient(f"http://127.0.0.1:{port}", SECRET, timeout=(1.0, 0.1), max_retries=1,
                              sleep=t.sleep, clock=t.clock)
    try:
        for name, call in [("list", client.list_clusters), ("create", lambda: create(client)),
                           ("delete", lambda: client.delete_cluster("c-1"))]:
            with pytest.raises(TpdeclareError) as info:
                call()
            for text in _texts(info.value):
                assert SECRET not in text
            if mode == "refused":
                assert not isinstance(info.value, OutcomeUnknown)
                assert "connection refused" in str(info.value)
            elif name != "list":
                assert isinstance(info.value, OutcomeUnknown)
            else:
                assert isinstance(info.value, ApiConnectionError)
    finally:
        if server:
            server.close()
    assert SECRET not in caplog.text


def test_real_refusal_through_a_default_session_is_not_outcome_unknown():
    client = TensorPoolClient(f"http://127.0.0.1:{_closed_port()}", KEY, max_retries=0)
    with pytest.raises(ApiConnectionError) as info:
        create(client)
    assert not isinstance(info.value, OutcomeUnknown)


def test_real_refusal_through_a_post_retrying_adapter_is_outcome_unknown():
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=1, allowed_methods=None, backoff_factor=0)))
    client = TensorPoolClient(f"http://127.0.0.1:{_closed_port()}", KEY, session=session)
    with pytest.raises(OutcomeUnknown):
        create(client)


# ----------------------------------------------------------------------------------------- property
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["message", "error", "external_message", "detail", "clusters", "cluster_info", "cluster_id", "status",
     "request_id", "instances", "num_nodes", "loc", "msg", "instance_ids", "deletion_protection"]
)
_shaped = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, max_size=6),
    max_leaves=20,
)
_bodies = st.one_of(
    st.binary(max_size=300),
    _json.map(lambda v: json.dumps(v).encode()),
    _shaped.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"clusters": st.lists(st.fixed_dictionaries({}, optional=dict(
        (k, _json) for k in CLUSTER)), max_size=3)}).map(lambda v: json.dumps(v).encode()),
)
_statuses = st.one_of(st.sampled_from([200, 201, 202, 204, 301, 400, 401, 402, 404, 409, 422, 429, 500, 502, 503, 504]),
                      st.integers(100, 599))
_headers = st.dictionaries(
    st.sampled_from(["Retry-After", "Date", "Location", "Content-Type"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    max_size=4,
)
_calls = st.sampled_from(["health", "create", "poll", "wait", "list", "info", "edit", "delete"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=_statuses, body=_bodies, headers=_headers, call=_calls, reason=st.none() | st.text(max_size=20))
def test_property_the_client_only_raises_tpdeclare_errors(status, body, headers, call, reason):
    adapter = FakeAdapter([Reply(status, raw=body, headers=headers, reason=reason)])
    session = requests.Session()
    session.mount(BASE, adapter)
    t = FakeTime()
    client = TensorPoolClient(BASE, SECRET, session=session, sleep=t.sleep, clock=t.clock, max_retries=2)
    calls = {
        "health": client.health,
        "create": lambda: create(client),
        "poll": lambda: client.request_info("r-1"),
        "wait": lambda: client.wait_for_request("r-1", deadline_seconds=30, what="w"),
        "list": client.list_clusters,
        "info": lambda: client.cluster_info("c-1"),
        "edit": lambda: client.edit_cluster("c-1", deletion_protection=True),
        "delete": lambda: client.delete_cluster("c-1"),
    }
    try:
        result = calls[call]()
    except TpdeclareError as err:
        for text in _texts(err):
            assert SECRET not in text
        if call in ("create", "delete") and 500 <= status < 600:
            assert isinstance(err, OutcomeUnknown)
    else:
        assert 200 <= status < 300
        assert SECRET not in repr(result)
    assert sum(t.sleeps) <= 120
    if call in ("create", "delete"):
        # sent once, unless the answer was a 429: that did nothing, and is tried again within max_retries
        assert adapter.count == (3 if status == 429 else 1)
