"""`tpdeclare doctor`: passes on every structured dialect, fails with its reason on the text-only one, never
changes anything, never shows the key; its JSON is stable (the README documents it)."""

from __future__ import annotations

import json
import socket

import pytest

from e2e_helpers import TEST_KEY, ThreadedSandbox, cli_env, run_tp

STRUCTURED = ["default", "aliased", "aliased-bare", "lowercase", "async-edit", "aliased+lowercase+async-edit"]
TOP_KEYS = ["format_version", "engine", "ok", "checks", "openapi", "field_mapping", "assumed_fields",
            "clock_skew_seconds", "rate_limit_headers", "warnings"]
CHECKS = ["reachable", "tls", "key", "openapi", "list", "lookup_by_name", "info", "clock", "rate_limits",
          "status_words"]


@pytest.fixture
def served(request):
    sb = ThreadedSandbox("--dialect", request.param)
    yield sb
    sb.stop()


def doctor(tmp_path, sb, *extra, **env):
    ran = run_tp(tmp_path, "doctor", "--json", *extra, env=cli_env(sb, **env))
    assert "Traceback" not in ran.stdout + ran.stderr
    assert TEST_KEY not in ran.stdout + ran.stderr
    return ran, json.loads(ran.stdout)


def statuses(report) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checks"]}


@pytest.mark.parametrize("served", STRUCTURED, indirect=True)
def test_doctor_passes_on_every_structured_dialect_and_changes_nothing(served, tmp_path):
    served.post("/cluster/create", {"instance_type": "1xH100", "tp_cluster_name": "someone"})
    before = served.stats()
    ran, report = doctor(tmp_path, served)
    assert ran.returncode == 0, ran.stdout
    assert list(report) == TOP_KEYS and report["format_version"] == 1 and report["ok"] is True
    assert [c["name"] for c in report["checks"]] == CHECKS
    assert all(set(c) == {"name", "status", "detail"} for c in report["checks"])
    assert set(statuses(report).values()) == {"pass"}
    assert report["openapi"]["found"] and len(report["openapi"]["sha256"]) == 64
    assert report["field_mapping"]["cluster"]["cluster_id"]["confirmed"] is True
    assert report["clock_skew_seconds"] is not None and abs(report["clock_skew_seconds"]) < 5
    after = served.stats()
    assert after["mutating_requests"] == before["mutating_requests"]
    assert after["creates_accepted"] == before["creates_accepted"] == 1


@pytest.mark.parametrize("served", ["aliased"], indirect=True)
def test_doctor_reports_which_assumed_fields_the_engine_confirmed(served, tmp_path):
    served.post("/cluster/create", {"instance_type": "1xH100", "tp_cluster_name": "someone"})
    _, report = doctor(tmp_path, served)
    fields = {f["field"]: f for f in report["assumed_fields"]}
    assert fields["ClusterInfo.cluster_id"] == {"field": "ClusterInfo.cluster_id", "status": "renamed", "wire": "id",
                                                "by": "answer"}
    assert fields["ClusterInfo.instance_type"]["status"] == "confirmed"
    assert fields["ClusterInfoResponse.cluster_info"]["wire"] == "cluster"
    assert fields["ClusterListResponse.clusters"]["status"] == "confirmed"
    assert report["field_mapping"]["cluster"]["cluster_name"] == {"wire": "name", "origin": "document",
                                                                  "confirmed": True}


@pytest.mark.parametrize("served", ["default"], indirect=True)
def test_on_an_empty_engine_doctor_confirms_what_it_can_without_creating(served, tmp_path):
    ran, report = doctor(tmp_path, served)
    assert ran.returncode == 0
    checks = {c["name"]: c for c in report["checks"]}
    assert "no cluster is listed to confirm it" in checks["lookup_by_name"]["detail"]
    assert "an unknown ID answers 404" in checks["info"]["detail"]
    assert served.stats()["creates_accepted"] == 0
    by = {f["field"]: (f["status"], f["by"]) for f in report["assumed_fields"]}
    assert by.pop("ClusterListResponse.clusters") == ("confirmed", "answer")  # the empty list showed it
    assert set(by.values()) == {("confirmed", "document")}  # no cluster to show them: the document says so


@pytest.mark.parametrize("served", ["text-only"], indirect=True)
def test_doctor_fails_on_the_text_only_dialect_with_its_reason(served, tmp_path):
    ran, report = doctor(tmp_path, served)
    assert ran.returncode == 1 and report["ok"] is False
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["list"]["status"] == "fail"
    assert "it answered only a text message ('message')" in checks["list"]["detail"]
    assert checks["lookup_by_name"]["status"] == "fail" and checks["info"]["status"] == "skip"
    assert checks["reachable"]["status"] == checks["key"]["status"] == "pass"
    assert served.stats()["mutating_requests"] == 0
    text = run_tp(tmp_path, "doctor", env=cli_env(served))
    assert text.returncode == 1
    assert "FAIL  list" in text.stdout
    assert text.stdout.rstrip().splitlines()[-1].startswith("tpdeclare cannot work safely with this engine: the "
                                                            "engine's cluster list")


@pytest.mark.parametrize("served", ["default"], indirect=True)
def test_a_refused_key_fails_doctor_without_showing_it(served, tmp_path):
    ran, report = doctor(tmp_path, served, TENSORPOOL_KEY="wrong-key-1234")
    assert ran.returncode == 1 and "wrong-key-1234" not in ran.stdout + ran.stderr
    assert statuses(report)["key"] == "fail" and statuses(report)["reachable"] == "pass"
    assert "the key is not shown" in {c["name"]: c for c in report["checks"]}["key"]["detail"]


def test_no_key_and_no_engine_are_failures_with_a_reason(tmp_path):
    env = cli_env(TENSORPOOL_ENGINE="https://engine.example")
    ran = run_tp(tmp_path, "doctor", "--json", env=env)
    report = json.loads(ran.stdout)
    assert ran.returncode == 1 and statuses(report)["key"] == "fail"
    assert "no API key" in {c["name"]: c for c in report["checks"]}["key"]["detail"]
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ran = run_tp(tmp_path, "doctor", "--json", "--engine", f"http://127.0.0.1:{port}",
                 env=cli_env(TENSORPOOL_KEY=TEST_KEY))
    report = json.loads(ran.stdout)
    assert ran.returncode == 1 and statuses(report)["reachable"] == "fail"
    assert "connection refused" in {c["name"]: c for c in report["checks"]}["reachable"]["detail"]
    assert statuses(report)["list"] == "skip"
    ran = run_tp(tmp_path, "doctor", "--json", "--engine", "http://engine.example", env=cli_env(TENSORPOOL_KEY="k"))
    assert ran.returncode == 1 and "plain http" in json.loads(ran.stdout)["checks"][0]["detail"]


def test_doctor_on_the_in_process_sandbox(tmp_path):
    ran = run_tp(tmp_path, "doctor", "--engine", "sandbox", env=cli_env())
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "tpdeclare can work safely with this engine." in ran.stdout
    assert "the in-process sandbox (no network)" in ran.stdout


def test_the_readme_documents_every_key_and_check_of_the_json():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("`tpdeclare doctor --json` prints one stable document"):]
    for key in TOP_KEYS:
        assert f"| `{key}` |" in section, key
    assert ", ".join(f"`{name}`" for name in CHECKS) in section
