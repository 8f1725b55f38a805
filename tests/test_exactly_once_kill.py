"""Exactly-once under SIGKILL (issue 4): the real CLI against the sandbox over HTTP, killed at random
moments and at chosen points, then rerun until it succeeds; no duplicate, no orphan, nothing lost.

The scenarios live in benchmarks/reliability.py (which runs them at full size, >= 30 trials); here a
smaller but real number of them run. Crash points are injected from outside the CLI by the wrapper
`reliability.CRASH_WRAPPER` (no test hook in tpdeclare itself).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import reliability as R  # noqa: E402

SEED = 20261126
# 10 trials: random SIGKILLs (1-3 per trial) and every chosen point, twice for the narrow windows.
MODES = ["random", "random", "random", "before_post", "after_202", "after_202", "first_poll", "journal",
         "journal", "snapshot"]


@pytest.fixture(scope="module")
def sandbox():
    sb = R.Sandbox(faults=f"create:latency={R.KILL_CREATE_LATENCY}")
    yield sb
    sb.stop()


def problems(result) -> str:
    return json.dumps({k: v for k, v in result.items() if k != "check"}, default=str) + " " + json.dumps(
        result["check"].problems())


@pytest.mark.parametrize("trial,mode", list(enumerate(MODES)))
def test_kill_apply_then_rerun_converges_exactly_once(sandbox, tmp_path, trial, mode):
    result = R.kill_trial(sandbox, tmp_path, random.Random(SEED + trial), trial, n=20, mode=mode)
    assert result["converged"], problems(result)
    check = result["check"]
    assert check.duplicates == 0 and check.missing == [], problems(result)  # every name exactly once
    assert check.orphans == [] and check.wrong == [], problems(result)  # every cluster in state, right ID
    assert check.not_ready == [], problems(result)
    assert check.creates_accepted == 20 and check.extra_creates == 0, problems(result)
    if mode != "random":
        assert result["kills"][-1]["rc"] == -9, problems(result)  # the chosen point was reached


@pytest.mark.parametrize("trial", [0, 1])
def test_kill_destroy_then_rerun_leaves_nothing(sandbox, tmp_path, trial):
    result = R.kill_destroy_trial(sandbox, tmp_path, random.Random(SEED + 100 + trial), trial, n=10)
    assert result["ok"], problems(result)


# ---- the two orderings of DESIGN §5, each proved by a kill at the moment in between -----------------
def one_cluster(tmp_path: Path, sandbox):
    _, declared = R.write_stack(tmp_path, "solo", 1)
    return sandbox.env(), declared


def read_state(tmp_path: Path) -> dict:
    from tpdeclare.state.local import LocalStateStore

    state = LocalStateStore(tmp_path / "state" / "solo.json").read()
    return {a: r for a, r in state.resources.items()} if state else {}


def test_the_intent_is_on_disk_when_the_create_reaches_the_engine(sandbox, tmp_path):
    """Killed right after the 202 (the engine has the cluster; its ID was never recorded): the intent
    was already durable, so the next run adopts the cluster instead of creating a second one."""
    sandbox.reset()
    env, declared = one_cluster(tmp_path, sandbox)
    proc = R.start(tmp_path, env, "apply", "solo.yaml", "--auto-approve", crash_at="after_202:1")
    assert proc.wait(timeout=60) == -9
    rec = read_state(tmp_path)["c00"]
    assert (rec.status, rec.name, rec.cluster_id) == ("pending", "solo-c00", None) and rec.intent_id
    made = sandbox.clusters()
    assert [c["tp_cluster_name"] for c in made] == ["solo-c00"]

    rerun = R.cli(tmp_path, env, "apply", "solo.yaml", "--auto-approve")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"c00: adopted {made[0]['cluster_id']} left by an earlier run" in rerun.stdout
    assert read_state(tmp_path)["c00"].cluster_id == made[0]["cluster_id"]
    assert sandbox.stats()["creates_accepted"] == 1
    assert R.check(sandbox, tmp_path, "solo", declared).ok()


def test_the_ids_are_on_disk_before_polling_starts(sandbox, tmp_path):
    sandbox.reset()
    env, declared = one_cluster(tmp_path, sandbox)
    proc = R.start(tmp_path, env, "apply", "solo.yaml", "--auto-approve", crash_at="first_poll:1")
    assert proc.wait(timeout=60) == -9
    made = sandbox.clusters()[0]
    rec = read_state(tmp_path)["c00"]
    assert (rec.status, rec.cluster_id) == ("creating", made["cluster_id"]) and rec.request_id.startswith("r-")

    plan = R.cli(tmp_path, env, "plan", "solo.yaml")  # recovery runs first in plan too, and says so
    assert plan.returncode == 0, plan.stderr
    assert f"c00: {made['cluster_id']} from an earlier run" in plan.stdout
    assert R.cli(tmp_path, env, "apply", "solo.yaml", "--auto-approve").returncode == 0
    assert sandbox.stats()["creates_accepted"] == 1 and R.check(sandbox, tmp_path, "solo", declared).ok()


def test_killed_before_the_post_nothing_exists_and_the_rerun_creates_once(sandbox, tmp_path):
    sandbox.reset()
    env, declared = one_cluster(tmp_path, sandbox)
    proc = R.start(tmp_path, env, "apply", "solo.yaml", "--auto-approve", crash_at="before_post:1")
    assert proc.wait(timeout=60) == -9
    assert read_state(tmp_path)["c00"].status == "pending" and sandbox.clusters() == []
    rerun = R.cli(tmp_path, env, "apply", "solo.yaml", "--auto-approve")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "c00: an interrupted create of 'solo-c00' is not on the engine (yet); the intent is kept" in rerun.stdout
    assert sandbox.stats()["creates_accepted"] == 1 and R.check(sandbox, tmp_path, "solo", declared).ok()
