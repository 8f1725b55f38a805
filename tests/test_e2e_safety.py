"""End to end: the guards found in review — blocked plans unsaved, engine binding, stacks kept apart."""

from __future__ import annotations

import json

import pytest

from e2e_helpers import ThreadedSandbox, assert_no_traceback, cli_env, run_tp, write

SPEC = """
    stack: team
    clusters:
      trainer:
        instance_type: 8xH200
        num_nodes: 2
      notebook:
        instance_type: 1xH100
"""


def test_a_blocked_plan_is_not_saved(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    proc = run_tp(tmp_path, "plan", "team.yaml", "--max-hourly-cost", "10", "--out", "p.plan", env=env)
    assert proc.returncode == 3
    assert "not saved" in proc.stderr
    assert not (tmp_path / "p.plan").exists()


def test_saved_plan_keeps_its_budget_and_prices(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    write(tmp_path / "prices.yaml", "H200: 1.0\nH100: 1.0\n")
    proc = run_tp(tmp_path, "plan", "team.yaml", "--prices", "prices.yaml", "--max-hourly-cost", "20",
                   "--out", "p.plan", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Cost: $0.00/hr → $17.00/hr" in proc.stdout
    doc = json.loads((tmp_path / "p.plan").read_text())
    request = doc["plan"]["request"]
    assert request["max_hourly_cost"] == 20 and request["prices"] == [["H100", 1.0], ["H200", 1.0]]
    applied = run_tp(tmp_path, "apply", "p.plan", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr


@pytest.mark.parametrize("content,needle", [("H100: lots\n", "a price must be a number"),
                                            ("[1, 2]\n", "expected a mapping"), ("H100: [\n", "not valid YAML")])
def test_bad_prices_file(tmp_path, env, content, needle):
    write(tmp_path / "team.yaml", SPEC)
    write(tmp_path / "prices.yaml", content)
    proc = run_tp(tmp_path, "plan", "team.yaml", "--prices", "prices.yaml", env=env)
    assert proc.returncode == 1 and needle in proc.stderr
    assert_no_traceback(proc)


def test_saved_plan_of_a_directory_stack_applies_to_that_stack(tmp_path, sandbox, env):
    write(tmp_path / "team" / "main.yaml", "clusters:\n  nb:\n    instance_type: 1xH100\n")
    write(tmp_path / "team" / "more.yaml", "clusters:\n  nb2:\n    instance_type: 1xH100\n")
    assert run_tp(tmp_path, "plan", "team", "--out", "p.plan", env=env).returncode == 0
    applied = run_tp(tmp_path, "apply", "p.plan", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert sorted(p.name for p in (tmp_path / "state").glob("*.json")) == ["team.json"]
    assert "No changes." in run_tp(tmp_path, "plan", "team", env=env).stdout


@pytest.mark.parametrize("damage", ["unknown-action", "no-cost", "not-json"])
def test_a_damaged_plan_file_is_refused_clearly(tmp_path, env, damage):
    write(tmp_path / "team.yaml", SPEC)
    assert run_tp(tmp_path, "plan", "team.yaml", "--out", "p.plan", env=env).returncode == 0
    doc = json.loads((tmp_path / "p.plan").read_text())
    if damage == "unknown-action":
        doc["plan"]["changes"][0]["action"] = "explode"
    elif damage == "no-cost":
        del doc["plan"]["cost"]
    text = json.dumps(doc) if damage != "not-json" else '{"kind": "tpdeclare-plan", "ver'
    (tmp_path / "p.plan").write_text(text)
    for command in ("show", "apply"):
        proc = run_tp(tmp_path, command, "p.plan", env=env)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "p.plan" in proc.stderr
        assert_no_traceback(proc)
    assert not (tmp_path / "state" / "team.json").exists()


def test_state_of_one_engine_is_refused_on_another(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    assert run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env).returncode == 0
    before = (tmp_path / "state" / "team.json").read_bytes()
    assert json.loads(before)["engine"] == sandbox.url
    other = ThreadedSandbox()
    try:
        proc = run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=cli_env(other))
        assert proc.returncode == 1
        assert f"records clusters on engine {sandbox.url}" in proc.stderr
        assert other.stats()["requests_total"] == 0
        assert (tmp_path / "state" / "team.json").read_bytes() == before
    finally:
        other.stop()
    inproc = run_tp(tmp_path, "plan", "team.yaml", "--engine", "sandbox", env=env)
    assert inproc.returncode == 1 and "this run uses sandbox" in inproc.stderr


def test_import_refuses_a_cluster_another_stack_manages(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    write(tmp_path / "other.yaml", "stack: other\nclusters:\n  nb:\n    instance_type: 1xH100\n")
    assert run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env).returncode == 0
    cid = json.loads((tmp_path / "state" / "team.json").read_text())["resources"]["notebook"]["cluster_id"]
    proc = run_tp(tmp_path, "import", "nb", cid, "other.yaml", env=env)
    assert proc.returncode == 1
    assert "already managed by" in proc.stderr and "team.json" in proc.stderr and "'notebook'" in proc.stderr


def test_state_mv_refuses_an_invalid_address(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    assert run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--target", "notebook", env=env).returncode == 0
    proc = run_tp(tmp_path, "state", "mv", "notebook", "Bad Name!", "--spec", "team.yaml", env=env)
    assert proc.returncode == 1 and "not a valid address" in proc.stderr


def test_planning_flags_are_refused_with_a_saved_plan(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    assert run_tp(tmp_path, "plan", "team.yaml", "--out", "p.plan", env=env).returncode == 0
    proc = run_tp(tmp_path, "apply", "p.plan", "--target", "notebook", env=env)
    assert proc.returncode == 1 and "--target cannot be used when applying a saved plan" in proc.stderr
    assert sandbox.stats()["mutating_requests"] == 0


def test_replace_turns_protection_off_when_the_spec_says_so(tmp_path, sandbox, env):
    spec = write(tmp_path / "team.yaml",
                 SPEC.replace("instance_type: 1xH100", "instance_type: 1xH100\n        deletion_protection: true"))
    assert run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--target", "notebook", env=env).returncode == 0
    old = sandbox.by_name()["team-notebook"]["cluster_id"]
    spec.write_text(spec.read_text().replace("deletion_protection: true", "deletion_protection: false")
                    .replace("instance_type: 1xH100", "instance_type: 2xH100"))
    proc = run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--target", "notebook", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Turning deletion protection off before the replace" in proc.stdout
    new = sandbox.by_name()["team-notebook"]
    assert new["cluster_id"] != old and new["instance_type"] == "2xH100"
