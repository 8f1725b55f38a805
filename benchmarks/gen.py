"""Generate benchmark inputs on demand: a stack spec (YAML) of N clusters and a state file that records
all of them as applied (the spec: one YAML file per team, in one directory), optionally with a fraction
of the spec changed since, and a matching sandbox world (the engine's view of the same clusters) for
refresh.

The spec is written the way a person writes one (block style, defaults, a few lifecycle blocks,
multi-node clusters); the state is written by tpdeclare's own store, so it is exactly what an apply
would have left (the snapshot stamped as verified, tpdeclare/state/verified.py). Deterministic for a
given (n, changed, seed).

    python benchmarks/gen.py N [--changed 0.1] [--volumes 0.1] [--out DIR]

`--volumes F` gives a fraction F of the clusters one storage volume each (from the clusters that can take
one: multi-node GPU clusters and CPU instances), declared in the same team file, recorded in state as
applied and attached.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from tpdeclare.spec.model import ClusterSpec, VolumeSpec
from tpdeclare.spec.storage import can_take_volumes
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import READY, Record, State
from tpdeclare.state.volumes import VolumeRecord

STACK = "fleet"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRwZGVjbGFyZSBiZW5jaG1hcmsga2V5IG51bWJlciAw ops@fleet"
KEY2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRwZGVjbGFyZSBiZW5jaG1hcmsga2V5IG51bWJlciAx ml@fleet"
CONTAINERS = ("nvcr.io/nvidia/pytorch:25.01-py3", "nvcr.io/nvidia/pytorch:24.12-py3", None)
SINGLE = ("1xH100", "2xH100", "4xH100", "8xH100", "1xH200", "8xH200", "8xB200", "1xL40S", "32xCPU")
TEAMS = ("research", "infra", "vision", "speech", "rl", "eval", "data", "serving")


def _clusters(n: int, seed: int) -> list[ClusterSpec]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        team = TEAMS[i % len(TEAMS)]
        address = f"{team}-{i:05d}"
        itype = rng.choice(SINGLE)
        nodes = rng.choice((1, 1, 2, 4)) if itype in ("8xH200", "8xB200") else 1
        container = rng.choice(CONTAINERS)
        protect = i % 50 == 0
        keys = (KEY, KEY2) if i % 7 == 0 else (KEY,)
        name = f"{team}-job-{i:05d}" if i % 3 == 0 else f"{STACK}-{address}"
        ignore = frozenset({"container"}) if i % 11 == 0 else frozenset()
        out.append(ClusterSpec(address=address, instance_type=itype, num_nodes=nodes, name=name,
                               container=container, deletion_protection=protect, public_keys=keys,
                               prevent_destroy=protect, ignore_changes=ignore))
    return out


def _with_volumes(clusters: list[ClusterSpec], fraction: float) -> tuple[list[ClusterSpec], list[VolumeSpec]]:
    """The first clusters that can take a volume, `fraction` of all of them, each given one of its own."""
    wanted = round(len(clusters) * fraction)
    out, volumes = [], []
    for c in clusters:
        if len(volumes) < wanted and can_take_volumes(c.instance_type, c.num_nodes):
            v = VolumeSpec(address=f"vol-{c.address}", size_gb=100 + 10 * (len(volumes) % 50),
                           name=f"{STACK}-vol-{c.address}")
            volumes.append(v)
            c = ClusterSpec(**{**c.__dict__, "storage": (v.address,)})
        out.append(c)
    return out, volumes


def _volume_record(v: VolumeSpec, i: int, cluster: Record | None) -> VolumeRecord:
    return VolumeRecord(
        address=v.address, status=READY, name=v.name, spec={**v.fields(), "prevent_destroy": False},
        storage_id=f"s-{i:08x}", attached={cluster.address: cluster.cluster_id} if cluster and cluster.cluster_id
        else {}, request_id=None, intent_id=f"00000000-0000-4000-9000-{i:012x}",
        created_at="2026-11-20T10:00:00Z", updated_at="2026-11-20T10:05:00Z")


def _yaml(clusters: list[ClusterSpec], *, defaults: bool, volumes: list[VolumeSpec] | None = None) -> str:
    lines = ["# yaml-language-server: $schema=../../../../specs/cluster.schema.json", f"stack: {STACK}"]
    if defaults:
        lines += ["defaults:", "  public_keys:", f"    - \"{KEY}\""]
    if volumes:
        lines.append("storage:")
        for v in volumes:
            lines += [f"  {v.address}:", f"    size_gb: {v.size_gb}"]
    lines.append("clusters:")
    for c in clusters:
        lines.append(f"  {c.address}:")
        lines.append(f"    instance_type: {c.instance_type}")
        if c.num_nodes != 1:
            lines.append(f"    num_nodes: {c.num_nodes}")
        if c.name != f"{STACK}-{c.address}":
            lines.append(f"    name: {c.name}")
        if c.container:
            lines.append(f"    container: {c.container}")
        if c.deletion_protection:
            lines.append("    deletion_protection: true")
        if c.public_keys != (KEY,):
            lines.append("    public_keys:")
            lines.extend(f"      - \"{k}\"" for k in c.public_keys)
        if c.prevent_destroy or c.ignore_changes:
            lines.append("    lifecycle:")
            if c.prevent_destroy:
                lines.append("      prevent_destroy: true")
            if c.ignore_changes:
                lines.append(f"      ignore_changes: [{', '.join(sorted(c.ignore_changes))}]")
        if c.storage:
            lines.append(f"    storage: [{', '.join(c.storage)}]")
    return "\n".join(lines) + "\n"


def _record(c: ClusterSpec, i: int) -> Record:
    spec = {**c.fields(), "prevent_destroy": c.prevent_destroy}
    return Record(
        address=c.address, status=READY, name=c.name, spec=spec,
        cluster_id=f"c-{i:08x}", instance_ids=[f"i-{i:06x}{k:02x}" for k in range(c.num_nodes)],
        request_id=f"r-{i:012x}", intent_id=f"00000000-0000-4000-8000-{i:012x}",
        created_at="2026-11-20T10:00:00Z", updated_at="2026-11-20T10:05:00Z",
    )


def _change(clusters: list[ClusterSpec], fraction: float, seed: int) -> tuple[list[ClusterSpec], dict]:
    """Change `fraction` of the clusters: 40 % renamed (update in place), 30 % a new container (replace),
    15 % removed (destroy), and as many new clusters added (create). Protected clusters are left alone
    (changing them would make the plan blocked, which is a different path)."""
    rng = random.Random(seed + 1)
    n_change = round(len(clusters) * fraction)
    candidates = [i for i, c in enumerate(clusters) if not c.prevent_destroy and not c.ignore_changes]
    picked = rng.sample(candidates, n_change)
    n_rename, n_replace = round(n_change * 0.4), round(n_change * 0.3)
    n_remove = round(n_change * 0.15)
    n_add = n_change - n_rename - n_replace - n_remove
    out = list(clusters)
    for i in picked[:n_rename]:
        c = out[i]
        out[i] = ClusterSpec(**{**c.__dict__, "name": c.name + "-v2"})
    for i in picked[n_rename:n_rename + n_replace]:
        c = out[i]
        new = "nvcr.io/nvidia/pytorch:25.02-py3" if c.container != "nvcr.io/nvidia/pytorch:25.02-py3" else None
        out[i] = ClusterSpec(**{**c.__dict__, "container": new})
    removed = set(picked[n_rename + n_replace:n_rename + n_replace + n_remove])
    out = [c for i, c in enumerate(out) if i not in removed]
    base = len(clusters)
    out += _clusters(base + n_add, seed + 2)[base:]  # fresh addresses beyond the recorded ones
    return out, {"update": n_rename, "replace": n_replace, "destroy": n_remove, "create": n_add}


def generate(n: int, out: Path, *, changed: float = 0.0, seed: int = 42, volumes: float = 0.0) -> dict:
    """Write out/spec/*.yaml (one file per team) and out/state.json (and out/world.json for the sandbox);
    return a manifest."""
    out.mkdir(parents=True, exist_ok=True)
    recorded, vols = _with_volumes(_clusters(n, seed), volumes)
    desired, expected = (_change(recorded, changed, seed) if changed else
                         (recorded, {"update": 0, "replace": 0, "destroy": 0, "create": 0}))
    records = {c.address: _record(c, i) for i, c in enumerate(recorded)}
    served = {v: c.address for c in recorded for v in c.storage}
    state = State(stack=STACK, lineage="6f1c2b9e-0000-4000-8000-00000000beef", serial=n,
                  resources=records, tool_version="0.1.0",
                  volumes={v.address: _volume_record(v, i, records.get(served.get(v.address, "")))
                           for i, v in enumerate(vols)})
    # One file per team in one directory (one stack): a single 10,000-cluster file would be over the
    # loader's 1 MB per-file bound, whose hint is exactly this layout.
    spec_dir = out / "spec"
    spec_dir.mkdir(exist_ok=True)
    for old in spec_dir.glob("*.yaml"):
        old.unlink()
    for t, team in enumerate(TEAMS):
        mine = [c for c in desired if c.address.startswith(team + "-")]
        theirs = [v for v in vols if v.address.startswith(f"vol-{team}-")]
        (spec_dir / f"{team}.yaml").write_text(_yaml(mine, defaults=t == 0, volumes=theirs))
    # Written by the store, as an apply leaves it (the snapshot stamped as verified: tpdeclare/state/verified.py).
    for old in out.glob("state.json*"):
        old.unlink()
    LocalStateStore(out / "state.json").write(state)
    manifest = {"n": n, "changed": changed, "seed": seed, "expected": expected, "volumes": len(vols),
                "spec_files": len(TEAMS),
                "spec_bytes": sum(f.stat().st_size for f in spec_dir.glob("*.yaml")),
                "state_bytes": (out / "state.json").stat().st_size}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def world(n: int, out: Path, *, seed: int = 42, created_at: float | None = None) -> Path:
    """A sandbox world file (tpdeclare.sandbox.world.FileWorld format) holding the N recorded clusters,
    provisioned long ago (RUNNING), with the IDs, names and fields the state records."""
    import time

    from tpdeclare import catalog
    from tpdeclare.sandbox.world import fresh_world

    created_at = time.time() - 3600 if created_at is None else created_at
    doc = fresh_world()
    for i, c in enumerate(_clusters(n, seed)):
        rec = _record(c, i)
        doc["requests"][rec.request_id] = {
            "request_id": rec.request_id, "request_type": "CLUSTER_CLAIM", "object_id": rec.cluster_id,
            "created_at": created_at, "duration": 2.0, "fails": False, "cancelled_at": None,
        }
        doc["clusters"][rec.cluster_id] = {
            "cluster_id": rec.cluster_id, "tp_cluster_name": c.name, "instance_type": c.instance_type,
            "num_nodes": c.num_nodes, "container": c.container, "deletion_protection": c.deletion_protection,
            "public_keys": list(c.public_keys), "instance_ids": rec.instance_ids, "created_at": created_at,
            "hourly_cost": catalog.hourly_cost(c.instance_type, c.num_nodes) or 0.0,
            "claim_request_id": rec.request_id, "release_request_id": None,
        }
    path = out / "world.json"
    path.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int)
    p.add_argument("--changed", type=float, default=0.0)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--volumes", type=float, default=0.0, help="the fraction of clusters given one volume each")
    p.add_argument("--world", action="store_true", help="also write a sandbox world file")
    args = p.parse_args(argv)
    out = args.out or Path(__file__).parent / "data" / f"gen-{args.n}-{args.changed:g}"
    print(json.dumps(generate(args.n, out, changed=args.changed, volumes=args.volumes)))
    if args.world:
        world(args.n, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
