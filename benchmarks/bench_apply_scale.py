"""Benchmark 5 — apply overhead at scale: `tpdeclare apply --parallelism 50` creating 2,000 clusters on
the sandbox served over HTTP with a provisioning time of 0 (Retry-After: 0), against a floor: a bare
script making the same creates and polls with one requests.Session and the same concurrency
(benchmarks/floor_apply.py). Fresh state and a reset sandbox for every run; runs interleaved.

State bytes: the CLI runs through benchmarks/_counted_cli.py (the same `tpdeclare.cli.main`, with its
state stores' own `bytes_written` counters read at exit: snapshots + backups + journal), checked
against the process's write(2) byte count (/proc/self/io wchar) less what it printed.

Targets (issue 6): wall <= 2x the floor; total bytes written to state <= 20x the final state file.
"""

from __future__ import annotations

import json
import sys

from _harness import (
    BENCH_KEY,
    DATA,
    PY,
    Sandbox,
    fresh_dir,
    log,
    measure,
    paired_ratios,
    reps,
    stats_delta,
    summarise_samples,
    summary,
    write_result,
)
from gen import generate

N, PARALLELISM = 2_000, 50
WALL_LIMIT, BYTES_LIMIT = 2.0, 20.0
HERE = DATA.parent


def create_bodies(spec_dir) -> list[dict]:
    """The POST /cluster/create bodies tpdeclare sends for the spec, in the plan's (address) order."""
    from tpdeclare.spec.loader import load_stack

    spec, diags = load_stack([str(spec_dir)])
    assert spec is not None, [d.format() for d in diags]
    bodies = []
    for address in sorted(spec.clusters):
        c = spec.clusters[address]
        body = {"instance_type": c.instance_type, "num_nodes": c.num_nodes, "tp_cluster_name": c.name,
                "deletion_protection": c.deletion_protection, "public_keys": list(c.public_keys), "save_keys": False}
        if c.container is not None:
            body["container"] = c.container
        bodies.append(body)
    return bodies


def main() -> int:
    root = fresh_dir(DATA / "apply-scale")
    src = root / "input"
    generate(N, src)
    bodies_path = root / "bodies.json"
    bodies_path.write_text(json.dumps(create_bodies(src / "spec")))
    n_reps = reps(5, 1)
    tpd, floor, reports, calls, floor_calls, sizes, out_bytes = [], [], [], [], [], [], []
    sb_cpu, floor_sb_cpu = [], []
    with Sandbox("--balance", "1000000000", provision_seconds=0) as sb:
        for i in range(n_reps):
            sb.reset()
            before, cpu0 = sb.stats(), sb.cpu_s()
            floor.append(measure([PY, str(HERE / "floor_apply.py"), sb.url, BENCH_KEY, str(bodies_path),
                                  str(PARALLELISM)]))
            floor_sb_cpu.append(sb.cpu_s() - cpu0)
            floor_calls.append(stats_delta(before, sb.stats()))

            work = fresh_dir(root / f"run-{i}")
            (work / "spec").symlink_to(src / "spec")
            sb.reset()
            before, cpu0 = sb.stats(), sb.cpu_s()
            report = work / "report.json"
            with open(work / "apply.out", "wb") as out:
                tpd.append(measure([PY, str(HERE / "_counted_cli.py"), str(report), "apply", "spec",
                                    "--auto-approve", "--no-color", "--parallelism", str(PARALLELISM)],
                                   cwd=work, env=sb.env(), stdout=out))
            sb_cpu.append(sb.cpu_s() - cpu0)
            calls.append(stats_delta(before, sb.stats()))
            reports.append(json.loads(report.read_text()))
            state_file = work / "state" / "fleet.json"
            sizes.append(state_file.stat().st_size)
            out_bytes.append((work / "apply.out").stat().st_size)
            ready = sum(1 for r in json.loads(state_file.read_text())["resources"].values() if r["status"] == "ready")
            if ready != N:
                raise SystemExit(f"run {i}: {ready} of {N} clusters ready in state")
            log(f"apply-scale run {i}: floor {floor[-1]['wall_s']:.2f}s tpdeclare {tpd[-1]['wall_s']:.2f}s "
                f"calls {calls[-1]} floor calls {floor_calls[-1]} state {reports[-1]}")
    f, t = summarise_samples(floor), summarise_samples(tpd)
    ratio = t["wall_s"]["median"] / f["wall_s"]["median"]
    bytes_ratio = [r["bytes_written"] / s for r, s in zip(reports, sizes, strict=True)]
    wchar_files = [r["wchar"] - o for r, o in zip(reports, out_bytes, strict=True)]
    results = {
        "benchmark": "apply_scale", "n": N, "parallelism": PARALLELISM, "reps": n_reps,
        "floor": f, "tpdeclare": t, "paired_wall_ratio": paired_ratios(tpd, floor),
        "paired_cpu_ratio": paired_ratios(tpd, floor, "cpu_s"),
        "sandbox_cpu_s": {"floor": summary(floor_sb_cpu), "tpdeclare": summary(sb_cpu)},
        "api_calls": {"tpdeclare": calls, "floor": floor_calls},
        "state": {"reports": reports, "final_state_bytes": sizes, "bytes_ratio": summary(bytes_ratio),
                  "wchar_minus_stdout": wchar_files},
        "commands": {
            "sandbox": "tpdeclare sandbox serve --port 0 --provision-seconds 0 --key KEY --balance 1000000000",
            "tpdeclare": f"tpdeclare apply spec --auto-approve --parallelism {PARALLELISM}  "
                         f"(via benchmarks/_counted_cli.py REPORT apply ...)",
            "floor": f"python benchmarks/floor_apply.py URL KEY bodies.json {PARALLELISM}",
        },
    }
    creates = sorted({c.get("create", 0) for c in calls})
    targets = [
        {"id": "5 apply 2,000 @0s p50: wall vs floor", "value": ratio, "limit": WALL_LIMIT, "op": "<=",
         "note": f"{t['wall_s']['median']:.2f}s vs {f['wall_s']['median']:.2f}s; CPU {t['cpu_s']['median']:.1f}s vs "
                 f"{f['cpu_s']['median']:.1f}s; sandbox CPU {summary(sb_cpu)['median']:.1f}s vs "
                 f"{summary(floor_sb_cpu)['median']:.1f}s; creates per run {creates}; "
                 f"per-pair ratios {results['paired_wall_ratio']['min']:.2f}–"
                 f"{results['paired_wall_ratio']['max']:.2f}"},
        {"id": "5 apply 2,000: bytes written to state / final state size", "value": max(bytes_ratio),
         "limit": BYTES_LIMIT, "op": "<=",
         "note": f"worst run: {reports[bytes_ratio.index(max(bytes_ratio))]['bytes_written']:,} B written "
                 f"({reports[0]['appends']} journal appends, {reports[0]['snapshots']} snapshots) for a "
                 f"{sizes[0]:,} B state; write(2) bytes less stdout: {wchar_files[0]:,} B"},
    ]
    for tg in targets:
        tg["pass"] = tg["value"] <= tg["limit"]
    results["targets"] = targets
    write_result("apply_scale", results)
    print(json.dumps(targets, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
