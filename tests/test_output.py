"""`tpdeclare output` end to end over the sandbox served on 127.0.0.1: after apply, how to log in to a single
node and to a multi-node cluster's jumphost, for people, for `--json` and `--raw` scripts; what it does
before apply, for unknown names, and when the engine cannot be read."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tpdeclare.cluster_outputs import FIELD_NAMES

from e2e_helpers import REPO, TEST_KEY, ThreadedSandbox, assert_no_traceback, cli_env, run_tp, write

SPEC = """
    clusters:
      trainer:
        instance_type: 8xH200
        num_nodes: 2
      notebook:
        instance_type: 1xH100
    outputs:
      trainer_ssh: clusters.trainer.ssh_command
      trainer_id: clusters.trainer.cluster_id
      notebook_ip: clusters.notebook.public_ip
      worker_ips: clusters.trainer.private_ips
"""


@pytest.fixture
def applied(sandbox, env, tmp_path):
    """demo.yaml applied on the served sandbox; returns the sandbox's own view of the two clusters."""
    write(tmp_path / "demo.yaml", SPEC)
    done = run_tp(tmp_path, "apply", "--auto-approve", "demo.yaml", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return sandbox.by_name()


def _log_since(sandbox, seq):
    """The requests since `seq`, leaving out the engine's OpenAPI document (read once per run, by discovery)."""
    return [e for e in sandbox.get(f"/_sandbox/log?since={seq}")["entries"] if e["endpoint"] != "openapi"]


def _last_seq(sandbox):
    entries = sandbox.get("/_sandbox/log")["entries"]
    return entries[-1]["seq"] if entries else 0


def _output(tmp_path, env, *args):
    done = run_tp(tmp_path, "output", *args, env=env)
    assert_no_traceback(done)
    return done


def test_after_apply_it_shows_how_to_log_in_to_a_node_and_through_a_jumphost(applied, env, tmp_path):
    trainer, notebook = applied["demo-trainer"], applied["demo-notebook"]
    jump, w1, w2 = trainer["instances"]
    (node,) = notebook["instances"]
    done = _output(tmp_path, env, "demo.yaml")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "\n".join([
        'cluster "trainer"',
        f"  id         {trainer['cluster_id']}",
        "  name       demo-trainer",
        "  status     RUNNING (state: ready)",
        "  type       8xH200 × 2 nodes",
        "  cost       $47.84/hr",
        f"  instances  {jump['instance_id']}  jumphost  {jump['public_ip']:<{len(jump['public_ip'])}}  "
        f"{jump['private_ip']}",
        f"             {w1['instance_id']:<{len(jump['instance_id'])}}  node      "
        f"{'-':<{len(jump['public_ip'])}}  {w1['private_ip']}",
        f"             {w2['instance_id']:<{len(jump['instance_id'])}}  node      "
        f"{'-':<{len(jump['public_ip'])}}  {w2['private_ip']}",
        f"  ssh        ssh ubuntu@{jump['public_ip']}",
        "",
        'cluster "notebook"',
        f"  id         {notebook['cluster_id']}",
        "  name       demo-notebook",
        "  status     RUNNING (state: ready)",
        "  type       1xH100 × 1 node",
        "  cost       $1.99/hr",
        f"  instances  {node['instance_id']}  node  {node['public_ip']}  {node['private_ip']}",
        f"  ssh        ssh ubuntu@{node['public_ip']}",
        "",
        "Outputs:",
        "",
        f'trainer_ssh = "ssh ubuntu@{jump["public_ip"]}"',
        f'trainer_id  = "{trainer["cluster_id"]}"',
        f'notebook_ip = "{node["public_ip"]}"',
        f'worker_ips  = ["{w1["private_ip"]}", "{w2["private_ip"]}"]',
    ]) + "\n"


def test_json_and_raw_work_from_a_script(applied, sandbox, tmp_path):
    """A shell script, as a training job's CI would write it, reading `--raw` and `--json` in subprocesses."""
    script = write(tmp_path / "connect.sh", f"""
        #!/bin/sh
        set -e
        ssh_cmd=$(tpdeclare output demo.yaml trainer_ssh --raw)
        cluster=$(tpdeclare output demo.yaml --json | "{sys.executable}" -c \\
            'import json, sys; print(json.load(sys.stdin)["outputs"]["trainer_id"]["value"])')
        ip=$(tpdeclare output demo.yaml clusters.notebook.public_ip --raw)
        tpdeclare output demo.yaml worker_ips --raw > workers.txt
        echo "$cluster|$ssh_cmd|$ip"
    """)
    env = cli_env(sandbox)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["sh", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    trainer, notebook = applied["demo-trainer"], applied["demo-notebook"]
    jump = trainer["instances"][0]
    assert done.stdout == (f"{trainer['cluster_id']}|ssh ubuntu@{jump['public_ip']}|"
                           f"{notebook['instances'][0]['public_ip']}\n")
    assert (tmp_path / "workers.txt").read_text() == "\n".join(i["private_ip"] for i in trainer["instances"][1:])


def test_the_json_document_has_the_documented_shape(applied, env, tmp_path):
    doc = json.loads(_output(tmp_path, env, "demo.yaml", "--json").stdout)
    assert list(doc) == ["format_version", "stack", "engine", "clusters", "outputs"]
    assert (doc["format_version"], doc["stack"], doc["engine"]) == ("1.0", "demo", {"read": True, "problem": None})
    assert list(doc["clusters"]) == ["trainer", "notebook"]
    trainer = doc["clusters"]["trainer"]
    assert list(trainer) == ["address", "declared", *FIELD_NAMES, "instances", "notes"]
    seen = applied["demo-trainer"]
    jump = seen["instances"][0]
    assert trainer == {
        "address": "trainer", "declared": True, "cluster_id": seen["cluster_id"], "name": "demo-trainer",
        "status": "RUNNING", "record_status": "ready", "instance_type": "8xH200", "num_nodes": 2,
        "hourly_cost": 47.84, "instance_ids": [i["instance_id"] for i in seen["instances"][1:]],
        "login_instance_id": jump["instance_id"], "public_ip": jump["public_ip"],
        "private_ips": [i["private_ip"] for i in seen["instances"][1:]],
        "ssh_command": f"ssh ubuntu@{jump['public_ip']}",
        "instances": [{"instance_id": i["instance_id"], "role": "jumphost" if n == 0 else "node",
                       "public_ip": i["public_ip"], "private_ip": i["private_ip"]}
                      for n, i in enumerate(seen["instances"])],
        "notes": [],
    }
    assert doc["outputs"]["trainer_ssh"] == {"reference": "clusters.trainer.ssh_command",
                                             "value": f"ssh ubuntu@{jump['public_ip']}"}
    assert list(doc["outputs"]) == ["trainer_ssh", "trainer_id", "notebook_ip", "worker_ips"]
    one = json.loads(_output(tmp_path, env, "demo.yaml", "trainer", "--json").stdout)
    assert one == trainer
    assert json.loads(_output(tmp_path, env, "demo.yaml", "worker_ips", "--json").stdout) == trainer["private_ips"]


def test_it_reads_the_engine_once_and_asks_ssh_only_for_login_nodes(applied, sandbox, env, tmp_path):
    seq = _last_seq(sandbox)
    _output(tmp_path, env, "demo.yaml")
    endpoints = [(e["endpoint"], e["path"]) for e in _log_since(sandbox, seq)]
    trainer, notebook = applied["demo-trainer"], applied["demo-notebook"]
    assert endpoints == [("list", "/cluster/list"), ("ssh", f"/ssh/{trainer['cluster_id']}-jumphost"),
                         ("ssh", f"/ssh/{notebook['instances'][0]['instance_id']}")]
    seq = _last_seq(sandbox)
    _output(tmp_path, env, "demo.yaml", "notebook")
    assert [e["endpoint"] for e in _log_since(sandbox, seq)] == ["info", "ssh"]
    seq = _last_seq(sandbox)
    _output(tmp_path, env, "demo.yaml", "notebook_ip", "--raw")
    assert [e["endpoint"] for e in _log_since(sandbox, seq)] == ["info"]  # no SSH command wanted
    seq = _last_seq(sandbox)
    assert _output(tmp_path, env, "demo.yaml", "trainer_id", "--raw").stdout == trainer["cluster_id"]
    assert _log_since(sandbox, seq) == []  # the state knows it: the engine is not asked


def test_before_apply_the_outputs_are_known_after_apply(sandbox, env, tmp_path):
    write(tmp_path / "demo.yaml", SPEC)
    done = _output(tmp_path, env, "demo.yaml")
    assert done.returncode == 0
    assert done.stdout == "\n".join([
        'cluster "trainer": not created yet; its outputs will be known after apply (`tpdeclare apply`)',
        "",
        'cluster "notebook": not created yet; its outputs will be known after apply (`tpdeclare apply`)',
        "",
        "Outputs:",
        "",
        "trainer_ssh = (known after apply)",
        "trainer_id  = (known after apply)",
        "notebook_ip = (known after apply)",
        "worker_ips  = (known after apply)",
    ]) + "\n"
    doc = json.loads(_output(tmp_path, env, "demo.yaml", "--json").stdout)
    assert doc["engine"] == {"read": False, "problem": None}
    assert doc["clusters"]["trainer"]["record_status"] is None and doc["outputs"]["trainer_id"]["value"] is None
    for asked in ("trainer", "trainer_ssh", "clusters.notebook.cluster_id"):
        done = _output(tmp_path, env, "demo.yaml", asked, "--raw" if asked != "trainer" else "--json")
        assert done.returncode == 1 and done.stdout == ""
        assert "has not been created yet: its outputs are known after apply" in done.stderr
    assert sandbox.stats()["requests"] == {}  # nothing was recorded, so nothing was asked


@pytest.mark.parametrize("words, error", [
    (["trainr"], "Error: no output or cluster 'trainr' in stack 'demo'; did you mean 'trainer'?"),
    (["trainer_sh"], "Error: no output or cluster 'trainer_sh' in stack 'demo'; did you mean 'trainer_ssh'?"),
    (["gpu"], "Error: no output or cluster 'gpu' in stack 'demo'\n  hint: outputs and addresses: trainer_ssh, "
              "trainer_id, notebook_ip, worker_ips, notebook, trainer"),
    (["clusters.trainr.cluster_id"], "Error: no cluster 'trainr' in this stack; did you mean 'trainer'?"),
    (["clusters.trainer.ssh_comand"], "Error: a cluster has no output 'ssh_comand'; did you mean 'ssh_command'?"),
    (["clusters.trainer"], "Error: `clusters.trainer` is not a reference"),
    (["trainer", "notebook"], "Error: `output` takes one name, address or reference, not 2: trainer, notebook"),
    (["trainer", "--raw"], "Error: --raw prints one value: name an output of the spec, or a reference such as "
                           "clusters.trainer.ssh_command"),
    (["--raw"], "Error: --raw prints one value"),
])
def test_an_unknown_name_address_or_reference_exits_1_with_did_you_mean(applied, env, tmp_path, words, error):
    done = _output(tmp_path, env, "demo.yaml", *words)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(error), done.stderr


def test_without_a_spec_the_state_alone_is_read(applied, env, tmp_path):
    done = _output(tmp_path, env, "notebook")
    assert done.returncode == 0 and 'cluster "notebook"' in done.stdout and "ssh ubuntu@" in done.stdout
    doc = json.loads(_output(tmp_path, env, "--json").stdout)
    assert list(doc["clusters"]) == ["notebook", "trainer"] and doc["outputs"] == {}
    assert doc["clusters"]["trainer"]["declared"] is None
    done = _output(tmp_path, env, "trainer_ssh")
    assert done.returncode == 1 and "the spec's `outputs:` need the spec argument" in done.stderr
    assert _output(tmp_path, env, "clusters.trainer.cluster_id", "--raw").stdout.startswith("c-")


@pytest.mark.parametrize("how", ["faults", "no key", "other engine"])
def test_when_the_engine_cannot_be_read_the_state_is_shown_and_said_so(applied, sandbox, env, tmp_path, how):
    trainer = applied["demo-trainer"]
    if how == "faults":
        assert sandbox.post("/_sandbox/faults", {"spec": "list:500=1;info:500=1"}).status_code == 200
        problem = "GET /cluster/list failed with HTTP 500"
        one = f"GET /cluster/info/{trainer['cluster_id']} failed with HTTP 500"  # one cluster: one info call
    elif how == "no key":
        env = {k: v for k, v in env.items() if k != "TENSORPOOL_KEY"}
        problem = one = "no API key: set TENSORPOOL_KEY"
    else:
        env = dict(env, TENSORPOOL_ENGINE="sandbox")
        problem = one = f"the state records clusters on engine {sandbox.url}, but this run uses sandbox"
    done = _output(tmp_path, env, "demo.yaml")
    assert done.returncode == 0
    assert done.stderr.startswith(f"Warning: the engine was not read: {problem}")
    assert "Shown from the state alone: status, IP addresses and SSH commands are unknown." in done.stderr
    assert f"  id         {trainer['cluster_id']}" in done.stdout
    assert "  status     ready (as the state records it; the engine was not read)" in done.stdout
    assert f"  ssh        unknown (log in to {trainer['cluster_id']}-jumphost)" in done.stdout
    assert "trainer_ssh = null" in done.stdout
    doc = json.loads(_output(tmp_path, env, "demo.yaml", "--json").stdout)
    assert doc["engine"]["read"] is False and doc["engine"]["problem"].startswith(problem)
    assert doc["clusters"]["trainer"]["ssh_command"] is None
    assert doc["clusters"]["trainer"]["login_instance_id"] == f"{trainer['cluster_id']}-jumphost"
    raw = _output(tmp_path, env, "demo.yaml", "trainer_ssh", "--raw")
    assert raw.returncode == 1 and raw.stdout == ""
    assert f"Error: clusters.trainer.ssh_command has no value: {one}" in raw.stderr
    ok = _output(tmp_path, env, "demo.yaml", "trainer_id", "--raw")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, trainer["cluster_id"], "")


def test_a_cluster_that_is_not_running_or_gone_has_no_ssh_command(tmp_path):
    sandbox = ThreadedSandbox("--destroy-seconds", "600")
    try:
        env = cli_env(sandbox)
        write(tmp_path / "demo.yaml", SPEC)
        assert run_tp(tmp_path, "apply", "--auto-approve", "demo.yaml", env=env).returncode == 0
        clusters = sandbox.by_name()
        assert sandbox.delete(clusters["demo-trainer"]["cluster_id"]).status_code == 202
        doc = json.loads(_output(tmp_path, env, "demo.yaml", "--json").stdout)
        trainer = doc["clusters"]["trainer"]
        assert (trainer["status"], trainer["ssh_command"]) == ("DESTROYING", None)
        assert trainer["notes"] == ["the cluster is DESTROYING: its SSH command is known once it is RUNNING"]
        assert doc["clusters"]["notebook"]["ssh_command"].startswith("ssh ubuntu@")
    finally:
        sandbox.stop()


def test_a_cluster_gone_behind_tpdeclares_back_is_said_so(applied, sandbox, env, tmp_path):
    trainer = applied["demo-trainer"]
    assert sandbox.delete(trainer["cluster_id"]).status_code == 202  # the threaded sandbox destroys at once
    done = _output(tmp_path, env, "demo.yaml", "trainer")
    assert done.returncode == 0
    assert "  status     unknown to the engine (state: ready)" in done.stdout
    assert ("  # the engine does not show this cluster (destroyed outside tpdeclare? `tpdeclare plan --refresh` "
            "checks)") in done.stdout


def test_a_recorded_cluster_no_longer_in_the_spec_is_shown_as_such(applied, env, tmp_path):
    write(tmp_path / "demo.yaml", "clusters:\n  notebook:\n    instance_type: 1xH100\n")
    done = _output(tmp_path, env, "demo.yaml")
    assert 'cluster "trainer"  # not in the spec any more: the next apply destroys it' in done.stdout
    doc = json.loads(_output(tmp_path, env, "demo.yaml", "--json").stdout)
    assert (doc["clusters"]["notebook"]["declared"], doc["clusters"]["trainer"]["declared"]) == (True, False)


def test_nothing_secret_is_printed_even_verbose(applied, env, tmp_path):
    for args in (["demo.yaml"], ["demo.yaml", "--json"], ["demo.yaml", "trainer_ssh", "--raw"]):
        done = _output(tmp_path, env, "-v", *args)
        assert done.returncode == 0
        assert TEST_KEY not in done.stdout + done.stderr


def test_the_in_process_sandbox_works_too(tmp_path):
    env = cli_env(None, TENSORPOOL_ENGINE="sandbox")
    write(tmp_path / "one.yaml",
          "clusters:\n  box:\n    instance_type: 1xH100\noutputs:\n  ssh: clusters.box.ssh_command\n")
    assert run_tp(tmp_path, "apply", "--auto-approve", "one.yaml", env=env).returncode == 0
    done = _output(tmp_path, env, "one.yaml", "ssh", "--raw")
    assert done.returncode == 0 and done.stdout.startswith("ssh ubuntu@") and "\n" not in done.stdout


def _normalised(text: str) -> str:
    text = re.sub(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "IP", text)
    text = re.sub(r"\bc-[0-9a-f]{8}\b", "CID", text)
    text = re.sub(r"\bi-[0-9a-f]{8}\b", "IID", text)
    return re.sub(r" +", " ", text)


def test_the_readmes_session_is_what_output_prints(tmp_path):
    """README "Connecting to your clusters": the example's apply, then `output`, on the in-process sandbox."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Connecting to your clusters", 1)[1]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    shown = block.split("$ tpdeclare output examples/multi-node.yaml\n", 1)[1].split("\n$ ", 1)[0]
    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / "examples" / "multi-node.yaml", tmp_path / "examples" / "multi-node.yaml")
    env = cli_env(None, TENSORPOOL_ENGINE="sandbox", TPDECLARE_SANDBOX_PROVISION_SECONDS="0")
    assert run_tp(tmp_path, "apply", "--auto-approve", "examples/multi-node.yaml", env=env).returncode == 0
    done = _output(tmp_path, env, "examples/multi-node.yaml")
    assert _normalised(done.stdout) == _normalised(shown + "\n")
    raw = _output(tmp_path, env, "examples/multi-node.yaml", "trainer_ssh", "--raw").stdout
    assert re.fullmatch(r"ssh ubuntu@[0-9.]+", raw)
