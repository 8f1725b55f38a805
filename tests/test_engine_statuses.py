"""Status words: case-insensitive; an unknown cluster status is never "gone" anywhere tpdeclare decides it
(only a 404 or DESTROYED is); an unknown request status keeps polling until the deadline and is named then."""

from __future__ import annotations

import pytest
from tpdeclare import errors
from tpdeclare.api.client import ClusterInfo
from tpdeclare.api.models import RequestInfo
from tpdeclare.api.status_words import CLUSTER, REQUEST, UnknownWords, is_known
from tpdeclare.apply.context import ApplyContext, Pace
from tpdeclare.apply.polling import Poller
from tpdeclare.apply.recovery import recover
from tpdeclare.plan.model import Action
from tpdeclare.plan.planner import make_plan
from tpdeclare.plan.refresh import observed_fields
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import DELETING, State
from tpdeclare.state.recorder import Recorder

from plan_helpers import cluster, record, stack, state
from test_executor import FakeClient

UNKNOWN = ["HIBERNATING", "deleted", "Terminated", "gone", "ARCHIVED", "STOPPED", "suspended", ""]


def info(status: str, cid: str = "c-00000001", name: str = "demo-a") -> ClusterInfo:
    return ClusterInfo(cluster_id=cid, name=name, instance_type="1xH100", num_nodes=1, container=None,
                       deletion_protection=False, status=status.strip().upper(), instance_ids=(),
                       created_at=None)


@pytest.mark.parametrize("word", ["destroyed", "Destroyed", "DESTROYED"])
def test_destroyed_in_any_case_is_gone(word):
    assert info(word).is_destroyed


@pytest.mark.parametrize("word", UNKNOWN)
def test_an_unknown_cluster_status_is_never_gone_nor_running_nor_failed(word):
    c = info(word)
    assert not (c.is_destroyed or c.is_destroying or c.is_running or c.is_failed)


@pytest.mark.parametrize("word", [w for w in UNKNOWN if w])
def test_refresh_keeps_a_cluster_of_unknown_status_so_the_plan_never_creates_it_again(word):
    a = cluster("a")
    observed = observed_fields([info(word, name=a.name)])
    assert "c-00000001" in observed
    plan = make_plan(stack(a), state(record(a, "c-00000001")), observed=observed)
    assert plan.change("a").action is not Action.CREATE


@pytest.fixture
def ctx(tmp_path):
    client = FakeClient()
    store = LocalStateStore(tmp_path / "demo.json")
    now = [0.0]

    def clock() -> float:
        return now[0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    c = ApplyContext(api=client, recorder=Recorder(store, State(stack="demo")), clock=clock, deadline_at=30.0,
                     pace=Pace(cluster_poll=1.0))
    c.sleep = sleep  # type: ignore[method-assign]
    return client, c


@pytest.mark.parametrize("word", [w for w in UNKNOWN if w])
def test_an_unknown_status_is_alive_to_a_destroy_and_waited_on_until_the_deadline(ctx, word):
    client, c = ctx
    cid = client.add_cluster("demo-a", status=word.upper())
    poller = Poller(c)
    assert poller.whereabouts(cid) == "alive"
    rec = record(cluster("a"), cid)
    with pytest.raises(errors.PollTimeout):
        poller.cluster(rec, lambda _info: None, 0.0, "a to be destroyed", until_gone=True)
    client.clusters[cid]["status"] = "DESTROYED"
    assert poller.whereabouts(cid) == "gone"


@pytest.mark.parametrize("word", [w for w in UNKNOWN if w])
def test_recovery_keeps_a_deleting_record_whose_cluster_shows_an_unknown_status(tmp_path, word):
    a = cluster("a")
    store = LocalStateStore(tmp_path / "demo.json")
    rec = record(a, "c-00000001", status=DELETING)
    recorder = Recorder(store, state(rec))
    recover([info(word, name=a.name)], recorder, lambda line: None)
    assert recorder.snapshot().resources["a"].status == DELETING


def test_each_unknown_word_is_warned_once_per_run_and_known_words_never():
    said: list[str] = []
    words = UnknownWords(said.append)
    for word in ("QUEUED", "queued", "Queued", "PENDING", "processing"):
        words.check(REQUEST, word, "request r-1")
    for word in ("HIBERNATING", "hibernating", "RUNNING", "running", "QUEUED"):
        words.check(CLUSTER, word, "cluster c-1")
    assert said == [
        "request r-1 has an unknown status 'QUEUED' (a word tpdeclare does not know); still polling until it is "
        "COMPLETED or FAILED, or the deadline passes",
        "cluster c-1 has an unknown status 'HIBERNATING' (a word tpdeclare does not know); it is treated as still "
        "existing, never as gone",
        "cluster c-1 has an unknown status 'QUEUED' (a word tpdeclare does not know); it is treated as still "
        "existing, never as gone",
    ]
    assert words.seen() == {"cluster": ["HIBERNATING", "QUEUED"], "request": ["QUEUED"]}
    assert is_known(REQUEST, "completed") and is_known(CLUSTER, "Destroying") and not is_known(CLUSTER, "QUEUED")


@pytest.mark.parametrize("word,terminal,succeeded", [
    ("completed", True, True), ("Completed", True, True), ("failed", True, False), ("FAILED", True, False),
    ("pending", False, False), ("retrying", False, False), ("QUEUED", False, False), ("done", False, False),
])
def test_request_statuses_are_case_insensitive_and_only_two_words_end_a_wait(word, terminal, succeeded):
    req = RequestInfo("r-1", None, word, None, None, None)
    assert (req.is_terminal, req.succeeded) == (terminal, succeeded)
