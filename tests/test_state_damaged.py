"""A damaged state is never acted on: damaged files, each refused by `plan` and `apply` with its JSON path and a fix.

Every case starts from the state a real apply left (two clusters on the sandbox, served over HTTP),
damages it, and runs the CLI in this process. Each must: exit 1 naming the problem, print no
traceback, leave the file byte-identical (sha256), make no mutating call, and never show the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tpdeclare import cli

from e2e_helpers import ServedSandbox, cli_env, installed_script, write

CANARY = "tp-canary-key-0d5e8a1f3c"
SPEC = """
stack: lab
defaults:
  public_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIAPrRylS7juAjcYNZe08XyBgPIwGZhUGwoKSqHE7nAD ops@lab"]
clusters:
  trainer:
    instance_type: 8xH200
    num_nodes: 2
  notebook:
    instance_type: 1xH100
"""
SRC = "state/lab.json"


@pytest.fixture(scope="module")
def sandbox():
    sb = ServedSandbox(key=CANARY)
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def applied(sandbox, tmp_path_factory) -> bytes:
    """The state a real apply of SPEC left: what every case damages."""
    root = tmp_path_factory.mktemp("applied")
    write(root / "lab.yaml", SPEC)
    done = subprocess.run([installed_script(), "apply", "lab.yaml", "--auto-approve"], cwd=root, env=cli_env(sandbox),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return (root / SRC).read_bytes()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def inside(directory: Path, sandbox: ServedSandbox, monkeypatch):
    monkeypatch.chdir(directory)
    for name in [n for n in os.environ if n.startswith(("TENSORPOOL", "TPDECLARE"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TENSORPOOL_ENGINE", sandbox.url)
    monkeypatch.setenv("TENSORPOOL_KEY", CANARY)
    monkeypatch.setenv("NO_COLOR", "1")
    yield


def run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def edit(doc_change: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    def damage(good: bytes) -> bytes:
        doc = json.loads(good)
        doc_change(doc)
        return json.dumps(doc, indent=2, sort_keys=True).encode()
    return damage


def field(path: str, value) -> Callable[[bytes], bytes]:
    """Set resources.<path> (dots between keys) to `value`; KeyError deletes it."""
    def change(doc: dict) -> None:
        target = doc["resources"]
        *parents, last = path.split(".")
        for key in parents:
            target = target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return edit(change)


def text(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def damage(good: bytes) -> bytes:
        assert old in good
        return good.replace(old, new, 1)
    return damage


def both_ids(doc: dict) -> None:
    doc["resources"]["notebook"]["cluster_id"] = doc["resources"]["trainer"]["cluster_id"]


def renamed_address(doc: dict) -> None:
    doc["resources"]["Trainer"] = doc["resources"].pop("trainer")


RM = "[fix: `tpdeclare state rm {}`]"
CASES = {
    # The record's spec: what the planner compares with the desired cluster.
    "num_nodes as a string": (field("trainer.spec.num_nodes", "2"),
                              "resources.trainer.spec.num_nodes: expected an integer of at least 1, got string '2'"),
    "num_nodes as a float": (field("trainer.spec.num_nodes", 2.0), "spec.num_nodes: expected an integer of at least 1"),
    "num_nodes as a boolean": (field("trainer.spec.num_nodes", True), "got boolean"),
    "num_nodes zero": (field("trainer.spec.num_nodes", 0), "got integer 0"),
    "num_nodes absent": (field("trainer.spec.num_nodes", KeyError), "resources.trainer.spec: missing key 'num_nodes'"),
    "instance_type with spaces": (field("trainer.spec.instance_type", "8 x H200"),
                                  "spec.instance_type: expected an instance type like 8xH200"),
    "instance_type of 10^20 GPUs": (field("notebook.spec.instance_type", "100000000000000000000xH100"),
                                    "resources.notebook.spec.instance_type"),
    "container a number": (field("notebook.spec.container", 7), "spec.container: expected a container image"),
    "deletion_protection a string": (field("trainer.spec.deletion_protection", "false"),
                                     "spec.deletion_protection: expected true or false, got string 'false'"),
    "prevent_destroy null": (field("trainer.spec.prevent_destroy", None),
                             "spec.prevent_destroy: expected true or false"),
    "a second key smuggled into one entry": (
        field("trainer.spec.public_keys", ["ssh-ed25519 AAAAC3Nza ops@lab\nssh-ed25519 AAAAC3Nzb mallory"]),
        "spec.public_keys[0]: expected one OpenSSH public key on one line"),
    "spec with an unknown field": (field("trainer.spec.lifetime", "8h"),
                                   "resources.trainer.spec: unknown key 'lifetime'"),
    # The record itself.
    "unknown status": (field("trainer.status", "zombie"), "resources.trainer.status: unknown status 'zombie'"),
    "status in capitals": (field("trainer.status", "READY"), "unknown status 'READY'"),
    "cluster_id escaping its path": (field("trainer.cluster_id", "../../x"),
                                     "resources.trainer.cluster_id: expected an engine ID"),
    "cluster_id with a query": (field("trainer.cluster_id", "c-1?x=y"), "got string 'c-1?x=y'"),
    "a ready record without its cluster": (field("trainer.cluster_id", None),
                                           "a 'ready' record needs its cluster_id, got null"),
    "one cluster at two addresses": (edit(both_ids), "is also the cluster_id of resources.notebook"),
    "instance_ids a string": (field("trainer.instance_ids", "i-1"),
                              "resources.trainer.instance_ids: expected an array"),
    "request_id with a slash": (field("trainer.request_id", "r/1"),
                                "resources.trainer.request_id: expected an engine ID"),
    "created_at without a timezone": (field("trainer.created_at", "2026-01-01T10:00:00"),
                                      "resources.trainer.created_at: expected an RFC 3339 time with a timezone"),
    "updated_at on 30 February": (field("trainer.updated_at", "2026-02-30T10:00:00Z"), "got string '2026-02-30T10"),
    "name with a terminal escape": (field("notebook.name", "lab-notebook\x1b]0;pwned\x07"),
                                    "resources.notebook.name: expected a non-empty string of printable characters"),
    "an unknown record key": (field("trainer.owner", "me"), "resources.trainer: unknown key 'owner'"),
    "an address outside the grammar": (edit(renamed_address), "resources.Trainer: the address is not valid"),
    "two records at one address": (text(b'"resources": {', b'"resources": {\n    "notebook": {},'),
                                   "resources: duplicate key 'notebook' (two records at one address)"),
    "a field given twice": (text(b'"num_nodes": 2', b'"num_nodes": 2, "num_nodes": 1'),
                            "resources.trainer.spec: duplicate key 'num_nodes'"),
    # The document.
    "serial negative": (edit(lambda d: d.update(serial=-1)), "serial: expected a non-negative integer, got integer -1"),
    "lineage a path": (edit(lambda d: d.update(lineage="../x")), "lineage: expected a lineage ID"),
    "engine empty": (edit(lambda d: d.update(engine="")), "engine: expected an engine URL or 'sandbox'"),
    "NaN": (text(b'"serial": ', b'"serial": NaN, "x": '), "NaN is not allowed in a state file"),
    "Infinity as a node count": (text(b'"num_nodes": 2', b'"num_nodes": Infinity'), "Infinity is not allowed"),
    "a number too long to read": (text(b'"serial": ', b'"serial": ' + b"9" * 5000 + b', "x": '),
                                  "a number has too many digits to read"),
    "nested 100,000 deep": (lambda good: b"[" * 100_000, "arrays or objects nested more than 64 levels deep"),
    "truncated": (lambda good: good[: len(good) // 2], "is truncated or corrupt: the JSON ends early"),
    "not UTF-8": (text(b'"lab"', b'"l\xffb"'), "is truncated or corrupt: not UTF-8 text"),
    "an array at the top": (lambda good: b"[" + good + b"]", "expected a JSON object at the top level"),
    "empty": (lambda good: b"", "is empty (truncated or corrupt)"),
}
RECORD_FIXES = {"num_nodes as a string": "trainer", "unknown status": "trainer", "one cluster at two addresses":
                "trainer", "name with a terminal escape": "notebook", "two records at one address": "notebook"}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_damaged_state_is_refused_and_left_as_it_is(case, command, applied, sandbox, tmp_path, monkeypatch,
                                                      capsys):
    damage, words = CASES[case]
    write(tmp_path / "lab.yaml", SPEC)
    path = tmp_path / SRC
    path.parent.mkdir()
    path.write_bytes(damage(applied))
    before, calls = sha(path), sandbox.stats()["mutating_requests"]
    with inside(tmp_path, sandbox, monkeypatch):
        code, output = run(capsys, command, "lab.yaml", *(["--auto-approve"] if command == "apply" else []))
    assert code == 1, output
    assert words.replace("\\", "\\\\") in output.replace("\\\\", "\\\\") or words in output, output
    assert f"{SRC} is" in output and "Traceback" not in output
    if case in RECORD_FIXES:
        assert RM.format(RECORD_FIXES[case]) in output
    assert sha(path) == before and sorted(p.name for p in path.parent.iterdir()) == ["lab.json", "lab.json.lock"]
    assert sandbox.stats()["mutating_requests"] == calls
    assert CANARY not in output and all(CANARY.encode() not in p.read_bytes() for p in path.parent.iterdir())


def test_num_nodes_as_a_string_never_replaces_the_healthy_cluster(applied, sandbox, tmp_path, monkeypatch, capsys):
    """The example of issue 9: it used to destroy and re-create the trainer."""
    write(tmp_path / "lab.yaml", SPEC)
    path = tmp_path / SRC
    path.parent.mkdir()
    path.write_bytes(CASES["num_nodes as a string"][0](applied))
    trainer = json.loads(applied)["resources"]["trainer"]["cluster_id"]
    with inside(tmp_path, sandbox, monkeypatch):
        for argv in (["plan", "lab.yaml"], ["apply", "lab.yaml", "--auto-approve"], ["destroy", "lab.yaml",
                                                                                       "--auto-approve"]):
            code, output = run(capsys, *argv)
            assert code == 1 and "spec.num_nodes" in output and "-/+" not in output, output
    assert trainer in {c["cluster_id"] for c in sandbox.clusters()}


def test_the_hint_names_the_newest_backup_that_reads_cleanly(applied, sandbox, tmp_path, monkeypatch, capsys):
    write(tmp_path / "lab.yaml", SPEC)
    path = tmp_path / SRC
    path.parent.mkdir()
    damaged = CASES["unknown status"][0](applied)
    path.write_bytes(damaged)
    Path(f"{path}.1").write_bytes(CASES["truncated"][0](applied))  # newest backup: damaged too
    Path(f"{path}.2").write_bytes(applied)
    Path(f"{path}.3").write_bytes(applied)
    with inside(tmp_path, sandbox, monkeypatch):
        code, output = run(capsys, "plan", "lab.yaml")
    assert code == 1
    serial = json.loads(applied)["serial"]
    real = path.resolve()
    assert (f"the newest backup that reads cleanly is {real}.2 (serial {serial}): `cp {real}.2 {real}` restores it"
            in output), output
    assert "`tpdeclare state rm trainer` forgets the damaged records instead" in output
    for n in ("", ".1", ".2", ".3"):
        assert Path(f"{path}{n}").exists()
    assert path.read_bytes() == damaged


def test_no_backup_reads_cleanly(applied, sandbox, tmp_path, monkeypatch, capsys):
    write(tmp_path / "lab.yaml", SPEC)
    path = tmp_path / SRC
    path.parent.mkdir()
    path.write_bytes(b"{")
    Path(f"{path}.1").write_bytes(b"[]")
    with inside(tmp_path, sandbox, monkeypatch):
        code, output = run(capsys, "apply", "lab.yaml", "--auto-approve")
    assert code == 1 and f"no backup reads cleanly ({path.resolve()}.1 … .5 checked)" in output, output


def test_a_damaged_journal_record_is_refused_too(applied, sandbox, tmp_path, monkeypatch, capsys):
    write(tmp_path / "lab.yaml", SPEC)
    path = tmp_path / SRC
    path.parent.mkdir()
    path.write_bytes(applied)
    doc = json.loads(applied)
    record = dict(doc["resources"]["trainer"], spec={**doc["resources"]["trainer"]["spec"], "num_nodes": "2"})
    journal = Path(f"{path}.journal")
    journal.write_bytes(
        json.dumps({"format_version": 1, "journal": 1, "lineage": doc["lineage"], "stack": "lab"}).encode() + b"\n"
        + json.dumps({"serial": doc["serial"] + 1, "op": "put", "address": "trainer", "record": record}).encode()
        + b"\n")
    before, calls = sha(journal), sandbox.stats()["mutating_requests"]
    with inside(tmp_path, sandbox, monkeypatch):
        code, output = run(capsys, "apply", "lab.yaml", "--auto-approve")
    assert code == 1, output
    assert (f"state journal {path.resolve()}.journal is invalid: line 2: record.spec.num_nodes: expected an integer "
            f"of at least 1, got string '2' {RM.format('trainer')}") in output
    assert sha(journal) == before and sandbox.stats()["mutating_requests"] == calls


def test_the_installed_command_refuses_a_damaged_state(applied, sandbox, tmp_path):
    write(tmp_path / "lab.yaml", SPEC)
    path = tmp_path / SRC
    path.parent.mkdir()
    path.write_bytes(CASES["num_nodes as a string"][0](applied))
    before = sha(path)
    done = subprocess.run([installed_script(), "apply", "lab.yaml", "--auto-approve"], cwd=tmp_path,
                          env=cli_env(sandbox), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "spec.num_nodes: expected an integer of at least 1" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr and sha(path) == before


def test_a_state_without_backups_says_so(applied, sandbox, tmp_path, monkeypatch, capsys):
    write(tmp_path / "lab.yaml", SPEC)
    path = tmp_path / SRC
    path.parent.mkdir()
    path.write_bytes(b"{")
    with inside(tmp_path, sandbox, monkeypatch):
        code, output = run(capsys, "plan", "lab.yaml")
    assert code == 1 and f"it has no backups ({path.resolve()}.1 … .5)" in output, output
