"""The policies of examples/policy/, written for Terraform, run by a real Rego engine (regorus, from PyPI) on real
tpdeclare plans (`plan --json` on the sandbox) and on Terraform plan JSON (tests/fixtures/terraform/): the same
verdicts on both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import regorus

from e2e_helpers import cli_env, run_tp

REPO = Path(__file__).resolve().parents[1]
POLICIES = sorted((REPO / "examples" / "policy").glob("*.rego"))
TERRAFORM = REPO / "tests" / "fixtures" / "terraform"
ENV = cli_env(TPDECLARE_SANDBOX_PROVISION_SECONDS="0")

TWO = """\
stack: research
clusters:
  trainer:
    instance_type: 8xH200
    num_nodes: 2
  notebook:
    instance_type: 1xH100
"""


def evaluate(plan: dict) -> dict:
    """What the policies say about a plan: deny and warn messages, and the budget's planned USD/hour."""
    engine = regorus.Engine()
    for policy in POLICIES:
        engine.add_policy_from_file(str(policy))
    engine.set_input_json(json.dumps(plan))
    return {"deny": set(engine.eval_rule("data.main.deny")), "warn": set(engine.eval_rule("data.main.warn")),
            "hourly": engine.eval_rule("data.main.planned_hourly_usd")}


def plan_json(workdir: Path, spec: str, *extra: str) -> dict:
    (workdir / "research.yaml").write_text(spec)
    done = run_tp(workdir, "plan", "research.yaml", "--json", "--engine", "sandbox", *extra, env=ENV)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def applied(workdir: Path, spec: str) -> Path:
    (workdir / "research.yaml").write_text(spec)
    done = run_tp(workdir, "apply", "research.yaml", "--auto-approve", "--engine", "sandbox", env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    return workdir


def terraform(name: str) -> dict:
    return json.loads((TERRAFORM / name).read_text())


def test_deny_deletes_passes_a_plan_that_only_creates_on_both(tmp_path):
    ours = evaluate(plan_json(tmp_path, TWO))
    theirs = evaluate(terraform("plan-create-only.json"))
    assert ours["deny"] == theirs["deny"] == set()


def test_deny_deletes_denies_a_delete_and_a_replace_on_both(tmp_path):
    applied(tmp_path, TWO)
    changed = TWO.replace("num_nodes: 2", "num_nodes: 1").replace("  notebook:\n    instance_type: 1xH100\n", "")
    ours = evaluate(plan_json(tmp_path, changed))
    assert ours["deny"] == {
        "notebook would be deleted (tensorpool_cluster: delete)",
        "trainer would be deleted (tensorpool_cluster: delete, create)",
    }
    theirs = evaluate(terraform("plan-replace-and-delete.json"))
    assert {m for m in theirs["deny"] if "would be deleted" in m} == {
        "aws_instance.old would be deleted (aws_instance: delete)",
        "aws_instance.trainer[0] would be deleted (aws_instance: delete, create)",
        "aws_instance.trainer[1] would be deleted (aws_instance: delete, create)",
    }


def test_deny_deletes_denies_a_destroy_and_passes_an_update_in_place(tmp_path):
    applied(tmp_path, TWO)
    destroy = evaluate(plan_json(tmp_path, TWO, "--destroy"))
    assert destroy["deny"] == {"notebook would be deleted (tensorpool_cluster: delete)",
                               "trainer would be deleted (tensorpool_cluster: delete)"}
    renamed = plan_json(tmp_path, TWO.replace("  notebook:\n", "  notebook:\n    name: research-nb\n"))
    assert [rc["change"]["actions"] for rc in renamed["resource_changes"]] == [["update"], ["no-op"]]
    assert evaluate(renamed)["deny"] == set()


def test_the_flat_shape_alone_would_let_a_delete_through(tmp_path):
    # Why the `change` block matters: the standard policy reads only it. Without it (tpdeclare's JSON before
    # it had Terraform's shape) the same delete gets no denial at all: a green check on a destroyed cluster.
    applied(tmp_path, TWO)
    plan = plan_json(tmp_path, TWO, "--destroy")
    flat = {**plan, "resource_changes": [{k: v for k, v in rc.items() if k != "change"}
                                         for rc in plan["resource_changes"]]}
    assert all("delete" in rc["actions"] for rc in flat["resource_changes"])
    assert evaluate(flat)["deny"] == set()


def test_budget_reads_planned_values_on_both(tmp_path):
    within = plan_json(tmp_path, TWO)
    verdict = evaluate(within)
    assert verdict["deny"] == set() and verdict["warn"] == set()
    assert verdict["hourly"] == pytest.approx(within["cost"]["after_hourly"])  # the policy prices as tpdeclare does

    over = plan_json(tmp_path, TWO.replace("num_nodes: 2", "num_nodes: 3"))
    assert evaluate(over)["deny"] == {"the plan would cost $73.75/hour, over the budget of $60/hour"}
    assert over["cost"]["after_hourly"] == pytest.approx(73.75)

    assert evaluate(terraform("plan-create-only.json"))["deny"] == set()
    assert "the plan would cost $110.88/hour, over the budget of $60/hour" in evaluate(
        terraform("plan-replace-and-delete.json"))["deny"]


def test_budget_warns_about_a_type_it_cannot_price(tmp_path):
    verdict = evaluate(plan_json(tmp_path, TWO.replace("1xH100", "8xMI300X")))
    assert verdict["warn"] == {"notebook: no price for instance type 8xMI300X; the budget does not count it"}
    assert verdict["hourly"] == pytest.approx(47.84)


def test_the_budget_policy_prices_tpdeclares_whole_catalogue_as_tpdeclare_does():
    from tpdeclare.catalog import INSTANCE_TYPES, hourly_cost

    resources = [{"address": t, "mode": "managed", "type": "tensorpool_cluster", "name": t,
                  "values": {"instance_type": t, "num_nodes": 1}} for t in INSTANCE_TYPES]
    for one in resources:
        plan = {"planned_values": {"root_module": {"resources": [one]}}}
        expected = hourly_cost(one["values"]["instance_type"], 1)
        assert evaluate(plan)["hourly"] == pytest.approx(expected), one["address"]
