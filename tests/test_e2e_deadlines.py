"""Issue 9.2 through the CLI: no API call without an overall deadline. A server that drips or stalls never
holds `apply` (or its state lock) past --timeout; a stalled answer to a create follows the outcome-unknown
path: the intent is kept for the next run, and nothing is sent again."""

from __future__ import annotations

import json
import time

import pytest

from e2e_helpers import run_tp, write
from hardening_checks import check_refused, digest, env_for
from hostile_server import Close, Drip, HostileServer, Json, Stall

SPEC = "stack: dl\nclusters:\n  a:\n    instance_type: 1xH100\n"
CREATED = {"cluster_id": "c-00000001", "instance_ids": ["i-00000001"], "request_id": "r-00000001", "message": "ok"}
LIST_EMPTY = Json(200, {"clusters": [], "message": "none"})
TIMEOUT = 3  # seconds for the whole run
BOUND = TIMEOUT + 20  # "never hangs": a generous bound, not a timing window


def _apply(tmp_path, server, *extra):
    write(tmp_path / "dl.yaml", SPEC)
    started = time.monotonic()
    proc = run_tp(tmp_path, "apply", "dl.yaml", "--auto-approve", "--timeout", str(TIMEOUT), *extra,
                  env=env_for(tmp_path, server.url), timeout=BOUND + 30)
    return proc, time.monotonic() - started


def _state(tmp_path) -> dict:
    return json.loads((tmp_path / "state" / "dl.json").read_text())


@pytest.mark.parametrize("act", [
    Drip(Json(202, CREATED), every=0.5),
    Drip(Json(202, CREATED), every=0.5, during="headers"),
    Drip(Json(202, CREATED), every=0.5, during="status"),
    Stall(Json(202, CREATED)),
    Stall(Json(202, CREATED), during="headers"),
], ids=["body-drip", "header-drip", "status-drip", "body-stall", "header-stall"])
def test_a_create_whose_answer_never_ends_is_outcome_unknown_and_its_intent_kept(tmp_path, act):
    with HostileServer() as server:
        server.empty_engine().on("POST", "/cluster/create", act)
        proc, took = _apply(tmp_path, server)
        assert took < BOUND
        check_refused(proc, code=1, words=("may or may not have been created", "--timeout"), root=tmp_path)
        assert server.count("POST", "/cluster/create") == 1  # never sent twice
        rec = _state(tmp_path)["resources"]["a"]
        assert rec["status"] == "pending" and rec["cluster_id"] is None  # the next run looks the name up
        # the lock was released at the deadline: the next command takes it at once
        again = run_tp(tmp_path, "plan", "dl.yaml", "--lock-timeout", "0", env=env_for(tmp_path, server.url))
        assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("act", [
    Drip(LIST_EMPTY, every=0.5),
    Drip(LIST_EMPTY, every=0.5, during="headers"),
    Stall(LIST_EMPTY),
], ids=["body-drip", "header-drip", "stall"])
def test_a_refresh_that_never_ends_stops_at_the_deadline_before_any_create(tmp_path, act):
    with HostileServer() as server:
        server.on("GET", "/cluster/list", act).on("POST", "/cluster/create", Json(202, CREATED))
        write(tmp_path / "dl.yaml", SPEC)
        proc, took = _apply(tmp_path, server)
        assert took < BOUND
        check_refused(proc, code=1, words=("--timeout",), root=tmp_path, state=tmp_path / "state" / "dl.json",
                      state_digest=None)
        assert server.count("POST") == 0


def test_a_poll_that_never_answers_leaves_the_cluster_creating_for_the_next_run(tmp_path):
    with HostileServer() as server:
        server.empty_engine().on("POST", "/cluster/create", Json(202, CREATED))
        server.on("GET", "/request/info/*", Stall(Json(200, {"request_id": "r-00000001", "status": "PENDING"})))
        proc, took = _apply(tmp_path, server)
        assert took < BOUND
        check_refused(proc, code=1, words=("--timeout",), root=tmp_path)
        rec = _state(tmp_path)["resources"]["a"]
        assert rec["status"] == "creating" and rec["cluster_id"] == "c-00000001"
        assert server.count("POST", "/cluster/create") == 1


def test_a_cut_create_answer_is_outcome_unknown_not_a_refusal(tmp_path):
    with HostileServer() as server:
        server.empty_engine().on("POST", "/cluster/create", Close(Json(202, CREATED)))
        proc, _ = _apply(tmp_path, server)
        check_refused(proc, code=1, words=("may or may not have been created",), root=tmp_path)
        assert _state(tmp_path)["resources"]["a"]["status"] == "pending"


def test_a_deadline_that_passed_before_anything_started_sends_nothing(tmp_path):
    with HostileServer() as server:
        server.on("GET", "/cluster/list", Drip(LIST_EMPTY, every=0.5))
        write(tmp_path / "dl.yaml", SPEC)
        before = digest(tmp_path / "state" / "dl.json")
        proc = run_tp(tmp_path, "apply", "dl.yaml", "--auto-approve", "--timeout", "0",
                      env=env_for(tmp_path, server.url))
        check_refused(proc, code=1, words=("nothing was sent",), root=tmp_path, state=tmp_path / "state" / "dl.json",
                      state_digest=before)
        assert server.count() == 0
