"""The client/sandbox contract: the real TensorPoolClient against the sandbox over both transports.

Every scenario runs twice: against `tpdeclare sandbox serve` started as a subprocess on 127.0.0.1 (real
HTTP, the client's own default session) and against the in-process engine (`make_client("sandbox")` in a
temporary working directory). One contract, two transports. Provisioning takes a fraction of a second;
the client's sleeps are recorded at the length it asked for and really last at most `REAL_SLEEP`.
No real TensorPool key is involved anywhere. At the end, the ClusterApi contract (tests/api_contract.py),
which every test fake is held to as well, runs against the real client over both transports.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import requests
import requests.adapters
from tpdeclare.api.client import ClusterInfo, CreateResult, DeleteResult, TensorPoolClient
from tpdeclare.api.connect import SANDBOX_DATA, make_client
from tpdeclare.api.polling import PollPolicy
from tpdeclare.errors import (
    ApiStatusError,
    BadRequest,
    Conflict,
    NotFound,
    OutcomeUnknown,
    PaymentRequired,
    PollTimeout,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from tpdeclare.sandbox import inprocess

from api_contract import ClusterApiContract, StorageApiContract
from e2e_helpers import TEST_KEY
from e2e_helpers import ThreadedSandbox as ServedSandbox

KEY = TEST_KEY
WRONG_KEY = "tp-wrong-key-0000"
PROVISION = 0.3  # seconds a create (and a destroy) takes in the sandbox
RETRY_AFTER = 3.0  # the sandbox's Retry-After: differs from the client's 1 s floor and 2 s default
REAL_SLEEP = 0.05  # what a recorded sleep really lasts
DEADLINE = 30.0  # the client's poll deadline: far beyond anything a passing test needs
UNKNOWN_CLUSTER = "c-00000000"
UNKNOWN_REQUEST = "r-000000000000"
T = 10  # timeout of the tests' own raw requests


class RecordingSleep:
    """The client's `sleep`: records what it was asked for, really sleeps only briefly."""

    def __init__(self, real: float = REAL_SLEEP):
        self.asked: list[float] = []
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        time.sleep(min(seconds, self.real))


def _tampering(session: requests.Session, tamper) -> requests.Session:
    """A session that rewrites JSON request bodies with `tamper(dict)` before sending them: how the tests
    make the real client send what it refuses to build itself (a server stricter than the client)."""
    send = session.request

    def request(method, url, **kwargs):
        if kwargs.get("data"):
            kwargs["data"] = json.dumps(tamper(json.loads(kwargs["data"]))).encode()
        return send(method, url, **kwargs)

    session.request = request  # type: ignore[method-assign]
    return session


# ------------------------------------------------------------------------------------------ the two transports


class HttpSandbox:
    """`tpdeclare sandbox serve` in a subprocess; clients talk to it over real HTTP."""

    transport = "http"

    def __init__(self, cwd: Path, *, key: str | None = KEY, balance: float | None = None,
                 faults: str | None = None, provision: float = PROVISION, retry_after: float = RETRY_AFTER):
        extra = ["--retry-after", str(retry_after)]
        if balance is not None:
            extra += ["--balance", str(balance)]
        if faults:
            extra += ["--faults", faults]
        self.cwd = cwd
        self.served = ServedSandbox(*extra, provision_seconds=provision, key=key)
        self.base_url = self.served.url

    def client(self, key: str = KEY, *, tamper=None, **kwargs) -> TensorPoolClient:
        if tamper is not None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(max_retries=0)
            session.mount("http://", adapter)
            kwargs["session"] = _tampering(session, tamper)
        # no session otherwise: the client's own default one, whose adapter config matters for create
        return make_client(self.base_url, env={"TENSORPOOL_KEY": key}, cwd=self.cwd, **kwargs)

    def raw(self, method: str, path: str, *, key: str | None = KEY, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return requests.request(method, self.base_url + path, headers=headers, timeout=T, **kwargs)

    def stats(self) -> dict:
        return self.raw("GET", "/_sandbox/stats", key=None).json()

    def set_faults(self, spec: str) -> None:
        """Replace the fault plan (POST /_sandbox/faults); clients made from now on see it."""
        r = self.raw("POST", "/_sandbox/faults", key=None, json={"spec": spec})
        assert r.status_code == 200, r.text

    def close(self) -> None:
        self.served.stop()


class InprocSandbox:
    """`--engine sandbox`: the engine runs inside the client's requests session, world under `cwd/state/`."""

    transport = "inprocess"

    def __init__(self, cwd: Path, *, key: str | None = KEY, balance: float | None = None,
                 faults: str | None = None, provision: float = PROVISION, retry_after: float = RETRY_AFTER):
        self.cwd = cwd
        self.env = {
            "TPDECLARE_SANDBOX_PROVISION_SECONDS": str(provision),
            "TPDECLARE_SANDBOX_RETRY_AFTER": str(retry_after),
            "TPDECLARE_SANDBOX_SEED": "7",
        }
        if key:
            self.env["TPDECLARE_SANDBOX_KEY"] = key
        if balance is not None:
            self.env["TPDECLARE_SANDBOX_BALANCE"] = str(balance)
        if faults:
            self.env["TPDECLARE_SANDBOX_FAULTS"] = faults
        self._sessions: list[requests.Session] = []

    def _track(self, session: requests.Session) -> requests.Session:
        self._sessions.append(session)
        return session

    def client(self, key: str = KEY, *, tamper=None, **kwargs) -> TensorPoolClient:
        env = {**self.env, "TENSORPOOL_KEY": key}
        original = inprocess.make_inprocess_session

        def make_session(*args, **kw):
            session = self._track(original(*args, **kw))
            return _tampering(session, tamper) if tamper is not None else session

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(inprocess, "make_inprocess_session", make_session)
            return make_client("sandbox", env=env, cwd=self.cwd, **kwargs)

    def raw(self, method: str, path: str, *, key: str | None = KEY, **kwargs) -> requests.Response:
        env = {k: v for k, v in self.env.items() if k != "TPDECLARE_SANDBOX_FAULTS"}
        session = self._track(inprocess.make_inprocess_session(self.cwd / SANDBOX_DATA, env=env))
        session.headers.pop("Authorization", None)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return session.request(method, inprocess.INPROCESS_BASE_URL + path, headers=headers, timeout=T, **kwargs)

    def stats(self) -> dict:
        return self.raw("GET", "/_sandbox/stats", key=None).json()  # counters live in the shared world files

    def set_faults(self, spec: str) -> None:
        """Replace the fault plan; clients made from now on see it (each client has its own engine)."""
        self.env["TPDECLARE_SANDBOX_FAULTS"] = spec

    def close(self) -> None:
        for session in self._sessions:
            session.close()


@pytest.fixture(params=["http", "inprocess"])
def make_sandbox(request, tmp_path):
    """make_sandbox(**options) -> a fresh sandbox on the parametrized transport, closed after the test."""
    made: list = []

    def make(**options):
        cwd = tmp_path / f"sandbox{len(made)}"
        cwd.mkdir()
        cls = HttpSandbox if request.param == "http" else InprocSandbox
        sandbox = cls(cwd, **options)
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.close()


def _create_and_wait(client: TensorPoolClient, name: str, instance_type: str = "1xH100", **fields) -> CreateResult:
    created = client.create_cluster(instance_type=instance_type, num_nodes=fields.pop("num_nodes", 1),
                                    tp_cluster_name=name, **fields)
    info = client.wait_for_request(created.request_id, deadline_seconds=DEADLINE, what=f"cluster {name!r}")
    assert info.succeeded, info
    return created


def _statuses(stats: dict, endpoint: str) -> dict[str, int]:
    return stats["requests"].get(endpoint, {})


# ------------------------------------------------------------------------------------------ the happy path


@pytest.mark.parametrize("retry_after", [RETRY_AFTER, 0.4])
def test_create_then_poll_to_completed_honouring_retry_after(make_sandbox, retry_after):
    # provisioning long enough that even a slow machine polls more than once before COMPLETED
    sandbox = make_sandbox(retry_after=retry_after, provision=1.0)
    sleep = RecordingSleep(real=0.1)
    client = sandbox.client(sleep=sleep)
    assert client.health() == "Sandbox engine is healthy"

    created = client.create_cluster(instance_type="8xH200", num_nodes=2, tp_cluster_name="trainer",
                                    container="nvcr.io/nvidia/pytorch:24.05", public_keys=["ssh-ed25519 AAAA t@x"])
    assert re.fullmatch(r"c-[0-9a-f]{8}", created.cluster_id)
    assert len(created.instance_ids) == 2 and len(set(created.instance_ids)) == 2
    assert created.request_id and created.cluster_id in created.message

    polls = []
    final = client.wait_for_request(created.request_id, deadline_seconds=DEADLINE, what="cluster 'trainer'",
                                    on_poll=polls.append)
    assert final.succeeded and final.is_terminal
    assert (final.request_type, final.object_id) == ("CLUSTER_CLAIM", created.cluster_id)
    assert final.external_message
    assert [p.status for p in polls][-1] == "COMPLETED"
    assert {p.status for p in polls[:-1]} <= {"PENDING", "PROCESSING"} and len(polls) >= 2
    # every poll answer carried the server's Retry-After, and the client slept exactly that between polls
    # (raised to its 1 s floor when the server asks for less)
    assert {p.retry_after for p in polls} == {retry_after}
    assert sleep.asked == [max(1.0, retry_after)] * (len(polls) - 1)

    stats = sandbox.stats()
    assert stats["creates_accepted"] == 1
    assert _statuses(stats, "create") == {"202": 1}
    assert _statuses(stats, "request_info") == {"200": len(polls)}
    assert stats["clusters_by_status"] == {"RUNNING": 1}


def test_list_info_edit_delete_then_gone(make_sandbox):
    sandbox = make_sandbox()
    client = sandbox.client(sleep=RecordingSleep())
    created = _create_and_wait(client, "web", "8xB200", num_nodes=2, container="img:1")
    other = _create_and_wait(client, "other")

    listed = {c.cluster_id: c for c in client.list_clusters()}
    assert set(listed) == {created.cluster_id, other.cluster_id}
    web = listed[created.cluster_id]
    assert isinstance(web, ClusterInfo)
    assert (web.name, web.instance_type, web.num_nodes, web.container, web.deletion_protection, web.status) == (
        "web", "8xB200", 2, "img:1", False, "RUNNING")
    assert web.instance_ids == created.instance_ids and web.is_running and web.created_at.endswith("Z")
    assert client.cluster_info(created.cluster_id) == web

    message = client.edit_cluster(created.cluster_id, cluster_name="web-2", deletion_protection=True)
    assert created.cluster_id in message and "web-2" in message
    info = client.cluster_info(created.cluster_id)
    assert (info.name, info.deletion_protection) == ("web-2", True)
    client.edit_cluster(created.cluster_id, deletion_protection=False)
    assert client.cluster_info(created.cluster_id).deletion_protection is False

    deleted = client.delete_cluster(created.cluster_id)
    assert isinstance(deleted, DeleteResult)
    assert deleted.cluster_id == created.cluster_id and deleted.request_id
    try:  # right after the delete it is DESTROYING (or already gone on a very slow machine)
        assert client.cluster_info(created.cluster_id).is_destroying
    except NotFound:
        pass
    done = client.wait_for_request(deleted.request_id, deadline_seconds=DEADLINE, what="the destroy of 'web-2'")
    assert done.succeeded and (done.request_type, done.object_id) == ("CLUSTER_RELEASE", created.cluster_id)

    with pytest.raises(NotFound) as gone:
        client.cluster_info(created.cluster_id)
    assert gone.value.status == 404 and f"Cluster {created.cluster_id} not found" in str(gone.value)
    assert [c.cluster_id for c in client.list_clusters()] == [other.cluster_id]

    stats = sandbox.stats()
    assert (stats["creates_accepted"], stats["edits_accepted"], stats["deletes_accepted"]) == (2, 2, 1)
    assert stats["clusters_alive"] == 1
    # the name is free again once the cluster is gone
    assert client.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="web").cluster_id


def test_poll_deadline_names_what_it_waited_for(make_sandbox):
    sandbox = make_sandbox(provision=600)
    sleep = RecordingSleep()
    client = sandbox.client(sleep=sleep)
    created = client.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="slow")
    with pytest.raises(PollTimeout) as timeout:
        client.wait_for_request(created.request_id, deadline_seconds=0.2, what="cluster 'slow' to be ready")
    assert "cluster 'slow' to be ready" in str(timeout.value) and created.request_id in str(timeout.value)
    assert timeout.value.last_info.status == "PENDING"
    assert all(0 < s <= RETRY_AFTER for s in sleep.asked)


# ------------------------------------------------------------------------------------------ typed errors


def _raises(exc_type, server_words: str, call) -> ApiStatusError:
    with pytest.raises(exc_type) as info:
        call()
    err = info.value
    assert server_words in err.server_message and server_words in str(err), (server_words, str(err))
    return err


def test_400s_name_conflict_multi_node_unknown_type(make_sandbox):
    sandbox = make_sandbox()
    client = sandbox.client(sleep=RecordingSleep())
    first = client.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="taken")

    err = _raises(BadRequest, "Cluster name 'taken' is already in use",
                  lambda: client.create_cluster(instance_type="8xH200", num_nodes=1, tp_cluster_name="taken"))
    assert (err.status, err.method, err.path) == (400, "POST", "/cluster/create")
    _raises(BadRequest, "Instance type 1xH100 does not support num_nodes=2",
            lambda: client.create_cluster(instance_type="1xH100", num_nodes=2, tp_cluster_name="multi"))
    _raises(BadRequest, "Invalid instance type '9xZ900'",
            lambda: client.create_cluster(instance_type="9xZ900", num_nodes=1, tp_cluster_name="typo"))
    second = client.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="second")
    err = _raises(BadRequest, "Cluster name 'taken' is already in use",
                  lambda: client.edit_cluster(second.cluster_id, cluster_name="taken"))
    assert (err.method, err.path) == ("PATCH", f"/cluster/edit/{second.cluster_id}")

    stats = sandbox.stats()
    assert stats["creates_accepted"] == 2 and _statuses(stats, "create") == {"202": 2, "400": 3}
    assert _statuses(stats, "edit") == {"400": 1}  # a 400 is final: not retried
    assert {c.name for c in client.list_clusters()} == {"taken", "second"}
    assert client.cluster_info(first.cluster_id).name == "taken"


def test_401_wrong_key_never_shows_the_key(make_sandbox):
    sandbox = make_sandbox()
    client = sandbox.client(WRONG_KEY, sleep=RecordingSleep())
    for call in (client.health, client.list_clusters,
                 lambda: client.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="x")):
        err = _raises(Unauthorized, "Invalid or missing API key", call)
        assert err.status == 401 and "TENSORPOOL_KEY" in err.hint
        assert WRONG_KEY not in str(err) + str(err.hint) + repr(client)
    stats = sandbox.stats()
    assert stats["creates_accepted"] == 0 and _statuses(stats, "list") == {"401": 1}
    assert sandbox.client(KEY).list_clusters() == []  # the right key works


def test_402_balance_too_small(make_sandbox):
    sandbox = make_sandbox(balance=1)
    client = sandbox.client(sleep=RecordingSleep())
    err = _raises(PaymentRequired, "Insufficient balance: $1.00 available",
                  lambda: client.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="poor"))
    assert err.status == 402 and "top up" in err.hint
    assert sandbox.stats()["creates_accepted"] == 0 and client.list_clusters() == []


def test_404_unknown_cluster_or_request(make_sandbox):
    client = make_sandbox().client(sleep=RecordingSleep())
    words = f"Cluster {UNKNOWN_CLUSTER} not found"
    _raises(NotFound, words, lambda: client.cluster_info(UNKNOWN_CLUSTER))
    _raises(NotFound, words, lambda: client.edit_cluster(UNKNOWN_CLUSTER, cluster_name="z"))
    err = _raises(NotFound, words, lambda: client.delete_cluster(UNKNOWN_CLUSTER))
    assert (err.method, err.path) == ("DELETE", f"/cluster/{UNKNOWN_CLUSTER}")
    _raises(NotFound, f"Request {UNKNOWN_REQUEST} not found", lambda: client.request_info(UNKNOWN_REQUEST))


def test_a_storage_refusal_gets_a_hint_about_volumes_not_clusters(make_sandbox):
    sandbox = make_sandbox()
    client = sandbox.client(sleep=RecordingSleep())
    made = client.create_storage(size_gb=10, name="kept", deletion_protection=True)
    err = _raises(Conflict, "", lambda: client.delete_storage(made.storage_id))
    assert err.status == 409 and "volume" in err.hint and "deletion protection" in err.hint
    missing = _raises(NotFound, "", lambda: client.storage_info("s-00000000"))
    assert "no such volume" in missing.hint
    clusters = _raises(NotFound, "", lambda: client.cluster_info(UNKNOWN_CLUSTER))
    assert "no such cluster" in clusters.hint and "volume" not in clusters.hint


def test_409_protected_delete_is_refused_and_nothing_changes(make_sandbox):
    sandbox = make_sandbox()
    client = sandbox.client(sleep=RecordingSleep())
    created = client.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="precious",
                                    deletion_protection=True)
    err = _raises(Conflict, f"Cluster {created.cluster_id} has deletion protection enabled",
                  lambda: client.delete_cluster(created.cluster_id))
    assert err.status == 409 and "deletion protection" in err.hint
    stats = sandbox.stats()
    assert stats["deletes_accepted"] == 0 and _statuses(stats, "delete") == {"409": 1}
    assert client.cluster_info(created.cluster_id).deletion_protection is True


def test_422_validation_error_reads_as_field_problem(make_sandbox):
    sandbox = make_sandbox()
    client = sandbox.client(sleep=RecordingSleep())
    with pytest.raises(ValueError, match="num_nodes"):  # the client refuses it before sending anything
        client.create_cluster(instance_type="8xH200", num_nodes=0, tp_cluster_name="zero")
    assert _statuses(sandbox.stats(), "create") == {}

    # the server's own answer to the body the client refuses to build
    raw = sandbox.raw("POST", "/cluster/create", json={"instance_type": "8xH200", "num_nodes": 0})
    assert raw.status_code == 422
    assert raw.json()["detail"][0]["loc"] == ["body", "num_nodes"]
    assert raw.json()["detail"][0]["msg"] == "Input should be greater than or equal to 1"

    # the real client's reading of that answer (a server stricter than the client: the body is rewritten)
    strict = sandbox.client(tamper=lambda body: {**body, "num_nodes": 0}, sleep=RecordingSleep())
    err = _raises(ValidationFailed, "num_nodes: Input should be greater than or equal to 1",
                  lambda: strict.create_cluster(instance_type="8xH200", num_nodes=1, tp_cluster_name="zero"))
    assert (err.status, err.method, err.path) == (422, "POST", "/cluster/create")
    wrong_type = sandbox.client(tamper=lambda body: {**body, "deletion_protection": "sure"}, sleep=RecordingSleep())
    _raises(ValidationFailed, "deletion_protection: Input should be a valid boolean",
            lambda: wrong_type.edit_cluster(UNKNOWN_CLUSTER, deletion_protection=True))
    stats = sandbox.stats()
    assert stats["creates_accepted"] == 0 and _statuses(stats, "create") == {"422": 2}


# ------------------------------------------------------------------------------------------ faults


CALLS = 4


@pytest.mark.parametrize("endpoint", ["list", "info", "request_info"])
def test_429_and_503_on_gets_are_retried_to_success(make_sandbox, endpoint):
    # 80 % of the answers fail: seeded (seed 7), so the draws are the same every run, and the retry
    # budget is raised to match (the seeded run has a streak of 13 failures)
    sandbox = make_sandbox(faults=f"{endpoint}:503=0.5,429=0.3")
    sleep = RecordingSleep(real=0.01)
    client = sandbox.client(sleep=sleep, max_retries=25)
    created = client.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="flaky")
    if endpoint == "request_info":
        assert client.wait_for_request(created.request_id, deadline_seconds=DEADLINE, what="cluster 'flaky'").succeeded
    else:
        time.sleep(PROVISION)
        for _ in range(CALLS):
            if endpoint == "list":
                assert [c.cluster_id for c in client.list_clusters()] == [created.cluster_id]
            else:
                assert client.cluster_info(created.cluster_id).is_running

    stats = sandbox.stats()
    injected = stats["faults_injected"]
    counts = _statuses(stats, endpoint)
    assert injected.get("503", 0) >= 1 and injected.get("429", 0) >= 1, injected  # the faults did happen
    assert counts["503"] == injected["503"] and counts["429"] == injected["429"]
    if endpoint != "request_info":
        assert counts["200"] == CALLS
        assert len(sleep.asked) == injected["503"] + injected["429"]  # one sleep per retry
    # every retry (and every poll) waited exactly the server's Retry-After, not the client's own backoff
    assert set(sleep.asked) == {RETRY_AFTER}
    assert stats["creates_accepted"] == 1


def test_retries_are_bounded_and_end_in_a_typed_error(make_sandbox):
    sandbox = make_sandbox(faults="list:503=1")
    sleep = RecordingSleep()
    client = sandbox.client(sleep=sleep, max_retries=2)
    err = _raises(ServerError, "Service temporarily unavailable (sandbox fault injection)", client.list_clusters)
    assert err.status == 503 and "gave up after 3 attempts" in err.hint
    assert sleep.asked == [RETRY_AFTER, RETRY_AFTER]
    assert _statuses(sandbox.stats(), "list") == {"503": 3}


def test_create_is_tried_again_after_a_429_but_never_after_a_5xx(make_sandbox):
    """A 429 did nothing, so the one retry layer sends the create again (after Retry-After); a 5xx may have
    done it, so it is OutcomeUnknown at once and never sent again."""
    sandbox = make_sandbox(faults="create:429=1")
    limited = RecordingSleep()
    _raises(RateLimited, "Too many requests", lambda: sandbox.client(sleep=limited).create_cluster(
        instance_type="1xH100", num_nodes=1, tp_cluster_name="once"))
    assert len(limited.asked) == 5  # the first try and max_retries=5 more, each after the answer's Retry-After
    sleep = RecordingSleep()
    sandbox.set_faults("create:503=1")
    with pytest.raises(OutcomeUnknown) as unknown:  # a 5xx after sending: it may have happened
        sandbox.client(sleep=sleep).create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="twice")
    assert "may or may not have been created" in str(unknown.value) and "HTTP 503" in str(unknown.value)
    assert sleep.asked == []
    stats = sandbox.stats()
    assert _statuses(stats, "create") == {"429": 6, "503": 1} and stats["creates_accepted"] == 0


def test_commit_then_drop_on_create_is_outcome_unknown_and_sent_once(make_sandbox):
    sandbox = make_sandbox(faults="create:drop=1")
    sleep = RecordingSleep()
    client = sandbox.client(sleep=sleep)
    with pytest.raises(OutcomeUnknown) as unknown:
        client.create_cluster(instance_type="8xH200", num_nodes=2, tp_cluster_name="ghost")
    err = unknown.value
    assert type(err) is OutcomeUnknown  # not a status error, not "nothing was sent"
    assert "may or may not have been created" in str(err) and "'ghost'" in err.hint
    assert sleep.asked == []

    stats = sandbox.stats()
    assert stats["creates_accepted"] == 1  # the sandbox did create it ...
    assert _statuses(stats, "create") == {"dropped": 1}  # ... from one request: the client did not resend
    assert stats["mutating_requests"] == 1 and stats["faults_injected"] == {"drop": 1}
    # and the cluster can be found by its name, which is what recovery relies on
    sandbox.set_faults("")
    assert [c.name for c in sandbox.client(sleep=sleep).list_clusters()] == ["ghost"]


def test_commit_then_drop_on_delete_is_outcome_unknown_and_sent_once(make_sandbox):
    sandbox = make_sandbox()
    created = sandbox.client(sleep=RecordingSleep()).create_cluster(instance_type="1xH100", num_nodes=1,
                                                                    tp_cluster_name="doomed")
    sandbox.set_faults("delete:drop=1")
    with pytest.raises(OutcomeUnknown) as unknown:
        sandbox.client(sleep=RecordingSleep()).delete_cluster(created.cluster_id)
    assert "may or may not be being destroyed" in str(unknown.value)
    stats = sandbox.stats()
    assert stats["deletes_accepted"] == 1 and _statuses(stats, "delete") == {"dropped": 1}


# ------------------------------------------------------------------------------------------ the ClusterApi contract
# The same contract every test fake is held to (tests/api_contract.py), here for the real client over both
# transports. One sandbox per transport serves the whole class; each test uses its own cluster names.
FAST_POLLS = PollPolicy(default_interval=0.05, min_interval=0.05, max_interval=0.5)


@pytest.fixture(scope="module")
def shared_http_sandbox(tmp_path_factory):
    sandbox = HttpSandbox(tmp_path_factory.mktemp("contract-http"), retry_after=0.05, provision=0.1)
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="module")
def shared_inprocess_sandbox(tmp_path_factory):
    sandbox = InprocSandbox(tmp_path_factory.mktemp("contract-inprocess"), retry_after=0.05, provision=0.1)
    yield sandbox
    sandbox.close()


class TestClusterApiContractOverHttp(ClusterApiContract):
    @pytest.fixture
    def api(self, shared_http_sandbox):
        return shared_http_sandbox.client(poll=FAST_POLLS)


class TestClusterApiContractInProcess(ClusterApiContract):
    @pytest.fixture
    def api(self, shared_inprocess_sandbox):
        return shared_inprocess_sandbox.client(poll=FAST_POLLS)


class TestStorageApiContractOverHttp(StorageApiContract):
    @pytest.fixture
    def api(self, shared_http_sandbox):
        return shared_http_sandbox.client(poll=FAST_POLLS)


class TestStorageApiContractInProcess(StorageApiContract):
    @pytest.fixture
    def api(self, shared_inprocess_sandbox):
        return shared_inprocess_sandbox.client(poll=FAST_POLLS)
