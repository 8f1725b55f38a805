"""End to end over real HTTP, against the sandbox in every dialect: apply, refresh, drift, import, destroy and
kill -9 recovery work on each structured dialect; the text-only one is refused before any mutating call.

The engine's own request log (`GET /_sandbox/log`) proves the orderings of asynchronous edits: a replace that
must first lift deletion protection sends its DELETE only after the CLUSTER_EDIT request completed, and a
create that reuses a name a rename frees is sent only after that rename completed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tpdeclare.sandbox.dialects import parse_dialect

from e2e_helpers import ThreadedSandbox, cli_env, run_tp, write

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import reliability as R  # noqa: E402

STRUCTURED = ["default", "aliased", "aliased-bare", "lowercase", "async-edit", "aliased+lowercase+async-edit"]
REFUSAL = "cannot be read as clusters with an ID and a name: it answered only a text message ('message')"
SPEC = """\
stack: team
clusters:
  notebook:
    instance_type: 1xH100
  trainer:
    instance_type: 8xH200
    num_nodes: 2
"""


@pytest.fixture
def served(request):
    sb = ThreadedSandbox("--dialect", request.param, "--edit-seconds", "0")
    sb.dialect = request.param
    yield sb
    sb.stop()


def alive(sb) -> dict[str, dict]:
    """name -> the cluster in the contract's field names, read through the dialect's own names."""
    d = parse_dialect(sb.dialect)
    out = {}
    for c in sb.get("/cluster/list")["clusters"]:
        canon = {k: c[d.cluster_key(k)] for k in ("cluster_id", "tp_cluster_name", "status", "deletion_protection")}
        if canon["status"].upper() not in ("DESTROYING", "DESTROYED"):
            out[canon["tp_cluster_name"]] = canon
    return out


def ok(ran, code: int = 0):
    assert ran.returncode == code, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr
    return ran


def state(tmp_path: Path) -> dict:
    """The records as the next run reads them (snapshot and journal), as JSON."""
    from tpdeclare.state.local import LocalStateStore

    read = LocalStateStore(tmp_path / "state" / "team.json").read()
    return {a: {"status": r.status, "name": r.name, "cluster_id": r.cluster_id} for a, r in read.resources.items()}


@pytest.mark.parametrize("served", STRUCTURED, indirect=True)
def test_apply_refresh_drift_import_and_destroy_work_in_every_structured_dialect(served, tmp_path):
    env = cli_env(served)
    write(tmp_path / "team.yaml", SPEC)
    applied = ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    assert "Apply complete! Clusters: 2 added" in applied.stdout
    assert "Warning" not in applied.stderr  # the engine's document named every field
    assert set(alive(served)) == {"team-notebook", "team-trainer"}
    ok(run_tp(tmp_path, "plan", "team.yaml", "--refresh", "--detailed-exitcode", env=env))

    # drift: renamed outside, then folded in by refresh, then undone by apply
    cid = state(tmp_path)["notebook"]["cluster_id"]
    assert served.edit(cid, {"cluster_name": "renamed-outside"}).status_code == 202
    drift = ok(run_tp(tmp_path, "plan", "team.yaml", "--refresh", "--detailed-exitcode", env=env), 2)
    assert "renamed-outside" in drift.stdout and "Plan: 0 to add, 1 to change" in drift.stdout
    refreshed = ok(run_tp(tmp_path, "refresh", "team.yaml", "--auto-approve", env=env))
    assert '~ notebook: name "team-notebook" -> "renamed-outside" (changed outside tpdeclare)' in refreshed.stdout
    assert state(tmp_path)["notebook"]["name"] == "renamed-outside"
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    assert alive(served)["team-notebook"]["cluster_id"] == cid

    # deleted outside: planned again, created again, exactly once
    assert served.delete(cid).status_code == 202
    gone = ok(run_tp(tmp_path, "plan", "team.yaml", "--refresh", "--detailed-exitcode", env=env), 2)
    assert f"{cid} was deleted outside tpdeclare; it will be created again" in gone.stdout
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    assert alive(served)["team-notebook"]["cluster_id"] != cid
    assert served.stats()["creates_accepted"] == 3

    # import a cluster made outside tpdeclare
    made = served.post("/cluster/create", {"instance_type": "1xH100", "tp_cluster_name": "team-extra"}).json()
    write(tmp_path / "team.yaml", SPEC + "  extra:\n    instance_type: 1xH100\n")
    ok(run_tp(tmp_path, "orphans", "team.yaml", env=env), 2)
    imported = ok(run_tp(tmp_path, "import", "extra", made["cluster_id"], "team.yaml", env=env))
    assert f"Imported {made['cluster_id']} (team-extra) as 'extra'" in imported.stdout
    ok(run_tp(tmp_path, "plan", "team.yaml", "--refresh", "--detailed-exitcode", env=env))
    ok(run_tp(tmp_path, "orphans", "team.yaml", env=env))

    ok(run_tp(tmp_path, "destroy", "team.yaml", "--auto-approve", env=env))
    assert alive(served) == {} and served.stats()["creates_accepted"] == 4


@pytest.mark.parametrize("served", STRUCTURED, indirect=True)
def test_kill_9_after_the_202_then_a_rerun_adopts_the_cluster_in_every_structured_dialect(served, tmp_path):
    env = cli_env(served)
    write(tmp_path / "team.yaml", SPEC)
    proc = R.start(tmp_path, env, "apply", "team.yaml", "--auto-approve", "--parallelism", "1",
                   crash_at="after_202:1")
    assert proc.wait(timeout=60) == -9
    assert served.stats()["creates_accepted"] == 1
    pending = [r for r in state(tmp_path).values() if r["status"] == "pending"]
    assert len(pending) >= 1
    rerun = ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    [made] = [c for name, c in alive(served).items() if name == pending[0]["name"]]
    assert f"adopted {made['cluster_id']} left by an earlier run" in rerun.stdout
    assert served.stats()["creates_accepted"] == 2  # the adopted one and the other: no duplicate
    assert {r["cluster_id"] for r in state(tmp_path).values()} == {c["cluster_id"] for c in alive(served).values()}


@pytest.mark.parametrize("served", ["text-only"], indirect=True)
def test_the_text_only_dialect_is_refused_before_any_mutating_call(served, tmp_path):
    env = cli_env(served)
    write(tmp_path / "team.yaml", SPEC)
    ok(run_tp(tmp_path, "validate", "team.yaml", env=env))
    before = served.stats()["requests_total"]
    ok(run_tp(tmp_path, "plan", "team.yaml", "--out", "team.plan", env=env))  # offline: the engine is not read
    assert served.stats()["requests_total"] == before
    for args in (["apply", "team.yaml", "--auto-approve"], ["apply", "team.yaml", "--auto-approve", "--no-refresh"],
                 ["apply", "team.plan"], ["destroy", "team.yaml", "--auto-approve"],
                 ["refresh", "team.yaml", "--auto-approve"], ["import", "notebook", "c-00000001", "team.yaml"],
                 ["orphans", "team.yaml"], ["plan", "team.yaml", "--refresh"]):
        ran = ok(run_tp(tmp_path, *args, env=env), 1)
        assert REFUSAL in ran.stderr, args
        assert "a duplicate" in ran.stderr or "create the cluster again" in ran.stderr
    stats = served.stats()
    assert stats["creates_accepted"] == 0 and stats["mutating_requests"] == 0
    assert not (tmp_path / "state" / "team.json").exists()
    methods = {e["method"] for e in served.get("/_sandbox/log")["entries"]}
    assert methods <= {"GET", "POST"} and all(e["path"] != "/cluster/create" for e in
                                               served.get("/_sandbox/log")["entries"])


# ------------------------------------------------------------------------------------------ orderings
def log(sb) -> dict:
    return sb.get("/_sandbox/log")


def completed_at(entries: dict, cluster_id: str, request_type: str = "CLUSTER_EDIT") -> float:
    [req] = [r for r in entries["requests"] if r["request_type"] == request_type and r["object_id"] == cluster_id]
    [done] = [t["time"] for t in req["transitions"] if t["status"] == "COMPLETED"]
    return done


def test_a_replace_that_lifts_protection_deletes_only_after_the_edit_completed(tmp_path):
    sb = ThreadedSandbox("--dialect", "async-edit", "--edit-seconds", "1")
    try:
        env = cli_env(sb)
        write(tmp_path / "team.yaml", "stack: team\nclusters:\n  trainer:\n    instance_type: 1xH100\n"
                                      "    deletion_protection: true\n")
        ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
        cid = state(tmp_path)["trainer"]["cluster_id"]
        write(tmp_path / "team.yaml", "stack: team\nclusters:\n  trainer:\n    instance_type: 2xH100\n"
                                      "    deletion_protection: false\n")
        ran = ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
        assert "Turning deletion protection off before the replace" in ran.stdout
        entries = log(sb)
        deletes = [e for e in entries["entries"] if e["method"] == "DELETE"]
        assert [(e["path"], e["status"]) for e in deletes] == [(f"/cluster/{cid}", 202)]  # no 409 first
        assert deletes[0]["time"] >= completed_at(entries, cid)
        # ...and tpdeclare knew: it polled the CLUSTER_EDIT request to COMPLETED before sending the DELETE
        [edit] = [e for e in entries["entries"] if e["method"] == "PATCH"]
        polls = [e for e in entries["entries"] if e["path"] == f"/request/info/{edit['result']['request_id']}"]
        assert polls and polls[-1]["result"]["status"] == "COMPLETED" and polls[-1]["seq"] < deletes[0]["seq"]
        assert state(tmp_path)["trainer"]["cluster_id"] != cid
    finally:
        sb.stop()


@pytest.mark.parametrize("dialect", ["async-edit", "default"])
def test_a_create_reusing_a_name_a_rename_frees_is_sent_after_the_rename_took_effect(tmp_path, dialect):
    sb = ThreadedSandbox("--dialect", dialect, "--edit-seconds", "1")
    try:
        env = cli_env(sb)
        write(tmp_path / "team.yaml", "stack: team\nclusters:\n  a:\n    instance_type: 1xH100\n    name: shared\n")
        ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
        cid = state(tmp_path)["a"]["cluster_id"]
        write(tmp_path / "team.yaml", "stack: team\nclusters:\n  a:\n    instance_type: 1xH100\n    name: moved\n"
                                      "  b:\n    instance_type: 1xH100\n    name: shared\n")
        ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
        entries = log(sb)
        creates = [e for e in entries["entries"] if e["path"] == "/cluster/create"]
        assert [e["status"] for e in creates] == [202, 202]  # never refused for a taken name
        if dialect == "async-edit":
            assert creates[1]["time"] >= completed_at(entries, cid)
        else:
            [edit] = [e for e in entries["entries"] if e["method"] == "PATCH"]
            assert creates[1]["seq"] > edit["seq"]
        assert {r["name"] for r in state(tmp_path).values()} == {"moved", "shared"}
    finally:
        sb.stop()
