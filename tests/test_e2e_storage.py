"""End to end: storage volumes through the real CLI against the sandbox served over real HTTP (issue 15).

The engine is read through TensorPoolClient's StorageApi methods, never through the JSON shape of its answers,
so the tests do not depend on how the sandbox shapes `GET /storage/list`.
"""

from __future__ import annotations

import json

import pytest
from tpdeclare.api.client import TensorPoolClient

from e2e_helpers import HeldClock, ThreadedSandbox, cli_env, run_tp, write

SPEC = """
    stack: train
    storage:
      data: {{size_gb: {size}}}
    clusters:
      trainer:
        instance_type: 8xH200
        num_nodes: {nodes}
        storage: [data]
    """


def spec(tmp_path, *, nodes=2, size=500):
    write(tmp_path / "train.yaml", SPEC.format(nodes=nodes, size=size))


def client(sandbox) -> TensorPoolClient:
    return TensorPoolClient(sandbox.url, sandbox.key)


def state(tmp_path) -> dict:
    return json.loads((tmp_path / "state" / "train.json").read_text())


def live_volumes(sandbox):
    return [v for v in client(sandbox).list_storage() if not v.is_destroyed]


def apply(tmp_path, env, *extra):
    ran = run_tp(tmp_path, "apply", "train.yaml", "--auto-approve", *extra, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran


def mutations(sandbox) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in sandbox.get("/_sandbox/log")["entries"]
            if e["method"] in ("POST", "DELETE", "PATCH") and e["path"] != "/health"]


def test_volume_cluster_and_attachment_in_one_apply_then_no_changes(tmp_path, sandbox, env):
    spec(tmp_path)
    first = apply(tmp_path, env)
    assert "attach storage.data to cluster trainer" in first.stdout
    assert "restarts all nodes of cluster trainer" in first.stdout
    (volume,) = live_volumes(sandbox)
    doc = state(tmp_path)
    cluster_id = doc["resources"]["trainer"]["cluster_id"]
    assert volume.cluster_ids == (cluster_id,)
    assert doc["volumes"]["data"]["storage_id"] == volume.storage_id
    assert doc["volumes"]["data"]["attached"] == {"trainer": cluster_id}
    again = run_tp(tmp_path, "plan", "train.yaml", "--refresh", "--detailed-exitcode", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout


def test_a_num_nodes_change_detaches_replaces_and_reattaches_the_same_volume(tmp_path, sandbox, env):
    spec(tmp_path)
    apply(tmp_path, env)
    before = state(tmp_path)
    spec(tmp_path, nodes=4)
    plan = run_tp(tmp_path, "plan", "train.yaml", "--detailed-exitcode", env=env)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    order = plan.stdout[plan.stdout.index("# order:"):]
    assert order.index("detach storage.data") < order.index("replace (destroy, then create) cluster trainer") \
        < order.index("attach storage.data")
    apply(tmp_path, env)
    after = state(tmp_path)
    new_id = after["resources"]["trainer"]["cluster_id"]
    assert new_id != before["resources"]["trainer"]["cluster_id"]
    (volume,) = live_volumes(sandbox)
    assert volume.storage_id == before["volumes"]["data"]["storage_id"]  # the same volume, its data kept
    assert volume.cluster_ids == (new_id,)
    assert after["volumes"]["data"]["attached"] == {"trainer": new_id}


def test_a_shrink_is_refused_with_the_reason(tmp_path, sandbox, env):
    spec(tmp_path)
    apply(tmp_path, env)
    spec(tmp_path, size=100)
    ran = run_tp(tmp_path, "apply", "train.yaml", "--auto-approve", env=env)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "a volume can grow but never shrink" in ran.stdout + ran.stderr
    assert live_volumes(sandbox)[0].size_gb == 500


def test_destroy_detaches_then_removes_both(tmp_path, sandbox, env):
    spec(tmp_path)
    apply(tmp_path, env)
    ids = state(tmp_path)
    sid, cid = ids["volumes"]["data"]["storage_id"], ids["resources"]["trainer"]["cluster_id"]
    seen = len(mutations(sandbox))
    ran = run_tp(tmp_path, "destroy", "train.yaml", "--auto-approve", env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    calls = mutations(sandbox)[seen:]
    detach = calls.index(("POST", "/storage/detach"))
    assert detach < calls.index(("DELETE", f"/cluster/{cid}"))
    assert detach < calls.index(("DELETE", f"/storage/{sid}"))
    assert live_volumes(sandbox) == [] and sandbox.clusters() == []
    assert "volumes" not in state(tmp_path) and state(tmp_path)["resources"] == {}


def test_drift_a_detach_behind_our_back_is_planned_for_reattachment(tmp_path, sandbox, env):
    spec(tmp_path)
    apply(tmp_path, env)
    doc = state(tmp_path)
    api = client(sandbox)
    detached = api.detach_storage(doc["volumes"]["data"]["storage_id"], doc["resources"]["trainer"]["cluster_id"])
    if detached.request_id:
        api.wait_for_request(detached.request_id, deadline_seconds=30, what="the detach")
    plan = run_tp(tmp_path, "plan", "train.yaml", "--refresh", "--detailed-exitcode", env=env)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert ("+ attach storage.data to cluster trainer (drift: detached outside tpdeclare): restarts all nodes of "
            "cluster trainer") in plan.stdout
    apply(tmp_path, env, "--refresh")
    (volume,) = live_volumes(sandbox)
    assert volume.cluster_ids == (doc["resources"]["trainer"]["cluster_id"],)


# -- kill -9 (the reliability suite's storage trials, smaller; benchmarks/reliability_storage.py) -------------

def test_kill_9_during_volume_creates_and_attaches_leaves_no_duplicate_or_orphan(tmp_path):
    import random
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import reliability as R
    from reliability_storage import STORAGE_KILL_MODES, kill_storage_trial

    rng = random.Random(20261201)
    with R.Sandbox() as sb:
        for trial, mode in enumerate(STORAGE_KILL_MODES):
            result = kill_storage_trial(sb, tmp_path, rng, trial, mode=mode, n=3)
            assert result["ok"], (mode, result["codes"], result["check"].problems())


@pytest.mark.parametrize("left_by", ["timeout", "kill-after-202"])
def test_a_volume_an_earlier_run_left_creating_is_waited_for_then_attached(tmp_path, left_by):
    # The engine's clock stands still (HeldClock): whatever this machine's speed, the volume is still being
    # created when the next apply plans. "timeout": the first apply's --timeout ends it with the volume's create
    # recorded (its request ID known). "kill-after-202": SIGKILL right after the create's 202, before its ID is
    # recorded (the next run adopts the volume by name and watches the volume itself). The clock moves on only
    # once the next apply has said it waits for the volume (then it runs fast); that apply must end with state =
    # engine.
    import subprocess
    import sys
    import threading
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import reliability as R
    from reliability_storage import STORAGE_CRASH_WRAPPER, check_storage, write_storage_stack

    clock = HeldClock()
    sb = ThreadedSandbox(key=R.KEY, provision_seconds=8.0, clock=clock)
    try:
        _, links = write_storage_stack(tmp_path, "vols", 1)
        env = cli_env(sb, PYTHONUNBUFFERED="1")
        args = ("apply", "vols.yaml", "--auto-approve")
        if left_by == "timeout":
            first = subprocess.run([R.PY, "-m", "tpdeclare", *args, "--timeout", "4"], cwd=tmp_path, env=env,
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        else:
            first = subprocess.run([R.PY, "-c", STORAGE_CRASH_WRAPPER, *args], cwd=tmp_path,
                                   env={**env, "TPD_CRASH_AT": "volume_after_202:1"}, stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=120)
        assert first.returncode != 0, first.stdout + first.stderr
        assert [v.status for v in live_volumes(sb)] == ["CREATING"]
        second = subprocess.Popen([R.PY, "-m", "tpdeclare", *args, "--timeout", "120"], cwd=tmp_path, env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        before = []
        assert second.stdout is not None
        for line in second.stdout:
            before.append(line)
            if "1 volume started by an earlier run is still being created; waiting for it: storage.v00" in line:
                break
        # From here on the engine's time runs, fast: the volume and the clusters become ready, then the attaches
        # finish (each takes engine time too).
        ticking = threading.Event()

        def tick() -> None:
            while not ticking.wait(0.05):
                clock.advance(2.0)

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            rest, err = second.communicate(timeout=120)
        finally:
            ticking.set()
            ticker.join()
        out = "".join(before) + rest
        assert second.returncode == 0, out + err
        assert "storage.v00: Creation complete" in out, out
        assert out.index("storage.v00: Creation complete") < out.index("storage.v00: Attaching"), out
        result = check_storage(sb.url, R.KEY, tmp_path, "vols", links)
        assert result.ok(), result.problems()
        assert result.volumes == 1
    finally:
        sb.stop()


def test_import_a_volume_by_id_then_orphans_and_refresh_see_it(tmp_path, sandbox, env):
    spec(tmp_path)
    made = client(sandbox).create_storage(size_gb=500, name="train-data")
    if made.request_id:
        client(sandbox).wait_for_request(made.request_id, deadline_seconds=30, what="the create")
    orphans = run_tp(tmp_path, "orphans", "train.yaml", env=env)
    assert orphans.returncode == 2 and made.storage_id in orphans.stdout, orphans.stdout + orphans.stderr
    imported = run_tp(tmp_path, "import", "storage.data", made.storage_id, "train.yaml", env=env)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert state(tmp_path)["volumes"]["data"]["storage_id"] == made.storage_id
    assert run_tp(tmp_path, "orphans", "train.yaml", env=env).returncode == 0
    apply(tmp_path, env)  # creates the trainer and attaches the imported volume: no second volume
    assert [v.storage_id for v in live_volumes(sandbox)] == [made.storage_id]
