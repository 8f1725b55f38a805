"""Tests of the sandbox's transports: the HTTP server, `sandbox serve`, and the in-process adapter."""

from __future__ import annotations

import argparse
import http.client
import re
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from tpdeclare.errors import TpdeclareError
from tpdeclare.sandbox.inprocess import (
    INPROCESS_BASE_URL,
    SandboxAdapter,
    make_inprocess_engine,
    make_inprocess_session,
)
from tpdeclare.sandbox.serve import add_arguments, run_serve
from tpdeclare.sandbox.world import FileWorld

from sandbox_fixtures import served_sandbox

AUTH = {"Authorization": "Bearer test-key"}
T = 5  # every request gets a timeout


def _session() -> requests.Session:
    s = requests.Session()
    s.headers.update(AUTH)
    return s


def _wait(session, base, request_id, deadline=5.0):
    end = time.monotonic() + deadline
    seen = []
    while time.monotonic() < end:
        r = session.get(f"{base}/request/info/{request_id}", timeout=T)
        assert r.status_code == 200
        assert "Retry-After" in r.headers
        seen.append(r.json()["status"])
        if seen[-1] in ("COMPLETED", "FAILED"):
            return seen
        time.sleep(min(float(r.headers["Retry-After"]), 0.05))
    raise AssertionError(f"request {request_id} still {seen[-1]} after {deadline}s")


# ------------------------------------------------------------------------------------------ HTTP server


def test_create_poll_list_info_edit_delete_over_http():
    with served_sandbox(provision_seconds=0.3, destroy_seconds=0.2, retry_after=0.05) as (base, engine):
        s = _session()
        assert s.post(f"{base}/health", timeout=T).json() == {"message": "Sandbox engine is healthy"}
        r = s.post(f"{base}/cluster/create", json={"instance_type": "8xH200", "num_nodes": 2,
                                                   "tp_cluster_name": "web"}, timeout=T)
        assert r.status_code == 202 and r.headers["Content-Type"] == "application/json"
        created = r.json()
        seen = _wait(s, base, created["request_id"])
        assert seen[0] in ("PENDING", "PROCESSING") and seen[-1] == "COMPLETED"

        clusters = s.get(f"{base}/cluster/list", params={"include_org": "true"}, timeout=T).json()["clusters"]
        assert [(c["cluster_id"], c["status"]) for c in clusters] == [(created["cluster_id"], "RUNNING")]
        cid = created["cluster_id"]
        assert s.get(f"{base}/cluster/info/{cid}", timeout=T).json()["cluster_info"]["num_nodes"] == 2

        r = s.patch(f"{base}/cluster/edit/{cid}", json={"cluster_name": "web2", "deletion_protection": True}, timeout=T)
        assert r.status_code == 202
        assert s.delete(f"{base}/cluster/{cid}", timeout=T).status_code == 409
        s.patch(f"{base}/cluster/edit/{cid}", json={"deletion_protection": False}, timeout=T)
        r = s.delete(f"{base}/cluster/{cid}", timeout=T)
        assert r.status_code == 202
        assert _wait(s, base, r.json()["request_id"])[-1] == "COMPLETED"
        assert s.get(f"{base}/cluster/info/{cid}", timeout=T).status_code == 404
        assert engine.stats()["clusters_alive"] == 0


def test_errors_over_http():
    with served_sandbox() as (base, _):
        assert requests.post(f"{base}/health", timeout=T).status_code == 401
        assert requests.get(f"{base}/healthz", timeout=T).json() == {"status": "ok"}
        r = requests.get(f"{base}/no/such/path", headers=AUTH, timeout=T)
        assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
        r = requests.put(f"{base}/cluster/create", headers=AUTH, timeout=T)
        assert r.status_code == 405 and r.headers["Allow"] == "DELETE, POST"  # /cluster/{cluster} too
        r = requests.head(f"{base}/cluster/create", headers=AUTH, timeout=T)
        assert r.status_code == 405 and r.content == b""
        r = requests.post(f"{base}/cluster/create", data=b"{oops", headers=AUTH, timeout=T)
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"


def test_keep_alive_and_content_length():
    with served_sandbox() as (base, _):
        url = urlsplit(base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=T)
        try:
            for _ in range(3):
                conn.request("POST", "/health", headers=AUTH)
                r = conn.getresponse()
                body = r.read()
                assert r.status == 200 and r.version == 11
                assert int(r.getheader("Content-Length")) == len(body)
                assert not r.will_close
            sock = conn.sock
            conn.request("GET", "/cluster/list", headers=AUTH)
            conn.getresponse().read()
            assert conn.sock is sock  # the same connection served every request
        finally:
            conn.close()


def test_chunked_request_body():
    with served_sandbox() as (base, _):
        def chunks():
            yield b'{"instance_type": '
            yield b'"1xH100", "tp_cluster_name": "chunky"}'

        r = requests.post(f"{base}/cluster/create", data=chunks(), headers=AUTH, timeout=T)
        assert r.status_code == 202


def test_drop_fault_closes_the_connection_after_committing():
    with served_sandbox(faults="create:drop=1", seed=1) as (base, engine):
        s = _session()
        with pytest.raises(requests.exceptions.ConnectionError):
            s.post(f"{base}/cluster/create", json={"instance_type": "1xH100", "tp_cluster_name": "ghost"}, timeout=T)
        names = [c["tp_cluster_name"] for c in s.get(f"{base}/cluster/list", timeout=T).json()["clusters"]]
        assert names == ["ghost"]
        assert engine.stats()["faults_injected"] == {"drop": 1}


def test_concurrent_creates_of_one_name_make_one_cluster():
    with served_sandbox(provision_seconds=1) as (base, engine):
        barrier = threading.Barrier(10)
        statuses: list[int] = []
        lock = threading.Lock()

        def create():
            barrier.wait(T)
            r = requests.post(f"{base}/cluster/create", json={"instance_type": "1xH100", "tp_cluster_name": "race"},
                              headers=AUTH, timeout=T)
            with lock:
                statuses.append(r.status_code)

        threads = [threading.Thread(target=create) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(T * 2)
        assert sorted(statuses) == [202] + [400] * 9
        assert engine.stats()["clusters_alive"] == 1


def test_stop_closes_open_connections_and_the_port():
    with served_sandbox() as (base, _):
        s = _session()
        assert s.post(f"{base}/health", timeout=T).status_code == 200  # leaves a keep-alive connection
    with pytest.raises(requests.exceptions.ConnectionError):
        s.post(f"{base}/health", timeout=T)


def test_engine_failure_is_a_500_and_the_server_keeps_serving(tmp_path):
    bad = tmp_path / "w.json"
    bad.write_text("{broken")
    with served_sandbox(FileWorld(bad)) as (base, _):
        r = requests.post(f"{base}/health", headers=AUTH, timeout=T)
        assert r.status_code == 500 and "unreadable" in r.json()["message"]
        assert requests.get(f"{base}/_sandbox/stats", timeout=T).status_code == 500
        bad.unlink()
        assert requests.post(f"{base}/health", headers=AUTH, timeout=T).status_code == 200


# ------------------------------------------------------------------------------------------ sandbox serve


def _parse(*argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_serve_arguments_and_help():
    args = _parse()
    assert (args.host, args.port, args.provision_seconds, args.data, args.key) == ("127.0.0.1", 8787, 60.0, None, None)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = parser.format_help()
    for word in ("--faults", "latency", "drop", "failed", "provision", "--allow-remote", "--data", "--seed",
                 "--dialect", "aliased", "lowercase", "combine with +", "--edit-seconds"):
        assert word in text


def test_run_serve_prints_the_url_serves_and_stops(capsys, tmp_path):
    stop = threading.Event()
    result = {}
    args = _parse("--port", "0", "--provision-seconds", "0", "--data", str(tmp_path / "w.json"), "--key", "k")
    thread = threading.Thread(target=lambda: result.setdefault("rc", run_serve(args, stop_event=stop)))
    thread.start()
    out = ""
    try:
        end = time.monotonic() + T
        while "listening" not in out and time.monotonic() < end:
            time.sleep(0.02)
            out += capsys.readouterr().out
        m = re.search(r"^Sandbox engine listening on (http://127\.0\.0\.1:\d+)$", out, re.M)
        assert m, out
        base = m.group(1)
        r = requests.post(f"{base}/cluster/create", json={"instance_type": "1xH100"},
                          headers={"Authorization": "Bearer k"}, timeout=T)
        assert r.status_code == 202
        assert requests.post(f"{base}/health", headers=AUTH, timeout=T).status_code == 401  # only --key
    finally:
        stop.set()
        thread.join(T)
    assert result == {"rc": 0}
    assert (tmp_path / "w.json").exists()  # --data persisted the world


def test_run_serve_refuses_remote_hosts_and_bad_faults():
    with pytest.raises(TpdeclareError, match="refusing to listen on 0.0.0.0") as info:
        run_serve(_parse("--host", "0.0.0.0"))
    assert "--allow-remote" in info.value.hint
    with pytest.raises(TpdeclareError, match="'bogus=1'"):
        run_serve(_parse("--port", "0", "--faults", "create:bogus=1"))
    with pytest.raises(TpdeclareError, match="'creat'"):
        run_serve({"port": 0, "faults": "creat:500=1"})


# ------------------------------------------------------------------------------------------ in-process


def test_inprocess_session_round_trip(tmp_path):
    env = {"TPDECLARE_SANDBOX_PROVISION_SECONDS": "0.2", "TPDECLARE_SANDBOX_RETRY_AFTER": "0"}
    s = make_inprocess_session(tmp_path / "w.json", env=env)
    r = s.post(f"{INPROCESS_BASE_URL}/cluster/create", json={"instance_type": "1xH100", "tp_cluster_name": "ip"},
               timeout=T)
    assert r.status_code == 202 and r.reason == "Accepted" and r.url.startswith(INPROCESS_BASE_URL)
    assert r.headers["content-type"] == "application/json"
    seen = _wait(s, INPROCESS_BASE_URL, r.json()["request_id"])
    assert seen[-1] == "COMPLETED"
    other = make_inprocess_session(tmp_path / "w.json", env=env)  # another command, same world
    clusters = other.get(f"{INPROCESS_BASE_URL}/cluster/list", timeout=T).json()["clusters"]
    assert [c["tp_cluster_name"] for c in clusters] == ["ip"]


def test_inprocess_default_path_and_placeholder_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = make_inprocess_session(env={})
    assert s.post(f"{INPROCESS_BASE_URL}/health", timeout=T).status_code == 200  # placeholder key
    s.post(f"{INPROCESS_BASE_URL}/cluster/create", json={"instance_type": "1xH100"}, timeout=T)
    assert (tmp_path / "state" / "_sandbox-engine.json").exists()
    adapter = s.get_adapter(INPROCESS_BASE_URL + "/")
    assert isinstance(adapter, SandboxAdapter) and adapter.engine.provision_seconds == 5.0


def test_inprocess_key_and_bad_environment(tmp_path):
    env = {"TPDECLARE_SANDBOX_KEY": "right"}
    s = make_inprocess_session(tmp_path / "w.json", env=env)
    assert s.post(f"{INPROCESS_BASE_URL}/health", timeout=T).status_code == 401
    assert s.post(f"{INPROCESS_BASE_URL}/health", headers={"Authorization": "Bearer right"}, timeout=T).ok
    with pytest.raises(TpdeclareError, match="TPDECLARE_SANDBOX_PROVISION_SECONDS"):
        make_inprocess_engine(tmp_path / "w.json", env={"TPDECLARE_SANDBOX_PROVISION_SECONDS": "soon"})
    with pytest.raises(TpdeclareError, match="TPDECLARE_SANDBOX_FAULTS.*'x=1'"):
        make_inprocess_engine(tmp_path / "w.json", env={"TPDECLARE_SANDBOX_FAULTS": "create:x=1"})
    engine = make_inprocess_engine(tmp_path / "w.json", env={"TPDECLARE_SANDBOX_SEED": "42",
                                                             "TPDECLARE_SANDBOX_BALANCE": "1"})
    assert (engine.seed, engine.balance) == (42, 1.0)


def test_inprocess_drop_raises_connection_error_after_commit(tmp_path):
    s = make_inprocess_session(tmp_path / "w.json", env={"TPDECLARE_SANDBOX_FAULTS": "create:drop=1"})
    with pytest.raises(requests.exceptions.ConnectionError):
        s.post(f"{INPROCESS_BASE_URL}/cluster/create", json={"instance_type": "1xH100", "tp_cluster_name": "g"},
               timeout=T)
    clusters = s.get(f"{INPROCESS_BASE_URL}/cluster/list", timeout=T).json()["clusters"]
    assert [c["tp_cluster_name"] for c in clusters] == ["g"]


def test_inprocess_latency_beyond_the_read_timeout_is_a_timeout_after_commit(tmp_path):
    s = make_inprocess_session(tmp_path / "w.json", env={"TPDECLARE_SANDBOX_FAULTS": "create:latency=0.15"})
    with pytest.raises(requests.exceptions.ReadTimeout):
        s.post(f"{INPROCESS_BASE_URL}/cluster/create", json={"instance_type": "1xH100", "tp_cluster_name": "slow"},
               timeout=(1, 0.05))
    assert len(s.get(f"{INPROCESS_BASE_URL}/cluster/list", timeout=T).json()["clusters"]) == 1


def test_serve_main_stops_cleanly_on_sigterm(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "tpdeclare.sandbox.serve", "--port", "0", "--provision-seconds", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        line = proc.stdout.readline()
        m = re.fullmatch(r"Sandbox engine listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert m, line
        assert requests.get(f"{m.group(1)}/healthz", timeout=T).status_code == 200
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(T) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr.read() == ""
