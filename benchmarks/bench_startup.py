"""Benchmark 3 — start-up: `tpdeclare --version` against `python -c pass`, and
`tpdeclare validate examples/cluster.yaml` against `python -c "import yaml, jsonschema"`.

Both sides use the same interpreter (the real binary, not a pyenv shim) and the installed
`tpdeclare` console script, so both pay the same interpreter start and site-packages `.pth` hooks.

Targets (issue 6): --version <= 1.5x `python -c pass`; validate <= 1.3x the yaml+jsonschema import.
"""

from __future__ import annotations

import json
import sys

from _harness import PY, REPO, TPDECLARE, cli_env, log, measure, paired_ratios, reps, summarise_samples, write_result

PAIRS = (
    ("version", [PY, "-c", "pass"], TPDECLARE + ["--version"], 1.5),
    ("validate", [PY, "-c", "import yaml, jsonschema"],
     TPDECLARE + ["validate", "examples/cluster.yaml", "--no-color"], 1.3),
)


def main() -> int:
    n_reps = reps(21, 5)
    results = {"benchmark": "startup", "reps": n_reps, "cases": {}}
    targets = []
    env = cli_env()
    for name, base_cmd, cmd, limit in PAIRS:
        for _ in range(3):  # warm-up: page cache and .pyc files
            measure(base_cmd, cwd=REPO, env=env)
            measure(cmd, cwd=REPO, env=env)
        bases, runs = [], []
        for _ in range(n_reps):
            bases.append(measure(base_cmd, cwd=REPO, env=env))
            runs.append(measure(cmd, cwd=REPO, env=env))
        case = {"baseline": summarise_samples(bases), "tpdeclare": summarise_samples(runs),
                "paired_wall_ratio": paired_ratios(runs, bases),
                "commands": {"baseline": " ".join(base_cmd), "tpdeclare": " ".join(cmd)}}
        results["cases"][name] = case
        ratio = case["tpdeclare"]["wall_s"]["median"] / case["baseline"]["wall_s"]["median"]
        targets.append({"id": f"3 start-up: {' '.join(cmd[1:]) if cmd[0] != PY else name} vs {' '.join(base_cmd[1:])}",
                        "value": ratio, "limit": limit, "op": "<=",
                        "note": f"{case['tpdeclare']['wall_s']['median'] * 1000:.0f} ms vs "
                                f"{case['baseline']['wall_s']['median'] * 1000:.0f} ms; per-pair ratios "
                                f"{case['paired_wall_ratio']['min']:.2f}–{case['paired_wall_ratio']['max']:.2f}; "
                                f"peak RSS {case['tpdeclare']['maxrss_mib']['median']:.1f} vs "
                                f"{case['baseline']['maxrss_mib']['median']:.1f} MiB"})
        log(f"startup {name}: {targets[-1]['value']:.2f} ({targets[-1]['note']})")
    for t in targets:
        t["pass"] = t["value"] <= t["limit"]
    results["targets"] = targets
    write_result("startup", results)
    print(json.dumps(targets, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
