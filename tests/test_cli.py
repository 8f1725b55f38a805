"""The CLI's edges: the entry points, help, usage errors, colour, the bug handler, and the key never shown.

Most runs are in this process (run_tp); the entry points themselves (`python -m tpdeclare` and the
installed `tpdeclare` console script) run in subprocesses."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from tpdeclare import __version__, cli

from e2e_helpers import ThreadedSandbox, assert_no_traceback, cli_env, run_cli, run_tp, write

REPO = Path(__file__).resolve().parents[1]


def test_version_through_python_m(tmp_path):
    proc = run_cli(tmp_path, "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"tpdeclare {__version__}"


def test_python_m_reports_a_usage_error_with_exit_1(tmp_path):
    proc = run_cli(tmp_path, "plan")
    assert proc.returncode == 1 and "the following arguments are required" in proc.stderr
    assert_no_traceback(proc)


def test_installed_console_script_validates_plans_and_applies(tmp_path, sandbox, env):
    """The `tpdeclare` script that pip installed into this environment, end to end over HTTP."""
    script = Path(sysconfig.get_path("scripts")) / "tpdeclare"
    assert script.is_file(), f"no console script at {script}: install the package (pip install -e .)"
    write(tmp_path / "c.yaml", "stack: s\nclusters:\n  nb:\n    instance_type: 1xH100\n")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(script), *args], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)

    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"tpdeclare {__version__}"
    assert run("validate", "c.yaml").returncode == 0
    applied = run("apply", "c.yaml", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete! Clusters: 1 added, 0 changed, 0 replaced, 0 destroyed." in applied.stdout
    assert set(sandbox.by_name()) == {"s-nb"}
    assert run("plan", "c.yaml", "--detailed-exitcode").returncode == 0


def test_no_command_prints_help_and_fails(tmp_path):
    proc = run_tp(tmp_path)
    assert proc.returncode == 1 and "validate" in proc.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (("apply", "x.yaml", "--parallelism", "0"), "must be at least 1"),
        (("plan", "x.yaml", "--lock-timeout", "soon"), "expected a number"),
        (("plan",), "SPEC"),  # argparse's own words around it are not pinned
        (("frobnicate",), "unknown command 'frobnicate'"),
        (("aply", "x.yaml"), "unknown command 'aply'; did you mean 'apply'?\n  hint: run `tpdeclare --help`"),
        (("apply", "x.yaml", "--auto-aprove"),
         "unknown option '--auto-aprove' for `tpdeclare apply`; did you mean '--auto-approve'?\n"
         "  hint: run `tpdeclare apply --help`"),
        (("state", "lst"), "did you mean 'list'?\n  hint: run `tpdeclare state --help`"),
    ],
)
def test_usage_errors_exit_1_with_a_hint(tmp_path, args, needle):
    proc = run_tp(tmp_path, *args)
    assert proc.returncode == 1
    assert needle in proc.stderr and "hint: run `tpdeclare" in proc.stderr
    assert_no_traceback(proc)


def test_global_options_work_after_the_command(tmp_path):
    write(tmp_path / "c.yaml", "clusters:\n  nb:\n    instance_type: 1xH100\n")
    proc = run_tp(tmp_path, "plan", "c.yaml", "--state", "elsewhere.json", "--no-color")
    assert proc.returncode == 0, proc.stderr
    assert "\033[" not in proc.stdout


def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path, monkeypatch, capsys):
    write(tmp_path / "c.yaml", "clusters:\n  nb:\n    instance_type: 1xH100\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert cli.main(["plan", "c.yaml"]) == 0
    assert "\033[" in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli.main(["plan", "c.yaml"]) == 0
    assert "\033[" not in capsys.readouterr().out


def test_a_bug_prints_one_line_and_the_log_path(tmp_path, monkeypatch, capsys):
    write(tmp_path / "c.yaml", "clusters:\n  nb:\n    instance_type: 1xH100\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TENSORPOOL_KEY", "tp-secret-key-for-crash")

    def broken(*a, **k):
        raise RuntimeError("boom with tp-secret-key-for-crash inside")

    monkeypatch.setattr("tpdeclare.plan.planner.make_plan", broken)
    assert cli.main(["plan", "c.yaml"]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "internal error (RuntimeError)" in lines[0]
    path = Path(re.search(r"the traceback is in (\S+?)\.? Please", lines[0]).group(1).rstrip("."))
    text = path.read_text()
    assert "Traceback" in text and "boom with <redacted> inside" in text
    assert "tp-secret-key-for-crash" not in text + err
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_the_api_key_never_reaches_output_state_plans_or_logs(tmp_path):
    key = "tp-live-KEYKEYKEY-0123456789"
    sandbox = ThreadedSandbox(key=key)
    try:
        env = cli_env(sandbox)
        write(tmp_path / "c.yaml", "stack: s\nclusters:\n  nb:\n    instance_type: 1xH100\n"
                                   "  big:\n    instance_type: 8xB200\n    num_nodes: 2\n")
        outputs = []
        for args in (("plan", "c.yaml", "--refresh", "--out", "p.plan", "-v"),
                     ("apply", "p.plan", "-v"),
                     ("apply", "c.yaml", "--auto-approve", "-v"),
                     ("show", "--json", "c.yaml"), ("state", "list")):
            proc = run_tp(tmp_path, *args, env=env)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            outputs.append(proc.stdout + proc.stderr)
        assert "[tpdeclare.api]" in outputs[0]  # -v really logged the API calls
        wrong = run_tp(tmp_path, "plan", "c.yaml", "--refresh", env={**env, "TENSORPOOL_KEY": key + "x"})
        assert wrong.returncode == 1 and "401" in wrong.stderr
        outputs.append(wrong.stdout + wrong.stderr)
        files = [p.read_bytes().decode(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
        assert files and outputs
        for text in outputs + files:
            assert key not in text
    finally:
        sandbox.stop()


def test_an_in_process_run_leaves_the_process_as_it_found_it(tmp_path, sandbox, env):
    """run_tp is only as good as its isolation: what one run changes process-wide must not reach the next."""
    import logging
    import os
    import signal

    write(tmp_path / "c.yaml", "stack: s\nclusters:\n  nb:\n    instance_type: 1xH100\n")
    logger = logging.getLogger("tpdeclare")
    before = (dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr, list(sys.argv),
              list(logger.handlers), logger.level, signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    verbose = run_tp(tmp_path, "apply", "c.yaml", "--auto-approve", "-v", env={**env, "TPDECLARE_MARK": "1"})
    assert verbose.returncode == 0, verbose.stderr
    assert "[tpdeclare.api]" in verbose.stderr  # -v logged to this run's stderr ...
    after = (dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr, list(sys.argv),
             list(logger.handlers), logger.level, signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    assert after == before
    quiet = run_tp(tmp_path, "plan", "c.yaml", env=env)
    assert quiet.returncode == 0 and "[tpdeclare." not in quiet.stderr  # ... and to no later run's
    assert "[tpdeclare.sandbox" not in verbose.stderr  # the threaded sandbox's request log stays out of it
