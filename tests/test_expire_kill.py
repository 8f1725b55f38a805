"""`tpdeclare expire` killed with SIGKILL while it destroys expired clusters (issue 14), then run again: the
expired clusters end gone, each DELETE accepted once, the state clean, the expiries remembered.

The scenario lives in benchmarks/reliability.py (`kill_expire_trial`, run there at full size); the real CLI
runs as a subprocess against `tpdeclare sandbox serve`, killed from outside (reliability.CRASH_WRAPPER)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import reliability as R  # noqa: E402

SEED = 20261214


@pytest.fixture(scope="module")
def sandbox():
    sb = R.Sandbox()
    yield sb
    sb.stop()


def problems(result) -> str:
    return json.dumps({k: v for k, v in result.items() if k != "check"}, default=str) + " " + json.dumps(
        result["check"].problems())


@pytest.mark.parametrize("trial,mode", list(enumerate(["before_delete", "after_delete", "after_delete", "random"])))
def test_kill_expire_then_rerun_ends_clean(sandbox, tmp_path, trial, mode):
    result = R.kill_expire_trial(sandbox, tmp_path, random.Random(SEED + trial), trial, n=6, mode=mode)
    assert result["converged"], problems(result)
    assert result["deletes_once"], problems(result)  # no second DELETE accepted for any cluster
    assert result["state_clean"], problems(result)  # `expired` records for the expired half, `ready` for the rest
    assert result["plan_after"] == 0, problems(result)  # a later plan creates nothing again
    assert result["check"].ok(), problems(result)
    if mode != "random":
        assert result["kills"][0]["rc"] == -9, problems(result)  # the chosen point was reached
        assert result["kills"][0]["left"].get("deleting", 0) >= 1, problems(result)  # killed mid-destroy
