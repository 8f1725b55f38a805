"""End to end through the real CLI against the sandbox served over HTTP: the main job (issue 3).

The CLI runs in this process (run_tp) except where a process boundary is the point: standard input that is
not a terminal, a typed answer on a pseudo-terminal, and a state lock held by another process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from e2e_helpers import assert_no_traceback, run_cli, run_tp, write

SPEC = """
    # yaml-language-server: $schema=../specs/cluster.schema.json
    stack: research
    clusters:
      trainer:
        instance_type: 8xH200
        num_nodes: {nodes}
      notebook:
        instance_type: 1xH100
        name: {nb_name}
{extra}"""


def spec_text(nodes=1, nb_name="research-notebook", extra=""):
    return SPEC.format(nodes=nodes, nb_name=nb_name, extra=extra)


def mutating(stats: dict) -> int:
    return stats["mutating_requests"]


def state_ids(tmp_path, stack="research") -> dict:
    doc = json.loads((tmp_path / "state" / f"{stack}.json").read_text())
    return {addr: rec["cluster_id"] for addr, rec in doc["resources"].items()}


def assert_state_matches_engine(tmp_path, sandbox, stack="research"):
    doc = json.loads((tmp_path / "state" / f"{stack}.json").read_text())
    recorded = {rec["name"]: rec["cluster_id"] for rec in doc["resources"].values()}
    assert all(rec["status"] == "ready" for rec in doc["resources"].values())
    engine = {name: c["cluster_id"] for name, c in sandbox.by_name().items()}
    assert recorded == engine


def test_apply_then_no_changes_and_no_mutating_calls(tmp_path, sandbox, env):
    write(tmp_path / "cluster.yaml", spec_text())
    first = run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy." in first.stdout
    assert "trainer: Creating..." in first.stdout
    assert "trainer: Creation complete after" in first.stdout and "[id=c-" in first.stdout
    assert "Apply complete! Clusters: 2 added, 0 changed, 0 replaced, 0 destroyed." in first.stdout
    assert_state_matches_engine(tmp_path, sandbox)
    before = sandbox.stats()
    again = run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env)
    assert again.returncode == 0
    assert "No changes." in again.stdout
    assert mutating(sandbox.stats()) == mutating(before)
    assert sandbox.stats()["creates_accepted"] == 2


def test_replace_update_destroy_each_apply_and_agree(tmp_path, sandbox, env):
    spec = write(tmp_path / "cluster.yaml", spec_text())
    assert run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env).returncode == 0
    ids = state_ids(tmp_path)

    spec.write_text(spec.read_text().replace("num_nodes: 1", "num_nodes: 2"))
    plan = run_tp(tmp_path, "plan", "cluster.yaml", env=env)
    assert plan.returncode == 0, plan.stderr
    assert "# trainer must be replaced" in plan.stdout
    assert "~ num_nodes           = 1 -> 2 # forces replacement" in plan.stdout
    assert "Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy." in plan.stdout
    applied = run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert state_ids(tmp_path)["trainer"] != ids["trainer"]
    assert_state_matches_engine(tmp_path, sandbox)

    spec.write_text(spec.read_text().replace("name: research-notebook", "name: research-nb2"))
    plan = run_tp(tmp_path, "plan", "cluster.yaml", env=env)
    assert "# notebook will be updated in-place" in plan.stdout
    assert '~ name                = "research-notebook" -> "research-nb2"' in plan.stdout
    assert run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env).returncode == 0
    assert state_ids(tmp_path)["notebook"] == ids["notebook"]
    assert_state_matches_engine(tmp_path, sandbox)

    text = spec.read_text()
    spec.write_text(text[: text.index("  notebook:")])
    plan = run_tp(tmp_path, "plan", "cluster.yaml", env=env)
    assert "# notebook will be destroyed" in plan.stdout
    assert "Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy." in plan.stdout
    assert run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env).returncode == 0
    assert set(state_ids(tmp_path)) == {"trainer"}
    assert_state_matches_engine(tmp_path, sandbox)


def test_plan_json_has_the_design_shape(tmp_path, env):
    write(tmp_path / "cluster.yaml", spec_text())
    proc = run_tp(tmp_path, "plan", "cluster.yaml", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["format_version"] == "1.0"
    assert [rc["actions"] for rc in doc["resource_changes"]] == [["create"], ["create"]]
    assert doc["cost"]["after_hourly"] == pytest.approx(23.92 + 1.99)
    assert doc["summary"]["add"] == 2


def test_apply_in_a_process_without_a_terminal_refuses_instead_of_hanging(tmp_path, sandbox, env):
    write(tmp_path / "cluster.yaml", spec_text())
    proc = run_cli(tmp_path, "apply", "cluster.yaml", env=env)
    assert proc.returncode == 1
    assert "standard input is not a terminal" in proc.stderr and "--auto-approve" in proc.stderr
    assert mutating(sandbox.stats()) == 0
    assert not (tmp_path / "state" / "research.json").exists()


def test_typed_yes_is_required(tmp_path, sandbox, env):
    """Answer the prompt through a pseudo-terminal, as a person would."""
    pty = pytest.importorskip("pty")
    import os

    write(tmp_path / "cluster.yaml", spec_text())
    for answer, code in (("no", 1), ("yes", 0)):
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(tmp_path)
            os.execve(sys.executable, [sys.executable, "-m", "tpdeclare", "apply", "cluster.yaml"], env)
        out = b""
        sent = False
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not sent and b"Enter a value:" in out:
                os.write(fd, answer.encode() + b"\n")
                sent = True
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == code, out.decode()
        if answer == "no":
            assert b"apply cancelled; nothing was changed" in out
            assert mutating(sandbox.stats()) == 0
    assert len(sandbox.clusters()) == 2


def test_detailed_exitcode(tmp_path, sandbox, env):
    write(tmp_path / "cluster.yaml", spec_text())
    assert run_tp(tmp_path, "plan", "cluster.yaml", "--detailed-exitcode", env=env).returncode == 2
    assert run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env).returncode == 0
    assert run_tp(tmp_path, "plan", "cluster.yaml", "--detailed-exitcode", env=env).returncode == 0
    write(tmp_path / "broken.yaml", "clusters: [")
    assert run_tp(tmp_path, "plan", "broken.yaml", "--detailed-exitcode", env=env).returncode == 1


def test_destroy_removes_everything(tmp_path, sandbox, env):
    write(tmp_path / "cluster.yaml", spec_text())
    assert run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env).returncode == 0
    proc = run_tp(tmp_path, "destroy", "cluster.yaml", "--auto-approve", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Destroy complete! Clusters: 0 added, 0 changed, 0 replaced, 2 destroyed." in proc.stdout
    assert sandbox.clusters() == []
    assert state_ids(tmp_path) == {}


def test_protected_cluster_blocks_destroy_with_exit_3(tmp_path, sandbox, env):
    write(tmp_path / "cluster.yaml", spec_text(extra="        deletion_protection: true\n"))
    assert run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env).returncode == 0
    before = sandbox.stats()
    proc = run_tp(tmp_path, "destroy", "cluster.yaml", "--auto-approve", env=env)
    assert proc.returncode == 3
    assert "deletion protection is on" in proc.stderr and "deletion_protection: false" in proc.stderr
    assert mutating(sandbox.stats()) == mutating(before)


def test_state_list_and_show(tmp_path, sandbox, env):
    write(tmp_path / "cluster.yaml", spec_text())
    assert run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env).returncode == 0
    ids = state_ids(tmp_path)
    listing = run_tp(tmp_path, "state", "list", env=env)
    assert listing.returncode == 0
    assert f"trainer\t{ids['trainer']}\tready\tresearch-trainer" in listing.stdout
    shown = run_tp(tmp_path, "state", "show", "notebook", env=env)
    assert f'id                  = "{ids["notebook"]}"' in shown.stdout
    missing = run_tp(tmp_path, "state", "show", "nope", env=env)
    assert missing.returncode == 1 and "no cluster at address 'nope'" in missing.stderr
    show = run_tp(tmp_path, "show", "--json", "cluster.yaml", env=env)
    assert json.loads(show.stdout)["resources"]["trainer"]["cluster_id"] == ids["trainer"]


def test_a_second_apply_reports_the_lock_holder(tmp_path, sandbox, env):
    """The lock is held by another process, which lets go when the test says so (no timing window)."""
    write(tmp_path / "cluster.yaml", spec_text())
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\n"
         "from tpdeclare.state.local import LocalStateStore\n"
         "s = LocalStateStore(__import__('pathlib').Path('state/research.json'))\n"
         "with s.lock('tpdeclare apply (test holder)'):\n"
         "    print('locked', flush=True); sys.stdin.readline()\n"],
        cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    proc = run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", env=env)
    assert proc.returncode == 1
    assert "locked" in proc.stderr and f"pid {holder.pid}" in proc.stderr
    assert "tpdeclare apply (test holder)" in proc.stderr
    assert mutating(sandbox.stats()) == 0

    def release() -> None:
        holder.stdin.write("release\n")
        holder.stdin.close()

    releaser = threading.Timer(0.5, release)  # while the second apply below waits for the lock
    releaser.start()
    waited = run_tp(tmp_path, "apply", "cluster.yaml", "--auto-approve", "--lock-timeout", "30", env=env)
    releaser.join()
    holder.wait()
    holder.stdout.close()
    assert waited.returncode == 0, waited.stderr
    assert_state_matches_engine(tmp_path, sandbox)


@pytest.mark.parametrize(
    "content,needle",
    [
        (b'{"format_version": 1, "stack": "research", "lineage": "x", "seri', "truncated"),
        (b'{"format_version": 99, "stack": "research", "lineage": "x", "serial": 1, "resources": {}}\n', "newer"),
    ],
)
def test_bad_state_files_are_refused_and_left_untouched(tmp_path, sandbox, env, content, needle):
    write(tmp_path / "cluster.yaml", spec_text())
    path = tmp_path / "state" / "research.json"
    path.parent.mkdir()
    path.write_bytes(content)
    for args in (("plan", "cluster.yaml"), ("apply", "cluster.yaml", "--auto-approve")):
        proc = run_tp(tmp_path, *args, env=env)
        assert proc.returncode == 1
        assert needle in proc.stderr.lower(), proc.stderr
        assert_no_traceback(proc)
        assert path.read_bytes() == content
    assert mutating(sandbox.stats()) == 0
