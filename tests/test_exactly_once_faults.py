"""Exactly-once under faults (issue 4): ambiguous answers are looked up, never guessed; strangers are never
adopted; FAILED provisioning taints and is replaced; deletes are as safe. Real CLI (run in this process),
sandbox over real HTTP (served by a thread of this process), driven by benchmarks/reliability.py's trials."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import requests

from e2e_helpers import ThreadedSandbox, run_tp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import reliability as R  # noqa: E402


class ThreadedReliabilitySandbox(R.Sandbox):
    """reliability.py's Sandbox (its calls, its key, its seed) over a sandbox served by a thread, not a process."""

    def __init__(self, *, faults: str | None = None):
        extra = ("--faults", faults) if faults else ()
        self.served = ThreadedSandbox(*extra, key=R.KEY)
        self.faults = faults or ""
        self.url = self.served.url
        self.http = requests.Session()

    def stop(self) -> None:
        self.http.close()
        self.served.stop()


@pytest.fixture(autouse=True)
def cli_in_process(monkeypatch):
    """The trials' CLI runs (reliability.cli) go through run_tp: the same CLI, without a process each."""

    def cli(workdir, env, *args, timeout=300):
        return run_tp(workdir, *args, env=env, timeout=timeout)

    monkeypatch.setattr(R, "cli", cli)


@pytest.fixture
def fresh():
    """An empty sandbox of this test's own."""
    with ThreadedReliabilitySandbox() as sb:
        yield sb


def faults(sb: R.Sandbox, spec: str) -> None:
    sb.faults = spec
    sb.set_faults(spec)


def apply(tmp_path, sb, stack="fx", *extra):
    return R.cli(tmp_path, sb.env(), "apply", f"{stack}.yaml", "--auto-approve", *extra)


def state_doc(tmp_path, stack="fx") -> dict:
    from tpdeclare.state.local import LocalStateStore

    state = LocalStateStore(tmp_path / "state" / f"{stack}.json").read()
    return {a: r for a, r in state.resources.items()} if state else {}


def test_twenty_percent_faults_everywhere_converge_with_no_duplicate_and_no_orphan(tmp_path):
    with ThreadedReliabilitySandbox(faults=R.FAULTS) as sb:
        result = R.fault_trial(sb, tmp_path, 0, n=20, max_runs=12)
    detail = json.dumps({k: v for k, v in result.items() if k not in ("check", "after_destroy")}, default=str)
    assert result["converged"], detail
    assert result["runs_to_converge"] <= 12 and result["destroy_runs"] <= 12, detail
    for check in (result["check"], result["after_destroy"]):
        assert check.duplicates == 0 and check.orphans == [] and check.wrong == [], detail + str(check.problems())
        assert check.extra_creates == 0 and check.undeclared == [], detail + str(check.problems())
    assert result["check"].missing == [] and result["check"].not_ready == [], detail
    assert result["plan_after"] == 0 and result["orphans_rc"] == 0, detail  # engine == state, nothing stray
    for kind in ("500", "502", "503", "429", "drop", "provision_failed", "latency"):
        assert result["faults_injected"].get(kind, 0) > 0, (kind, detail)
    assert result["ok"], detail


def test_commit_then_drop_on_every_create_is_adopted_never_doubled(fresh, tmp_path):
    _, declared = R.write_stack(tmp_path, "fx", 5)
    faults(fresh, "create:drop=1")
    proc = apply(tmp_path, fresh)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("looking it up by name") == 5 and proc.stdout.count("created by an earlier attempt") == 5
    assert fresh.stats()["creates_accepted"] == 5
    assert R.check(fresh, tmp_path, "fx", declared).ok()


def test_a_5xx_on_every_create_keeps_the_intents_and_a_later_run_creates_once(fresh, tmp_path):
    _, declared = R.write_stack(tmp_path, "fx", 3)
    faults(fresh, "create:500=1")
    failed = apply(tmp_path, fresh)
    assert failed.returncode == 1
    assert "could not create cluster 'fx-c00' after 4 attempts" in failed.stderr
    assert "the intent is kept in state" in failed.stderr and "Traceback" not in failed.stderr
    assert {r.status for r in state_doc(tmp_path).values()} == {"pending"}
    assert fresh.stats()["creates_accepted"] == 0
    faults(fresh, "")
    again = apply(tmp_path, fresh)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("is not on the engine (yet); the intent is kept") == 3
    assert fresh.stats()["creates_accepted"] == 3 and R.check(fresh, tmp_path, "fx", declared).ok()


def test_a_name_taken_by_a_stranger_is_refused_at_plan_time_naming_it_and_import(fresh, tmp_path):
    _, declared = R.write_stack(tmp_path, "fx", 3)
    stranger = fresh.create_directly("fx-c01")["cluster_id"]
    proc = apply(tmp_path, fresh)
    assert proc.returncode == 1
    assert f"the cluster name 'fx-c01' is already taken on the engine by {stranger}" in proc.stderr
    assert f"`tpdeclare import c01 {stranger} fx.yaml`" in proc.stderr
    assert "nothing was changed" in proc.stderr
    assert not (tmp_path / "state" / "fx.json").exists()  # refused before any change: no create, no state
    assert [c["cluster_id"] for c in fresh.clusters()] == [stranger]  # no create was sent; the stranger untouched
    # the name is still taken: the refusal repeats, nothing is adopted or created
    again = apply(tmp_path, fresh)
    assert again.returncode == 1 and f"already taken on the engine by {stranger}" in again.stderr
    assert not (tmp_path / "state" / "fx.json").exists()


def test_failed_provisioning_is_tainted_with_the_servers_words_and_replaced_next(fresh, tmp_path):
    _, declared = R.write_stack(tmp_path, "fx", 2)
    faults(fresh, "provision:failed=1")
    failed = apply(tmp_path, fresh)
    assert failed.returncode == 1
    assert "no capacity for the requested instances" in failed.stderr
    assert "the cluster is marked tainted; the next apply replaces it" in failed.stderr
    recs = state_doc(tmp_path)
    assert {r.status for r in recs.values()} == {"tainted"}
    assert all("no capacity" in (r.message or "") for r in recs.values())
    faults(fresh, "")
    plan = R.cli(tmp_path, fresh.env(), "plan", "fx.yaml")
    assert "Plan: 0 to add, 0 to change, 2 to replace, 0 to destroy." in plan.stdout, plan.stdout
    fixed = apply(tmp_path, fresh)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Clusters: 0 added, 0 changed, 2 replaced, 0 destroyed." in fixed.stdout
    stats = fresh.stats()
    assert stats["creates_accepted"] == 4 and stats["deletes_accepted"] == 2
    assert R.check(fresh, tmp_path, "fx", declared).ok()


def test_deletes_lost_answers_and_clusters_already_gone(fresh, tmp_path):
    _, declared = R.write_stack(tmp_path, "fx", 4)
    assert apply(tmp_path, fresh).returncode == 0
    gone = state_doc(tmp_path)["c03"].cluster_id
    r = fresh.http.delete(f"{fresh.url}/cluster/{gone}", headers={"Authorization": f"Bearer {R.KEY}"}, timeout=10)
    assert r.status_code == 202
    faults(fresh, "delete:drop=1")
    proc = R.cli(tmp_path, fresh.env(), "destroy", "fx.yaml", "--auto-approve")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("the destroy's outcome is unknown") >= 3  # c03 may already be gone: a 404
    assert "Destroy complete! Clusters: 0 added, 0 changed, 0 replaced, 4 destroyed." in proc.stdout
    assert state_doc(tmp_path) == {} and R.check(fresh, tmp_path, "fx", set()).ok()
    assert fresh.stats()["deletes_accepted"] == 4
