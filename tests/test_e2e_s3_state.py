"""End to end with state on S3: the real CLI, the sandbox over real HTTP, moto's S3 server over real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from e2e_helpers import assert_no_traceback, cli_env, run_tp, write
from s3_fixtures import CREDENTIALS, boto_client

SPEC = """
    stack: team
    backend:
      s3:
        bucket: {bucket}
        endpoint_url: {url}
        region: us-east-1
        lock_ttl: 30
    clusters:
      trainer:
        instance_type: 8xH200
      notebook:
        instance_type: 1xH100
"""


@pytest.fixture
def s3_env(env, tmp_path):
    return {**env, **CREDENTIALS, "XDG_CACHE_HOME": str(tmp_path / "cache")}


def spec(tmp_path, moto_s3, bucket, name="team.yaml", text=SPEC):
    return write(tmp_path / name, text.format(bucket=bucket, url=moto_s3.url))


def ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    return proc


def stored(moto_s3, bucket):
    return json.loads(boto_client(moto_s3).get_object(Bucket=bucket, Key="tpdeclare/team.json")["Body"].read())


def test_apply_keeps_state_in_the_bucket_and_a_no_change_plan_is_cheap(tmp_path, sandbox, s3_env, moto_s3, bucket):
    spec(tmp_path, moto_s3, bucket)
    applied = ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "-v", env=s3_env))
    assert "Apply complete! Clusters: 2 added" in applied.stdout
    assert not (tmp_path / "state" / "team.json").exists()
    doc = stored(moto_s3, bucket)
    assert set(doc["resources"]) == {"trainer", "notebook"}
    recorded = {rec["name"]: rec["cluster_id"] for rec in doc["resources"].values()}
    assert recorded == {name: c["cluster_id"] for name, c in sandbox.by_name().items()}  # state = engine
    keys = [o["Key"] for o in boto_client(moto_s3).list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["tpdeclare/team.json"]  # the journal folded in, the lock released
    for secret in (CREDENTIALS["AWS_SECRET_ACCESS_KEY"], CREDENTIALS["AWS_ACCESS_KEY_ID"]):
        assert secret not in applied.stdout + applied.stderr
    before = moto_s3.requests
    planned = ok(run_tp(tmp_path, "plan", "team.yaml", env=s3_env))
    assert "No changes" in planned.stdout
    made = [" ".join(r) for r in moto_s3.log[before:]]
    # lock, snapshot, journal listing, release; a server that ignores If-Match on DELETE (moto before
    # 5.2) costs one more: the release reads the lock back to compare its ID before deleting it
    conditional_delete = not any(r.startswith("GET ") and r.endswith(".lock") for r in made)
    assert len(made) <= (4 if conditional_delete else 5), made


def test_state_pull_prints_the_bucket_state(tmp_path, sandbox, s3_env, moto_s3, bucket):
    spec(tmp_path, moto_s3, bucket)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=s3_env))
    pulled = ok(run_tp(tmp_path, "state", "list", "--spec", "team.yaml", env=s3_env))
    assert "trainer" in pulled.stdout and "notebook" in pulled.stdout


def test_state_flag_overrides_the_backend(tmp_path, sandbox, s3_env, moto_s3, bucket):
    spec(tmp_path, moto_s3, bucket)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", "--state", f"s3://{bucket}/other/team.json",
              env=s3_env))
    keys = [o["Key"] for o in boto_client(moto_s3).list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["other/team.json"]


def test_a_store_that_ignores_conditional_writes_is_refused(tmp_path, sandbox, s3_env, moto_s3, bucket):
    spec(tmp_path, moto_s3, bucket)
    moto_s3.mode = "drop_conditions"
    try:
        proc = run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=s3_env)
    finally:
        moto_s3.mode = ""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "ignores conditional writes" in proc.stderr and "If-None-Match" in proc.stderr
    assert "Two runs could then both take the lock" in proc.stderr
    assert sandbox.clusters() == []
    assert boto_client(moto_s3).list_objects_v2(Bucket=bucket).get("Contents", []) == []


def test_without_boto3_the_error_names_the_extra(tmp_path, s3_env, moto_s3, bucket):
    spec(tmp_path, moto_s3, bucket)
    blocker = write(tmp_path / "noboto" / "boto3" / "__init__.py", "raise ImportError('no boto3 here')\n")
    write(tmp_path / "noboto" / "botocore" / "__init__.py", "raise ImportError('no botocore here')\n")
    env = {**s3_env, "PYTHONPATH": f"{blocker.parent.parent}:{s3_env['PYTHONPATH']}"}
    proc = subprocess.run([sys.executable, "-m", "tpdeclare", "plan", "team.yaml"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert 'pip install "tpdeclare[s3]"' in proc.stderr
    assert_no_traceback(proc)


@pytest.mark.parametrize("args", [["--version"], ["validate", "team.yaml"]])
def test_version_and_validate_never_import_boto3(tmp_path, moto_s3, bucket, args):
    spec(tmp_path, moto_s3, bucket)
    code = ("import sys; from tpdeclare import cli\n"
            f"try:\n    cli.main({args!r})\nexcept SystemExit:\n    pass\n"
            "print('BOTO' if 'boto3' in sys.modules or 'botocore' in sys.modules else 'CLEAN')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=cli_env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "CLEAN", proc.stdout + proc.stderr


def test_two_runners_apply_one_stack_at_once(tmp_path, sandbox, s3_env, moto_s3, bucket):
    """Two CI runners (two processes, two directories) apply the same S3-backed stack at the same moment."""
    runs = []
    for name in ("runner-a", "runner-b"):
        (tmp_path / name).mkdir()
        spec(tmp_path / name, moto_s3, bucket)
    for name in ("runner-a", "runner-b"):
        runs.append(subprocess.Popen(
            [sys.executable, "-m", "tpdeclare", "apply", "team.yaml", "--auto-approve", "--lock-timeout", "60"],
            cwd=tmp_path / name, env=s3_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL))
    outs = [p.communicate(timeout=120) for p in runs]
    for p, (out, err) in zip(runs, outs, strict=True):
        assert p.returncode == 0, out + err
    names = [c["tp_cluster_name"] for c in sandbox.clusters()]
    assert sorted(names) == ["team-notebook", "team-trainer"]  # each cluster once
    waited = [err for _out, err in outs if "waiting for the state lock held by" in err]
    added = [out for out, _err in outs if "2 added" in out]
    assert len(added) == 1
    assert len(waited) == 1 or any("No changes" in out for out, _ in outs)
    doc = stored(moto_s3, bucket)
    assert set(doc["resources"]) == {"trainer", "notebook"}
    recorded = {rec["name"]: rec["cluster_id"] for rec in doc["resources"].values()}
    assert recorded == {name: c["cluster_id"] for name, c in sandbox.by_name().items()}  # state = engine


LOCAL_SPEC = """
    stack: team
    clusters:
      trainer:
        instance_type: 8xH200
      notebook:
        instance_type: 1xH100
"""


def test_migrate_moves_a_local_state_to_the_bucket_keeping_lineage_and_serial(tmp_path, sandbox, s3_env, moto_s3,
                                                                             bucket):
    write(tmp_path / "team.yaml", LOCAL_SPEC)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=s3_env))
    local = json.loads((tmp_path / "state" / "team.json").read_text())
    url = f"s3://{bucket}/tpdeclare/team.json"
    env = {**s3_env, "AWS_ENDPOINT_URL": moto_s3.url}
    migrated = ok(run_tp(tmp_path, "state", "migrate", "--to", url, "team.yaml", env=env))
    assert "Migrated" in migrated.stdout
    assert not (tmp_path / "state" / "team.json").exists()
    assert (tmp_path / "state" / "team.json.migrated").exists()
    doc = stored(moto_s3, bucket)
    assert (doc["lineage"], doc["serial"]) == (local["lineage"], local["serial"])
    assert doc["resources"] == local["resources"]
    planned = ok(run_tp(tmp_path, "plan", "team.yaml", "--state", url, env=env))
    assert "No changes" in planned.stdout
    pulled = ok(run_tp(tmp_path, "state", "pull", "--state", url, env=env))
    assert json.loads(pulled.stdout)["lineage"] == local["lineage"]


def test_migrate_refuses_a_target_of_another_lineage(tmp_path, sandbox, s3_env, moto_s3, bucket):
    spec(tmp_path, moto_s3, bucket)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=s3_env))  # the bucket's own state
    other = tmp_path / "other"
    other.mkdir()
    write(other / "solo.yaml", LOCAL_SPEC.replace("stack: team", "stack: solo"))
    ok(run_tp(other, "apply", "solo.yaml", "--auto-approve", env=s3_env))
    before = stored(moto_s3, bucket)
    env = {**s3_env, "AWS_ENDPOINT_URL": moto_s3.url}
    proc = run_tp(other, "state", "migrate", "--to", f"s3://{bucket}/tpdeclare/team.json", "solo.yaml", env=env)
    assert proc.returncode == 1 and "holds a state of lineage" in proc.stderr, proc.stderr
    assert stored(moto_s3, bucket) == before and (other / "state" / "solo.json").exists()


def test_push_refuses_another_lineage_or_an_older_serial_unless_forced(tmp_path, sandbox, s3_env, moto_s3, bucket):
    spec(tmp_path, moto_s3, bucket)
    ok(run_tp(tmp_path, "apply", "team.yaml", "--auto-approve", env=s3_env))
    current = stored(moto_s3, bucket)
    older = write(tmp_path / "older.json", json.dumps({**current, "serial": current["serial"] - 1}))
    proc = run_tp(tmp_path, "state", "push", str(older), "--spec", "team.yaml", env=s3_env)
    assert proc.returncode == 1 and "is older than" in proc.stderr, proc.stderr
    alien = write(tmp_path / "alien.json", json.dumps({**current, "lineage": "00000000-0000-4000-8000-0000000a11e0"}))
    proc = run_tp(tmp_path, "state", "push", str(alien), "--spec", "team.yaml", env=s3_env)
    assert proc.returncode == 1 and "lineage" in proc.stderr, proc.stderr
    assert stored(moto_s3, bucket) == current
    ok(run_tp(tmp_path, "state", "push", str(older), "--spec", "team.yaml", "--force", env=s3_env))
    assert stored(moto_s3, bucket)["serial"] == current["serial"] + 1


def test_doctor_probes_the_s3_state_and_refuses_one_that_ignores_conditions(tmp_path, sandbox, s3_env, moto_s3,
                                                                              bucket):
    env = {**s3_env, "AWS_ENDPOINT_URL": moto_s3.url}
    url = f"s3://{bucket}/tpdeclare/team.json"
    good = run_tp(tmp_path, "doctor", "--state", url, env=env)
    assert "If-None-Match and If-Match honoured" in good.stdout, good.stdout + good.stderr
    moto_s3.mode = "drop_conditions"
    try:
        bad = run_tp(tmp_path, "doctor", "--state", url, env=env)
    finally:
        moto_s3.mode = ""
    assert bad.returncode == 1 and "ignores conditional writes" in bad.stdout, bad.stdout + bad.stderr
