"""The state commands, validate and plan on a stack with volumes (issue 15), through the real CLI entry point.

No engine call is needed for any of these, so they run before the storage engine is merged."""

from __future__ import annotations

import json

from tpdeclare.state.codec import dump_state
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import State

from e2e_helpers import run_tp, write
from state_records import record, spec_of
from test_storage_state import volume

SPEC = """
    stack: st
    storage:
      data: {size_gb: 500}
    clusters:
      trainer: {instance_type: 8xH200, num_nodes: 2, storage: [data]}
    """


def setup_stack(tmp_path):
    write(tmp_path / "st.yaml", SPEC)
    cluster = record("trainer", "ready", name="st-trainer",
                     spec=spec_of(instance_type="8xH200", num_nodes=2, name="st-trainer", public_keys=[]))
    state = State(stack="st", lineage="l-1", serial=3, resources={"trainer": cluster}, engine="sandbox",
                  volumes={"data": volume(attached={"trainer": cluster.cluster_id})})
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "st.json").write_bytes(dump_state(state))
    return cluster


def test_state_list_show_mv_rm_cover_volumes(tmp_path):
    cluster = setup_stack(tmp_path)
    listed = run_tp(tmp_path, "state", "list", "--spec", "st.yaml")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [f"trainer\t{cluster.cluster_id}\tready\tst-trainer",
                                       "storage.data\ts-1\tready\tst-data\tattached: trainer"]
    shown = run_tp(tmp_path, "state", "show", "--spec", "st.yaml", "storage.data")
    assert shown.returncode == 0 and json.loads(shown.stdout)["storage_id"] == "s-1"
    moved = run_tp(tmp_path, "state", "mv", "--spec", "st.yaml", "storage.data", "storage.datasets")
    assert moved.returncode == 0 and moved.stdout.strip() == "Moved storage.data to storage.datasets (s-1)."
    removed = run_tp(tmp_path, "state", "rm", "--spec", "st.yaml", "storage.datasets")
    assert removed.returncode == 0, removed.stderr
    assert "Removed storage.datasets (s-1) from state. The volume itself is untouched" in removed.stdout
    state = LocalStateStore(tmp_path / "state" / "st.json").read()
    assert state.volumes == {} and "trainer" in state.resources
    missing = run_tp(tmp_path, "state", "show", "--spec", "st.yaml", "storage.nope")
    assert missing.returncode == 1 and "no volume at address 'storage.nope'" in missing.stderr


def test_plan_of_an_applied_stack_with_a_volume_has_no_changes_and_a_shrink_exits_1(tmp_path):
    setup_stack(tmp_path)
    same = run_tp(tmp_path, "--engine", "sandbox", "plan", "st.yaml", "--detailed-exitcode")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "No changes." in same.stdout and "Storage: $50.00/month → $50.00/month" in same.stdout
    write(tmp_path / "st.yaml", SPEC.replace("size_gb: 500", "size_gb: 100"))
    shrink = run_tp(tmp_path, "--engine", "sandbox", "plan", "st.yaml")
    assert shrink.returncode == 1, shrink.stdout + shrink.stderr
    assert "a volume can grow but never shrink" in shrink.stdout + shrink.stderr


def test_replace_names_a_volume_as_storage_addr(tmp_path):
    setup_stack(tmp_path)
    wrong = run_tp(tmp_path, "--engine", "sandbox", "plan", "st.yaml", "--replace", "storage.nope")
    assert wrong.returncode == 1 and "no cluster or volume (storage.ADDR) at address 'storage.nope'" in wrong.stderr
    ok = run_tp(tmp_path, "--engine", "sandbox", "plan", "st.yaml", "--replace", "storage.data", "--detailed-exitcode")
    assert ok.returncode == 2, ok.stdout + ok.stderr
    assert "storage.data must be replaced (its data is lost)" in ok.stdout


def test_import_of_a_volume_checks_the_address_and_the_id_before_any_engine_call(tmp_path):
    setup_stack(tmp_path)
    unknown = run_tp(tmp_path, "--engine", "sandbox", "import", "storage.nope", "s-1", "st.yaml")
    assert unknown.returncode == 1 and "volume 'storage.nope' is not declared in the spec" in unknown.stderr
    bad = run_tp(tmp_path, "--engine", "sandbox", "import", "storage.data", "s 1", "st.yaml")
    assert bad.returncode == 1 and "'s 1' is not a storage ID" in bad.stderr
