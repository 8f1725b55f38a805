#!/usr/bin/env python3
"""Benchmark 1's ratio counted in instructions: `tpdeclare plan` of 10,000 clusters against its floor, under
valgrind (deterministic, where wall time on this shared machine moves by ±20 %).

    python benchmarks/instructions.py            # both 10,000-cluster cases (~1 minute on 2 cores)
    python benchmarks/instructions.py --changed 0
    python benchmarks/instructions.py --changed 0 --volumes 0    # no volumes (the default: 10 %, as benchmarks/run)

Each side is one process under `valgrind --tool=callgrind` with PYTHONHASHSEED=0 and the benchmarks' bytecode
cache (warmed first), the same interpreter and console script as benchmarks/run; the figure is callgrind's
`Collected` total (instructions executed, the interpreter's start and exit included on both sides). The two
sides of a case run at once (one per core): instruction counts do not depend on load.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from _harness import DATA, PY, TPDECLARE, cli_env, fresh_dir
from gen import generate

N = 10_000


def _counted(cmd: list[str], cwd: Path, env: dict, name: str) -> subprocess.Popen[str]:
    out = cwd / f"callgrind.{name}"
    return subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd], cwd=cwd,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _collected(proc: subprocess.Popen[str]) -> int:
    _, err = proc.communicate()
    found = re.search(r"Collected : (\d+)", err)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed (exit {proc.returncode}):\n{err[-2000:]}")
    return int(found.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--changed", type=float, action="append", help="fraction changed (default: 0 and 0.1)")
    ap.add_argument("--volumes", type=float, default=0.1,
                    help="fraction of clusters with one volume (default 0.1: the stacks benchmarks/run plans)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    env = cli_env(PYTHONHASHSEED="0")
    root = fresh_dir(DATA / "instructions")
    for changed in args.changed or [0.0, 0.1]:
        work = root / f"{N}-{changed:g}"
        generate(N, work, changed=changed, volumes=args.volumes)
        spec, state = str(work / "spec"), str(work / "state.json")
        floor = [PY, str(Path(__file__).resolve().parent / "floor_load.py"), spec, state]
        plan = TPDECLARE + ["plan", spec, "--state", state, "--no-color"]
        for cmd in (floor, plan):  # warm the bytecode cache
            subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, check=True)
        sides = [_counted(floor, work, env, "floor"), _counted(plan, work, env, "plan")]
        f, p = (_collected(s) for s in sides)
        print(f"{N} clusters, {changed:.0%} changed, {args.volumes:.0%} with a volume: "
              f"floor {f:,} instructions, plan {p:,}: {p / f:.3f}x", flush=True)
    shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
