"""The fixes a damaged state's error names really work (issue 9.4): `state rm ADDR` forgets a damaged record
without touching its cluster, and nothing before that acts on it."""

from __future__ import annotations

import json

from e2e_helpers import ThreadedSandbox, cli_env, run_tp, write
from hardening_checks import check_refused, digest

SPEC = "stack: rep\nclusters:\n  a:\n    instance_type: 1xH100\n  b:\n    instance_type: 1xH100\n"


def test_state_rm_forgets_a_damaged_record_and_nothing_else(tmp_path):
    sandbox = ThreadedSandbox()
    try:
        write(tmp_path / "rep.yaml", SPEC)
        env = cli_env(sandbox)
        assert run_tp(tmp_path, "apply", "rep.yaml", "--auto-approve", env=env).returncode == 0
        path = tmp_path / "state" / "rep.json"
        doc = json.loads(path.read_text())
        doc["resources"]["a"]["spec"]["num_nodes"] = "2"  # hand-damaged: a string where a number belongs
        path.write_text(json.dumps(doc))
        before = digest(path)
        plan = run_tp(tmp_path, "apply", "rep.yaml", "--auto-approve", env=env)
        check_refused(plan, code=1, words=("resources.a.spec.num_nodes", "tpdeclare state rm a"), root=tmp_path,
                      state=path, state_digest=before)
        assert sandbox.stats()["creates_accepted"] == 2 and len(sandbox.clusters()) == 2  # nothing acted on it
        rm = run_tp(tmp_path, "state", "rm", "a", env=env)
        assert rm.returncode == 0, rm.stderr
        assert "Removed a (its damaged record) from state" in rm.stdout
        after = json.loads(path.read_text())
        assert set(after["resources"]) == {"b"} and after["resources"]["b"] == doc["resources"]["b"]
        assert len(sandbox.clusters()) == 2  # the cluster itself is untouched
        orphans = run_tp(tmp_path, "orphans", "rep.yaml", env=env)
        assert orphans.returncode == 2 and "rep-a" in orphans.stdout
    finally:
        sandbox.stop()


def test_state_rm_of_an_address_that_is_not_recorded_is_an_error_on_a_damaged_state_too(tmp_path):
    sandbox = ThreadedSandbox()
    try:
        write(tmp_path / "rep.yaml", SPEC)
        env = cli_env(sandbox)
        assert run_tp(tmp_path, "apply", "rep.yaml", "--auto-approve", env=env).returncode == 0
        path = tmp_path / "state" / "rep.json"
        doc = json.loads(path.read_text())
        doc["resources"]["a"]["status"] = "zombie"
        path.write_text(json.dumps(doc))
        before = digest(path)
        rm = run_tp(tmp_path, "state", "rm", "b", env=env)  # the damage is at a, not at b: still refused
        check_refused(rm, code=1, words=("resources.a.status",), root=tmp_path, state=path, state_digest=before)
    finally:
        sandbox.stop()
