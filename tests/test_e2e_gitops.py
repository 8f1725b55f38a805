"""End to end through the real CLI against the served sandbox: saved plans, exit codes, cost, drift, import."""

from __future__ import annotations

import json
import shutil

import pytest

from e2e_helpers import assert_no_traceback, run_tp, write

SPEC = """
    stack: team
    clusters:
      trainer:
        instance_type: 8xH200
        num_nodes: 1
      notebook:
        instance_type: 1xH100
"""


def ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    return proc


def state_bytes(tmp_path):
    path = tmp_path / "state" / "team.json"
    return path.read_bytes() if path.exists() else None


# ---- saved plans ------------------------------------------------------------------------------------
def test_saved_plan_applies_exactly_without_a_prompt(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    out = ok(run_tp(tmp_path, "plan", "team.yaml", "--out", "team.plan", env=env))
    assert "Saved the plan to team.plan" in out.stdout
    plan_doc = (tmp_path / "team.plan").read_text()
    assert env["TENSORPOOL_KEY"] not in plan_doc
    shown = ok(run_tp(tmp_path, "show", "team.plan", env=env))
    assert "Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy." in shown.stdout
    applied = ok(run_tp(tmp_path, "apply", "team.plan", env=env))
    assert "Apply complete! Clusters: 2 added" in applied.stdout
    assert set(sandbox.by_name()) == {"team-trainer", "team-notebook"}


CHANGED = SPEC.replace("num_nodes: 1", "num_nodes: 2").replace("notebook:", "eval:")  # replace, destroy, create


def saved_plan_of_gone_specs(tmp_path, env) -> dict:
    """Apply SPEC, save the plan to CHANGED as team.plan, delete the spec files; the plan as `show --json` shows it."""
    write(tmp_path / "team" / "main.yaml", SPEC)
    ok(run_tp(tmp_path, "apply", "team", "--auto-approve", env=env))
    write(tmp_path / "team" / "main.yaml", CHANGED)
    ok(run_tp(tmp_path, "plan", "team", "--out", "team.plan", env=env))
    said = json.loads(ok(run_tp(tmp_path, "show", "team.plan", "--json", env=env)).stdout)
    shutil.rmtree(tmp_path / "team")
    return said


def test_a_saved_plan_applies_exactly_what_it_says_while_its_spec_files_are_gone(tmp_path, sandbox, env):
    """apply PLANFILE executes the decoded Plan: the spec files are gone, so nothing can be planned or read again,
    and the engine and the state end as the plan's planned values say, by exactly its changes."""
    said = saved_plan_of_gone_specs(tmp_path, env)
    first = sandbox.by_name()  # the plan changed nothing
    assert said["summary"] == {"add": 1, "change": 0, "replace": 1, "destroy": 1, "move": 0}
    stats = sandbox.stats()

    applied = ok(run_tp(tmp_path, "apply", "team.plan", env=env))

    assert "Apply complete! Clusters: 1 added, 0 changed, 1 replaced, 1 destroyed." in applied.stdout
    planned = {r["values"]["name"]: r["values"] for r in said["planned_values"]["root_module"]["resources"]}
    engine = sandbox.by_name()
    assert set(engine) == set(planned) == {"team-trainer", "team-eval"}
    for name, values in planned.items():
        assert (engine[name]["instance_type"], engine[name]["num_nodes"]) == (values["instance_type"],
                                                                              values["num_nodes"])
    assert engine["team-trainer"]["cluster_id"] != first["team-trainer"]["cluster_id"]  # replaced, as planned
    after = sandbox.stats()
    assert after["creates_accepted"] - stats["creates_accepted"] == 2  # eval, and trainer's replacement
    assert after["deletes_accepted"] - stats["deletes_accepted"] == 2  # notebook, and trainer's old cluster
    recorded = json.loads(ok(run_tp(tmp_path, "show", "--state", "state/team.json", "--json", env=env)).stdout)
    assert {address: (r["cluster_id"], r["status"]) for address, r in recorded["resources"].items()} == {
        "eval": (engine["team-eval"]["cluster_id"], "ready"),
        "trainer": (engine["team-trainer"]["cluster_id"], "ready")}


def test_a_saved_plan_whose_spec_files_are_gone_is_still_refused_when_the_state_moved_on(tmp_path, sandbox, env):
    saved_plan_of_gone_specs(tmp_path, env)
    ok(run_tp(tmp_path, "state", "rm", "notebook", "--state", "state/team.json", env=env))  # the state moves on
    before, stats = state_bytes(tmp_path), sandbox.stats()
    proc = run_tp(tmp_path, "apply", "team.plan", env=env)
    assert proc.returncode == 1 and "state moved on" in proc.stderr
    assert_no_traceback(proc)
    assert state_bytes(tmp_path) == before
    assert sandbox.stats()["mutating_requests"] == stats["mutating_requests"]


def test_saved_plan_refused_when_specs_changed(tmp_path, sandbox, env):
    spec = write(tmp_path / "team.yaml", SPEC)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    ok(run_tp(tmp_path, "plan", "team.yaml", "--out", "team.plan", env=env))
    spec.write_text(spec.read_text().replace("num_nodes: 1", "num_nodes: 2"))
    before = state_bytes(tmp_path)
    proc = run_tp(tmp_path, "apply", "team.plan", env=env)
    assert proc.returncode == 1
    assert "stale" in proc.stderr and "spec files changed" in proc.stderr
    assert state_bytes(tmp_path) == before


def test_saved_plan_refused_when_state_moved_on(tmp_path, sandbox, env):
    spec = write(tmp_path / "team.yaml", SPEC)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    spec.write_text(spec.read_text().replace("num_nodes: 1", "num_nodes: 2"))
    ok(run_tp(tmp_path, "plan", "team.yaml", "--out", "team.plan", env=env))
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))  # another apply got there first
    before, stats = state_bytes(tmp_path), sandbox.stats()
    proc = run_tp(tmp_path, "apply", "team.plan", env=env)
    assert proc.returncode == 1
    assert "state moved on" in proc.stderr
    assert state_bytes(tmp_path) == before
    assert sandbox.stats()["mutating_requests"] == stats["mutating_requests"]


def test_saved_plan_refused_when_state_appeared(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    ok(run_tp(tmp_path, "plan", "team.yaml", "--out", "team.plan", env=env))
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    before = state_bytes(tmp_path)
    proc = run_tp(tmp_path, "apply", "team.plan", env=env)
    assert proc.returncode == 1
    assert "before any state existed" in proc.stderr
    assert state_bytes(tmp_path) == before
    assert sandbox.stats()["creates_accepted"] == 2


def test_a_damaged_plan_file_is_a_clear_error(tmp_path, env):
    write(tmp_path / "team.yaml", SPEC)
    ok(run_tp(tmp_path, "plan", "team.yaml", "--out", "team.plan", env=env))
    doc = json.loads((tmp_path / "team.plan").read_text())
    del doc["state"]
    (tmp_path / "team.plan").write_text(json.dumps(doc))
    proc = run_tp(tmp_path, "apply", "team.plan", env=env)
    assert proc.returncode == 1 and "not a readable tpdeclare plan file" in proc.stderr
    assert_no_traceback(proc)


# ---- policy and exit codes ---------------------------------------------------------------------------
def test_budget_overrun_exits_3_naming_the_figures(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC.replace("stack: team", "stack: team\n    budget:\n      max_hourly_cost: 20"))
    proc = run_tp(tmp_path, "plan", "team.yaml", "--detailed-exitcode", env=env)
    assert proc.returncode == 3
    assert "$25.91/hr" in proc.stderr and "$20.00/hr" in proc.stderr
    flag = run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--max-hourly-cost", "30", env=env)
    assert flag.returncode == 0, flag.stderr
    assert sandbox.stats()["creates_accepted"] == 2


def test_prevent_destroy_exits_3_and_nothing_is_destroyed(tmp_path, sandbox, env):
    spec = write(tmp_path / "team.yaml", SPEC.replace(
        "instance_type: 1xH100", "instance_type: 1xH100\n        lifecycle:\n          prevent_destroy: true"))
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    spec.write_text(spec.read_text().replace("instance_type: 1xH100", "instance_type: 2xH100"))
    before = sandbox.stats()["mutating_requests"]
    proc = run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env)
    assert proc.returncode == 3
    assert "notebook: lifecycle.prevent_destroy forbids this plan to replace it" in proc.stderr
    assert sandbox.stats()["mutating_requests"] == before


def test_json_plan_feeds_a_policy_that_blocks_deletes(tmp_path, sandbox, env):
    spec = write(tmp_path / "team.yaml", SPEC)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))

    def deny_deletes(doc):  # what a conftest/OPA rule would say, over Terraform's vocabulary
        return [rc["address"] for rc in doc["resource_changes"] if "delete" in rc["actions"]]

    doc = json.loads(ok(run_tp(tmp_path, "plan", "team.yaml", "--json", env=env)).stdout)
    assert deny_deletes(doc) == [] and doc["cost"]["diff_hourly"] == 0
    spec.write_text(spec.read_text().replace("num_nodes: 1", "num_nodes: 2"))
    doc = json.loads(ok(run_tp(tmp_path, "plan", "team.yaml", "--json", env=env)).stdout)
    assert deny_deletes(doc) == ["trainer"]
    assert doc["cost"]["diff_hourly"] == pytest.approx(23.92)


def test_markdown_is_deterministic_and_matches_golden(tmp_path, sandbox, env, golden):
    spec = write(tmp_path / "team.yaml", SPEC)
    first = ok(run_tp(tmp_path, "plan", "team.yaml", "--markdown", env=env)).stdout
    second = ok(run_tp(tmp_path, "plan", "team.yaml", "--markdown", env=env)).stdout
    assert first == second
    golden("cli_plan_create.md", first)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    text = spec.read_text().replace("num_nodes: 1", "num_nodes: 2")
    spec.write_text(text[: text.index("  notebook:")])
    md = ok(run_tp(tmp_path, "plan", "team.yaml", "--markdown", env=env)).stdout
    assert md.index("will be **destroyed**") < md.index("| action |")
    assert "`num_nodes` forces replacement" in md
    assert "**Cost:** $25.91/hr → $47.84/hr (**+$21.93/hr**)" in md


# ---- drift, import, forget ---------------------------------------------------------------------------
def test_deleted_behind_our_back_is_recreated(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    victim = sandbox.by_name()["team-notebook"]["cluster_id"]
    assert sandbox.delete(victim).status_code == 202
    plain = ok(run_tp(tmp_path, "plan", "team.yaml", env=env))
    assert "No changes." in plain.stdout  # without --refresh, the plan reads state alone
    before = sandbox.stats()["requests"]
    drift = run_tp(tmp_path, "plan", "team.yaml", "--refresh", "--detailed-exitcode", env=env)
    assert drift.returncode == 2
    assert f"{victim} was deleted outside tpdeclare; it will be created again" in drift.stdout
    assert "Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy." in drift.stdout
    after = sandbox.stats()["requests"]
    assert sum(after["list"].values()) - sum(before.get("list", {}).values()) == 1
    applied = ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    assert "1 added" in applied.stdout
    assert sandbox.by_name()["team-notebook"]["cluster_id"] != victim


def test_renamed_and_unprotected_outside_are_planned_back(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml",
          SPEC.replace("instance_type: 1xH100", "instance_type: 1xH100\n        deletion_protection: true"))
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    cid = sandbox.by_name()["team-notebook"]["cluster_id"]
    assert sandbox.edit(cid, {"cluster_name": "hijacked", "deletion_protection": False}).status_code == 202
    drift = ok(run_tp(tmp_path, "plan", "team.yaml", "--refresh", env=env))
    assert '~ name                = "hijacked" -> "team-notebook"' in drift.stdout
    assert "~ deletion_protection = false -> true" in drift.stdout
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    assert sandbox.by_name()["team-notebook"]["deletion_protection"] is True


def test_refresh_shows_then_records(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    cid = sandbox.by_name()["team-notebook"]["cluster_id"]
    sandbox.edit(cid, {"cluster_name": "renamed-by-hand"})
    refused = run_tp(tmp_path, "refresh", "team.yaml", env=env)
    assert refused.returncode == 1 and "renamed-by-hand" in refused.stdout
    assert "renamed-by-hand" not in state_bytes(tmp_path).decode()
    ok(run_tp(tmp_path, "refresh", "team.yaml", "--auto-approve", env=env))
    assert json.loads(state_bytes(tmp_path))["resources"]["notebook"]["name"] == "renamed-by-hand"


def test_import_adopts_and_state_rm_forgets_into_orphans(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    made = sandbox.post("/cluster/create", {"instance_type": "1xH100", "tp_cluster_name": "team-notebook"}).json()
    missing = run_tp(tmp_path, "import", "notebook", "c-00000000", "team.yaml", env=env)
    assert missing.returncode == 1 and "no cluster c-00000000" in missing.stderr
    ok(run_tp(tmp_path, "import", "notebook", made["cluster_id"], "team.yaml", env=env))
    plan = ok(run_tp(tmp_path, "plan", "team.yaml", env=env))
    assert "Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy." in plan.stdout  # only the trainer
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env))
    assert sandbox.stats()["creates_accepted"] == 2

    assert ok(run_tp(tmp_path, "orphans", "team.yaml", env=env)).stdout.startswith("No orphans")
    ok(run_tp(tmp_path, "state", "rm", "notebook", "--spec", "team.yaml", env=env))
    assert made["cluster_id"] in [c["cluster_id"] for c in sandbox.clusters()]
    orphans = run_tp(tmp_path, "orphans", "team.yaml", env=env)
    assert orphans.returncode == 2
    assert made["cluster_id"] in orphans.stdout and "$1.99/hr" in orphans.stdout


def test_state_mv_and_targets(tmp_path, sandbox, env):
    spec = write(tmp_path / "team.yaml", SPEC)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--target", "notebook", env=env))
    assert set(sandbox.by_name()) == {"team-notebook"}
    ok(run_tp(tmp_path, "state", "mv", "notebook", "nb", "--spec", "team.yaml", env=env))
    spec.write_text(spec.read_text().replace("  notebook:", "  nb:\n    name: team-notebook"))
    plan = ok(run_tp(tmp_path, "plan", "team.yaml", "--target", "nb", env=env))
    assert "No changes." in plan.stdout
    forced = ok(run_tp(tmp_path, "plan", "team.yaml", "--replace", "nb", "--target", "nb", env=env))
    assert "# nb must be replaced" in forced.stdout
