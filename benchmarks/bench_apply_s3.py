"""Benchmark (issue 13) — apply with state on S3 against the same apply with local state.

`tpdeclare apply --parallelism 10` creating 200 clusters on the sandbox served over HTTP with a
provisioning time of 0, once with state/<stack>.json and once with `backend: s3` in a bucket of moto's
S3 server (tests/moto_s3.py: real HTTP on 127.0.0.1, served by a thread of this process, which counts
every request and every uploaded byte). Fresh state, a reset sandbox and a fresh bucket for every run;
runs interleaved. Then a `plan` with no changes against the S3 state, its requests counted.

Targets (issue 13): S3 wall <= 1.5x local; S3 requests per apply <= 3 x ceil(N/parallelism) + 10; bytes
uploaded <= 20x the final state; a no-change plan <= 4 S3 requests. Each fresh bucket is probed first
(`tpdeclare doctor`, outside the timing and the counts): the probe runs once per bucket and is cached.

    python benchmarks/bench_apply_s3.py        (BENCH_QUICK=1 for fewer repeats)
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent)]

from _harness import DATA, PY, Sandbox, fresh_dir, log, measure, reps, write_result  # noqa: E402

N, PARALLELISM = 200, 10
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIABENCHBENCHBENCH0", "AWS_SECRET_ACCESS_KEY": "bench-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}


def spec_text(backend: str) -> str:
    lines = ["stack: scale", *backend.splitlines(), "clusters:"]
    for i in range(N):
        lines += [f"  c{i:03d}:", "    instance_type: 1xH100"]
    return "\n".join(lines) + "\n"


def main() -> int:
    import boto3

    from moto_s3 import MotoS3

    root = fresh_dir(DATA / "apply-s3")
    moto = MotoS3().start()
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1",
                      aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    local_walls, s3_walls, runs = [], [], []
    args = [PY, "-m", "tpdeclare", "apply", "scale.yaml", "--auto-approve", "--parallelism", str(PARALLELISM)]
    try:
        with Sandbox(provision_seconds=0.0) as sb:
            env = {**sb.env(), **CREDENTIALS, "XDG_CACHE_HOME": str(root / "cache")}
            for rep in range(reps(5) + 1):  # the first pair warms the bytecode cache and is not counted
                sb.reset()
                work = fresh_dir(root / f"local-{rep}")
                (work / "scale.yaml").write_text(spec_text(""))
                local = measure(args, cwd=work, env=env)
                sb.reset()
                bucket = f"bench-{rep:02d}"
                s3.create_bucket(Bucket=bucket)
                work = fresh_dir(root / f"s3-{rep}")
                (work / "scale.yaml").write_text(spec_text(
                    f"backend:\n  s3:\n    bucket: {bucket}\n    endpoint_url: {moto.url}"))
                # The probe runs once per bucket, prefix and endpoint (then cached), and every run has a fresh
                # bucket: probe it first, outside the timing and the apply's counts (a team's later runs find
                # it cached); its requests are counted apart.
                before_req = moto.requests
                measure([PY, "-m", "tpdeclare", "doctor", "--state", f"s3://{bucket}/tpdeclare/scale.json"],
                        cwd=work, env={**env, "AWS_ENDPOINT_URL": moto.url}, check=False)
                probe_requests = moto.requests - before_req
                before_req, before_up = moto.requests, moto.uploaded
                remote = measure(args, cwd=work, env=env)
                requests_made, uploaded = moto.requests - before_req, moto.uploaded - before_up
                final = s3.get_object(Bucket=bucket, Key="tpdeclare/scale.json")["Body"].read()
                before_req = moto.requests
                measure([PY, "-m", "tpdeclare", "plan", "scale.yaml"], cwd=work, env=env)
                plan_requests = moto.requests - before_req
                if rep == 0:
                    continue
                local_walls.append(local["wall_s"])
                s3_walls.append(remote["wall_s"])
                runs.append({"local_s": local["wall_s"], "s3_s": remote["wall_s"], "requests": requests_made,
                             "uploaded": uploaded, "final_state": len(final), "plan_requests": plan_requests,
                             "probe_requests": probe_requests})
                log(f"rep {rep}: local {local['wall_s']:.2f}s s3 {remote['wall_s']:.2f}s requests {requests_made} "
                    f"uploaded {uploaded} final {len(final)} plan requests {plan_requests} (probe {probe_requests})")
    finally:
        moto.stop()
    ratios = [r["s3_s"] / r["local_s"] for r in runs]
    request_limit = 3 * math.ceil(N / PARALLELISM) + 10
    result = {
        "n": N, "parallelism": PARALLELISM, "runs": runs,
        "local_wall_median_s": statistics.median(local_walls), "s3_wall_median_s": statistics.median(s3_walls),
        "wall_ratio_median": statistics.median(ratios), "wall_ratio_max": max(ratios),
        "requests_max": max(r["requests"] for r in runs), "requests_limit": request_limit,
        "bytes_ratio_max": max(r["uploaded"] / r["final_state"] for r in runs),
        "plan_requests_max": max(r["plan_requests"] for r in runs),
    }
    write_result("apply_s3", result)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    ok = (result["wall_ratio_median"] <= 1.5 and result["requests_max"] <= request_limit
          and result["bytes_ratio_max"] <= 20 and result["plan_requests_max"] <= 4)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
