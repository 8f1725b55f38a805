"""Interrupts, concurrent runs, deadlines and lock upkeep (issue 4): the real CLI against the sandbox over HTTP."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import reliability as R  # noqa: E402
from e2e_helpers import HeldClock, ThreadedSandbox, cli_env  # noqa: E402


@pytest.fixture(scope="module")
def sandbox():
    sb = R.Sandbox(faults=f"create:latency={R.KILL_CREATE_LATENCY}")
    yield sb
    sb.stop()


def detail(result) -> str:
    return json.dumps({k: v for k, v in result.items() if not k.startswith("check")}, default=str) + " " + str(
        result["check"].problems())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_with_creates_in_flight_exits_130_and_records_every_cluster_made(sandbox, tmp_path, sig):
    result = R.interrupt_trial(sandbox, tmp_path, 0, n=20, sig=sig)
    assert result["rc"] == 130, detail(result)
    at_exit = result["check_at_exit"]
    # before any rerun: every cluster the engine made is in state with its ID, nothing doubled
    assert at_exit.orphans == [] and at_exit.wrong == [] and at_exit.duplicates == 0, detail(result)
    assert result["engine_made_at_exit"] >= 1 and result["left"].get("pending", 0) == 0, detail(result)
    assert result["seconds_to_exit"] < 10, detail(result)  # polls stop promptly
    assert result["ok"], detail(result)


def test_a_second_signal_exits_at_once_and_the_intents_make_the_next_run_whole(sandbox, tmp_path):
    result = R.interrupt_trial(sandbox, tmp_path, 0, n=20, twice=True)
    assert result["rc"] == 130 and result["ok"], detail(result)
    assert result["check"].creates_accepted == 20


def test_interrupt_messages(sandbox, tmp_path):
    sandbox.reset()
    R.write_stack(tmp_path, "msg", 4)
    proc = R.start(tmp_path, sandbox.env(), "apply", "msg.yaml", "--auto-approve", stdout=subprocess.PIPE)
    for line in proc.stdout:
        if line.rstrip().endswith(": Creating..."):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Interrupt received: no new operations will start; recording what is in flight." in out
    assert "Error: Apply interrupted: " in err and "every cluster the engine made is recorded in state" in err
    assert "hint: run the same command again to finish" in err and "Traceback" not in out + err


@pytest.mark.parametrize("wait", [True, False], ids=["lock-timeout", "no-wait"])
def test_five_applies_at_once_are_serialized_or_refused_naming_the_holder(tmp_path, wait):
    with R.Sandbox() as sb:
        result = R.concurrency_trial(sb, tmp_path, 0, n=20, wait=wait)
    assert result["creators"] == 1 and result["check"].creates_accepted == 20, detail(result)
    if wait:
        assert result["codes"] == [0] * 5 and result["no_changes"] == 4, detail(result)
    else:
        assert result["refused"] >= 1 and result["refusals_name_holder"], detail(result)
    assert result["ok"], detail(result)


def test_a_deadline_leaves_clusters_creating_and_the_next_apply_waits_for_them(tmp_path):
    # The engine's clock stands still (HeldClock), so the three clusters stay creating however slow this
    # machine is: the first apply's --timeout ends it with them in flight, the plan sees them provisioning,
    # and the clock moves on only once the second apply has said it waits for them (its --timeout only keeps a
    # broken run from hanging the suite).
    clock = HeldClock()
    sb = ThreadedSandbox(key=R.KEY, provision_seconds=8.0, clock=clock)
    try:
        _, declared = R.write_stack(tmp_path, "slow", 3)
        env = cli_env(sb, PYTHONUNBUFFERED="1")
        first = R.cli(tmp_path, env, "apply", "slow.yaml", "--auto-approve", "--timeout", "6")
        assert first.returncode == 1, first.stdout + first.stderr
        assert "timed out after" in first.stderr and "the next run picks it up" in first.stderr
        assert R.state_statuses(tmp_path, "slow") == {"creating": 3}
        plan = R.cli(tmp_path, env, "plan", "slow.yaml", "--detailed-exitcode")
        assert "from an earlier run is still provisioning" in plan.stdout, plan.stdout
        second = subprocess.Popen([R.PY, "-m", "tpdeclare", "apply", "slow.yaml", "--auto-approve",
                                   "--timeout", "120"], cwd=tmp_path,
                                  env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        before = []
        for line in second.stdout:
            before.append(line)
            if "still being created" in line:
                break
        clock.advance(10.0)  # past the 8 s of provisioning: the clusters are ready now
        rest, err = second.communicate(timeout=120)
        out = "".join(before) + rest
        assert second.returncode == 0, out + err
        waited = re.search(r"(\d) clusters? started by an earlier run (?:are|is) still being created", out)
        assert waited and waited.group(1) == "3", out
        assert out.count("Creation complete after") == 3, out
        assert sb.stats()["creates_accepted"] == 3
        assert R.check(sb, tmp_path, "slow", declared).ok()
    finally:
        sb.stop()


def test_force_unlock_clears_a_lock_left_by_a_dead_holder(sandbox, tmp_path):
    R.write_stack(tmp_path, "lk", 1)
    env = sandbox.env()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time\nfrom pathlib import Path\nfrom tpdeclare.state.local import LocalStateStore\n"
         "s = LocalStateStore(Path('state/lk.json'))\n"
         "with s.lock('tpdeclare apply (holder)') as l:\n"
         "    print(l.info.id, flush=True); time.sleep(60)\n"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True,
    )
    lock_id = holder.stdout.readline().strip()
    refused = R.cli(tmp_path, env, "force-unlock", lock_id, "lk.yaml")
    assert refused.returncode == 1 and "actually held" in refused.stderr
    holder.kill()
    holder.wait()
    holder.stdout.close()
    released = R.cli(tmp_path, env, "force-unlock", lock_id, "lk.yaml")
    assert released.returncode == 0, released.stderr
    assert f"Lock {lock_id}" in released.stdout and "released" in released.stdout
    assert R.cli(tmp_path, env, "apply", "lk.yaml", "--auto-approve").returncode == 0


# ---- the signal handler itself ----------------------------------------------------------------------
class _Out:
    def __init__(self, fd):
        self._fd = fd

    def fileno(self):
        return self._fd


def test_stop_on_signal_first_and_second_signal(tmp_path, monkeypatch):
    import os
    from types import SimpleNamespace

    from tpdeclare.commands.signals import StopOnSignal

    out_path = tmp_path / "out"
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT)
    console = SimpleNamespace(out=_Out(fd))
    handler = StopOnSignal(console)
    # before the executor starts: the first signal ends the run at once
    with pytest.raises(KeyboardInterrupt):
        handler._handle(signal.SIGINT, None)
    assert handler.stop.is_set()
    # once it runs: the first signal only asks to stop, and says so without taking the console's lock
    handler = StopOnSignal(console)
    handler.immediate = False
    handler._handle(signal.SIGTERM, None)
    assert handler.stop.is_set()
    os.close(fd)
    assert "Interrupt received: no new operations will start" in out_path.read_text()
    exits = []
    monkeypatch.setattr(os, "_exit", lambda code: exits.append(code))
    handler._handle(signal.SIGINT, None)
    assert exits == [130]
