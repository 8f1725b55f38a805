#!/usr/bin/env python3
"""Reliability suite of issue 4: exactly-once creation under SIGKILL, faults, concurrency and SIGINT.

Every trial runs the real CLI (`python -m tpdeclare ...`) as a subprocess against `tpdeclare sandbox
serve` over HTTP on 127.0.0.1, then checks the engine against the state:

    duplicates    declared names that exist more than once in the engine        (must be 0)
    missing       declared names that do not exist in the engine                 (must be empty)
    orphans       engine clusters of the stack that the state does not record    (must be empty)
    wrong         records whose cluster ID or name disagrees with the engine     (must be empty)
    extra creates creates_accepted - (clusters alive + deletes_accepted)         (must be 0: nothing
                  was created that is neither alive nor destroyed on purpose)

Suites: kill (SIGKILL at seeded random moments, and at chosen points: right after a create's intent
became durable, right after its 202 was read and before its IDs were recorded, at its first poll,
halfway through a journal append, halfway through a snapshot), faults (20 % errors on every endpoint,
commit-then-drop, FAILED provisioning; apply until it succeeds, then destroy until it succeeds),
concurrency (five applies at once, with and without --lock-timeout) and interrupt (SIGINT/SIGTERM with
creates in flight; then twice in a row). The kill suite also kills `tpdeclare expire` (issue 14) while it
destroys the expired half of a stack: at random moments, right before a DELETE leaves, right after its 202;
the rerun must end with exactly those clusters gone, each DELETE accepted once, state clean and the
expiries remembered (a later plan creates nothing).

    python benchmarks/reliability.py                  # full size; rewrites the `reliability` section
                                                      # of benchmarks/RESULTS.md
    python benchmarks/reliability.py --quick          # small sizes, prints only
    python benchmarks/reliability.py --kill-trials 50 --seed 3

The tests (tests/test_exactly_once_*.py) import this module and run the same scenarios smaller.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- BEGIN reliability -->", "<!-- END reliability -->"
PY = sys.executable
KEY = "tp-reliability-key-7c1e"

PROVISION_SECONDS = 0.3
# The kill suite's sandbox answers each create after this delay, so a SIGKILL often lands while a POST
# is in flight (the create then commits after its client died: the "late create" case).
KILL_CREATE_LATENCY = 0.15
FAULTS = (
    "*:latency=0.01,500=0.05,502=0.05,503=0.05,429=0.05;"
    "create|delete:drop=0.2;"
    "provision:failed=0.2"
)
KILL_POINTS = ("before_post", "after_202", "first_poll", "journal", "snapshot")
EXPIRE_KILL_MODES = ("random", "before_delete", "after_delete")

# Test-only: the CLI, SIGKILLing itself the N-th time it reaches a chosen point (TPD_CRASH_AT=point:N).
# It patches from the outside (no hook in tpdeclare itself):
#   before_post  a create's intent is durable; its POST is not sent yet
#   after_202    a create's 202 was read; its cluster/request IDs are not recorded yet
#   first_poll   the IDs are recorded; the first poll is about to go
#   before_delete  a destroy's `deleting` record is durable; its DELETE is not sent yet
#   after_delete   a DELETE's 202 was read; the destroy's poll has not started
#   journal      halfway through writing a journal append (a torn line is left)
#   snapshot     halfway through writing a snapshot's temporary file
CRASH_WRAPPER = r"""
import os, signal, sys, tempfile, threading
from pathlib import Path
point, _, nth = os.environ["TPD_CRASH_AT"].partition(":")
nth = int(nth or 1)
guard = threading.Lock()
seen = [0]

def reached():
    with guard:
        seen[0] += 1
        return seen[0] == nth

def die():
    os.kill(os.getpid(), signal.SIGKILL)

from tpdeclare import atomic_files as _atomic_files
from tpdeclare.api import client as _client
from tpdeclare.state import journal_file as _journal_file

if point in ("before_post", "after_202"):
    _create = _client.TensorPoolClient.create_cluster
    def create_cluster(self, **kw):
        if point == "before_post" and reached():
            die()
        result = _create(self, **kw)
        if point == "after_202" and reached():
            die()
        return result
    _client.TensorPoolClient.create_cluster = create_cluster
elif point in ("before_delete", "after_delete"):
    _delete = _client.TensorPoolClient.delete_cluster
    def delete_cluster(self, cluster_id):
        if point == "before_delete" and reached():
            die()
        result = _delete(self, cluster_id)
        if point == "after_delete" and reached():
            die()
        return result
    _client.TensorPoolClient.delete_cluster = delete_cluster
elif point == "first_poll":
    _info = _client.TensorPoolClient.request_info
    def request_info(self, request_id):
        if reached():
            die()
        return _info(self, request_id)
    _client.TensorPoolClient.request_info = request_info
elif point == "journal":
    _write_all = _journal_file._write_all
    def torn_write_all(fd, data):
        if reached():
            os.write(fd, data[: max(1, len(data) // 2)])
            die()
        return _write_all(fd, data)
    _journal_file._write_all = torn_write_all
elif point == "snapshot":
    _atomic = _atomic_files.atomic_write
    def torn_atomic_write(path, data, **kw):
        path = Path(path)
        if path.suffix == ".json" and reached():  # the snapshot (a backup ends in .N)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
            os.write(fd, data[: max(1, len(data) // 2)])
            die()
        return _atomic(path, data, **kw)
    _atomic_files.atomic_write = torn_atomic_write
else:
    raise SystemExit("unknown crash point " + point)

from tpdeclare.cli import main
sys.exit(main(sys.argv[1:]))
"""


# ----------------------------------------------------------------------------------------------------
# The sandbox and the CLI
# ----------------------------------------------------------------------------------------------------
class Sandbox:
    """`tpdeclare sandbox serve` on a free port of 127.0.0.1, seeded."""

    def __init__(self, *, provision_seconds: float = PROVISION_SECONDS, faults: str | None = None, seed: int = 7):
        args = [PY, "-m", "tpdeclare", "sandbox", "serve", "--port", "0", "--provision-seconds",
                str(provision_seconds), "--seed", str(seed), "--key", KEY]
        if faults:
            args += ["--faults", faults]
        self.faults = faults or ""
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     env=_env())
        line = self.proc.stdout.readline()
        if "http://" not in line:
            self.proc.kill()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.url = line[line.index("http://"):].split()[0].rstrip(".")
        self.http = requests.Session()

    def stats(self) -> dict:
        return self.http.get(self.url + "/_sandbox/stats", timeout=10).json()

    def reset(self) -> None:
        self.http.post(self.url + "/_sandbox/reset", timeout=10).raise_for_status()

    def set_faults(self, spec: str) -> None:
        self.http.post(self.url + "/_sandbox/faults", json={"spec": spec}, timeout=10).raise_for_status()

    def clusters(self) -> list[dict]:
        """Every cluster the engine lists (faults are lifted for the look)."""
        if self.faults:
            self.set_faults("")
        try:
            r = self.http.get(self.url + "/cluster/list", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
            r.raise_for_status()
            return r.json()["clusters"]
        finally:
            if self.faults:
                self.set_faults(self.faults)

    def create_directly(self, name: str, instance_type: str = "1xH100") -> dict:
        """A cluster made outside tpdeclare (someone else's, for the stranger checks)."""
        if self.faults:
            self.set_faults("")
        try:
            r = self.http.post(self.url + "/cluster/create", headers={"Authorization": f"Bearer {KEY}"},
                               json={"instance_type": instance_type, "tp_cluster_name": name}, timeout=10)
            r.raise_for_status()
            return r.json()
        finally:
            if self.faults:
                self.set_faults(self.faults)

    def env(self, **extra: str) -> dict:
        return _env(TENSORPOOL_ENGINE=self.url, TENSORPOOL_KEY=KEY, **extra)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.http.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORPOOL", "TPDECLARE", "TPD_"))}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def write_stack(workdir: Path, stack: str, n: int) -> tuple[Path, set[str]]:
    """A spec of n one-GPU clusters; returns its path and the declared cluster names."""
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"stack: {stack}", "clusters:"]
    for i in range(n):
        lines += [f"  c{i:02d}:", "    instance_type: 1xH100"]
    path = workdir / f"{stack}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path, {f"{stack}-c{i:02d}" for i in range(n)}


def start(workdir: Path, env: dict, *args: str, crash_at: str | None = None, stdout=subprocess.DEVNULL):
    if crash_at:
        cmd = [PY, "-c", CRASH_WRAPPER, *args]
        env = {**env, "TPD_CRASH_AT": crash_at}
    else:
        cmd = [PY, "-m", "tpdeclare", *args]
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.PIPE if stdout is subprocess.PIPE else subprocess.DEVNULL, text=True)


def cli(workdir: Path, env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "tpdeclare", *args], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def until_ok(workdir: Path, env: dict, *args: str, max_runs: int, outputs: list | None = None,
             failures: list | None = None) -> list[int]:
    """Run the command until it exits 0 (at most max_runs times); the exit codes. Stdouts go to
    `outputs`; why each failed run failed (per cluster, with IDs masked) to `failures`."""
    codes = []
    for _ in range(max_runs):
        proc = cli(workdir, env, *args)
        codes.append(proc.returncode)
        if outputs is not None:
            outputs.append(proc.stdout)
        if failures is not None and proc.returncode != 0:
            failures.extend(_reasons(proc))
        if proc.returncode == 0:
            break
        if "Traceback" in proc.stdout + proc.stderr or "internal error" in proc.stderr:
            raise AssertionError(f"tpdeclare crashed: {proc.stdout}\n{proc.stderr}")
        if KEY in proc.stdout + proc.stderr:
            raise AssertionError("the API key was printed")
    return codes


def _reasons(proc) -> list[str]:
    import re

    lines = [line.split(": Error: ", 1)[1] for line in proc.stdout.splitlines() if ": Error: " in line]
    if not lines:
        lines = [line[len("Error: "):] for line in proc.stderr.splitlines() if line.startswith("Error: ")][:1]
    masked = [re.sub(r"\b(?:c|r|i)-[0-9a-f]+\b|\b[a-z]+-c\d\d\b", "…", line.split(" (hint:")[0]) for line in lines]
    return [m[:140] for m in masked]


def state_statuses(workdir: Path, stack: str) -> dict[str, int]:
    """Records by status, read from the files as the next run will read them."""
    from tpdeclare.state.local import LocalStateStore

    state = LocalStateStore(workdir / "state" / f"{stack}.json").read()
    return dict(collections.Counter(r.status for r in state.resources.values())) if state else {}


# ----------------------------------------------------------------------------------------------------
# The check
# ----------------------------------------------------------------------------------------------------
@dataclass
class Check:
    duplicates: int = 0
    missing: list = field(default_factory=list)
    undeclared: list = field(default_factory=list)
    orphans: list = field(default_factory=list)
    wrong: list = field(default_factory=list)
    not_ready: list = field(default_factory=list)
    extra_creates: int = 0
    key_in_files: list = field(default_factory=list)
    creates_accepted: int = 0
    deletes_accepted: int = 0

    def ok(self, *, settled: bool = True) -> bool:
        """All invariants hold; `settled=False` (right after an interrupt) allows missing and unfinished."""
        base = not (self.duplicates or self.orphans or self.wrong or self.extra_creates or self.undeclared
                    or self.key_in_files)
        return base and (not settled or not (self.missing or self.not_ready))

    def problems(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v and k not in ("creates_accepted", "deletes_accepted")}


def check(sb: Sandbox, workdir: Path, stack: str, declared: set[str], *, state: object = "local") -> Check:
    """`state`: the State to judge (an S3 one, read by the caller), or "local" for workdir/state/<stack>.json."""
    from tpdeclare.state.local import LocalStateStore

    engine = [c for c in sb.clusters()
              if c["status"] not in ("DESTROYING", "DESTROYED") and c["tp_cluster_name"].startswith(stack + "-")]
    counts = collections.Counter(c["tp_cluster_name"] for c in engine)
    by_id = {c["cluster_id"]: c for c in engine}
    if state == "local":
        state = LocalStateStore(workdir / "state" / f"{stack}.json").read()
    records = state.resources if state else {}
    recorded = {r.cluster_id for r in records.values() if r.cluster_id}
    stats = sb.stats()
    alive = sum(v for k, v in stats["clusters_by_status"].items() if k != "DESTROYING")
    return Check(
        duplicates=sum(v - 1 for v in counts.values() if v > 1),
        missing=sorted(declared - set(counts)),
        undeclared=sorted(set(counts) - declared),
        orphans=sorted(cid for cid in by_id if cid not in recorded),
        wrong=sorted(a for a, r in records.items() if r.cluster_id and (
            r.cluster_id not in by_id or by_id[r.cluster_id]["tp_cluster_name"] != r.name)),
        not_ready=sorted(a for a, r in records.items() if r.status != "ready"),
        extra_creates=stats["creates_accepted"] - alive - stats["deletes_accepted"],
        key_in_files=sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*")
                            if p.is_file() and KEY.encode() in p.read_bytes()),
        creates_accepted=stats["creates_accepted"],
        deletes_accepted=stats["deletes_accepted"],
    )


# ----------------------------------------------------------------------------------------------------
# Suites
# ----------------------------------------------------------------------------------------------------
def kill_trial(sb: Sandbox, root: Path, rng: random.Random, trial: int, *, n: int = 20, mode: str = "random",
               max_runs: int = 6) -> dict:
    """SIGKILL apply (at random moments, or at a chosen point), then apply until it exits 0; check."""
    sb.reset()
    workdir = root / f"kill-{trial:03d}"
    stack = "kill"
    _, declared = write_stack(workdir, stack, n)
    env = sb.env()
    args = ("apply", f"{stack}.yaml", "--auto-approve")
    kills = []

    def random_kill(crash_at=None, low=0.3, high=3.5):
        delay = rng.uniform(low, high)
        proc = start(workdir, env, *args, crash_at=crash_at)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        kills.append({"how": f"SIGKILL at {delay:.2f}s", "rc": proc.returncode,
                      "left": state_statuses(workdir, stack)})

    def point_kill(point, nth):
        proc = start(workdir, env, *args, crash_at=f"{point}:{nth}")
        proc.wait(timeout=120)
        kills.append({"how": f"{point}:{nth}", "rc": proc.returncode, "left": state_statuses(workdir, stack)})

    if mode == "random":
        # The first apply runs ~2.5 s here; a rerun has less left to do, so later kills come sooner.
        for k in range(rng.randint(1, 3)):
            random_kill(high=2.8 if k == 0 else 1.8)
    elif mode == "snapshot":
        random_kill(low=0.6, high=2.0)  # while it runs, so that the rerun has something to write
        point_kill("snapshot", 1)  # the rerun dies halfway through its first snapshot (recovery's, or the last)
    else:
        nth = {"before_post": rng.randint(1, n), "after_202": rng.randint(1, n), "first_poll": rng.randint(1, n),
               "journal": rng.randint(1, 10)}[mode]
        point_kill(mode, nth)
    outputs: list[str] = []
    codes = until_ok(workdir, env, *args, max_runs=max_runs, outputs=outputs)
    result = check(sb, workdir, stack, declared)
    return {
        "suite": "kill", "mode": mode, "kills": kills, "runs_to_converge": len(codes), "codes": codes,
        "adopted": sum(out.count(": adopted c-") for out in outputs),
        "converged": codes[-1] == 0, "check": result, "creates_ok": result.creates_accepted == n,
        "ok": codes[-1] == 0 and result.ok() and result.creates_accepted == n,
    }


def kill_destroy_trial(sb: Sandbox, root: Path, rng: random.Random, trial: int, *, n: int = 20) -> dict:
    """Apply, then SIGKILL destroy at a random moment, then destroy until it exits 0: nothing is left."""
    sb.reset()
    workdir = root / f"killdestroy-{trial:03d}"
    stack = "kdes"
    _, declared = write_stack(workdir, stack, n)
    env = sb.env()
    assert until_ok(workdir, env, "apply", f"{stack}.yaml", "--auto-approve", max_runs=3)[-1] == 0
    delay = rng.uniform(0.3, 2.5)
    proc = start(workdir, env, "destroy", f"{stack}.yaml", "--auto-approve")
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    left = state_statuses(workdir, stack)
    codes = until_ok(workdir, env, "destroy", f"{stack}.yaml", "--auto-approve", max_runs=6)
    result = check(sb, workdir, stack, set())
    empty = state_statuses(workdir, stack) == {}
    return {
        "suite": "kill-destroy", "mode": "random", "kills": [{"how": f"SIGKILL at {delay:.2f}s", "rc": proc.returncode,
                                                              "left": left}],
        "runs_to_converge": len(codes), "codes": codes, "converged": codes[-1] == 0, "check": result,
        "ok": codes[-1] == 0 and result.ok() and empty and result.deletes_accepted == n,
    }


def write_lifetime_stack(workdir: Path, stack: str, n: int) -> tuple[Path, set[str], set[str]]:
    """n one-GPU clusters, the even ones living 8h and the odd ones 24h; (path, the 8h names, the 24h names)."""
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"stack: {stack}", "clusters:"]
    short, long_ = set(), set()
    for i in range(n):
        hours = 8 if i % 2 == 0 else 24
        lines += [f"  c{i:02d}:", "    instance_type: 1xH100", f"    lifetime: {{expires_after: {hours}h}}"]
        (short if hours == 8 else long_).add(f"{stack}-c{i:02d}")
    path = workdir / f"{stack}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path, short, long_


def kill_expire_trial(sb: Sandbox, root: Path, rng: random.Random, trial: int, *, n: int = 10,
                      mode: str = "random") -> dict:
    """Apply a stack half of whose lifetimes have ended on a clock 9 hours ahead (TPDECLARE_NOW); SIGKILL
    `expire` during its destroys (at a random moment, or at a chosen point), then run it until it exits 0.
    The expired half must be gone with one DELETE accepted each, the rest untouched, the state clean
    (nothing pending or deleting, an `expired` record per expired address) and a later plan empty."""
    sb.reset()
    workdir = root / f"killexpire-{trial:03d}"
    stack = "kexp"
    _, short, long_ = write_lifetime_stack(workdir, stack, n)
    assert until_ok(workdir, sb.env(), "apply", f"{stack}.yaml", "--auto-approve", max_runs=3)[-1] == 0
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
    env = sb.env(TPDECLARE_NOW=later)
    args = ("expire", f"{stack}.yaml", "--auto-approve")
    if mode == "random":
        delay = rng.uniform(0.3, 1.6)
        proc = start(workdir, env, *args)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        how = f"SIGKILL at {delay:.2f}s"
    else:
        nth = rng.randint(1, len(short))
        proc = start(workdir, env, *args, crash_at=f"{mode}:{nth}")
        proc.wait(timeout=120)
        how = f"{mode}:{nth}"
    kills = [{"how": how, "rc": proc.returncode, "left": state_statuses(workdir, stack)}]
    codes = until_ok(workdir, env, *args, max_runs=6)
    result = check(sb, workdir, stack, long_)
    from tpdeclare.state.local import LocalStateStore

    state = LocalStateStore(workdir / "state" / f"{stack}.json").read()
    statuses = {r.name: r.status for r in state.resources.values()} if state else {}
    clean = statuses == {**dict.fromkeys(short, "expired"), **dict.fromkeys(long_, "ready")}
    replan = cli(workdir, env, "plan", f"{stack}.yaml", "--detailed-exitcode").returncode
    once = result.deletes_accepted == len(short)
    result.not_ready = [a for a in result.not_ready if state and state.resources[a].status != "expired"]
    return {
        "suite": "kill-expire", "mode": mode, "kills": kills, "runs_to_converge": len(codes), "codes": codes,
        "converged": codes[-1] == 0, "check": result, "state_clean": clean, "plan_after": replan,
        "deletes_once": once,
        "ok": codes[-1] == 0 and result.ok() and clean and replan == 0 and once and result.creates_accepted == n,
    }


def fault_trial(sb: Sandbox, root: Path, trial: int, *, n: int = 20, max_runs: int = 15) -> dict:
    """With faults on every endpoint: apply until exit 0, check; then destroy until exit 0, check."""
    sb.reset()
    workdir = root / f"faults-{trial:03d}"
    stack = "faulty"
    _, declared = write_stack(workdir, stack, n)
    env = sb.env()
    failures: list[str] = []
    apply_codes = until_ok(workdir, env, "apply", f"{stack}.yaml", "--auto-approve", max_runs=max_runs,
                           failures=failures)
    applied = check(sb, workdir, stack, declared)
    sb.set_faults("")
    try:
        drift = cli(workdir, env, "plan", f"{stack}.yaml", "--refresh", "--detailed-exitcode").returncode
        orphans = cli(workdir, env, "orphans", f"{stack}.yaml").returncode
    finally:
        sb.set_faults(sb.faults)
    destroy_codes = until_ok(workdir, env, "destroy", f"{stack}.yaml", "--auto-approve", max_runs=max_runs,
                             failures=failures)
    destroyed = check(sb, workdir, stack, set())
    stats = sb.stats()
    return {
        "suite": "faults", "apply_codes": apply_codes, "destroy_codes": destroy_codes,
        "runs_to_converge": len(apply_codes), "destroy_runs": len(destroy_codes),
        "converged": apply_codes[-1] == 0 and destroy_codes[-1] == 0,
        "check": applied, "after_destroy": destroyed, "plan_after": drift, "orphans_rc": orphans,
        "faults_injected": stats["faults_injected"], "requests_total": stats["requests_total"], "failures": failures,
        "creates_accepted": stats["creates_accepted"], "deletes_accepted": stats["deletes_accepted"],
        "ok": apply_codes[-1] == 0 and destroy_codes[-1] == 0 and applied.ok() and drift == 0 and orphans == 0
        and destroyed.ok() and state_statuses(workdir, stack) == {},
    }


def concurrency_trial(sb: Sandbox, root: Path, trial: int, *, n: int = 20, wait: bool = True) -> dict:
    """Five applies of one stack at once: serialized by the lock (wait) or refused naming the holder."""
    sb.reset()
    workdir = root / f"concurrent-{trial:03d}-{'wait' if wait else 'refuse'}"
    stack = "conc"
    _, declared = write_stack(workdir, stack, n)
    env = sb.env()
    extra = ("--lock-timeout", "120") if wait else ()
    procs = [start(workdir, env, "apply", f"{stack}.yaml", "--auto-approve", *extra, stdout=subprocess.PIPE)
             for _ in range(5)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    creators = sum(1 for out, _ in outs if f"Apply complete! Clusters: {n} added" in out)
    quiet = sum(1 for out, _ in outs if "No changes." in out)
    refusals = [err for (_, err), code in zip(outs, codes, strict=True) if code != 0]
    named = all("is locked by pid" in err and "tpdeclare apply" in err for err in refusals)
    if not wait:
        codes_after = until_ok(workdir, env, "apply", f"{stack}.yaml", "--auto-approve", max_runs=2)
    else:
        codes_after = []
    result = check(sb, workdir, stack, declared)
    ok = result.ok() and result.creates_accepted == n and creators == 1
    ok = ok and (all(c == 0 for c in codes) and quiet == 4 if wait else (named and codes_after[-1:] == [0]))
    return {"suite": "concurrency", "mode": "lock-timeout" if wait else "no-wait", "codes": codes,
            "creators": creators, "no_changes": quiet, "refused": len(refusals), "refusals_name_holder": named,
            "check": result, "ok": ok}


def interrupt_trial(sb: Sandbox, root: Path, trial: int, *, n: int = 20, sig: int = signal.SIGINT,
                    twice: bool = False, after_creating: int = 5) -> dict:
    """Signal apply once `after_creating` creates started: exit 130, and every cluster the engine made is
    in state with its ID, before any rerun. (`twice`: a second signal right after: exit 130 at once.)"""
    sb.reset()
    workdir = root / f"interrupt-{trial:03d}"
    stack = "intr"
    _, declared = write_stack(workdir, stack, n)
    env = sb.env()
    proc = start(workdir, env, "apply", f"{stack}.yaml", "--auto-approve", stdout=subprocess.PIPE)
    started = 0
    t0 = time.monotonic()
    for line in proc.stdout:
        if line.rstrip().endswith(": Creating..."):
            started += 1
            if started >= after_creating:
                break
    proc.send_signal(sig)
    if twice:
        time.sleep(0.05)
        proc.send_signal(sig)
    rest, err = proc.communicate(timeout=120)
    exit_s = time.monotonic() - t0
    code = proc.returncode
    at_once = check(sb, workdir, stack, declared)
    left = state_statuses(workdir, stack)
    engine_made = at_once.creates_accepted
    codes = until_ok(workdir, env, "apply", f"{stack}.yaml", "--auto-approve", max_runs=4)
    final = check(sb, workdir, stack, declared)
    recorded_all = at_once.ok(settled=False) and not at_once.orphans
    ok = code == 130 and final.ok() and final.creates_accepted == n and codes[-1] == 0
    if not twice:
        ok = ok and recorded_all and "Interrupt received" in rest and "Apply interrupted" in err
    return {"suite": "interrupt", "signal": signal.Signals(sig).name, "twice": twice, "rc": code,
            "seconds_to_exit": round(exit_s, 2), "engine_made_at_exit": engine_made, "left": left,
            "recorded_all_at_exit": recorded_all, "check_at_exit": at_once, "runs_to_converge": len(codes),
            "check": final, "ok": ok}


# ----------------------------------------------------------------------------------------------------
# The whole run and its report
# ----------------------------------------------------------------------------------------------------
def run_all(*, kill_trials: int, kill_destroy_trials: int, fault_trials: int, seed: int, n: int,
            kill_expire_trials: int = 6, kill_storage_trials: int = 10, log=print) -> dict:
    rng = random.Random(seed)
    t_all = time.monotonic()
    out: dict = {"seed": seed, "n": n, "suites": {}}
    with tempfile.TemporaryDirectory(prefix="tpd-reliability-") as tmp:
        root = Path(tmp)
        with Sandbox(faults=f"create:latency={KILL_CREATE_LATENCY}") as sb:
            t = time.monotonic()
            modes = ["random"] * max(0, kill_trials - len(KILL_POINTS) * 2) + list(KILL_POINTS) * 2
            modes = modes[:kill_trials] if kill_trials < len(modes) else modes
            trials = []
            for i, mode in enumerate(modes):
                r = kill_trial(sb, root, rng, i, n=n, mode=mode)
                trials.append(r)
                log(f"kill {i + 1}/{len(modes)} {mode}: runs {r['codes']} ok={r['ok']} {r['check'].problems()}")
            for i in range(kill_destroy_trials):
                r = kill_destroy_trial(sb, root, rng, i, n=n)
                trials.append(r)
                log(f"kill-destroy {i + 1}/{kill_destroy_trials}: runs {r['codes']} ok={r['ok']} "
                    f"{r['check'].problems()}")
            for i in range(kill_expire_trials):
                mode = EXPIRE_KILL_MODES[i % len(EXPIRE_KILL_MODES)]
                r = kill_expire_trial(sb, root, rng, i, n=max(4, n // 2), mode=mode)
                trials.append(r)
                log(f"kill-expire {i + 1}/{kill_expire_trials} {mode}: runs {r['codes']} ok={r['ok']} "
                    f"{r['check'].problems()}")
            from reliability_storage import STORAGE_KILL_MODES, kill_storage_trial  # issue 15: volumes

            for i in range(kill_storage_trials):
                mode = STORAGE_KILL_MODES[i % len(STORAGE_KILL_MODES)]
                r = kill_storage_trial(sb, root, rng, i, mode=mode)
                trials.append(r)
                log(f"kill-storage {i + 1}/{kill_storage_trials} {mode}: runs {r['codes']} ok={r['ok']} "
                    f"{r['check'].problems()}")
            out["suites"]["kill"] = {"trials": trials, "wall_s": time.monotonic() - t}
            t = time.monotonic()
            results = []
            for i, (sig, twice) in enumerate(((signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True))):
                r = interrupt_trial(sb, root, i, n=n, sig=sig, twice=twice)
                results.append(r)
                log(f"interrupt {r['signal']}{' twice' if twice else ''}: rc {r['rc']} ok={r['ok']}")
            out["suites"]["interrupt"] = {"trials": results, "wall_s": time.monotonic() - t}
        with Sandbox() as sb:
            t = time.monotonic()
            results = [concurrency_trial(sb, root, 0, n=n, wait=True), concurrency_trial(sb, root, 1, n=n, wait=False)]
            for r in results:
                log(f"concurrency {r['mode']}: codes {r['codes']} ok={r['ok']}")
            out["suites"]["concurrency"] = {"trials": results, "wall_s": time.monotonic() - t}
        with Sandbox(faults=FAULTS) as sb:
            t = time.monotonic()
            results = []
            for i in range(fault_trials):
                r = fault_trial(sb, root, i, n=n)
                results.append(r)
                log(f"faults {i + 1}/{fault_trials}: apply {r['apply_codes']} destroy {r['destroy_codes']} "
                    f"ok={r['ok']}")
            out["suites"]["faults"] = {"trials": results, "wall_s": time.monotonic() - t}
    out["wall_s"] = time.monotonic() - t_all
    out["ok"] = all(t["ok"] for s in out["suites"].values() for t in s["trials"])
    return out


def _git_commit() -> str:
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain")
        return head + (" + uncommitted changes" if dirty else "")
    except OSError:
        return "unknown"


def _sum(checks, attr) -> int:
    return sum(len(v) if isinstance(v := getattr(c, attr), list) else v for c in checks)


def report(out: dict, argv: list[str]) -> str:
    suites = out["suites"]
    kill = suites["kill"]["trials"]
    applies = [t for t in kill if t["suite"] == "kill"]
    destroys = [t for t in kill if t["suite"] == "kill-destroy"]
    expires = [t for t in kill if t["suite"] == "kill-expire"]
    volumes = [t for t in kill if t["suite"] == "kill-storage"]
    intr = suites["interrupt"]["trials"]
    conc = suites["concurrency"]["trials"]
    faults = suites["faults"]["trials"]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "python benchmarks/reliability.py" + ("" if not argv else " " + " ".join(argv))
    lines = [
        "## Reliability (issue 4)",
        "",
        f"_Written by `{cmd}` on {now}; do not edit by hand between the markers._",
        "",
        f"**Machine.** {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; commit {_git_commit()}.",
        "",
        f"**How to run.** `{cmd}` (about {out['wall_s'] / 60:.0f} minutes here; `--quick` for a small run that "
        f"only prints; `--seed N`, `--kill-trials N`). The tests run the same scenarios smaller: "
        f"`pytest tests/test_exactly_once_*.py`.",
        "",
        f"**Method.** The real CLI as a subprocess against `tpdeclare sandbox serve` over HTTP on 127.0.0.1 "
        f"(seed 7, provisioning {PROVISION_SECONDS}s, Retry-After 1s), a stack of {out['n']} one-GPU clusters, "
        f"kill delays and crash points drawn from `random.Random({out['seed']})`. After every trial the engine "
        f"is compared with the state: *duplicates* (a declared name more than once in the engine), *missing*, "
        f"*orphans* (an engine cluster of the stack not in state), *wrong* (a record whose ID or name disagrees "
        f"with the engine), and *extra creates* = `creates_accepted` − (clusters alive + `deletes_accepted`) from "
        f"`GET /_sandbox/stats`.",
        "",
        "| suite | trials | runs to converge (median / max) | duplicates | orphans | missing or wrong | extra creates "
        "| result | wall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def row(name, trials, runs_key="runs_to_converge", checks=None):
        checks = checks if checks is not None else [t["check"] for t in trials]
        runs = [t[runs_key] for t in trials if runs_key in t]
        med = f"{statistics.median(runs):g} / {max(runs)}" if runs else "–"
        ok = sum(1 for t in trials if t["ok"])
        return (f"| {name} | {len(trials)} | {med} | {_sum(checks, 'duplicates')} | {_sum(checks, 'orphans')} | "
                f"{_sum(checks, 'missing') + _sum(checks, 'wrong')} | {_sum(checks, 'extra_creates')} | "
                f"{'PASS' if ok == len(trials) else 'FAIL'} ({ok}/{len(trials)}) |")

    lines.append(row("kill: apply SIGKILLed, then rerun", applies) + f" {suites['kill']['wall_s']:.0f}s |")
    if destroys:
        lines.append(row("kill: destroy SIGKILLed, then rerun", destroys) + " (incl. above) |")
    if expires:
        lines.append(row("kill: expire SIGKILLed during its destroys, then rerun", expires) + " (incl. above) |")
    if volumes:
        lines.append(row("kill: apply of volumes and attachments SIGKILLed (volume create, attach), then rerun",
                         volumes) + " (incl. above) |")
    lines.append(row("faults: apply, then destroy, until exit 0", faults,
                     checks=[t["check"] for t in faults] + [t["after_destroy"] for t in faults])
                 + f" {suites['faults']['wall_s']:.0f}s |")
    lines.append(row("concurrency: 5 applies at once", conc, runs_key="none")
                 + f" {suites['concurrency']['wall_s']:.0f}s |")
    lines.append(row("interrupt: SIGINT/SIGTERM with creates in flight", intr)
                 + f" {suites['interrupt']['wall_s']:.0f}s |")
    lines += ["", f"Overall: **{'PASS' if out['ok'] else 'FAIL'}** in {out['wall_s']:.0f}s.", ""]
    if expires:
        lines += [f"Expire kills: a stack of {expires[0]['check'].creates_accepted} clusters, half of whose "
                  f"lifetimes (8h) have ended on a clock 9 hours ahead (`TPDECLARE_NOW`), the other half 24h. After "
                  f"the rerun: expired half gone with one DELETE accepted each in "
                  f"{sum(1 for t in expires if t['deletes_once'])}/{len(expires)} trials, state clean (each expired "
                  f"address an `expired` record, nothing pending or deleting) in "
                  f"{sum(1 for t in expires if t['state_clean'])}/{len(expires)}, a later `plan --detailed-exitcode` "
                  f"exits 0 (nothing created again) in "
                  f"{sum(1 for t in expires if t['plan_after'] == 0)}/{len(expires)}.",
                  ""]

    # kill breakdown
    lines += ["### Kill trials by where the kill landed", "",
              "| kill | trials | killed runs (rc −9) | records left at the kill (pending / creating / ready / "
              "deleting) | clusters the killed run made but never recorded, adopted by name on the rerun | runs to "
              "converge (max) | creates accepted = clusters |",
              "|---|---|---|---|---|---|---|"]
    by_mode = collections.defaultdict(list)
    for t in applies:
        by_mode[t["mode"]].append(t)
    for t in destroys:
        by_mode["destroy: random SIGKILL"].append(t)
    for t in expires:
        by_mode[f"expire: {t['mode']}"].append(t)
    labels = {"random": "random SIGKILL (1–3 per trial, the first at 0.3–2.8 s, later ones at 0.3–1.8 s)",
              "before_post": "intent durable, POST not sent",
              "after_202": "202 read, IDs not recorded", "first_poll": "IDs recorded, first poll",
              "journal": "halfway through a journal append",
              "snapshot": "random SIGKILL, then halfway through a snapshot",
              "expire: random": "expire: random SIGKILL (0.3–1.6 s) during its destroys",
              "expire: before_delete": "expire: `deleting` (with its expiry) durable, DELETE not sent",
              "expire: after_delete": "expire: DELETE's 202 read, poll not started"}
    for mode, ts in by_mode.items():
        killed = sum(1 for t in ts for k in t["kills"] if k["rc"] == -9)
        total = sum(len(t["kills"]) for t in ts)
        left = collections.Counter()
        for t in ts:
            for k in t["kills"]:
                left.update(k["left"])
        left_text = " / ".join(str(left.get(s, 0)) for s in ("pending", "creating", "ready", "deleting"))
        creates = sum(1 for t in ts if t.get("creates_ok", True))
        adopted = sum(t.get("adopted", 0) for t in ts) if mode in KILL_POINTS + ("random", "snapshot") else "–"
        lines.append(f"| {labels.get(mode, mode)} | {len(ts)} | {killed}/{total} | {left_text} | {adopted} | "
                     f"{max(t['runs_to_converge'] for t in ts)} | {creates}/{len(ts)} |")

    # faults
    injected = collections.Counter()
    for t in faults:
        injected.update(t["faults_injected"])
    lines += ["", "### Faults", "",
              f"Sandbox `--faults \"{FAULTS}\"`: 20 % of answers on every endpoint are 500/502/503/429 (5 % each, "
              f"decided before any change), create and delete also commit and then drop the connection 20 % of the "
              f"time, and 20 % of provisionings end FAILED (tainted, then replaced by the next apply).",
              "",
              "| trial | apply runs (exit codes) | destroy runs (exit codes) | creates accepted | deletes accepted "
              "| requests | plan --refresh after | orphans after |",
              "|---|---|---|---|---|---|---|---|"]
    for i, t in enumerate(faults):
        lines.append(f"| {i + 1} | {len(t['apply_codes'])} ({', '.join(map(str, t['apply_codes']))}) | "
                     f"{len(t['destroy_codes'])} ({', '.join(map(str, t['destroy_codes']))}) | "
                     f"{t['creates_accepted']} | {t['deletes_accepted']} | {t['requests_total']} | "
                     f"exit {t['plan_after']} | exit {t['orphans_rc']} |")
    lines += ["", "Faults injected, by kind (all fault trials): " +
              ", ".join(f"{k}: {v}" for k, v in sorted(injected.items())) + "."]
    reasons = collections.Counter(r for t in faults for r in t["failures"])
    if reasons:
        lines += ["", "Why the runs that exited 1 did (per cluster; IDs and names masked):", ""]
        lines += [f"- {n} × {reason}" for reason, n in reasons.most_common()]

    # concurrency + interrupt
    lines += ["", "### Concurrency and interrupts", ""]
    for t in conc:
        lines.append(f"- {t['mode']}: exit codes {t['codes']}; {t['creators']} run made the {out['n']} clusters, "
                     f"{t['no_changes']} found no changes, {t['refused']} refused"
                     + (f" (each naming the holder: {t['refusals_name_holder']})" if t['refused'] else "")
                     + f"; creates accepted {t['check'].creates_accepted}.")
    for t in intr:
        lines.append(f"- {t['signal']}{' twice' if t['twice'] else ''}: exit {t['rc']} after "
                     f"{t['seconds_to_exit']}s; the engine had made {t['engine_made_at_exit']} clusters, the state "
                     f"held {t['left']}; every engine cluster in state at exit: {t['recorded_all_at_exit']}; "
                     f"converged in {t['runs_to_converge']} more run(s).")
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = RESULTS, *, begin: str = BEGIN, end: str = END) -> None:
    """Replace the text between the reliability markers (appending them if missing); nothing else."""
    BEGIN, END = begin, end  # noqa: N806 - the markers of this section
    block = f"{BEGIN}\n{text}{END}"
    current = path.read_text() if path.exists() else "# Benchmark results\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        new = head + block + tail
    else:
        new = current.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(new)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kill-trials", type=int, default=40, help="apply kill trials (default 40)")
    parser.add_argument("--kill-destroy-trials", type=int, default=6, help="destroy kill trials (default 6)")
    parser.add_argument("--kill-expire-trials", type=int, default=6, help="expire kill trials (default 6)")
    parser.add_argument("--kill-storage-trials", type=int, default=10,
                        help="storage kill trials: volume create and attach (default 10)")
    parser.add_argument("--fault-trials", type=int, default=3, help="fault trials (default 3)")
    parser.add_argument("--clusters", type=int, default=20, help="clusters in the stack (default 20)")
    parser.add_argument("--seed", type=int, default=4, help="seed of kill delays and crash points (default 4)")
    parser.add_argument("--quick", action="store_true", help="small sizes; print, do not write RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.kill_trials, args.kill_destroy_trials, args.fault_trials, args.kill_expire_trials = 10, 1, 1, 3
    out = run_all(kill_trials=args.kill_trials, kill_destroy_trials=args.kill_destroy_trials,
                  fault_trials=args.fault_trials, seed=args.seed, n=args.clusters,
                  kill_expire_trials=args.kill_expire_trials, kill_storage_trials=args.kill_storage_trials,
                  log=lambda m: print(m, flush=True))
    text = report(out, sys.argv[1:] if argv is None else argv)
    print(text)
    if not args.quick:
        write_section(text)
        print(f"wrote the reliability section of {RESULTS}")
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
