"""Issue 9.8 through the CLI: every command reads each spec argument exactly once, so FIFOs, pipes,
/dev/stdin and `<(...)` work everywhere (a FIFO can be read only once: a second read would hang)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from e2e_helpers import REPO, ThreadedSandbox, cli_env, run_tp, write

SPEC = b"stack: pipe\nclusters:\n  a:\n    instance_type: 1xH100\n"


@pytest.fixture
def sandbox():
    sb = ThreadedSandbox()
    yield sb
    sb.stop()


def _fifo(tmp_path, data: bytes, name: str = "spec.fifo"):
    """A FIFO that serves `data` to its first reader (a writer thread), then nothing."""
    path = tmp_path / name
    os.mkfifo(path)

    def feed():
        with open(path, "wb") as fh:
            fh.write(data)

    threading.Thread(target=feed, daemon=True).start()
    return path


def _unblock(path):
    """Let a writer still waiting for a reader finish (when a command never opened the FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass


COMMANDS = [
    ("validate", "{spec}"),
    ("plan", "{spec}"),
    ("plan", "{spec}", "--refresh", "--json"),
    ("apply", "{spec}", "--auto-approve"),
    ("refresh", "{spec}", "--auto-approve"),
    ("orphans", "{spec}"),
    ("show", "{spec}"),
    ("state", "list", "--spec", "{spec}"),
    ("destroy", "{spec}", "--auto-approve"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_command_reads_a_fifo_spec_once(tmp_path, sandbox, command):
    if command[0] in ("show", "state", "refresh", "orphans", "destroy"):  # these need a state to exist
        write(tmp_path / "pipe.yaml", SPEC.decode())
        assert run_tp(tmp_path, "apply", "pipe.yaml", "--auto-approve", env=cli_env(sandbox)).returncode == 0
    fifo = _fifo(tmp_path, SPEC)
    try:
        args = [a.format(spec=fifo.name) for a in command]
        proc = run_tp(tmp_path, *args, env=cli_env(sandbox), timeout=30)
    finally:
        _unblock(fifo)
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr  # orphans: 0 when none
    assert "interrupted after" not in proc.stderr  # it did not hang on a second read


def test_a_saved_plan_applied_through_a_fifo(tmp_path, sandbox):
    write(tmp_path / "pipe.yaml", SPEC.decode())
    assert run_tp(tmp_path, "plan", "pipe.yaml", "--out", "p.plan", env=cli_env(sandbox)).returncode == 0
    fifo = _fifo(tmp_path, (tmp_path / "p.plan").read_bytes(), "plan.fifo")
    try:
        proc = run_tp(tmp_path, "apply", fifo.name, env=cli_env(sandbox), timeout=30)
    finally:
        _unblock(fifo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Apply complete! Clusters: 1 added" in proc.stdout


def _shell(tmp_path, script, *, input=None, env):
    return subprocess.run(["bash", "-c", script], cwd=tmp_path, input=input, capture_output=True, env=env,
                          timeout=60, text=isinstance(input, str))


@pytest.mark.parametrize("how", ["stdin", "process-substitution", "pipe"])
def test_pipes_work_for_apply_in_a_real_shell(tmp_path, sandbox, how):
    env = {**cli_env(sandbox), "PYTHONPATH": str(REPO)}
    tp = f"{sys.executable} -m tpdeclare"
    script = {
        "stdin": f"{tp} apply /dev/stdin --auto-approve",
        "process-substitution": f"{tp} apply <(printf '%s' \"$SPEC\") --auto-approve",
        "pipe": f"printf '%s' \"$SPEC\" | {tp} apply /dev/stdin --auto-approve",
    }[how]
    env["SPEC"] = SPEC.decode()
    proc = _shell(tmp_path, script, input=SPEC.decode() if how == "stdin" else None, env=env)
    out = proc.stdout if isinstance(proc.stdout, str) else proc.stdout.decode()
    err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode()
    assert proc.returncode == 0, out + err
    assert "Apply complete! Clusters: 1 added" in out
    assert (tmp_path / "state" / "pipe.json").exists()


def test_a_pipe_without_stack_is_refused_at_its_first_line(tmp_path, sandbox):
    fifo = _fifo(tmp_path, b"clusters:\n  a:\n    instance_type: 1xH100\n")
    try:
        proc = run_tp(tmp_path, "apply", fifo.name, "--auto-approve", env=cli_env(sandbox), timeout=30)
    finally:
        _unblock(fifo)
    assert proc.returncode == 1 and f"{fifo.name}:1:1:" in proc.stderr and "stack:" in proc.stderr
    assert not (tmp_path / "state").exists()
