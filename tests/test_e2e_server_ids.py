"""Issue 9.5 through the CLI: what the server sends is checked before it is stored or printed. Unsafe IDs in
create, list, info and request answers are refused; the key echoed back is never shown; a 2xx to a create is
never followed by another POST for that address in the same run."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from e2e_helpers import run_tp, write
from hardening_checks import CANARY, check_refused, digest, env_for
from hostile_server import ECHO_KEY, HostileServer, Json

SPEC = "stack: ids\nclusters:\n  a:\n    instance_type: 1xH100\n"
GOOD = {"cluster_id": "c-00000001", "instance_ids": ["i-00000001"], "request_id": "r-00000001", "message": "ok"}
UNSAFE_IDS = ["../../x", "c-1?x=y", "https://evil.example/c-1", "c 1", "c-1\n", "c-1\x1b[31m", "", "c/1", "..",
              "c-1#frag", "%2e%2e", "x" * 300, ECHO_KEY, f"c-{ECHO_KEY}"]


def _run(tmp_path, server, *args):
    write(tmp_path / "ids.yaml", SPEC)
    return run_tp(tmp_path, *args, env=env_for(tmp_path, server.url))


def _state(tmp_path):
    path = tmp_path / "state" / "ids.json"
    return json.loads(path.read_text()) if path.exists() else None


def _listed(cluster_id, name="ids-a", **extra):
    made = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # after the intent: ours, not a stranger's
    return {"cluster_id": cluster_id, "tp_cluster_name": name, "instance_type": "1xH100", "num_nodes": 1,
            "container": None, "deletion_protection": False, "status": "RUNNING", "instances": [],
            "created_at": made, **extra}


@pytest.mark.parametrize("bad", UNSAFE_IDS)
@pytest.mark.parametrize("field", ["cluster_id", "request_id", "instance_ids"])
def test_a_create_answer_with_an_unsafe_id_is_never_stored_and_never_posted_again(tmp_path, field, bad):
    answer = {**GOOD, field: [bad] if field == "instance_ids" else bad}
    with HostileServer() as server:
        server.empty_engine().on("POST", "/cluster/create", Json(202, answer))
        proc = _run(tmp_path, server, "apply", "ids.yaml", "--auto-approve")
        check_refused(proc, code=1, words=("nothing more was sent",), root=tmp_path)
        assert server.count("POST", "/cluster/create") == 1
        text = (tmp_path / "state" / "ids.json").read_text()
        if bad:
            assert json.dumps(bad) not in text  # a stored value would appear as its JSON string
        rec = _state(tmp_path)["resources"]["a"]
        assert rec["status"] == "pending" and rec["cluster_id"] is None  # left for the next run's recovery


def test_a_202_without_a_cluster_id_is_one_post_and_the_intent_is_kept(tmp_path):
    with HostileServer() as server:
        server.empty_engine().on("POST", "/cluster/create", Json(202, {"message": "accepted"}))
        proc = _run(tmp_path, server, "apply", "ids.yaml", "--auto-approve")
        check_refused(proc, code=1, words=("accepted the create of 'ids-a'", "nothing more was sent"), root=tmp_path)
        assert server.count("POST", "/cluster/create") == 1
        # the next run: recovery finds the cluster under its name and adopts it; no second create
        server.on("GET", "/cluster/list", Json(200, {"clusters": [_listed("c-00000009")], "message": ""}))
        again = _run(tmp_path, server, "apply", "ids.yaml", "--auto-approve")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "adopted c-00000009" in again.stdout and server.count("POST", "/cluster/create") == 1
        assert _state(tmp_path)["resources"]["a"]["cluster_id"] == "c-00000009"


@pytest.mark.parametrize("bad", UNSAFE_IDS)
def test_a_list_with_an_unsafe_id_is_refused_before_any_change(tmp_path, bad):
    with HostileServer() as server:
        server.on("GET", "/cluster/list", Json(200, {"clusters": [_listed(bad)], "message": ""}))
        write(tmp_path / "ids.yaml", SPEC)
        proc = _run(tmp_path, server, "apply", "ids.yaml", "--auto-approve")
        check_refused(proc, code=1, words=("Error:",), root=tmp_path, state=tmp_path / "state" / "ids.json",
                      state_digest=None)
        assert server.count("POST") == 0 and server.count("DELETE") == 0


@pytest.mark.parametrize("where", ["message", "name", "status", "header"])
def test_the_key_echoed_back_is_never_shown(tmp_path, where):
    cluster = _listed("c-00000001")
    headers = {}
    if where == "name":
        cluster["tp_cluster_name"] = ECHO_KEY
    elif where == "status":
        cluster["status"] = ECHO_KEY
    elif where == "header":
        headers = {"X-Debug": ECHO_KEY, "Retry-After": ECHO_KEY}
    body = {"clusters": [cluster], "message": f"your key is {ECHO_KEY}" if where == "message" else ""}
    with HostileServer() as server:
        server.on("GET", "/cluster/list", Json(200, body, headers=headers))
        proc = _run(tmp_path, server, "orphans", "ids.yaml")
        assert proc.returncode in (0, 1, 2)
        check_refused(proc, code=proc.returncode, words=(), root=tmp_path)


def test_an_import_of_an_id_that_is_not_an_id_sends_nothing(tmp_path):
    with HostileServer() as server:
        server.empty_engine()
        for bad, words in (("../../x", "is not a cluster ID"), ("c-1?x=y", "is not a cluster ID"),
                           (CANARY, "the cluster ID given contains the API key; nothing was sent")):
            proc = _run(tmp_path, server, "import", "a", bad, "ids.yaml")
            check_refused(proc, code=1, words=(words,), root=tmp_path,
                          state=tmp_path / "state" / "ids.json", state_digest=digest(tmp_path / "state" / "ids.json"))
        # the engine may be read (its document, its list) but the ID itself is never sent, nothing is changed
        assert server.count("GET", "/cluster/info/*") == 0
        assert server.count("POST") == server.count("POST", "/health") and server.count("DELETE") == 0


@pytest.mark.parametrize("bad", ["../r", "r?x", ECHO_KEY])
def test_a_request_answer_with_an_unsafe_id_keeps_the_cluster_creating(tmp_path, bad):
    with HostileServer() as server:
        server.empty_engine().on("POST", "/cluster/create", Json(202, GOOD))
        server.on("GET", "/request/info/*", Json(200, {"request_id": bad, "status": "COMPLETED", "object_id": bad}))
        proc = _run(tmp_path, server, "apply", "ids.yaml", "--auto-approve")
        check_refused(proc, code=1, words=("Error:",), root=tmp_path)
        rec = _state(tmp_path)["resources"]["a"]
        assert rec["status"] == "creating" and rec["cluster_id"] == "c-00000001"
        assert server.count("POST", "/cluster/create") == 1
