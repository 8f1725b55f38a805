"""Every bad spec of the table, through the CLI: exit 1, place and hint, nothing written, no API call.

The original table runs through the real entry point in a subprocess, as users run it; so do the first
cases of every newer corpus. The rest of those corpora run through `cli.main` in-process (the same
code from argv to the words on stderr, without a process start per case).
"""

from __future__ import annotations

import os

import pytest
from tpdeclare import cli

from bad_spec_cases import CASES, CORPORA, MANY_ERRORS, BadSpec
from e2e_helpers import ThreadedSandbox as ServedSandbox
from e2e_helpers import assert_no_traceback, cli_env
from e2e_helpers import run_tp as run_cli

# Cases that need a smaller size limit than the CLI's are covered at the loader level
# (tests/test_bad_specs.py); the default-limit case covers the CLI.
_NEWER = [corpus for corpus in CORPORA.values() if corpus is not CASES]
SUBPROCESS_CASES = [c for c in CASES + [MANY_ERRORS] + [c for corpus in _NEWER for c in corpus[:2]]
                    if c.max_bytes is None]
IN_PROCESS_CASES = [c for corpus in _NEWER for c in corpus[2:] if c.max_bytes is None]


def _command(case: BadSpec) -> list[str]:
    # apply reads each spec argument once (it looks for a saved plan in the same bytes), so FIFOs work too
    return ["apply", "--auto-approve"]


@pytest.fixture(scope="module")
def sandbox():
    sb = ServedSandbox()
    yield sb
    sb.stop()


def test_enough_cases_reach_the_cli():
    assert len(SUBPROCESS_CASES) >= 25
    every = [c for corpus in CORPORA.values() for c in corpus if c.max_bytes is None]
    assert sorted(c.id for c in every) == sorted(c.id for c in SUBPROCESS_CASES + IN_PROCESS_CASES
                                                 if c is not MANY_ERRORS)


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=lambda c: c.id)
def test_bad_spec_refused_by_apply(case, tmp_path, sandbox):
    args = case.write(tmp_path)
    before = sandbox.stats()["requests_total"]
    with case.feeding(tmp_path):
        proc = run_cli(tmp_path, *_command(case), *args, env=cli_env(sandbox), timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    for expected in case.expect:
        assert expected in proc.stderr, f"{expected!r} not in:\n{proc.stderr}"
    assert "hint:" in proc.stderr
    assert proc.stderr.rstrip().endswith("nothing was changed")
    assert not (tmp_path / "state").exists()
    assert sandbox.stats()["requests_total"] == before


@pytest.mark.parametrize("case", IN_PROCESS_CASES, ids=lambda c: c.id)
def test_bad_spec_refused_in_process(case, tmp_path, sandbox, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("TENSORPOOL", "TPDECLARE"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TENSORPOOL_ENGINE", sandbox.url)
    monkeypatch.setenv("TENSORPOOL_KEY", sandbox.key or "unused")
    monkeypatch.setenv("NO_COLOR", "1")
    args = case.write(tmp_path)
    before = sandbox.stats()["requests_total"]
    with case.feeding(tmp_path):
        code = cli.main([*_command(case), *args])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert "Traceback" not in out + err
    for expected in case.expect:
        assert expected in err, f"{expected!r} not in:\n{err}"
    assert err.rstrip().endswith("nothing was changed")
    assert not (tmp_path / "state").exists()
    assert sandbox.stats()["requests_total"] == before
