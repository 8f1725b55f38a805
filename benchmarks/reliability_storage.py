"""Kill -9 trials for storage volumes (issue 15), part of the reliability suite (benchmarks/reliability.py).

Each trial applies a stack of volumes attached to CPU instances and multi-node clusters, SIGKILLs the apply
(at a random moment; right before a volume's create is sent; right after its 202, before its ID is recorded;
right before an attach is sent; right after an attach's 202), then applies until it exits 0, and compares
the engine with the state:

    duplicates    declared volume names that exist more than once in the engine   (must be 0)
    orphans       engine volumes of the stack that the state does not record       (must be empty)
    missing       declared volumes not in the engine                               (must be empty)
    wrong         volume records whose ID is not the engine's, or whose attachments are not the engine's
    unattached    declared attachments the engine does not have                    (must be empty)
    not_ready     volume records not `ready` once the runs converged                (must be empty)
"""

from __future__ import annotations

import collections
import random
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STORAGE_KILL_MODES = ("random", "volume_before_post", "volume_after_202", "attach_before_post", "attach_after_202")

# Loaded by `python -c`: patches TensorPoolClient's storage calls to die by SIGKILL at the chosen point.
STORAGE_CRASH_WRAPPER = r"""
import os, signal, sys, threading
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

from tpdeclare.api import client as _client

what, _, when = point.partition("_")
name = {"volume": "create_storage", "attach": "attach_storage"}[what]
original = getattr(_client.TensorPoolClient, name)

def patched(self, *args, **kw):
    if when == "before_post" and reached():
        die()
    result = original(self, *args, **kw)
    if when == "after_202" and reached():
        die()
    return result

setattr(_client.TensorPoolClient, name, patched)
from tpdeclare.cli import main
sys.exit(main(sys.argv[1:]))
"""


def write_storage_stack(workdir: Path, stack: str, n: int) -> tuple[Path, dict[str, set[str]]]:
    """n volumes; volume i attached to CPU instance i, and volume 0 also to a 2-node 8xH200 cluster.
    Returns the spec's path and, per declared volume name, the cluster names it must be attached to."""
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"stack: {stack}", "storage:"]
    lines += [f"  v{i:02d}: {{size_gb: {100 + i}}}" for i in range(n)]
    lines += ["clusters:", "  trainer:", "    instance_type: 8xH200", "    num_nodes: 2", "    storage: [v00]"]
    for i in range(n):
        lines += [f"  cpu{i:02d}:", "    instance_type: 32xCPU", f"    storage: [v{i:02d}]"]
    path = workdir / f"{stack}.yaml"
    path.write_text("\n".join(lines) + "\n")
    links = {f"{stack}-v{i:02d}": {f"{stack}-cpu{i:02d}"} for i in range(n)}
    links[f"{stack}-v00"].add(f"{stack}-trainer")
    return path, links


@dataclass
class StorageCheck:
    duplicates: int = 0
    orphans: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    wrong: list = field(default_factory=list)
    unattached: list = field(default_factory=list)
    not_ready: list = field(default_factory=list)
    extra_creates: int = 0  # kept for the suite's table: volumes are counted in duplicates and orphans
    volumes: int = 0

    def ok(self) -> bool:
        return not (self.duplicates or self.orphans or self.missing or self.wrong or self.unattached
                    or self.not_ready)

    def problems(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v and k != "volumes"}


def check_storage(url: str, key: str, workdir: Path, stack: str, links: dict[str, set[str]]) -> StorageCheck:
    from tpdeclare.api.client import TensorPoolClient
    from tpdeclare.state.local import LocalStateStore

    api = TensorPoolClient(url, key)
    try:
        volumes = [v for v in api.list_storage() if not v.is_destroyed and (v.name or "").startswith(stack + "-")]
        clusters = {c.cluster_id: c.name for c in api.list_clusters()}
    finally:
        close = getattr(api, "close", None)
        if callable(close):
            close()
    counts = collections.Counter(v.name for v in volumes)
    state = LocalStateStore(workdir / "state" / f"{stack}.json").read()
    records = state.volumes if state else {}
    recorded = {r.storage_id for r in records.values() if r.storage_id}
    by_id = {v.storage_id: v for v in volumes}
    wrong, unattached = [], []
    for address, rec in records.items():
        seen = by_id.get(rec.storage_id or "")
        if seen is None or seen.name != rec.name or set(rec.attached.values()) != set(seen.cluster_ids):
            wrong.append(address)
    for v in volumes:
        names = {clusters.get(cid) for cid in v.cluster_ids}
        unattached += sorted(f"{v.name}->{c}" for c in links.get(v.name or "", set()) - names)
    return StorageCheck(
        duplicates=sum(n - 1 for n in counts.values() if n > 1),
        orphans=sorted(v.storage_id for v in volumes if v.storage_id not in recorded),
        missing=sorted(set(links) - set(counts)),
        wrong=sorted(wrong),
        unattached=unattached,
        not_ready=sorted(a for a, r in records.items() if r.status != "ready"),
        volumes=len(volumes),
    )


def kill_storage_trial(sb: Any, root: Path, rng: random.Random, trial: int, *, mode: str, n: int = 4,
                       max_runs: int = 6) -> dict:
    """SIGKILL an apply of volumes and attachments, then apply until it exits 0; check engine = state."""
    from reliability import KEY, PY, state_statuses, until_ok

    sb.reset()
    workdir = root / f"killstorage-{trial:03d}"
    stack = "vols"
    _, links = write_storage_stack(workdir, stack, n)
    env = sb.env()
    args = ("apply", f"{stack}.yaml", "--auto-approve")
    kills = []
    if mode == "random":
        delay = rng.uniform(0.3, 2.5)
        proc = subprocess.Popen([PY, "-m", "tpdeclare", *args], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        kills.append({"how": f"SIGKILL at {delay:.2f}s", "rc": proc.returncode})
    else:
        nth = rng.randint(1, n)
        proc = subprocess.Popen([PY, "-c", STORAGE_CRASH_WRAPPER, *args], cwd=workdir,
                                env={**env, "TPD_CRASH_AT": f"{mode}:{nth}"}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc.wait(timeout=120)
        kills.append({"how": f"{mode}:{nth}", "rc": proc.returncode})
    kills[-1]["left"] = state_statuses(workdir, stack)
    outputs: list[str] = []
    codes = until_ok(workdir, env, *args, max_runs=max_runs, outputs=outputs)
    result = check_storage(sb.url, KEY, workdir, stack, links)
    return {"suite": "kill-storage", "mode": mode, "kills": kills, "runs_to_converge": len(codes), "codes": codes,
            "adopted": sum(out.count("adopted") for out in outputs), "converged": codes[-1] == 0,
            "check": result, "ok": codes[-1] == 0 and result.ok()}
