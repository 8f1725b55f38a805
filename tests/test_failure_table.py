"""After an apply or destroy with any failure (issue 14): the table of what succeeded, what failed (in the
server's words) and what was not started, the hourly cost of what runs now; and the same as `--json`."""

from __future__ import annotations

import json
import threading

import pytest
from tpdeclare.apply.executor import ApplyResult
from tpdeclare.apply.outcome import Row, document, failure_table, rows, running
from tpdeclare.plan.planner import make_plan
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import State
from tpdeclare.state.recorder import Recorder

from e2e_helpers import assert_no_traceback, run_tp, write
from plan_helpers import cluster, record, stack, state
from test_executor import FakeClient, executor_for

TEAM = """
    stack: team
    clusters:
      keep: {instance_type: 1xH100}
      rename: {instance_type: 1xH100, name: team-rename}
      old: {instance_type: 8xH200}
"""
# The next spec: `old` destroyed, `rename` renamed in place, `fresh` and `more` created.
NEXT = """
    stack: team
    clusters:
      keep: {instance_type: 1xH100}
      rename: {instance_type: 1xH100, name: team-renamed}
      fresh: {instance_type: 1xL40S}
      more: {instance_type: 2xH100}
"""


def set_faults(sandbox, spec: str) -> None:
    sandbox.post("/_sandbox/faults", {"spec": spec}).raise_for_status()


@pytest.fixture
def half_failed(tmp_path, sandbox, env):
    """An apply of NEXT where every provisioning fails (sandbox faults): the destroy and the rename succeed,
    the two creates fail with the server's words."""
    write(tmp_path / "team.yaml", TEAM)
    first = run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--parallelism", "1", env=env)  # IDs in order
    assert first.returncode == 0, first.stdout + first.stderr
    write(tmp_path / "team.yaml", NEXT)
    set_faults(sandbox, "provision:failed=1")
    return tmp_path


def test_a_partial_failure_prints_the_table_golden(half_failed, sandbox, env, golden):
    proc = run_tp(half_failed, "apply", "team.yaml", "--auto-approve", "--parallelism", "1", env=env)
    assert proc.returncode == 1 and "Error: Apply finished with 2 failures" in proc.stderr
    assert_no_traceback(proc)
    table = proc.stdout[proc.stdout.index("Apply finished with 2 failures."):]
    golden("failure_table_apply.txt", table)
    assert table.endswith("Running now: 4 clusters at $9.45/hr.\n")  # the two tainted ones exist, and count
    assert set(sandbox.by_name()) >= {"team-keep", "team-renamed"}


def test_apply_json_gives_the_same_facts(half_failed, sandbox, env):
    proc = run_tp(half_failed, "apply", "team.yaml", "--auto-approve", "--parallelism", "1", "--json", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)  # stdout is the document alone
    assert (doc["command"], doc["outcome"], doc["stack"]) == ("apply", "failed", "team")
    results = {c["address"]: (c["action"], c["result"]) for c in doc["changes"]}
    assert results == {"old": ("destroy", "succeeded"), "rename": ("update", "succeeded"),
                       "fresh": ("create", "failed"), "more": ("create", "failed")}
    failed = [c for c in doc["changes"] if c["result"] == "failed"]
    assert all(c["error"].startswith("provisioning of c-") for c in failed)
    assert doc["summary"] == {"added": 0, "changed": 1, "replaced": 0, "destroyed": 1, "waited": 0}
    live = {c["address"]: c["status"] for c in doc["running"]["clusters"]}
    assert live == {"keep": "ready", "rename": "ready", "fresh": "tainted", "more": "tainted"}
    assert doc["running"]["hourly"] == pytest.approx(1.99 + 1.99 + 1.49 + 3.98)
    assert doc["error"].startswith("Apply finished with 2 failures")
    assert "Apply finished with 2 failures. What became of each change:" in proc.stderr  # the table, on stderr


def test_destroy_with_a_refusal_gives_the_table_and_json(tmp_path, sandbox, env, golden):
    """Protection turned on outside tpdeclare: the engine refuses that one DELETE (409, its words), the rest go."""
    write(tmp_path / "team.yaml", TEAM)
    assert run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--parallelism", "1", env=env).returncode == 0
    sandbox.edit(sandbox.by_name()["team-rename"]["cluster_id"], {"deletion_protection": True}).raise_for_status()
    proc = run_tp(tmp_path, "destroy", "team.yaml", "--auto-approve", "--json", "--parallelism", "1", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["command"], doc["outcome"]) == ("destroy", "failed")
    results = {c["address"]: c["result"] for c in doc["changes"]}
    assert results == {"keep": "succeeded", "old": "succeeded", "rename": "failed"}
    [refused] = [c for c in doc["changes"] if c["result"] == "failed"]
    assert "HTTP 409" in refused["error"] and "deletion protection enabled" in refused["error"]  # the server's words
    assert [c["address"] for c in doc["running"]["clusters"]] == ["rename"]
    assert doc["running"]["hourly"] == 1.99
    start = proc.stderr.index("Destroy finished with 1 failure.")
    table = proc.stderr[start:proc.stderr.index("\nError: ", start) + 1]
    golden("failure_table_destroy.txt", table)


def test_a_clean_apply_prints_no_table_and_json_says_applied(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", TEAM)
    proc = run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["outcome"] == "applied" and {c["result"] for c in doc["changes"]} == {"succeeded"}
    assert "What became of each change" not in proc.stderr
    again = json.loads(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--json", env=env).stdout)
    assert again["outcome"] == "no_changes" and again["changes"] == [] and again["running"] is None


def test_json_before_any_plan_is_still_one_document(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", "clusters:\n  a: {instance_type: 8xh100}\n")
    proc = run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--json", env=env)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["outcome"] == "error" and doc["plan"] is None and "error in the spec" in doc["error"]


def test_a_blocked_plan_in_json_says_blocked_and_exits_3(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", TEAM.replace("keep: {instance_type: 1xH100}",
                                                "keep: {instance_type: 1xH100, lifecycle: {prevent_destroy: true}}"))
    assert run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env).returncode == 0
    write(tmp_path / "team.yaml", "stack: team\nclusters: {}\n")
    proc = run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--json", env=env)
    assert proc.returncode == 3
    doc = json.loads(proc.stdout)
    assert doc["outcome"] == "blocked" and doc["plan"]["blocked"] and doc["changes"] == []


# ---- not started, interrupted: the executor on a fake engine ----------------------------------------------
def test_what_a_stop_left_is_not_started_golden(tmp_path, golden):
    """A stop requested while the first change runs: the changes after it are not started."""
    client = FakeClient()
    stop = threading.Event()
    store = LocalStateStore(tmp_path / "demo.json")
    keep = cluster("keep")
    store.write(state(record(keep, cluster_id=client.add_cluster("demo-keep"))))
    plan = make_plan(stack(keep, cluster("a"), cluster("b"), cluster("c", "8xH200")), store.read())
    recorder = Recorder(store, store.read() or State(stack="demo"))
    def report(line: str) -> None:
        if line.startswith("a: Creation complete"):
            stop.set()  # as a first Ctrl-C would, once `a` is made

    result = executor_for(client, recorder, stop=stop, parallelism=1, report=report).run(plan)
    assert result.interrupted and result.not_started == ["b", "c"]
    table = rows(plan, result)
    assert [(r.address, r.result) for r in table] == [("a", "succeeded"), ("b", "not started"), ("c", "not started")]
    now = running(recorder.snapshot(), dict(plan.prices))
    golden("failure_table_not_started.txt", failure_table("Apply", table, now))


def test_rows_cover_failures_waits_and_dropped_intents():
    plan = make_plan(stack(cluster("a"), cluster("b")), None)
    result = ApplyResult(added=1, failures={"b": "insufficient balance\n(HTTP 402)", "x": "lost"}, succeeded=["a"])
    assert rows(plan, result) == [Row("a", "create", "succeeded"), Row("b", "create", "failed",
                                                                         "insufficient balance (HTTP 402)"),
                                  Row("x", "drop intent", "failed", "lost")]
    doc = document("apply", "demo", "failed", table=rows(plan, result), result=result)
    assert doc["changes"][1] == {"address": "b", "action": "create", "result": "failed",
                                 "error": "insufficient balance (HTTP 402)"}


def test_running_now_prices_every_live_record_and_names_the_unpriced():
    st = state(record(cluster("a", "8xH200"), cluster_id="c-1"), record(cluster("b", "1xMI300X"), cluster_id="c-2"),
               record(cluster("p"), cluster_id=None, status="pending"))
    now = running(st, {"H200": 2.0})
    assert now.hourly == 16.0 and now.unpriced == ("b",) and [c[0] for c in now.clusters] == ["a", "b"]
