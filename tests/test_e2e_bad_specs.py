"""Every bad spec of the table, through the real CLI: exit 1, place and hint, nothing written, no API call."""

from __future__ import annotations

import pytest

from bad_spec_cases import ALL_CASES
from e2e_helpers import ServedSandbox, assert_no_traceback, cli_env, run_cli

# Cases that need a smaller size limit than the CLI's are covered at the loader level
# (tests/test_bad_specs.py); the default-limit case covers the CLI.
CLI_CASES = [c for c in ALL_CASES if c.max_bytes is None]


@pytest.fixture(scope="module")
def sandbox():
    sb = ServedSandbox()
    yield sb
    sb.stop()


def test_enough_cases_reach_the_cli():
    assert len(CLI_CASES) >= 25


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.id)
def test_bad_spec_refused_by_apply(case, tmp_path, sandbox):
    args = case.write(tmp_path)
    before = sandbox.stats()["requests_total"]
    proc = run_cli(tmp_path, "apply", "--auto-approve", *args, env=cli_env(sandbox))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    for expected in case.expect:
        assert expected in proc.stderr, f"{expected!r} not in:\n{proc.stderr}"
    assert "hint:" in proc.stderr
    assert proc.stderr.rstrip().endswith("nothing was changed")
    assert not (tmp_path / "state").exists()
    assert sandbox.stats()["requests_total"] == before
