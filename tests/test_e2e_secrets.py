"""Issue 9.6 through the CLI: the API key never reaches output, `-v` log lines, state, plan files, caches or
crash logs, on the happy path, on the error paths, and when the server echoes the key back."""

from __future__ import annotations

import pytest

from e2e_helpers import ThreadedSandbox, run_tp, write
from hardening_checks import CANARY, assert_canary_absent, env_for
from hostile_server import ECHO_KEY, HostileServer, Json

SPEC = "stack: sec\nclusters:\n  a:\n    instance_type: 1xH100\n"


@pytest.fixture
def sandbox():
    sb = ThreadedSandbox(key=CANARY)
    yield sb
    sb.stop()


def _all(tmp_path, engine, *commands):
    write(tmp_path / "sec.yaml", SPEC)
    out = []
    for args in commands:
        proc = run_tp(tmp_path, "-v", *args, env=env_for(tmp_path, engine))
        out.append(proc)
        assert "Traceback" not in proc.stdout + proc.stderr
    return out


def test_a_whole_life_with_v_never_shows_the_key(tmp_path, sandbox):
    runs = _all(tmp_path, sandbox.url,
                ("plan", "sec.yaml", "--refresh", "--out", "p.plan"), ("apply", "p.plan"),
                ("show", "--json"), ("state", "list"), ("refresh", "sec.yaml", "--auto-approve"),
                ("orphans", "sec.yaml"), ("plan", "sec.yaml", "--json"), ("destroy", "sec.yaml", "--auto-approve"))
    assert runs[1].returncode == 0, runs[1].stdout + runs[1].stderr
    assert any("GET /cluster/list" in r.stderr for r in runs)  # -v really logs the calls
    assert_canary_absent("".join(r.stdout + r.stderr for r in runs), tmp_path)


@pytest.mark.parametrize("args", [
    ("import", "a", CANARY, "sec.yaml"),  # the key given as a cluster ID: a path parameter
    ("import", "a", "c-00000001", "sec.yaml"),
    ("apply", "sec.yaml", "--auto-approve"),
])
def test_the_key_echoed_by_the_server_is_redacted_in_v_logs_and_errors(tmp_path, args):
    with HostileServer() as server:
        server.on("POST", "/health", Json(200, {"message": f"hello {ECHO_KEY}"}))
        server.on("GET", "/cluster/list", Json(200, {"clusters": [], "message": f"key={ECHO_KEY}"}))
        server.on("GET", "/cluster/info/*", Json(404, {"message": f"no cluster for {ECHO_KEY}"}))
        server.on("POST", "/cluster/create", Json(500, {"message": f"boom {ECHO_KEY}"},
                                                  headers={"X-Key": ECHO_KEY}))
        (run,) = _all(tmp_path, server.url, args)
        assert run.returncode == 1
        assert_canary_absent(run.stdout + run.stderr, tmp_path)


def test_a_wrong_key_is_refused_without_showing_it(tmp_path):
    sandbox = ThreadedSandbox(key="the-only-right-key-0000")
    try:
        (run,) = _all(tmp_path, sandbox.url, ("apply", "sec.yaml", "--auto-approve"))
    finally:
        sandbox.stop()
    assert run.returncode == 1 and "TENSORPOOL_KEY" in run.stderr
    assert_canary_absent(run.stdout + run.stderr, tmp_path)


def test_a_crash_log_never_holds_the_key(tmp_path, monkeypatch):
    write(tmp_path / "sec.yaml", SPEC)

    def broken(*a, **k):
        raise RuntimeError(f"boom with {CANARY} inside")

    monkeypatch.setattr("tpdeclare.plan.planner.make_plan", broken)
    proc = run_tp(tmp_path, "-v", "plan", "sec.yaml", env=env_for(tmp_path, "sandbox"))
    assert proc.returncode == 1 and "internal error (RuntimeError)" in proc.stderr
    logs = list((tmp_path / "cache").rglob("tpdeclare-crash-*.log"))
    assert logs and "<redacted>" in logs[0].read_text()
    assert_canary_absent(proc.stdout + proc.stderr, tmp_path)
