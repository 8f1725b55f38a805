"""Issue 9.10 through the CLI: names and addresses. A rename written as destroy + create is refused with the
moved: block that fixes it; with refresh, a create whose name an unmanaged cluster holds is refused with the
import hint; a run with no state beside clusters named like the stack's says so; different stacks are never
merged. In every refusal nothing is created or destroyed and the state is byte-identical."""

from __future__ import annotations

import pytest

from e2e_helpers import ThreadedSandbox, cli_env, run_tp, write
from hardening_checks import check_refused, digest

ONE = "stack: lab\nclusters:\n  {addr}:\n    instance_type: 1xH100\n    name: {name}\n"


@pytest.fixture
def sandbox():
    sb = ThreadedSandbox()
    yield sb
    sb.stop()


def _apply(tmp_path, sandbox, *extra):
    return run_tp(tmp_path, "apply", "lab.yaml", "--auto-approve", *extra, env=cli_env(sandbox))


@pytest.mark.parametrize("name", ["lab-trainer", "shared-name"])
def test_renaming_an_address_but_keeping_its_cluster_name_is_refused_with_the_moved_block(tmp_path, sandbox, name):
    write(tmp_path / "lab.yaml", ONE.format(addr="old", name=name))
    assert _apply(tmp_path, sandbox).returncode == 0
    cid = sandbox.by_name()[name]["cluster_id"]
    write(tmp_path / "lab.yaml", ONE.format(addr="trainer", name=name))
    state = tmp_path / "state" / "lab.json"
    before = digest(state)
    for command in (("plan", "lab.yaml"), ("apply", "lab.yaml", "--auto-approve")):
        proc = run_tp(tmp_path, *command, env=cli_env(sandbox))
        check_refused(proc, code=3, words=(f"rename: the plan destroys 'old' and creates 'trainer' under the same "
                                           f"cluster name '{name}'", "- {from: old, to: trainer}"),
                      root=tmp_path, state=state, state_digest=before)
    assert [c["cluster_id"] for c in sandbox.clusters()] == [cid]  # nothing destroyed, nothing created
    # the fix the refusal gave works: a move, the same cluster, no change on the engine
    write(tmp_path / "lab.yaml", ONE.format(addr="trainer", name=name) + "moved:\n  - {from: old, to: trainer}\n")
    moved = _apply(tmp_path, sandbox)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert [c["cluster_id"] for c in sandbox.clusters()] == [cid]
    assert "No changes." in run_tp(tmp_path, "plan", "lab.yaml", env=cli_env(sandbox)).stdout


@pytest.mark.parametrize("command", [("apply", "lab.yaml", "--auto-approve"), ("plan", "lab.yaml", "--refresh")])
def test_a_create_under_a_name_an_unmanaged_cluster_holds_is_refused_before_any_change(tmp_path, sandbox,
                                                                                      command):
    stranger = sandbox.post("/cluster/create", {"instance_type": "1xH100", "tp_cluster_name": "lab-nb"}).json()
    write(tmp_path / "lab.yaml", ONE.format(addr="nb", name="lab-nb") + "  keep:\n    instance_type: 1xH100\n")
    before = sandbox.stats()["creates_accepted"]
    proc = run_tp(tmp_path, *command, env=cli_env(sandbox))
    check_refused(proc, code=1, words=(f"the cluster name 'lab-nb' is already taken on the engine by "
                                       f"{stranger['cluster_id']}", f"`tpdeclare import nb {stranger['cluster_id']} "
                                       f"lab.yaml`", "nothing was changed"),
                  root=tmp_path, state=tmp_path / "state" / "lab.json", state_digest=None)
    assert sandbox.stats()["creates_accepted"] == before  # not even the other, unconflicted cluster


def test_a_run_from_another_directory_says_the_engine_has_the_stacks_clusters(tmp_path, sandbox):
    first, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    write(first / "lab.yaml", ONE.format(addr="a", name="lab-a") + "  b:\n    instance_type: 1xH100\n")
    assert run_tp(first, "apply", "lab.yaml", "--auto-approve", env=cli_env(sandbox)).returncode == 0
    write(elsewhere / "lab.yaml", (first / "lab.yaml").read_text())
    proc = run_tp(elsewhere, "plan", "lab.yaml", "--refresh", env=cli_env(sandbox))
    assert f"{elsewhere / 'state' / 'lab.json'} not found, but lab-a, lab-b exist on the engine" in proc.stderr
    assert "--state PATH" in proc.stderr and "tpdeclare import" in proc.stderr
    assert proc.returncode == 1 and not (elsewhere / "state" / "lab.json").exists()


def test_spec_files_of_different_stacks_are_never_merged(tmp_path, sandbox):
    write(tmp_path / "prod.yaml", "stack: prod\nclusters:\n  a:\n    instance_type: 1xH100\n")
    write(tmp_path / "staging.yaml", "stack: staging\nclusters:\n  b:\n    instance_type: 1xH100\n")
    proc = run_tp(tmp_path, "apply", "prod.yaml", "staging.yaml", "--auto-approve", env=cli_env(sandbox))
    check_refused(proc, code=1, words=("prod.yaml names stack 'prod'", "staging.yaml names stack 'staging'"),
                  root=tmp_path)
    assert not (tmp_path / "state").exists() and sandbox.stats()["creates_accepted"] == 0
