"""`plan --digest`: a hash of the changes, the cost and the state serial; stable across runs, clocks and machines."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tpdeclare.plan.codec import decode_plan, encode_plan
from tpdeclare.plan.digest import digest_document, plan_digest
from tpdeclare.plan.planner import make_plan
from tpdeclare.spec.model import Lifetime, SourceRef

from e2e_helpers import assert_no_traceback, cli_env, run_cli, run_tp, write
from plan_helpers import cluster, record, stack, state

NOW = datetime(2026, 11, 26, 20, 0, 0, tzinfo=UTC)
DIGEST = re.compile(r"^Plan digest: (sha256:[0-9a-f]{64})$", re.MULTILINE)


def plan_of(clusters, records=(), serial=3, now=NOW, **kw):
    return make_plan(stack(*clusters), state(*records, serial=serial), now=now, **kw)


A = cluster("a", lifetime=Lifetime(expires_after=12 * 3600, warn_before=3600))  # created 10:00, ends 22:00
B = cluster("b", instance_type="8xH200", num_nodes=2)
RECORDS = (record(A, cluster_id="c-0000000a"),)


# ---- the digest itself ------------------------------------------------------------------------------
def test_the_digest_is_sha256_of_canonical_json():
    digest = plan_digest(plan_of([A, B], RECORDS))
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert digest == plan_digest(plan_of([A, B], RECORDS))


def test_the_clock_does_not_change_it():
    # A's lifetime (12h from 10:00) is counted from the plan's clock: seconds left and spend differ, apply does not.
    early, late = plan_of([A, B], RECORDS, now=NOW - timedelta(hours=3)), plan_of([A, B], RECORDS)
    assert early.now != late.now
    assert early.change("a").expiry.seconds_left != late.change("a").expiry.seconds_left
    assert plan_digest(early) == plan_digest(late)


def test_where_a_cluster_is_declared_and_the_spec_paths_do_not_change_it():
    moved = replace(B, source=SourceRef("/elsewhere/on/another/machine.yaml", 40, 3))
    one, two = plan_of([A, B], RECORDS), plan_of([A, moved], RECORDS)
    assert plan_digest(one) == plan_digest(replace(two, spec_files=("/some/other/path",), warnings=("hi",)))


@pytest.mark.parametrize("change", [
    "another cluster", "another instance type", "another node count", "the state serial", "the state lineage",
    "another price", "a cluster expired", "a destroy",
])
def test_every_change_of_resources_cost_or_state_changes_it(change):
    base = plan_digest(plan_of([A, B], RECORDS))
    if change == "another cluster":
        other = plan_of([A, B, cluster("c")], RECORDS)
    elif change == "another instance type":
        other = plan_of([A, replace(B, instance_type="8xH100")], RECORDS)
    elif change == "another node count":
        other = plan_of([A, replace(B, num_nodes=3)], RECORDS)
    elif change == "the state serial":
        other = plan_of([A, B], RECORDS, serial=4)
    elif change == "the state lineage":
        other = replace(plan_of([A, B], RECORDS), state_lineage="99999999-2222-3333-4444-555555555555")
    elif change == "another price":
        other = plan_of([A, B], RECORDS, prices={"8xH200": 1.0})
    elif change == "a cluster expired":
        other = plan_of([A, B], RECORDS, now=NOW + timedelta(days=1))  # A's lifetime ended: destroyed
        assert other.change("a").action.name == "DELETE"
    else:
        other = plan_of([B], RECORDS)
    assert plan_digest(other) != base


def test_a_saved_plan_has_the_digest_of_the_plan_it_saved():
    plan = plan_of([A, B], RECORDS)
    assert plan_digest(decode_plan(json.loads(json.dumps(encode_plan(plan))))) == plan_digest(plan)


def test_nothing_time_or_path_shaped_is_hashed():
    text = json.dumps(digest_document(plan_of([A, B], RECORDS)))
    assert "2026-11-26T20" not in text and "seconds_left" not in text and "source" not in text


# ---- through the CLI --------------------------------------------------------------------------------
SPEC = """
    # yaml-language-server: $schema=../specs/cluster.schema.json
    stack: team
    clusters:
      trainer:
        instance_type: 8xH200
        num_nodes: 1
        lifetime: {expires_after: 8h}
      notebook:
        instance_type: 1xH100
"""


def digest_of(proc) -> str:
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr
    assert_no_traceback(proc)
    found = DIGEST.findall(proc.stdout)
    assert len(found) == 1 and proc.stdout.rstrip("\n").endswith(found[0]), proc.stdout
    return found[0]


def test_the_same_spec_and_state_give_the_same_digest_in_every_process_format_and_place(tmp_path, sandbox, env):
    a, b = tmp_path / "runner-a", tmp_path / "runner-b"
    write(a / "team" / "team.yaml", SPEC)
    write(b / "checkout" / "team" / "team.yaml", SPEC)
    state_file = str(tmp_path / "team.json")
    ok = run_tp(a, "apply", "team", "--state", state_file, "--auto-approve", env=env)
    assert ok.returncode == 0, ok.stderr
    changed = SPEC.replace("num_nodes: 1", "num_nodes: 2")
    write(a / "team" / "team.yaml", changed)
    write(b / "checkout" / "team" / "team.yaml", changed)
    digests = {
        digest_of(run_cli(a, "plan", "team", "--state", state_file, "--digest",
                          env={**env, "PYTHONHASHSEED": "1", "TPDECLARE_NOW": "2026-12-01T10:00:00Z"})),
        digest_of(run_cli(b, "plan", "checkout/team/", "--state", state_file, "--digest", "--refresh",
                          env={**env, "PYTHONHASHSEED": "2", "TPDECLARE_NOW": "2026-12-01T14:30:00Z"})),
        digest_of(run_tp(b, "plan", str(b / "checkout" / "team" / "team.yaml"), "--state", state_file,
                         "--digest", "--markdown", "--detailed-exitcode", env=env)),
        digest_of(run_tp(a, "plan", "team", "--state", state_file, "--digest", "--summary", env=env)),
    }
    as_json = run_tp(a, "plan", "team", "--state", state_file, "--digest", "--json", env=env)
    doc = json.loads(as_json.stdout)
    assert list(doc)[:2] == ["format_version", "digest"]
    assert digests == {doc["digest"]}


def test_a_change_of_spec_or_state_serial_changes_the_cli_digest(tmp_path, sandbox, env):
    spec = write(tmp_path / "team.yaml", SPEC)
    first = digest_of(run_tp(tmp_path, "plan", "team.yaml", "--digest", env=env))
    spec.write_text(spec.read_text().replace("1xH100", "1xL40S"))
    second = digest_of(run_tp(tmp_path, "plan", "team.yaml", "--digest", env=env))
    assert first != second
    assert run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=env).returncode == 0
    after_apply = digest_of(run_tp(tmp_path, "plan", "team.yaml", "--digest", env=env))  # no changes, serial 1
    assert run_tp(tmp_path, "refresh", "team.yaml", "--auto-approve", env=env).returncode == 0
    state = json.loads((tmp_path / "state" / "team.json").read_text())
    serial = state["serial"]
    state["serial"] = serial + 1
    (tmp_path / "state" / "team.json").write_text(json.dumps(state))
    bumped = digest_of(run_tp(tmp_path, "plan", "team.yaml", "--digest", env=env))
    assert len({first, second, after_apply, bumped}) == 4


def test_without_the_flag_no_digest_is_printed(tmp_path):
    write(tmp_path / "team.yaml", SPEC)
    proc = run_tp(tmp_path, "plan", "team.yaml", "--engine", "sandbox", "--json", env=cli_env())
    assert "digest" not in json.loads(proc.stdout)
    text = run_tp(tmp_path, "plan", "team.yaml", "--engine", "sandbox", env=cli_env())
    assert "Plan digest" not in text.stdout


def test_with_out_the_digest_is_still_the_last_line(tmp_path, sandbox, env):
    write(tmp_path / "team.yaml", SPEC)
    saved = run_tp(tmp_path, "plan", "team.yaml", "--digest", "--out", "team.plan", env=env)
    digest = digest_of(saved)
    assert "Saved the plan to team.plan" in saved.stdout
    assert digest == digest_of(run_tp(tmp_path, "plan", "team.yaml", "--digest", env=env))


def test_every_storage_decision_changes_it_and_a_stack_without_storage_hashes_as_before():
    from tpdeclare.spec.model import VolumeSpec

    base = plan_of([cluster("a")])
    assert "storage" not in digest_document(base)
    trainer = cluster("trainer", "8xH200", num_nodes=2, storage=("data",))
    alone = cluster("trainer", "8xH200", num_nodes=2)

    def with_storage(size=500, attached=True, name="demo-data", src=None):
        return make_plan(stack(trainer if attached else alone, volumes={"data": VolumeSpec("data", size, name,
                                                                                          source=src)}), None)

    digests = {plan_digest(p) for p in (with_storage(), with_storage(size=600), with_storage(attached=False),
                                        with_storage(name="other"))}
    assert len(digests) == 4
    # where a volume is declared is not hashed, as for a cluster
    assert plan_digest(with_storage(src=SourceRef("a.yaml", 3, 5))) == plan_digest(with_storage(src=SourceRef(
        "b.yaml", 9, 1)))
