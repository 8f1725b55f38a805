"""`plan --json` in Terraform's plan JSON shape: each entry's `change` block, the resource's identity,
`planned_values` and `prior_state`, held to the Terraform fixtures' shapes; tpdeclare's own fields kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tpdeclare.plan.planner import make_plan
from tpdeclare.plan.render_json import plan_to_json, render_json
from tpdeclare.state.model import PENDING, TAINTED

from e2e_helpers import cli_env, run_tp
from plan_helpers import Move, cluster, record, stack, state

REPO = Path(__file__).resolve().parents[1]
TERRAFORM = REPO / "tests" / "fixtures" / "terraform"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabc alice@laptop"
IDENTITY = {"address", "mode", "type", "name", "provider_name"}
TERRAFORM_STATE_RESOURCE = IDENTITY | {"schema_version", "values", "sensitive_values"}


def terraform_changes() -> list[dict]:
    return [rc for f in sorted(TERRAFORM.glob("*.json")) for rc in json.loads(f.read_text())["resource_changes"]]


def by_address(doc: dict) -> dict[str, dict]:
    return {rc["address"]: rc for rc in doc["resource_changes"]}


def plan_of(*clusters, records=(), moves=(), **kw) -> dict:
    return plan_to_json(make_plan(stack(*clusters, moves=moves), state(*records) if records else None, **kw))


def test_each_entry_carries_terraforms_keys_and_every_key_it_had():
    old = cluster("old")
    doc = plan_of(cluster("fresh"), records=[record(old, cluster_id="c-1")])
    terraform_keys = set().union(*(set(rc) for rc in terraform_changes())) - {"index"}
    for rc in doc["resource_changes"]:
        assert terraform_keys <= set(rc), terraform_keys - set(rc)
        assert {"actions", "before", "after", "replace_paths", "field_changes", "action_reason", "cluster_id",
                "previous_address", "notes", "cost"} <= set(rc)  # tpdeclare's own, where they always were
        assert (rc["mode"], rc["type"], rc["name"], rc["provider_name"]) == (
            "managed", "tensorpool_cluster", rc["address"], "tpdeclare.dev/tensorpool/tensorpool")
        assert rc["change"]["actions"] == rc["actions"]


def test_the_change_block_has_terraforms_keys_for_each_action():
    theirs = {tuple(rc["change"]["actions"]): set(rc["change"]) for rc in terraform_changes()}
    keep, grow, gone = cluster("keep"), cluster("grow", "8xH200"), cluster("gone")
    doc = plan_of(keep, cluster("grow", "8xH200", num_nodes=2), cluster("fresh"),
                  records=[record(keep, cluster_id="c-1"), record(grow, cluster_id="c-2"),
                           record(gone, cluster_id="c-3")])
    ours = {tuple(rc["change"]["actions"]): set(rc["change"]) for rc in doc["resource_changes"]}
    assert set(ours) == set(theirs) == {("create",), ("delete",), ("delete", "create"), ("no-op",)}
    assert ours == theirs


def test_a_create():
    change = plan_of(cluster("fresh", public_keys=(KEY,)))["resource_changes"][0]["change"]
    assert change["before"] is None and change["before_sensitive"] is False
    assert change["after"] == {"container": None, "deletion_protection": False, "instance_type": "1xH100",
                               "name": "demo-fresh", "num_nodes": 1, "public_keys": [KEY]}
    assert change["after_unknown"] == {"id": True, "public_keys": [False]}  # the new cluster's ID: known after apply
    assert change["after_sensitive"] == {"public_keys": [False]}
    assert "replace_paths" not in change


def test_a_destroy():
    gone = cluster("gone")
    rc = plan_of(records=[record(gone, cluster_id="c-9")])["resource_changes"][0]
    assert rc["action_reason"] == "delete_because_no_resource_config"
    change = rc["change"]
    assert change["before"]["id"] == "c-9" and change["before"]["instance_type"] == "1xH100"
    assert (change["after"], change["after_unknown"], change["after_sensitive"]) == (None, {}, False)
    assert change["before_sensitive"] == {"public_keys": []}


def test_a_replace_forced_by_a_field_and_one_asked_for():
    grow, tainted = cluster("grow", "8xH200"), cluster("broken")
    doc = plan_of(cluster("grow", "8xH200", num_nodes=2), tainted,
                  records=[record(grow, cluster_id="c-2"), record(tainted, cluster_id="c-4", status=TAINTED)])
    by = by_address(doc)
    assert by["grow"]["action_reason"] == "replace_because_cannot_update"
    assert by["grow"]["change"]["replace_paths"] == [["num_nodes"]]
    assert by["grow"]["change"]["before"]["num_nodes"] == 1 and by["grow"]["change"]["after"]["num_nodes"] == 2
    assert "id" not in by["grow"]["change"]["after"] and by["grow"]["change"]["after_unknown"]["id"] is True
    assert by["broken"]["action_reason"] == "replace_because_tainted"
    assert "replace_paths" not in by["broken"]["change"]  # Terraform: no field forced it
    [prior] = [r for r in doc["prior_state"]["values"]["root_module"]["resources"] if r["address"] == "broken"]
    assert prior["tainted"] is True


def test_an_update_in_place_keeps_what_apply_cannot_change():
    was = cluster("nb", container="img:1", public_keys=(KEY,))
    now = cluster("nb", name="demo-renamed", container="img:2", public_keys=(), ignore_changes=frozenset({"container"}))
    change = plan_of(now, records=[record(was, cluster_id="c-7")])["resource_changes"][0]["change"]
    assert change["actions"] == ["update"]
    assert change["after"]["name"] == "demo-renamed"  # in place
    assert change["after"]["container"] == "img:1"  # ignored: stays as it is
    assert change["after"]["public_keys"] == [KEY]  # create-only: the live cluster keeps its keys
    assert change["after"]["id"] == change["before"]["id"] == "c-7"
    assert change["after_unknown"] == {}


def test_a_move_and_a_no_op():
    was = cluster("was-here")
    doc = plan_of(cluster("here", name="demo-was-here"), records=[record(was, cluster_id="c-5")],
                  moves=[Move("was-here", "here")])
    rc = doc["resource_changes"][0]
    assert (rc["address"], rc["previous_address"], rc["change"]["actions"]) == ("here", "was-here", ["no-op"])
    assert rc["change"]["before"] == rc["change"]["after"]


def test_planned_values_and_prior_state_in_terraforms_state_shape():
    keep, gone = cluster("keep"), cluster("gone")
    doc = plan_of(keep, cluster("fresh"), records=[record(keep, cluster_id="c-1"), record(gone, cluster_id="c-3")])
    planned = doc["planned_values"]["root_module"]["resources"]
    prior = doc["prior_state"]["values"]["root_module"]["resources"]
    assert [r["address"] for r in planned] == ["fresh", "keep"]  # what exists after apply
    assert [r["address"] for r in prior] == ["gone", "keep"]  # what exists before
    assert doc["prior_state"]["format_version"] == "1.0"
    for resource in planned + prior:
        assert set(resource) == TERRAFORM_STATE_RESOURCE
        assert resource["schema_version"] == 0
    changes = by_address(doc)
    for resource in planned:
        assert resource["values"] == changes[resource["address"]]["change"]["after"]
    for resource in prior:
        assert resource["values"] == changes[resource["address"]]["change"]["before"]


def test_an_empty_state_has_no_prior_state_and_an_empty_stack_no_resources():
    assert "prior_state" not in plan_of(cluster("fresh"))
    empty = plan_of()
    assert empty["planned_values"] == {"root_module": {}} and empty["resource_changes"] == []
    assert (empty["applyable"], empty["complete"], empty["errored"]) == (False, True, False)


def test_the_fixtures_state_resources_have_the_same_keys():
    for f in sorted(TERRAFORM.glob("*.json")):
        doc = json.loads(f.read_text())
        resources = doc["planned_values"]["root_module"]["resources"] + (
            doc.get("prior_state", {}).get("values", {}).get("root_module", {}).get("resources", []))
        assert all(set(r) - {"index"} == TERRAFORM_STATE_RESOURCE for r in resources), f


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "demo.yaml").write_text("clusters:\n  nb:\n    instance_type: 1xH100\n")
    return tmp_path


def test_the_cli_prints_the_same_document_and_a_saved_plan_shows_it_again(workdir):
    env = cli_env(TPDECLARE_SANDBOX_PROVISION_SECONDS="0")
    printed = run_tp(workdir, "plan", "demo.yaml", "--json", "--engine", "sandbox", env=env)
    assert printed.returncode == 0, printed.stderr
    saved = run_tp(workdir, "plan", "demo.yaml", "--out", "demo.plan", "--engine", "sandbox", env=env)
    assert saved.returncode == 0, saved.stderr
    shown = run_tp(workdir, "show", "demo.plan", "--json", env=env)
    assert json.loads(shown.stdout) == json.loads(printed.stdout)
    doc = json.loads(printed.stdout)
    assert doc["resource_changes"][0]["change"]["actions"] == ["create"]
    assert render_json(make_plan(stack(cluster("nb", stack="demo")), None)) == render_json(
        make_plan(stack(cluster("nb", stack="demo")), None))


def test_a_replace_asked_for_has_no_replace_paths_and_a_create_no_reason():
    nb = cluster("nb")
    doc = plan_of(nb, cluster("fresh"), records=[record(nb, cluster_id="c-8")], replace=["nb"])
    by = by_address(doc)
    assert by["nb"]["action_reason"] == "replace_by_request" and "replace_paths" not in by["nb"]["change"]
    assert by["fresh"]["action_reason"] is None


def test_the_top_level_keeps_tpdeclares_keys_and_adds_only_terraforms():
    doc = plan_of(cluster("fresh"), records=[record(cluster("old"), cluster_id="c-1")])
    assert list(doc) == ["format_version", "stack", "state", "refreshed", "planned_values", "resource_changes",
                         "prior_state", "forget", "conflicts", "state_sync", "cost", "summary", "blocked",
                         "warnings", "applyable", "complete", "errored"]
    assert not {"configuration", "variables", "output_changes", "resource_drift", "terraform_version",
                "timestamp"} & set(doc)


def test_with_refresh_before_is_what_the_engine_reports_and_tpdeclares_own_reasons_show():
    nb, gone, pending = cluster("nb", container="img:1"), cluster("gone"), cluster("pending")
    seen = {"c-1": {"instance_type": "1xH100", "num_nodes": 1, "name": "demo-nb", "container": "img:9",
                    "deletion_protection": False}}
    doc = plan_of(nb, gone, pending, records=[record(nb, cluster_id="c-1"), record(gone, cluster_id="c-2"),
                                              record(pending, status=PENDING)], observed=seen)
    by = by_address(doc)
    assert by["nb"]["change"]["before"]["container"] == "img:9"  # drift: the engine's value
    assert by["nb"]["change"]["after"]["container"] == "img:1"
    assert by["gone"]["action_reason"] == "create_because_deleted_outside"
    assert by["gone"]["change"]["before"] is None  # nothing exists to read: Terraform's create
    assert by["pending"]["action_reason"] == "create_because_interrupted"
    assert [r["address"] for r in doc["prior_state"]["values"]["root_module"]["resources"]] == ["nb"]
