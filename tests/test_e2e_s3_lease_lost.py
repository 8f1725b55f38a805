"""A holder frozen (SIGSTOP) past its lease cannot write after SIGCONT; the run that took over keeps its state.

Real processes, the sandbox over real HTTP, moto's S3 over real HTTP. The lease is 3 s; the frozen run is
held stopped for 4 s after its lease's last renewal could have happened, so it has surely expired: no
outcome here depends on how fast anything runs, only on the lease having ended.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from e2e_helpers import ThreadedSandbox, cli_env, write
from s3_fixtures import CREDENTIALS, boto_client

SPEC = """
    stack: team
    backend:
      s3:
        bucket: {bucket}
        endpoint_url: {url}
        lock_ttl: 3
    clusters:
      trainer:
        instance_type: 8xH200
      notebook:
        instance_type: 1xH100
"""


def _keys(moto_s3, bucket):
    return [o["Key"] for o in boto_client(moto_s3).list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_a_frozen_holder_loses_its_lease_and_never_writes_again(tmp_path, moto_s3, bucket):
    sandbox = ThreadedSandbox(provision_seconds=6)
    try:
        env = {**cli_env(sandbox), **CREDENTIALS, "XDG_CACHE_HOME": str(tmp_path / "cache")}
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            write(tmp_path / name / "team.yaml", SPEC.format(bucket=bucket, url=moto_s3.url))
        args = [sys.executable, "-m", "tpdeclare", "apply", "team.yaml", "--auto-approve"]
        frozen = subprocess.Popen(args, cwd=tmp_path / "a", env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(sandbox.clusters()) < 2:  # both creates sent: the run is waiting for provisioning
            assert time.monotonic() < deadline and frozen.poll() is None, frozen.communicate()
            time.sleep(0.05)
        os.kill(frozen.pid, signal.SIGSTOP)
        try:
            time.sleep(4.0)  # past the 3 s lease
            successor = subprocess.run(args + ["--lock-timeout", "30"], cwd=tmp_path / "b", env=env,
                                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        finally:
            os.kill(frozen.pid, signal.SIGCONT)
        out, err = frozen.communicate(timeout=120)
        assert successor.returncode == 0, successor.stdout + successor.stderr
        assert "took over the state lock" in successor.stderr
        after = boto_client(moto_s3).get_object(Bucket=bucket, Key="tpdeclare/team.json")["Body"].read()
        assert frozen.returncode == 1, out + err
        assert "lost its state lock" in err or "lost the state lock" in err, err
        doc = json.loads(after)
        recorded = {rec["name"]: rec["cluster_id"] for rec in doc["resources"].values()}
        engine = {name: c["cluster_id"] for name, c in sandbox.by_name().items()}
        assert recorded == engine and sorted(engine) == ["team-notebook", "team-trainer"]  # each once
        assert all(rec["status"] == "ready" for rec in doc["resources"].values()), doc
        final = boto_client(moto_s3).get_object(Bucket=bucket, Key="tpdeclare/team.json")["Body"].read()
        assert final == after  # the frozen run wrote nothing after it woke
        left = [k for k in _keys(moto_s3, bucket) if not k.startswith("tpdeclare/team.json.backup/")]
        assert left[0] == "tpdeclare/team.json" and "tpdeclare/team.json.lock" not in left, left  # no lock
        # S3 has no fencing across objects: a segment the frozen run had ready when it was stopped can land
        # once it wakes (at most one: every later write checks the lease first). It is stale in whole, and the
        # state as the next run reads it is the new holder's snapshot.
        assert len([k for k in left if ".journal/" in k]) <= 1, left
        pulled = subprocess.run([sys.executable, "-m", "tpdeclare", "state", "pull", "--spec", "team.yaml"],
                                cwd=tmp_path / "b", env=env,
                                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert pulled.returncode == 0, pulled.stderr
        assert json.loads(pulled.stdout)["resources"] == doc["resources"]
    finally:
        sandbox.stop()
