"""The official TensorPool CLI (`pip install tensorpool==0.0.9`, command `tp`) works against `tpdeclare sandbox
serve` in the default dialect: create --wait, list, info, a refused and an accepted destroy, edit, errors, and
`tp ssh` (run with a stand-in `ssh` on PATH, so nothing connects anywhere).

The CLI lives in its own venv (tests/real_tools.py: official_cli), made once from PyPI under the user's cache
directory and reused.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from e2e_helpers import ServedSandbox
from real_tools import official_cli

KEY = "tp-official-cli-key-42"


@pytest.fixture(scope="module")
def tp() -> Path:
    """The `tp` command of tensorpool 0.0.9, installed on first use."""
    return official_cli()


@pytest.fixture
def served():
    sandbox = ServedSandbox(provision_seconds=0.5, key=KEY)
    yield sandbox
    sandbox.stop()


def _tp(tp: Path, served: ServedSandbox, cwd: Path, *args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "TENSORPOOL_ENGINE": served.url,
           "TENSORPOOL_KEY": key, "NO_COLOR": "1"}
    return subprocess.run([str(tp), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_the_official_cli_drives_a_cluster_through_its_life(tp, served, tmp_path):
    run = lambda *args, **kw: _tp(tp, served, tmp_path, *args, **kw)  # noqa: E731

    created = run("cluster", "create", "8xH200", "-n", "2", "--name", "cli-a", "--deletion-protection", "--wait")
    assert created.returncode == 0, created.stdout + created.stderr
    m = re.search(r"Cluster (c-[0-9a-f]{8}) \(cli-a\) is ready", created.stdout)
    assert m, created.stdout
    cid = m.group(1)

    listing = run("cluster", "list")
    assert listing.returncode == 0
    assert re.search(rf"^{cid}\s+cli-a\s+8xH200\s+2\s+RUNNING\s+yes\s", listing.stdout, re.M), listing.stdout

    info = run("cluster", "info", cid)
    assert info.returncode == 0 and "8xH200 x 2 nodes" in info.stdout and "running" in info.stdout

    refused = run("cluster", "destroy", cid, "--no-input", "--wait")
    assert refused.returncode == 1 and "deletion protection enabled" in refused.stdout

    edited = run("cluster", "edit", cid, "--name", "cli-b", "--deletion-protection", "false")
    assert edited.returncode == 0 and "name 'cli-a' -> 'cli-b', deletion protection off" in edited.stdout

    destroyed = run("cluster", "destroy", cid, "--no-input", "--wait")
    assert destroyed.returncode == 0 and f"Cluster {cid} (cli-b) was destroyed" in destroyed.stdout
    assert "No clusters found." in run("cluster", "list").stdout

    stats = served.stats()
    assert (stats["creates_accepted"], stats["edits_accepted"], stats["deletes_accepted"]) == (1, 1, 1)
    assert stats["requests"]["health"] == {"200": 7}  # the CLI checks health before every command
    assert set(stats["requests"]["delete"]) == {"202", "409"}


def test_the_official_cli_shows_the_sandboxs_errors(tp, served, tmp_path):
    wrong = _tp(tp, served, tmp_path, "cluster", "list", key="tp-wrong-key")
    assert wrong.returncode == 1 and "Invalid or missing API key" in wrong.stdout
    missing = _tp(tp, served, tmp_path, "cluster", "info", "c-00000000")
    assert missing.returncode == 1 and "Cluster c-00000000 not found" in missing.stdout
    bad_type = _tp(tp, served, tmp_path, "cluster", "create", "9xZ900", "--name", "x")
    assert bad_type.returncode == 1 and "Invalid instance type '9xZ900'" in bad_type.stdout
    assert served.stats()["creates_accepted"] == 0


def _fake_ssh(bin_dir: Path) -> Path:
    """An `ssh` on PATH that writes the words it was run with, one a line, to $SSH_LOG, and connects nowhere."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    ssh = bin_dir / "ssh"
    ssh.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$SSH_LOG"\necho "fake ssh ran"\n')
    ssh.chmod(0o755)
    return ssh


def _tp_ssh(tp: Path, served: ServedSandbox, cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list]:
    log = cwd / "ssh.log"
    log.unlink(missing_ok=True)
    env = {"PATH": f"{cwd / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(cwd),
           "TENSORPOOL_ENGINE": served.url, "TENSORPOOL_KEY": KEY, "NO_COLOR": "1", "SSH_LOG": str(log),
           # The CLI prints the server's message and then replaces itself with ssh: into a pipe, Python's
           # buffered message would be lost with the process image (on a terminal it is line-buffered).
           "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([str(tp), "ssh", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    return done, (log.read_text().splitlines() if log.exists() else None)


def test_tp_ssh_runs_the_sandboxs_command_for_the_jumphost_a_worker_and_a_single_node(tp, served, tmp_path):
    _fake_ssh(tmp_path / "bin")
    run = lambda *args: _tp(tp, served, tmp_path, *args)  # noqa: E731
    assert run("cluster", "create", "8xH200", "-n", "2", "--name", "ssh-two", "--wait").returncode == 0
    assert run("cluster", "create", "1xH100", "--name", "ssh-one", "--wait").returncode == 0
    clusters = {c["tp_cluster_name"]: c for c in served.get("/cluster/list")["clusters"]}
    two, one = clusters["ssh-two"], clusters["ssh-one"]
    jump, *workers = two["instances"]
    assert jump["instance_id"] == f"{two['cluster_id']}-jumphost"

    info = run("cluster", "info", two["cluster_id"])  # the CLI prints the table with the addresses
    assert info.returncode == 0 and jump["public_ip"] in info.stdout and workers[0]["private_ip"] in info.stdout

    done, argv = _tp_ssh(tp, served, tmp_path, jump["instance_id"], "-o", "ConnectTimeout=5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Connecting to {jump['instance_id']}, the jumphost of cluster {two['cluster_id']}" in done.stdout
    assert "fake ssh ran" in done.stdout
    assert argv == [f"ubuntu@{jump['public_ip']}", "-o", "ConnectTimeout=5"]  # the CLI appends its own arguments

    done, argv = _tp_ssh(tp, served, tmp_path, workers[1]["instance_id"])
    assert done.returncode == 0 and argv == ["-J", f"ubuntu@{jump['public_ip']}", f"ubuntu@{workers[1]['private_ip']}"]

    done, argv = _tp_ssh(tp, served, tmp_path, one["instances"][0]["instance_id"])
    assert done.returncode == 0 and argv == [f"ubuntu@{one['instances'][0]['public_ip']}"]

    log = served.get("/_sandbox/log")["entries"]
    asked = [e for e in log if e["endpoint"] == "ssh"]
    assert [e["query"] for e in asked] == [f"system={platform.system()}"] * 3  # as the CLI sends it


def test_tp_ssh_shows_the_sandboxs_refusals(tp, tmp_path):
    _fake_ssh(tmp_path / "bin")
    slow = ServedSandbox(provision_seconds=600, key=KEY)
    try:
        created = slow.post("/cluster/create", {"instance_type": "1xH100", "tp_cluster_name": "slow"}).json()
        done, argv = _tp_ssh(tp, slow, tmp_path, created["instance_ids"][0])
        assert done.returncode == 1 and argv is None
        assert f"cluster {created['cluster_id']} is PROVISIONING, not RUNNING" in done.stdout
        done, argv = _tp_ssh(tp, slow, tmp_path, "i-00000000")
        assert done.returncode == 1 and argv is None and "Instance i-00000000 not found" in done.stdout
    finally:
        slow.stop()


def test_tp_ssh_runs_what_tpdeclare_output_prints(tp, served, tmp_path):
    """After `tpdeclare apply`, `tpdeclare output` and the official `tp ssh` agree on how to log in."""
    from e2e_helpers import cli_env, run_tp, write

    _fake_ssh(tmp_path / "bin")
    write(tmp_path / "two.yaml", """
        clusters:
          trainer:
            instance_type: 8xB200
            num_nodes: 2
        outputs:
          login: clusters.trainer.login_instance_id
          ssh: clusters.trainer.ssh_command
    """)
    env = cli_env(served)
    applied = run_tp(tmp_path, "apply", "--auto-approve", "two.yaml", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    login = run_tp(tmp_path, "output", "two.yaml", "login", "--raw", env=env).stdout
    command = run_tp(tmp_path, "output", "two.yaml", "ssh", "--raw", env=env).stdout
    assert login.endswith("-jumphost") and command.startswith("ssh ubuntu@")
    done, argv = _tp_ssh(tp, served, tmp_path, login)
    assert done.returncode == 0 and ["ssh", *argv] == shlex.split(command)


def test_the_official_cli_drives_a_storage_volume_and_its_attachments(tp, served, tmp_path):
    """`tp storage create/list/info/edit/destroy` and `tp cluster attach/detach`, as tensorpool 0.0.9 sends them."""
    run = lambda *args, **kw: _tp(tp, served, tmp_path, *args, **kw)  # noqa: E731
    assert run("cluster", "create", "8xH200", "-n", "2", "--name", "train", "--wait").returncode == 0
    assert run("cluster", "create", "1xH100", "--name", "solo", "--wait").returncode == 0
    clusters = {c["tp_cluster_name"]: c["cluster_id"] for c in served.get("/cluster/list")["clusters"]}
    train, solo = clusters["train"], clusters["solo"]

    created = run("storage", "create", "100", "--name", "data", "--deletion-protection", "--wait")
    assert created.returncode == 0, created.stdout + created.stderr
    m = re.search(r"Storage volume (s-[0-9a-f]{8}) created\. Run `tp storage info \1` for details", created.stdout)
    assert m, created.stdout
    sid = m.group(1)
    taken = run("storage", "create", "10", "--name", "data")
    assert taken.returncode == 1 and "Storage volume name 'data' is already in use" in taken.stdout

    listing = run("storage", "list")
    assert listing.returncode == 0
    assert re.search(rf"^{sid}\s+data\s+100 GB\s+READY\s+-\s+yes\s", listing.stdout, re.M), listing.stdout

    refused = run("cluster", "attach", solo, sid, "--wait")
    assert refused.returncode == 1 and "attach only to multi-node GPU clusters and CPU instances" in refused.stdout
    attached = run("cluster", "attach", train, sid, "--wait")
    assert attached.returncode == 0 and f"Storage volume {sid} (data) is attached to cluster {train}" in attached.stdout
    info = run("storage", "info", sid)
    assert info.returncode == 0 and re.search(rf"^Attached to\s+{train}$", info.stdout, re.M), info.stdout
    assert f"/mnt/{sid}" in info.stdout and "$10.00/month" in info.stdout

    shrink = run("storage", "edit", sid, "--size", "50")
    assert shrink.returncode == 1 and "can only be increased" in shrink.stdout
    grown = run("storage", "edit", sid, "--size", "200", "--name", "data2", "--deletion-protection", "false")
    assert grown.returncode == 0 and "name 'data' -> 'data2', deletion protection off, size 100 GB -> 200 GB" \
        in grown.stdout
    busy = run("storage", "destroy", sid, "--no-input", "--wait")
    assert busy.returncode == 1 and f"is attached to {train}; detach it first" in busy.stdout

    detached = run("cluster", "detach", train, sid, "--wait")
    assert detached.returncode == 0 and f"Storage volume {sid} (data2) is detached from cluster {train}" \
        in detached.stdout
    destroyed = run("storage", "destroy", sid, "--no-input", "--wait")
    assert destroyed.returncode == 0 and f"Storage volume {sid} (data2) was destroyed" in destroyed.stdout
    assert "No storage volumes found." in run("storage", "list").stdout
    gone = run("storage", "info", sid)
    assert gone.returncode == 1 and f"Storage volume {sid} not found" in gone.stdout

    stats = served.stats()
    assert stats["storage_accepted"] == {"create": 1, "attach": 1, "edit": 1, "detach": 1, "destroy": 1}
    assert set(stats["requests"]["storage_attach"]) == {"202", "400"}
    assert set(stats["requests"]["storage_delete"]) == {"202", "409"}
