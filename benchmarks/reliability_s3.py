#!/usr/bin/env python3
"""Reliability with state on S3 (issue 13): SIGKILL an apply at random moments, another runner takes over.

Each trial: runner A (its own directory) applies a stack whose state is in a bucket of moto's S3 server
(tests/moto_s3.py, over HTTP on 127.0.0.1; lease lock_ttl 3 s) against `tpdeclare sandbox serve`, and is
SIGKILLed at a random moment (0-2.5 s after it took the lock) drawn from `random.Random(seed)`. Runner B
(another directory, as a second CI runner would be) then applies with `--lock-timeout 30` until it exits
0: it waits for A's lease to end unrenewed and takes it over. Then the engine is compared with the state
in the bucket: duplicates, orphans, missing, wrong and extra creates must all be 0 (reliability.py's check).

    python benchmarks/reliability_s3.py                 # 24 trials; rewrites the `reliability-s3` section
    python benchmarks/reliability_s3.py --trials 5 --quick
"""

from __future__ import annotations

import argparse
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests"), str(HERE.parent)]

import reliability as rel  # noqa: E402

BEGIN, END = "<!-- BEGIN reliability-s3 -->", "<!-- END reliability-s3 -->"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIARELIABILITY00000", "AWS_SECRET_ACCESS_KEY": "reliability-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}
LOCK_TTL = 3


def write_stack(workdir: Path, stack: str, n: int, bucket: str, url: str) -> set[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"stack: {stack}", "backend:", "  s3:", f"    bucket: {bucket}", f"    endpoint_url: {url}",
             f"    lock_ttl: {LOCK_TTL}", "clusters:"]
    for i in range(n):
        lines += [f"  c{i:02d}:", "    instance_type: 1xH100"]
    (workdir / f"{stack}.yaml").write_text("\n".join(lines) + "\n")
    return {f"{stack}-c{i:02d}" for i in range(n)}


def s3_state(bucket: str, url: str, stack: str):
    import boto3
    from tpdeclare.state.s3_client import S3Client
    from tpdeclare.state.s3_location import S3Location
    from tpdeclare.state.s3_store import S3StateStore

    location = S3Location(bucket=bucket, key=f"tpdeclare/{stack}.json", endpoint_url=url)
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    return S3StateStore(location, client=S3Client(location, client=client)).read()


def trial(sb: rel.Sandbox, moto, root: Path, rng: random.Random, index: int, *, n: int) -> dict:
    import boto3

    sb.reset()
    bucket = f"reliability-{index:03d}"
    boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1",
                 aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket=bucket)
    stack = "skill"
    a, b = root / f"s3kill-{index:03d}" / "runner-a", root / f"s3kill-{index:03d}" / "runner-b"
    declared = write_stack(a, stack, n, bucket, moto.url)
    write_stack(b, stack, n, bucket, moto.url)
    env = sb.env(**CREDENTIALS, XDG_CACHE_HOME=str(root / "cache"))
    delay = rng.uniform(0.0, 2.5)
    proc = rel.start(a, env, "apply", f"{stack}.yaml", "--auto-approve")
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1",
                      aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:  # the kill's clock starts once A holds the lock
        if s3.list_objects_v2(Bucket=bucket, Prefix=f"tpdeclare/{stack}.json.lock").get("KeyCount"):
            break
        time.sleep(0.02)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_at = time.monotonic()
    codes, waited, took_over = [], False, False
    for _ in range(4):
        run = rel.cli(b, env, "apply", f"{stack}.yaml", "--auto-approve", "--lock-timeout", "30")
        codes.append(run.returncode)
        waited = waited or "waiting for the state lock held by" in run.stderr
        took_over = took_over or "took over the state lock" in run.stderr
        if "Traceback" in run.stdout + run.stderr:
            raise AssertionError(run.stdout + run.stderr)
        if run.returncode == 0:
            break
    takeover_s = time.monotonic() - killed_at
    state = s3_state(bucket, moto.url, stack)
    result = rel.check(sb, a, stack, declared, state=state)
    return {"delay": delay, "rc_a": proc.returncode, "codes": codes, "waited": waited, "took_over": took_over,
            "takeover_s": takeover_s, "check": result, "ok": codes[-1] == 0 and result.ok()}


def report(trials: list[dict], n: int, seed: int, wall: float, argv: list[str]) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "python benchmarks/reliability_s3.py" + ("" if not argv else " " + " ".join(argv))
    ok = sum(t["ok"] for t in trials)
    killed = sum(t["rc_a"] == -signal.SIGKILL for t in trials)
    dup = sum(t["check"].duplicates for t in trials)
    orph = sum(len(t["check"].orphans) for t in trials)
    bad = sum(len(t["check"].missing) + len(t["check"].wrong) for t in trials)
    extra = sum(t["check"].extra_creates for t in trials)
    runs = [len(t["codes"]) for t in trials]
    return "\n".join([
        "## Reliability with state on S3 (issue 13)",
        "",
        f"_Written by `{cmd}` on {now}; do not edit by hand between the markers._",
        "",
        f"**Machine.** {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; commit {rel._git_commit()}.",
        "",
        f"**Method.** {len(trials)} trials; a stack of {n} one-GPU clusters with its state in a bucket of "
        f"moto's S3 server over HTTP on 127.0.0.1 (lease lock_ttl {LOCK_TTL}s); runner A SIGKILLed at a delay "
        f"drawn from `random.Random({seed})`, 0-2.5 s after its lock object appeared; runner B in another "
        "directory then applies with "
        "`--lock-timeout 30` until it exits 0 (waiting out A's lease and taking it over); the engine is then "
        "compared with the state in the bucket (benchmarks/reliability.py's check).",
        "",
        "| trials | A killed mid-run | B took over a dead lease | runs of B (median / max) | duplicates | orphans "
        "| missing or wrong | extra creates | result | wall |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {len(trials)} | {killed} | {sum(t['took_over'] for t in trials)} | {statistics.median(runs):g} / "
        f"{max(runs)} | {dup} | {orph} | {bad} | {extra} | {ok}/{len(trials)} ok | {wall:.0f}s |",
        "",
        f"Seconds from the kill to B's success (median / max): "
        f"{statistics.median(t['takeover_s'] for t in trials):.1f} / {max(t['takeover_s'] for t in trials):.1f}. "
        "A trial whose A finished before its kill still has B apply (nothing left to do) and is checked the same.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--quick", action="store_true", help="print only, do not write RESULTS.md")
    args = parser.parse_args(argv)
    from moto_s3 import MotoS3

    rng = random.Random(args.seed)
    started = time.monotonic()
    trials = []
    moto = MotoS3().start()
    try:
        with tempfile.TemporaryDirectory(prefix="tpd-reliability-s3-") as tmp, \
                rel.Sandbox(faults=f"create:latency={rel.KILL_CREATE_LATENCY}") as sb:
            for i in range(args.trials):
                t = trial(sb, moto, Path(tmp), rng, i, n=args.clusters)
                trials.append(t)
                print(f"s3 kill {i + 1}/{args.trials}: killed at {t['delay']:.2f}s rc {t['rc_a']}, B {t['codes']} "
                      f"took_over={t['took_over']} ok={t['ok']} {t['check'].problems()}", flush=True)
    finally:
        moto.stop()
    text = report(trials, args.clusters, args.seed, time.monotonic() - started,
                  sys.argv[1:] if argv is None else argv)
    print(text)
    if not args.quick:
        rel.write_section(text, begin=BEGIN, end=END)
        print(f"wrote the reliability-s3 section of {rel.RESULTS}")
    return 0 if all(t["ok"] for t in trials) else 1


if __name__ == "__main__":
    raise SystemExit(main())
