"""Lifetimes end to end (issue 14): the CLI in this process against the sandbox served over HTTP.

The clusters are made at the real time; later runs judge lifetimes by a fake clock, TPDECLARE_NOW, hours
ahead of it (the margins are hours, so nothing depends on how fast this machine is)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from e2e_helpers import assert_no_traceback, run_tp, write

SPEC = """
    stack: lt
    clusters:
      short:
        instance_type: 1xH100
        lifetime: {{expires_after: {short}, warn_before: 1h}}
      long:
        instance_type: 1xH100
        lifetime: {{expires_after: 24h, warn_before: 2h}}
      forever:
        instance_type: 1xH100
{extra}"""


def spec(tmp_path, short="8h", extra=""):
    return write(tmp_path / "lt.yaml", SPEC.format(short=short, extra=extra))


def hours_ahead(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(env, hours: float) -> dict:
    return {**env, "TPDECLARE_NOW": hours_ahead(hours)}


def ok(proc, code=0):
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    return proc


def records(tmp_path) -> dict:
    return json.loads((tmp_path / "state" / "lt.json").read_text())["resources"]


@pytest.fixture
def applied(tmp_path, sandbox, env):
    spec(tmp_path)
    ok(run_tp(tmp_path, "apply", "lt.yaml", "--auto-approve", env=env))
    assert set(sandbox.by_name()) == {"lt-short", "lt-long", "lt-forever"}
    return tmp_path


def test_the_plan_shows_each_lifetime_and_what_ends_soon(applied, sandbox, env):
    out = ok(run_tp(applied, "plan", "lt.yaml", env=at(env, 7.5))).stdout
    top, rest = out.split("No changes.", 1)
    assert top.startswith("Expiring soon (within warn_before):\n  short: expires at ")
    assert "Lifetimes:\n  long   expires at " in rest and "; $32.8" in rest  # ~16h30m left at $1.99/hr
    assert "Until expiry: $" in rest and "$1.99/hr runs on with no end" in rest
    doc = json.loads(ok(run_tp(applied, "plan", "lt.yaml", "--json", env=at(env, 7.5))).stdout)
    by = {rc["address"]: rc for rc in doc["resource_changes"]}
    assert by["short"]["expiry"]["warning"] and by["short"]["expires_at"] and by["forever"]["expires_at"] is None
    summary = ok(run_tp(applied, "plan", "lt.yaml", "--summary", env=at(env, 9))).stdout
    rows = [line for line in summary.splitlines() if line.startswith(("-", "+", "~"))]
    assert len(rows) == 1 and rows[0].startswith("-   short  destroy  1 × 1xH100    $1.99/hr → $0.00/hr    expired at ")


def test_expire_destroys_only_the_expired_cluster_and_apply_does_not_bring_it_back(applied, sandbox, env):
    proc = ok(run_tp(applied, "expire", "lt.yaml", "--auto-approve", env=at(env, 9)))
    assert "short: Destruction complete after" in proc.stdout
    assert "Expire complete! Clusters: 0 added, 0 changed, 0 replaced, 1 destroyed." in proc.stdout
    assert set(sandbox.by_name()) == {"lt-long", "lt-forever"}
    assert records(applied)["short"]["status"] == "expired" and records(applied)["short"]["cluster_id"] is None
    creates = sandbox.stats()["creates_accepted"]
    again = ok(run_tp(applied, "apply", "lt.yaml", "--auto-approve", env=at(env, 9)))
    assert "No changes." in again.stdout
    assert "# short: destroyed because its lifetime (expires_after 8h)" in again.stdout
    assert sandbox.stats()["creates_accepted"] == creates
    ok(run_tp(applied, "expire", "lt.yaml", "--auto-approve", env=at(env, 9)))  # nothing more to do: exit 0
    assert sandbox.stats()["deletes_accepted"] == 1
    spec(applied, short="12h")  # the lifetime changes: the address is created again
    back = ok(run_tp(applied, "apply", "lt.yaml", "--auto-approve", env=at(env, 9)))
    assert "its lifetime changed from expires_after 8h to expires_after 12h" in back.stdout
    assert set(sandbox.by_name()) == {"lt-short", "lt-long", "lt-forever"}
    assert records(applied)["short"]["status"] == "ready"


def test_replace_asks_for_an_expired_address_back(applied, sandbox, env):
    ok(run_tp(applied, "expire", "lt.yaml", "--auto-approve", env=at(env, 9)))
    back = ok(run_tp(applied, "apply", "lt.yaml", "--auto-approve", "--replace", "short", env=at(env, 9)))
    assert "created again: replace requested with --replace short" in back.stdout
    assert "lt-short" in sandbox.by_name()


def test_a_protected_expired_cluster_exits_3_and_stays(tmp_path, sandbox, env):
    spec(tmp_path, extra="""
      guarded:
        instance_type: 1xH100
        deletion_protection: true
        lifetime: {expires_after: 1h}
      kept:
        instance_type: 1xH100
        lifecycle: {prevent_destroy: true}
        lifetime: {expires_after: 1h}
""")
    ok(run_tp(tmp_path, "apply", "lt.yaml", "--auto-approve", env=env))
    proc = ok(run_tp(tmp_path, "expire", "lt.yaml", "--auto-approve", env=at(env, 9)), code=3)
    assert "short: Destruction complete" in proc.stdout  # the unprotected one still goes
    assert "Error: expired clusters are kept by protection:" in proc.stderr
    assert "guarded: its lifetime ended at " in proc.stderr
    assert "it costs $1.99/hr, but deletion protection" in proc.stderr
    assert "kept: its lifetime ended at " in proc.stderr and "lifecycle.prevent_destroy forbids" in proc.stderr
    assert {"lt-guarded", "lt-kept"} <= set(sandbox.by_name()) and "lt-short" not in sandbox.by_name()
    applying = ok(run_tp(tmp_path, "apply", "lt.yaml", "--auto-approve", env=at(env, 9)), code=3)
    assert "the plan is blocked by policy" in applying.stderr
    assert "kept by protection: the plan is blocked" in applying.stdout
    assert {"lt-guarded", "lt-kept"} <= set(sandbox.by_name())
    warned = ok(run_tp(tmp_path, "expire", "lt.yaml", "--warn-only", env=at(env, 9)), code=3)
    assert "2 expired" in warned.stdout
    again = ok(run_tp(tmp_path, "expire", "lt.yaml", "--auto-approve", "--json", env=at(env, 9)), code=3)
    doc = json.loads(again.stdout)
    assert doc["outcome"] == "protected" and doc["changes"] == []
    assert doc["plan"]["resource_changes"][1]["expiry"]["protected"]  # `guarded`, sorted after `forever`


def test_expires_at_in_the_past_plans_no_create(tmp_path, sandbox, env):
    write(tmp_path / "lt.yaml", """
        stack: lt
        clusters:
          late: {instance_type: 1xH100, lifetime: {expires_at: "2020-01-01T00:00:00Z"}}
    """)
    plan = ok(run_tp(tmp_path, "plan", "lt.yaml", "--detailed-exitcode", env=env))
    assert "# late: not created: its lifetime ended at 2020-01-01T00:00:00Z, before it could be created" in plan.stdout
    ok(run_tp(tmp_path, "apply", "lt.yaml", "--auto-approve", env=env))
    assert sandbox.stats()["creates_accepted"] == 0 and sandbox.by_name() == {}


def test_warn_only_exits_2_and_changes_nothing(applied, sandbox, env):
    state_before = (applied / "state" / "lt.json").read_bytes()
    quiet = ok(run_tp(applied, "expire", "lt.yaml", "--warn-only", env=at(env, 1)))
    assert "No lifetime has ended or ends within its warn_before; nothing was changed." in quiet.stdout
    soon = ok(run_tp(applied, "expire", "lt.yaml", "--warn-only", env=at(env, 7.5)), code=2)
    assert "0 expired, 1 within warn_before; nothing was changed (--warn-only)." in soon.stdout
    ended = ok(run_tp(applied, "expire", "lt.yaml", "--warn-only", env=at(env, 23)), code=2)
    assert "1 expired, 1 within warn_before" in ended.stdout and "`tpdeclare expire` destroys" in ended.stdout
    assert (applied / "state" / "lt.json").read_bytes() == state_before
    assert sandbox.stats()["deletes_accepted"] == 0 and len(sandbox.by_name()) == 3


def test_expire_json_is_one_document(applied, sandbox, env):
    proc = ok(run_tp(applied, "expire", "lt.yaml", "--auto-approve", "--json", env=at(env, 9)))
    doc = json.loads(proc.stdout)
    assert (doc["command"], doc["outcome"], doc["stack"]) == ("expire", "applied", "lt")
    assert doc["changes"] == [{"address": "short", "action": "destroy", "result": "succeeded", "error": None}]
    assert doc["running"]["hourly"] == pytest.approx(3.98) and {c["address"] for c in doc["running"]["clusters"]} \
        == {"long", "forever"}
    reasons = {rc["address"]: rc["action_reason"] for rc in doc["plan"]["resource_changes"]}
    assert reasons == {"short": "delete_because_expired", "long": None, "forever": None}
    assert "short: Destruction complete" in proc.stderr  # progress is not on stdout
    warned = json.loads(ok(run_tp(applied, "expire", "lt.yaml", "--warn-only", "--json", env=at(env, 23)),
                           code=2).stdout)
    assert warned["outcome"] == "warned"


def test_expire_counts_from_the_engine_created_at(applied, sandbox, env):
    """The recorded creation time says the cluster is long expired; the engine's (read by expire's refresh)
    says it is not: the engine's word wins, and nothing is destroyed. A plan without refresh goes by the
    recorded one."""
    path = applied / "state" / "lt.json"
    doc = json.loads(path.read_text())
    doc["resources"]["short"]["created_at"] = "2020-01-01T00:00:00Z"
    path.write_text(json.dumps(doc))
    stale = ok(run_tp(applied, "plan", "lt.yaml", env=env)).stdout
    assert "# short will be destroyed" in stale
    assert "No changes." in ok(run_tp(applied, "plan", "lt.yaml", "--refresh", env=env)).stdout
    ok(run_tp(applied, "expire", "lt.yaml", "--auto-approve", env=env))
    assert "lt-short" in sandbox.by_name() and sandbox.stats()["deletes_accepted"] == 0


@pytest.mark.parametrize("value", ["tomorrow", "2026-12-05T18:00:00", "2026-02-30T00:00:00Z"])
def test_a_bad_clock_is_refused_before_anything(tmp_path, sandbox, env, value):
    spec(tmp_path)
    proc = ok(run_tp(tmp_path, "plan", "lt.yaml", env={**env, "TPDECLARE_NOW": value}), code=1)
    assert f"Error: TPDECLARE_NOW='{value}' is not an RFC 3339 time with a timezone" in proc.stderr
    assert sandbox.stats()["mutating_requests"] == 0


def test_markdown_with_lifetimes_is_byte_stable_on_a_fixed_clock(tmp_path, sandbox, env, golden):
    write(tmp_path / "lt.yaml", """
        stack: lt
        clusters:
          run: {instance_type: 8xH200, lifetime: {expires_after: 8h, warn_before: 1h}}
          demo: {instance_type: 1xH100, lifetime: {expires_at: "2026-12-05T18:00:00Z", warn_before: 2d}}
          late: {instance_type: 1xH100, lifetime: {expires_at: "2026-12-01T00:00:00Z"}}
          always: {instance_type: 1xL40S}
    """)
    fixed = {**env, "TPDECLARE_NOW": "2026-12-04T09:00:00Z"}
    first = ok(run_tp(tmp_path, "plan", "lt.yaml", "--markdown", env=fixed))
    assert "Warning: TPDECLARE_NOW is set: lifetimes are judged as of 2026-12-04T09:00:00Z" in first.stderr
    assert first.stdout == ok(run_tp(tmp_path, "plan", "lt.yaml", "--markdown", env=fixed)).stdout
    golden("cli_plan_lifetimes.md", first.stdout)


def test_the_gitops_kit_runs_expire_every_hour(tmp_path, sandbox, env):
    """The kit's hourly job, its steps run as written (the kit's script over every stack): the first destroys
    what expired, the second fails (exit 2) while a lifetime ends within its warn_before, so that someone is
    told. The expiry is remembered in the stack's state (in the bucket): nothing is committed back."""
    import shlex
    import subprocess
    import sys

    import yaml

    from e2e_helpers import REPO

    workflow = yaml.safe_load((REPO / "examples" / "gitops" / "tpdeclare.yml").read_text())
    hourly = [c["cron"] for c in workflow[True]["schedule"] if c["cron"].split()[1] == "*"]
    job = workflow["jobs"]["expire"]
    assert hourly and hourly[0] in job["if"] and hourly[0] not in workflow["jobs"]["drift"]["if"]
    steps = [shlex.split(s["run"]) for s in job["steps"] if "tpdeclare_ci.py" in s.get("run", "")]
    assert [s[1:] for s in steps] == [["ci/tpdeclare_ci.py", "expire"], ["ci/tpdeclare_ci.py", "warn"]]
    assert [s.get("if") for s in job["steps"] if "tpdeclare_ci.py" in s.get("run", "")] == [None, "always()"]
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "tpdeclare_ci.py").write_bytes((REPO / "examples" / "gitops" / "ci" / "tpdeclare_ci.py")
                                                      .read_bytes())
    write(tmp_path / "stacks" / "lt" / "lt.yaml", SPEC.format(short="8h", extra=""))
    kit = {**env, "TPDECLARE_STATE": str(tmp_path / "bucket"), "TPDECLARE_CMD": f"{sys.executable} -m tpdeclare"}
    ok(run_tp(tmp_path, "apply", "stacks/lt", "--state", str(tmp_path / "bucket" / "lt.json"), "--auto-approve",
              env=kit))

    def step(argv, code):
        done = subprocess.run([sys.executable, *argv[1:]], cwd=tmp_path, env=at(kit, 23.5), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == code, done.stdout + done.stderr
        return done

    assert "short: Destruction complete" in step(steps[0], 0).stdout
    assert "0 expired, 1 within warn_before" in step(steps[1], 2).stdout  # `long` ends within 2h
    remembered = json.loads((tmp_path / "bucket" / "lt.json").read_text())["resources"]["short"]
    assert remembered["status"] == "expired"
