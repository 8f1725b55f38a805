"""The shipped examples validate, plan, and the README's demo runs on the in-process sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from e2e_helpers import assert_no_traceback, cli_env, run_tp

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ["examples/cluster.yaml", "examples/multi-node.yaml", "examples/training-with-storage.yaml", "examples/team",
            "examples/gitops/stacks/research", "examples/gitops/stacks/inference"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_validates_and_plans(example, tmp_path):
    for command in ("validate", "plan"):
        proc = run_tp(REPO, command, example, "--state", str(tmp_path / "state.json"))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert_no_traceback(proc)


def test_every_example_names_the_schema():
    for path in (REPO / "examples").rglob("*.yaml"):
        if "gitops" in path.parts and path.name == "tpdeclare.yml":
            continue
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        schema = (path.parent / first.split("$schema=")[1]).resolve()
        # The GitOps kit is copied into another repository, where specs/ does not exist: it vendors the schema.
        kit = REPO / "examples" / "gitops"
        expected = kit / ".tpdeclare" if kit in path.parents else REPO / "specs"
        assert schema == expected / "cluster.schema.json", path


def test_readme_demo_on_the_in_process_sandbox(tmp_path):
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    env = cli_env(TPDECLARE_SANDBOX_PROVISION_SECONDS="0")  # creates and destroys complete at once
    first = run_tp(tmp_path, "apply", "--engine", "sandbox", "--auto-approve", "examples/cluster.yaml", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Apply complete! Clusters: 1 added" in first.stdout
    state = json.loads((tmp_path / "state" / "cluster.json").read_text())
    cluster_id = state["resources"]["notebook"]["cluster_id"]
    assert cluster_id.startswith("c-")
    engine_before = json.loads((tmp_path / "state" / "_sandbox-engine.json.counters.json").read_text())
    again = run_tp(tmp_path, "apply", "--engine", "sandbox", "--auto-approve", "examples/cluster.yaml", env=env)
    assert again.returncode == 0 and "No changes." in again.stdout
    engine_after = json.loads((tmp_path / "state" / "_sandbox-engine.json.counters.json").read_text())
    assert engine_after["mutating_requests"] == engine_before["mutating_requests"]
    team = run_tp(tmp_path, "apply", "--engine", "sandbox", "--auto-approve", "examples/team", env=env)
    assert team.returncode == 0, team.stdout + team.stderr
    gone = run_tp(tmp_path, "destroy", "--engine", "sandbox", "--auto-approve", "examples/cluster.yaml", env=env)
    assert gone.returncode == 0 and "1 destroyed" in gone.stdout
