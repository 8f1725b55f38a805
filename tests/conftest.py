"""Shared pytest set-up: import path for test helpers, and the --update-golden switch."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

# The suite starts hundreds of Python processes (CLI runs, sandbox servers, kill and signal trials, xdist
# workers). With PYTHONDONTWRITEBYTECODE set, as on our machines, each one recompiles every tpdeclare module
# it imports; let them share the ordinary, git-ignored __pycache__ instead. This runs before xdist starts its
# workers, so they inherit it too.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files with the current output")


@pytest.fixture
def golden(request):
    """golden(name, text): compare text with tests/golden/<name>, or rewrite it under --update-golden."""

    def check(name: str, text: str) -> None:
        path = TESTS / "golden" / name
        if request.config.getoption("--update-golden") or not path.exists():
            if not request.config.getoption("--update-golden"):
                pytest.fail(f"golden file {path} is missing; run pytest --update-golden and review it")
            path.write_text(text)
            return
        assert text == path.read_text(), f"output differs from {path}; if intended, run pytest --update-golden"

    return check


@pytest.fixture
def sandbox():
    """The sandbox engine served over real HTTP on 127.0.0.1 by a thread of this process, stopped after the test."""
    from e2e_helpers import ThreadedSandbox

    sb = ThreadedSandbox()
    yield sb
    sb.stop()


@pytest.fixture
def env(sandbox):
    """The environment of a CLI run against `sandbox` (engine URL and key set, no colour)."""
    from e2e_helpers import cli_env

    return cli_env(sandbox)

# The S3 fixtures (a moto server for the session, a bucket per test): tests/s3_fixtures.py.
from s3_fixtures import bucket, moto_s3  # noqa: E402, F401
