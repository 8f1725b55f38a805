"""Unit tests of tpdeclare.apply.executor and .recovery against a scripted fake client (DESIGN §5).

The fake keeps clusters and requests in memory; a script per method injects what the network can do:
commit-then-drop, 5xx before any change, 429, refused connections, polls that fail. State is a real
LocalStateStore, so "durable before the call" is checked by reading the files from inside the fake.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tpdeclare import errors
from tpdeclare.api.client import ClusterInfo, CreateResult, DeleteResult, RequestInfo
from tpdeclare.apply.context import ApplyContext, Pace
from tpdeclare.apply.create import CREATE_ATTEMPTS
from tpdeclare.apply.executor import Executor
from tpdeclare.apply.recovery import recover
from tpdeclare.plan.planner import make_plan, recorded_spec
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import CREATING, DELETING, PENDING, READY, TAINTED, Record, State
from tpdeclare.state.recorder import Recorder
from tpdeclare.state.unsettled import needs_recovery

from plan_helpers import cluster, record, stack
from storage_fake import STORAGE_KINDS, FakeStorage

T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeClient(FakeStorage):
    """An in-memory TensorPool with scripted faults. `script[method]` is a list of actions used one per
    call: None (behave), "drop" (commit, then OutcomeUnknown), "5xx" (OutcomeUnknown/ServerError before
    any change), "429", "refused", or an exception instance to raise."""

    def __init__(self, polls_to_finish: int = 1):
        self.clusters: dict[str, dict] = {}
        self.requests: dict[str, dict] = {}
        self.script: dict[str, list] = {}
        self.calls: list[tuple] = []
        self.polls_to_finish = polls_to_finish
        self.fail_provisioning: set[str] = set()  # names whose provisioning ends FAILED
        self.hooks: dict[str, callable] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # -- helpers -------------------------------------------------------------------------------
    def _action(self, method):
        with self._lock:
            queue = self.script.get(method) or []
            return queue.pop(0) if queue else None

    def _raise_for(self, action, method, path, mutating: bool):
        if action is None or action == "drop":
            return
        if isinstance(action, BaseException):
            raise action
        if action == "5xx":
            if mutating:
                raise errors.OutcomeUnknown(f"{method} {path} failed with HTTP 500")
            raise errors.ServerError(500, method, path, "boom")
        if action == "429":
            raise errors.RateLimited(429, method, path, "slow down")
        if action == "refused":
            raise errors.ApiConnectionError(f"{method} {path}: connection refused")
        raise AssertionError(action)

    def add_cluster(self, name, instance_type="1xH100", num_nodes=1, status="RUNNING", created_at=None,
                    container=None, deletion_protection=False):
        cid = f"c-{next(self._ids):08x}"
        self.clusters[cid] = dict(cluster_id=cid, name=name, instance_type=instance_type, num_nodes=num_nodes,
                                  status=status, created_at=created_at or iso(datetime.now(UTC)), polls=0,
                                  request=None, container=container, deletion_protection=deletion_protection)
        return cid

    def _info(self, c) -> ClusterInfo:
        return ClusterInfo(cluster_id=c["cluster_id"], name=c["name"], instance_type=c["instance_type"],
                           num_nodes=c["num_nodes"], container=c["container"],
                           deletion_protection=c["deletion_protection"],
                           status=c["status"], instance_ids=("i-1",), created_at=c["created_at"])

    def alive(self):
        return [c for c in self.clusters.values() if c["status"] not in ("DESTROYED",)]

    # -- the client's interface (tests/test_api_fakes_contract.py holds it to the ClusterApi contract) ------
    def health(self) -> str:
        self.calls.append(("health",))
        return "ok"

    def create_cluster(self, *, instance_type, num_nodes, tp_cluster_name, container=None, deletion_protection=False,
                       public_keys=(), save_keys=False) -> CreateResult:
        self.calls.append(("create", tp_cluster_name))
        if "create" in self.hooks:
            self.hooks["create"](tp_cluster_name)
        action = self._action("create")
        self._raise_for(action, "POST", "/cluster/create", True)
        with self._lock:
            if any(c["name"] == tp_cluster_name and c["status"] != "DESTROYED"  # held until gone, as the sandbox
                   for c in self.clusters.values()):
                raise errors.BadRequest(400, "POST", "/cluster/create",
                                        f"Cluster name '{tp_cluster_name}' is already in use")
            cid = self.add_cluster(tp_cluster_name, instance_type, num_nodes, status="PROVISIONING",
                                   container=container, deletion_protection=bool(deletion_protection))
            rid = f"r-{next(self._ids):08x}"
            fails = tp_cluster_name in self.fail_provisioning
            self.requests[rid] = dict(object_id=cid, polls=0, kind="create", fails=fails)
            self.clusters[cid]["request"] = rid
        if action == "drop":
            raise errors.OutcomeUnknown("POST /cluster/create: connection reset; no answer was read")
        return CreateResult(cid, ("i-1",), rid, "ok")

    def request_info(self, request_id) -> RequestInfo:
        self.calls.append(("request_info", request_id))
        if "request_info" in self.hooks:
            self.hooks["request_info"](request_id)
        self._raise_for(self._action("request_info"), "GET", f"/request/info/{request_id}", False)
        req = self.requests.get(request_id)
        if req is None:
            raise errors.NotFound(404, "GET", f"/request/info/{request_id}", "not found")
        req["polls"] += 1
        status = "PROCESSING"
        message = "working"
        if req["polls"] >= self.polls_to_finish and req["kind"] in STORAGE_KINDS:
            status, message = self._storage_poll(req)
        elif req["polls"] >= self.polls_to_finish:
            c = self.clusters[req["object_id"]]
            if req["kind"] == "create":
                status = "FAILED" if req["fails"] else "COMPLETED"
                c["status"] = "FAILED" if req["fails"] else "RUNNING"
                message = "no capacity for the requested instances" if req["fails"] else "ready"
            else:
                status = "COMPLETED"
                c["status"] = "DESTROYED"
                message = "destroyed"
        return RequestInfo(request_id, req["kind"], status, req["object_id"], message, None)

    def wait_for_request(self, request_id, *, deadline_seconds, what, on_poll=None) -> RequestInfo:
        polls = 0
        while True:
            info = self.request_info(request_id)
            polls += 1
            if on_poll:
                on_poll(info)
            if info.is_terminal:
                return info
            if deadline_seconds <= 0 or polls > 50:
                raise errors.PollTimeout(f"timed out waiting for {what}")

    def list_clusters(self):
        self.calls.append(("list",))
        if "list" in self.hooks:
            self.hooks["list"]()
        self._raise_for(self._action("list"), "GET", "/cluster/list", False)
        return [self._info(c) for c in self.alive()]

    def cluster_info(self, cluster_id):
        self.calls.append(("info", cluster_id))
        self._raise_for(self._action("info"), "GET", f"/cluster/info/{cluster_id}", False)
        c = self.clusters.get(cluster_id)
        if c is None or c["status"] == "DESTROYED":
            raise errors.NotFound(404, "GET", f"/cluster/info/{cluster_id}", "not found")
        info = self._info(c)
        c["polls"] += 1  # provisioning/destroying advances as it is watched
        if c["polls"] >= self.polls_to_finish:
            if c["status"] in ("PROVISIONING",):
                c["status"] = "RUNNING"
            elif c["status"] == "DESTROYING":
                c["status"] = "DESTROYED"
        return info

    def edit_cluster(self, cluster_id, *, cluster_name=None, deletion_protection=None):
        self.calls.append(("edit", cluster_id))
        c = self.clusters.get(cluster_id)
        if c is None or c["status"] == "DESTROYED":
            raise errors.NotFound(404, "PATCH", f"/cluster/edit/{cluster_id}", "not found")
        if cluster_name is not None:
            c["name"] = cluster_name
        if deletion_protection is not None:
            c["deletion_protection"] = deletion_protection
        return "ok"

    def delete_cluster(self, cluster_id) -> DeleteResult:
        self.calls.append(("delete", cluster_id))
        action = self._action("delete")
        self._raise_for(action, "DELETE", f"/cluster/{cluster_id}", True)
        c = self.clusters.get(cluster_id)
        if c is None or c["status"] == "DESTROYED":
            raise errors.NotFound(404, "DELETE", f"/cluster/{cluster_id}", "not found")
        if c["deletion_protection"]:
            raise errors.Conflict(409, "DELETE", f"/cluster/{cluster_id}", "deletion protection is on")
        rid = f"r-{next(self._ids):08x}"
        self.requests[rid] = dict(object_id=cluster_id, polls=0, kind="delete", fails=False)
        c["status"] = "DESTROYING"
        self.detach_all(cluster_id)
        if action == "drop":
            raise errors.OutcomeUnknown("DELETE: connection reset; no answer was read")
        return DeleteResult(cluster_id, rid, "destroying")

    def count(self, kind):
        return sum(1 for c in self.calls if c[0] == kind)


# ---------------------------------------------------------------------------------------------------
@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "demo.json"


FAST = Pace(cluster_poll=0.0, late_create_poll=0.0)  # polls and grace periods in these tests pass in no time


def executor_for(client, recorder, *, stop=None, report=None, parallelism=4, late_create_grace=None, **ctx_kw):
    pace = FAST if late_create_grace is None else replace(FAST, late_create_grace=late_create_grace)
    ctx = ApplyContext(api=client, recorder=recorder, report=report or (lambda line: None),
                       stop=stop or threading.Event(), pace=pace, **ctx_kw)
    return Executor(ctx, parallelism=parallelism)


def on_disk(path: Path) -> State:
    return LocalStateStore(path).read() or State(stack="demo")


def run(path, client, spec, state=None, *, stop=None, lines=None, **kw):
    """Plan `spec` against `state` (default: what is on disk), execute it, checkpoint; return the result."""
    store = LocalStateStore(path)
    if state is None:
        state = store.read()
    else:
        store.write(state)
        state = store.read()
    plan = make_plan(spec, state)
    recorder = Recorder(store, state or State(stack=spec.stack))
    report = (lines.append if lines is not None else (lambda line: None))
    result = executor_for(client, recorder, stop=stop, report=report, **kw).run(plan)
    recorder.checkpoint()
    return result


def names(client):
    return sorted(c["name"] for c in client.alive())


# ---- creates ----------------------------------------------------------------------------------------
def test_intent_is_durable_before_the_post_and_ids_before_the_first_poll(path):
    client = FakeClient()
    seen = {}

    def before_create(name):
        rec = on_disk(path).resources["a"]
        seen["create"] = (rec.status, rec.name, rec.intent_id is not None, rec.cluster_id)

    def before_poll(request_id):
        rec = on_disk(path).resources["a"]
        seen.setdefault("poll", (rec.status, rec.cluster_id, rec.request_id))

    client.hooks = {"create": before_create, "request_info": before_poll}
    result = run(path, client, stack(cluster("a")))
    assert result.added == 1 and not result.failures
    assert seen["create"] == (PENDING, "demo-a", True, None)
    cid = client.alive()[0]["cluster_id"]
    assert seen["poll"] == (CREATING, cid, client.alive()[0]["request"])
    rec = on_disk(path).resources["a"]
    assert (rec.status, rec.cluster_id) == (READY, cid)


def test_commit_then_drop_is_looked_up_and_adopted_not_created_twice(path):
    client = FakeClient()
    client.script["create"] = ["drop"]
    lines = []
    result = run(path, client, stack(cluster("a")), lines=lines)
    assert result.added == 1 and not result.failures
    assert client.count("create") == 1 and names(client) == ["demo-a"]
    rec = on_disk(path).resources["a"]
    assert rec.cluster_id == client.alive()[0]["cluster_id"] and rec.status == READY
    assert any("outcome is unknown" in line and "looking it up by name" in line for line in lines)
    assert any("adopted" in line for line in lines)


def test_5xx_before_any_change_is_looked_up_then_sent_again(path):
    client = FakeClient()
    client.script["create"] = ["5xx", "5xx"]
    result = run(path, client, stack(cluster("a")))
    assert result.added == 1
    assert client.count("create") == 3 and client.count("list") == 2
    assert names(client) == ["demo-a"]


@pytest.mark.parametrize("fault", ["429", "refused"])
def test_a_definite_refusal_drops_the_intent_since_nothing_was_made(path, fault):
    """429 and a refused connection reach the executor only once the client's own retries gave up (the
    client is the one retry layer): nothing was created, so there is no intent to resolve and no lookup."""
    client = FakeClient()
    client.script["create"] = [fault]
    result = run(path, client, stack(cluster("a")))
    assert result.failures["a"] and client.count("create") == 1 and client.count("list") == 0
    assert on_disk(path).resources == {} and names(client) == []


def test_unknown_every_time_keeps_the_intent_for_the_next_run(path):
    client = FakeClient()
    client.script["create"] = ["5xx"] * CREATE_ATTEMPTS
    result = run(path, client, stack(cluster("a")))
    assert "after 4 attempts" in result.failures["a"]
    assert on_disk(path).resources["a"].status == PENDING
    # the next run: recovery finds nothing, the plan creates it again, and the name is the key
    again = run(path, client, stack(cluster("a")))
    assert again.added == 1 and names(client) == ["demo-a"]


def test_name_taken_by_a_stranger_without_an_intent_is_an_error_naming_it(path):
    client = FakeClient()
    stranger = client.add_cluster("demo-a")
    result = run(path, client, stack(cluster("a")))
    message = result.failures["a"]
    assert f"cluster name 'demo-a' is already taken by {stranger}, which tpdeclare does not manage" in message
    assert f"tpdeclare import a {stranger}" in message
    assert on_disk(path).resources == {}
    assert names(client) == ["demo-a"] and client.count("delete") == 0


def test_name_conflict_with_our_pending_intent_is_adopted(path):
    """An earlier run's create landed (after its intent); this run's list missed it (a late request):
    the POST's 400 name conflict, with our intent pending, adopts it."""
    client = FakeClient()
    spec = stack(cluster("a"))
    intent = Record(address="a", status=PENDING, name="demo-a", spec=recorded_spec(spec.clusters["a"]),
                    intent_id="i-1", created_at=iso(T0))
    def late_landing(name):  # the earlier run's request lands between our lookup and our POST
        if not client.alive():
            client.add_cluster("demo-a", created_at=iso(T0 + timedelta(seconds=2)))

    client.hooks["create"] = late_landing
    result = run(path, client, spec, State(stack="demo", resources={"a": intent}))
    assert result.added == 1 and not result.failures
    assert names(client) == ["demo-a"] and client.count("create") == 1
    rec = on_disk(path).resources["a"]
    assert rec.cluster_id == client.alive()[0]["cluster_id"] and rec.intent_id == "i-1"


@pytest.mark.parametrize(
    "kwargs,why",
    [
        (dict(created_at=iso(T0 - timedelta(hours=1))), "before tpdeclare recorded its intent"),
        (dict(instance_type="8xH200", num_nodes=2), "but the intent asked for 1 × 1xH100"),
    ],
)
def test_a_stranger_is_never_adopted_even_with_a_pending_intent(path, kwargs, why):
    client = FakeClient()
    stranger = client.add_cluster("demo-a", **kwargs)
    spec = stack(cluster("a"))
    intent = Record(address="a", status=PENDING, name="demo-a", spec=recorded_spec(spec.clusters["a"]),
                    intent_id="i-1", created_at=iso(T0))
    result = run(path, client, spec, State(stack="demo", resources={"a": intent}))
    assert why in result.failures["a"] and f"tpdeclare import a {stranger}" in result.failures["a"]
    assert on_disk(path).resources == {}
    assert [c["cluster_id"] for c in client.alive()] == [stranger] and client.count("create") == 0


def test_an_earlier_attempt_with_another_shape_is_adopted_as_made(path):
    """The spec changed between a crashed create and this run: the cluster the crashed one made is ours,
    recorded as it was made (so the next plan replaces it), and no second cluster is made."""
    client = FakeClient()
    old = cluster("a", "1xH100")
    made = client.add_cluster("demo-a", "1xH100", created_at=iso(T0 + timedelta(seconds=1)))
    intent = Record(address="a", status=PENDING, name="demo-a", spec=recorded_spec(old), intent_id="i-1",
                    created_at=iso(T0))
    new_spec = stack(cluster("a", "8xH100"))
    result = run(path, client, new_spec, State(stack="demo", resources={"a": intent}))
    assert not result.failures and client.count("create") == 0
    rec = on_disk(path).resources["a"]
    assert rec.cluster_id == made and rec.spec["instance_type"] == "1xH100"
    assert make_plan(new_spec, on_disk(path)).changes[0].action.name == "REPLACE"


def test_failed_provisioning_taints_with_the_servers_words_and_the_next_plan_replaces(path):
    client = FakeClient()
    client.fail_provisioning.add("demo-a")
    spec = stack(cluster("a"))
    result = run(path, client, spec)
    failure = result.failures["a"]
    assert "provisioning of" in failure and "no capacity for the requested instances" in failure
    rec = on_disk(path).resources["a"]
    assert rec.status == TAINTED and rec.message == "no capacity for the requested instances"
    plan = make_plan(spec, on_disk(path))
    assert plan.changes[0].action.name == "REPLACE" and plan.changes[0].reason == "replace_because_tainted"
    client.fail_provisioning.clear()
    again = run(path, client, spec)
    assert again.replaced == 1 and not again.failures
    assert names(client) == ["demo-a"] and on_disk(path).resources["a"].status == READY


def test_a_poll_that_fails_after_the_clients_retries_leaves_the_record_creating(path):
    client = FakeClient(polls_to_finish=2)
    client.script["request_info"] = ["5xx"]
    result = run(path, client, stack(cluster("a")))
    assert "HTTP 500" in result.failures["a"]
    assert on_disk(path).resources["a"].status == CREATING and client.count("create") == 1
    again = run(path, client, stack(cluster("a")))  # the next run waits for it: no second create
    assert again.waited == 1 and not again.failures and client.count("create") == 1


def test_a_poll_deadline_leaves_the_record_creating_and_the_next_apply_waits_for_it(path):
    client = FakeClient(polls_to_finish=3)
    spec = stack(cluster("a"))
    now = [0.0]
    client.hooks = {"create": lambda name: now.__setitem__(0, 100.0)}  # the create took past the deadline
    result = run(path, client, spec, clock=lambda: now[0], deadline_at=50.0)
    assert "timed out" in result.failures["a"] and result.timed_out
    assert on_disk(path).resources["a"].status == CREATING
    # the next run: still provisioning, so the plan is a no-op, and apply waits for it
    store = LocalStateStore(path)
    state = store.read()
    plan = make_plan(spec, state)
    assert not plan.has_changes
    recorder = Recorder(store, state)
    assert plan.waits == ("a",)
    client.hooks = {}
    again = executor_for(client, recorder).run(plan)
    assert again.waited == 1 and not again.failures and again.added == 0
    assert recorder.get("a").status == READY and client.count("create") == 1


# ---- deletes ----------------------------------------------------------------------------------------
def ready_state(client, *specs, **kw):
    recs = []
    for spec in specs:
        cid = client.add_cluster(spec.name, spec.instance_type, spec.num_nodes)
        recs.append(record(spec, cluster_id=cid, **kw))
    return State(stack="demo", resources={r.address: r for r in recs})


def test_delete_marks_deleting_first_then_forgets(path):
    client = FakeClient()
    a = cluster("a")
    seen = []
    original = client.delete_cluster

    def delete(cid):
        seen.append(on_disk(path).resources["a"].status)
        return original(cid)

    client.delete_cluster = delete
    result = run(path, client, stack(), ready_state(client, a))
    assert result.destroyed == 1 and seen == [DELETING]
    assert on_disk(path).resources == {} and names(client) == []


def test_delete_of_a_cluster_already_gone_forgets_it(path):
    client = FakeClient()
    state = ready_state(client, cluster("a"))
    client.clusters.clear()
    result = run(path, client, stack(), state)
    assert result.destroyed == 1 and on_disk(path).resources == {}


def test_delete_whose_answer_is_lost_is_looked_up_not_guessed(path):
    client = FakeClient()
    client.script["delete"] = ["drop"]
    lines = []
    result = run(path, client, stack(), ready_state(client, cluster("a")), lines=lines)
    assert result.destroyed == 1 and client.count("delete") == 1 and client.count("info") >= 1
    assert names(client) == [] and on_disk(path).resources == {}
    assert any("looking the cluster up" in line for line in lines)


def test_delete_5xx_before_any_change_is_sent_again(path):
    client = FakeClient()
    client.script["delete"] = ["5xx"]
    result = run(path, client, stack(), ready_state(client, cluster("a")))
    assert result.destroyed == 1 and client.count("delete") == 2 and names(client) == []


def test_a_refused_delete_restores_the_record(path):
    client = FakeClient()
    state = ready_state(client, cluster("a"))
    client.clusters[state.resources["a"].cluster_id]["deletion_protection"] = True
    result = run(path, client, stack(), state)
    assert "deletion protection" in result.failures["a"]
    assert on_disk(path).resources["a"].status == READY and names(client) == ["demo-a"]


def pending_intent(spec, **kw) -> Record:
    return Record(address=spec.address, status=PENDING, name=spec.name, spec=recorded_spec(spec), intent_id="i-1",
                  created_at=iso(T0), updated_at=iso(T0), **kw)


def late_landing_on_second_list(client):
    lists = []

    def late():
        lists.append(1)
        if len(lists) == 2:
            client.add_cluster("demo-a", created_at=iso(T0 + timedelta(seconds=3)))

    client.hooks["list"] = late


def test_a_dropped_intent_whose_create_lands_late_is_recorded_not_forgotten_nor_destroyed(path):
    """The address left the spec while its create's outcome was unknown, and recovery found nothing: the
    plan drops the intent. The executor looks again for the grace period; what lands is recorded (never
    an orphan) and reported, and not destroyed, since the plan did not show a destroy; the next plan does."""
    client = FakeClient()
    late_landing_on_second_list(client)
    lines = []
    state = State(stack="demo", resources={"a": pending_intent(cluster("a"))})
    assert make_plan(stack(), state).forget == ("a",)
    result = run(path, client, stack(), state, lines=lines,
                 late_create_grace=30.0, wall_clock=lambda: T0 + timedelta(seconds=5))
    made = client.alive()[0]["cluster_id"]
    assert "was made by an interrupted create after this plan was made" in result.failures["a"]
    assert on_disk(path).resources["a"].cluster_id == made and client.count("delete") == 0
    assert any("in case it lands late" in line for line in lines)
    again = run(path, client, stack())
    assert again.destroyed == 1 and names(client) == [] and on_disk(path).resources == {}


def test_an_old_dropped_intent_that_made_nothing_is_dropped_after_one_look(path):
    client = FakeClient()
    lines = []
    result = run(path, client, stack(), State(stack="demo", resources={"a": pending_intent(cluster("a"))}),
                 lines=lines, wall_clock=lambda: T0 + timedelta(minutes=5))
    assert not result.failures and client.count("list") == 1 and client.count("delete") == 0
    assert on_disk(path).resources == {}
    assert "a: the interrupted create of 'demo-a' made nothing; its intent is dropped" in lines


def test_a_destroy_of_a_pending_intent_adopts_a_late_create_and_destroys_it(path):
    """The same look, when a plan does destroy the address of a pending intent."""
    client = FakeClient()
    late_landing_on_second_list(client)
    store = LocalStateStore(path)
    recorder = Recorder(store, State(stack="demo", resources={"a": pending_intent(cluster("a"))}))
    executor = executor_for(client, recorder, late_create_grace=30.0, wall_clock=lambda: T0 + timedelta(seconds=5))
    executor.destroyer.destroy("a", recorder.get("a"))
    assert names(client) == [] and recorder.get("a") is None and client.count("delete") == 1


# ---- stop (SIGINT/SIGTERM) --------------------------------------------------------------------------
def test_stop_before_the_run_sends_nothing(path):
    client = FakeClient()
    stop = threading.Event()
    stop.set()
    result = run(path, client, stack(cluster("a"), cluster("b")), stop=stop)
    assert result.interrupted and client.calls == [] and on_disk(path).resources == {}


def test_stop_during_a_poll_launches_nothing_new_and_records_what_is_in_flight(path):
    client = FakeClient(polls_to_finish=5)
    stop = threading.Event()
    client.hooks["request_info"] = lambda rid: stop.set()
    result = run(path, client, stack(cluster("a"), cluster("b"), cluster("c")), stop=stop, parallelism=1)
    assert result.interrupted and client.count("create") == 1
    recs = on_disk(path).resources
    assert list(recs) == ["a"] and recs["a"].status == CREATING
    assert recs["a"].cluster_id == client.alive()[0]["cluster_id"]


def test_stop_after_a_lost_answer_resolves_the_intent_with_one_list(path):
    client = FakeClient()
    stop = threading.Event()
    client.script["create"] = ["drop"]
    original = client.create_cluster

    def create(**kw):
        try:
            return original(**kw)
        finally:
            stop.set()

    client.create_cluster = create
    lines = []
    result = run(path, client, stack(cluster("a")), stop=stop, lines=lines)
    assert result.interrupted
    rec = on_disk(path).resources["a"]
    assert rec.cluster_id == client.alive()[0]["cluster_id"] and rec.status == CREATING
    assert any("adopted" in line for line in lines)


# ---- recovery ---------------------------------------------------------------------------------------
def test_recovery_settles_each_kind_of_unsettled_record(path):
    client = FakeClient()
    specs = {n: cluster(n) for n in "abcdefg"}
    ours = client.add_cluster("demo-a", created_at=iso(T0 + timedelta(seconds=1)))
    stranger = client.add_cluster("demo-b", created_at=iso(T0 - timedelta(days=1)))
    running = client.add_cluster("demo-c")
    failed = client.add_cluster("demo-d", status="FAILED")
    still = client.add_cluster("demo-f", status="PROVISIONING")
    deleting_alive = client.add_cluster("demo-g", status="DESTROYING")
    recs = {
        "a": Record("a", PENDING, "demo-a", recorded_spec(specs["a"]), created_at=iso(T0)),
        "b": Record("b", PENDING, "demo-b", recorded_spec(specs["b"]), created_at=iso(T0)),
        "c": Record("c", CREATING, "demo-c", recorded_spec(specs["c"]), cluster_id=running),
        "d": Record("d", CREATING, "demo-d", recorded_spec(specs["d"]), cluster_id=failed),
        "e": Record("e", CREATING, "demo-e", recorded_spec(specs["e"]), cluster_id="c-gone"),
        "f": Record("f", CREATING, "demo-f", recorded_spec(specs["f"]), cluster_id=still),
        "g": Record("g", DELETING, "demo-g", recorded_spec(specs["g"]), cluster_id=deleting_alive),
        "h": Record("h", DELETING, "demo-h", recorded_spec(specs["a"]), cluster_id="c-gone2"),
    }
    state = State(stack="demo", resources=recs)
    assert needs_recovery(state)
    store = LocalStateStore(path)
    recorder = Recorder(store, state)
    said = recover(client.list_clusters(), recorder, lambda line: None)
    after = recorder.snapshot().resources
    assert (after["a"].status, after["a"].cluster_id) == (READY, ours)
    assert "b" not in after and any(f"belongs to {stranger}" in s for s in said)
    assert after["c"].status == READY and after["d"].status == TAINTED and after["f"].status == CREATING
    assert "e" not in after and "h" not in after
    assert after["g"].status == DELETING
    assert len(said) == 8


# ---- write cost -------------------------------------------------------------------------------------
def test_state_bytes_written_grow_linearly_with_the_number_of_clusters(tmp_path):
    def bytes_for(n: int) -> int:
        client = FakeClient()
        store = LocalStateStore(tmp_path / f"s{n}" / "demo.json")
        spec = stack(*(cluster(f"c{i:03d}") for i in range(n)))
        recorder = Recorder(store, State(stack="demo"))
        executor_for(client, recorder, parallelism=10).run(make_plan(spec, None))
        recorder.checkpoint()
        assert len(store.read().resources) == n
        return store.bytes_written

    small, large = bytes_for(20), bytes_for(160)
    per_small, per_large = small / 20, large / 160
    assert per_large < per_small * 1.25, (small, large)  # linear: a quadratic cost would be ~8x per cluster


def test_recovery_fetches_the_servers_words_for_a_failed_provisioning(path):
    client = FakeClient()
    failed = client.add_cluster("demo-a", status="FAILED")
    rec = Record("a", CREATING, "demo-a", recorded_spec(cluster("a")), cluster_id=failed, request_id="r-1")
    recorder = Recorder(LocalStateStore(path), State(stack="demo", resources={"a": rec}))

    def request_info(request_id):
        assert request_id == "r-1"
        return RequestInfo("r-1", "CLUSTER_CLAIM", "FAILED", failed, "no capacity in us-east", None)

    said = recover(client.list_clusters(), recorder, lambda line: None, request_info=request_info)
    assert recorder.get("a").status == TAINTED and recorder.get("a").message == "no capacity in us-east"
    assert said == [f"a: {failed} from an earlier run failed to provision (tainted: it will be replaced)"]


def test_a_dropped_intent_never_adopts_another_address_cluster(path):
    """Review finding: x's interrupted intent for 'shared' is dropped while y (same name) is created;
    y's new cluster must stay y's, and no later run may destroy it as x's."""
    client = FakeClient()
    y = cluster("y", name="shared")
    now = datetime.now(UTC)
    pend = Record(address="x", status=PENDING, name="shared", spec=recorded_spec(cluster("x", name="shared")),
                  intent_id="i1", created_at=iso(now - timedelta(minutes=5)),
                  updated_at=iso(now - timedelta(minutes=5)))
    st = State(stack="demo")
    st.resources["x"] = pend
    for parallelism in (1, 4):
        run(path, client, stack(y), st if parallelism == 1 else None, parallelism=parallelism)
        recorded = {a: r.cluster_id for a, r in on_disk(path).resources.items()}
        assert set(recorded) == {"y"}
        assert [c["cluster_id"] for c in client.alive()] == [recorded["y"]]
    plan = make_plan(stack(y), on_disk(path))
    assert not [c for c in plan.changes if c.is_change]


def test_a_name_still_held_by_a_cluster_being_destroyed_is_waited_for_then_created(path):
    """Deleted outside tpdeclare, but still DESTROYING: the engine keeps the name until it is gone. The 400
    made nothing, so apply waits for the old cluster to go and sends the create again (one cluster made)."""
    client = FakeClient(polls_to_finish=3)
    old = client.add_cluster("demo-a", status="DESTROYING")
    lines = []
    result = run(path, client, stack(cluster("a")), lines=lines)
    assert result.added == 1 and not result.failures, result.failures
    assert client.clusters[old]["status"] == "DESTROYED" and names(client) == ["demo-a"]
    assert client.count("create") == 2 and on_disk(path).resources["a"].status == READY
    assert any(f"still held by {old}, which is being destroyed" in line for line in lines)


def test_a_name_held_by_a_live_stranger_is_still_an_error_and_nothing_is_waited_for(path):
    client = FakeClient()
    stranger = client.add_cluster("demo-a")
    result = run(path, client, stack(cluster("a")))
    assert f"already taken by {stranger}" in result.failures["a"] and client.count("create") == 1
    assert on_disk(path).resources == {}
