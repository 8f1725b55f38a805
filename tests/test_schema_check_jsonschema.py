"""check-jsonschema, the real CLI (PyPI, the `test` extra), passes every example against the schema its modeline
names and fails the broken specs at the right YAML paths; the schema's instance-type rule agrees with validate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_helpers import run_tp

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (REPO / "examples").rglob("*.y*ml") if p.name != "tpdeclare.yml")
SCHEMA = REPO / "specs" / "cluster.schema.json"


def modeline_schema(spec: Path) -> Path:
    first = spec.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema="), spec
    return (spec.parent / first.split("$schema=", 1)[1]).resolve()


def check_jsonschema(schema: Path, *files: Path) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--output-format", "json", "--schemafile", str(schema),
         *map(str, files)],
        capture_output=True, text=True, timeout=120,
    )
    return done.returncode, json.loads(done.stdout)


def test_every_example_passes_against_the_schema_its_modeline_names():
    by_schema: dict[Path, list[Path]] = {}
    for spec in EXAMPLES:
        by_schema.setdefault(modeline_schema(spec), []).append(spec)
    assert set(by_schema) == {SCHEMA, REPO / "examples" / "gitops" / ".tpdeclare" / "cluster.schema.json"}
    for schema, specs in by_schema.items():
        code, report = check_jsonschema(schema, *specs)
        assert (code, report["status"], report.get("errors", [])) == (0, "ok", []), report


def test_the_schemas_are_valid_json_schemas():
    kit = REPO / "examples" / "gitops" / ".tpdeclare" / "cluster.schema.json"
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--check-metaschema", str(SCHEMA), str(kit)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


# Broken specs, and the YAML paths (in check-jsonschema's `$.a.b` form) the schema must flag.
BROKEN = {
    "lower-case kind": ("clusters:\n  t:\n    instance_type: 8xh100\n", {"$.clusters.t.instance_type"}),
    "spaced kind": ("clusters:\n  t:\n    instance_type: 8x H100\n", {"$.clusters.t.instance_type"}),
    "kind first": ("clusters:\n  t:\n    instance_type: H100x8\n", {"$.clusters.t.instance_type"}),
    "capital X": ("clusters:\n  t:\n    instance_type: 8XH100\n", {"$.clusters.t.instance_type"}),
    "lower-case default": ("defaults:\n  instance_type: 8xh200\nclusters: {}\n", {"$.defaults.instance_type"}),
    "unknown key": ("clusters:\n  t:\n    instance_type: 8xH200\n    num_node: 2\n", {"$.clusters.t"}),
    "no clusters": ("stack: demo\ncluster:\n  a:\n    instance_type: 1xH100\n", {"$"}),
    "quoted number": ("clusters:\n  t:\n    instance_type: 8xH200\n    num_nodes: \"2\"\n",
                      {"$.clusters.t.num_nodes"}),
    "too many nodes": ("clusters:\n  t:\n    instance_type: 8xH200\n    num_nodes: 65\n", {"$.clusters.t.num_nodes"}),
    "bad name": ("clusters:\n  t:\n    instance_type: 1xH100\n    name: Research_Trainer\n", {"$.clusters.t.name"}),
    "bad address": ("clusters:\n  Upper_Case:\n    instance_type: 1xH100\n", {"$.clusters"}),
    "a key's path": ("clusters:\n  t:\n    instance_type: 1xH100\n    public_keys:\n      - ~/.ssh/id_ed25519.pub\n",
                     {"$.clusters.t.public_keys[0]"}),
    "budget without a limit": ("budget: {}\nclusters: {}\n", {"$.budget"}),
    "lower-case price kind": ("prices:\n  h100: 2.0\nclusters: {}\n", {"$.prices"}),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_spec_fails_at_its_path(tmp_path, case):
    text, paths = BROKEN[case]
    spec = tmp_path / "broken.yaml"
    spec.write_text(text)
    code, report = check_jsonschema(SCHEMA, spec)
    assert code == 1
    assert {e["path"] for e in report["errors"]} == paths
    assert run_tp(tmp_path, "validate", "broken.yaml").returncode == 1  # and validate refuses it too


# Instance types: what the schema alone decides, beside what `tpdeclare validate` says of the same value.
NEW_BUT_WELL_FORMED = ["8xA100", "8xMI300X", "3xH100", "16xH200", "1xGB200", "999xCPU", "8xH10", "2xRTX6000"]
NEAR_MISSES = ["8xh100", "8xH100s", "8x H100", "8XH100", "H100x8", "8H100", "8xh200", "1xl40s", "8x-H100", "08xH100",
               "1000xH100", "8x", "x8H100", "8xH100 ", "biggest-gpu"]


def test_new_instance_types_pass_the_schema_and_near_misses_do_not(tmp_path):
    body = "clusters:\n" + "".join(f"  c{i}:\n    instance_type: '{t}'\n" for i, t in enumerate(NEW_BUT_WELL_FORMED))
    (tmp_path / "new.yaml").write_text(body)
    code, report = check_jsonschema(SCHEMA, tmp_path / "new.yaml")
    assert (code, report["status"], report.get("errors", [])) == (0, "ok", [])
    validated = run_tp(tmp_path, "validate", "new.yaml")
    assert validated.returncode == 0, validated.stderr  # warnings only: the server decides

    body = "clusters:\n" + "".join(f"  c{i}:\n    instance_type: '{t}'\n" for i, t in enumerate(NEAR_MISSES))
    (tmp_path / "near.yaml").write_text(body)
    code, report = check_jsonschema(SCHEMA, tmp_path / "near.yaml")
    assert code == 1
    assert {e["path"] for e in report["errors"]} == {f"$.clusters.c{i}.instance_type" for i in range(len(NEAR_MISSES))}
    validated = run_tp(tmp_path, "validate", "near.yaml")
    assert validated.stderr.count(": error: clusters.c") == len(NEAR_MISSES), validated.stderr


# What only `validate` catches (the README says so): each spec passes check-jsonschema, file by file, and
# `tpdeclare validate` refuses it, or warns for a type missing from the catalogue.
TRUNCATED_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIAPrRylS7juAjcYNZe08XyBgPIwGZhUGwoK alice@laptop"
ONLY_VALIDATE = {
    "type not in the catalogue": ({"s.yaml": "clusters:\n  t:\n    instance_type: 8xH10\n"}, "warning"),
    "size not in the catalogue": ({"s.yaml": "clusters:\n  t:\n    instance_type: 3xH100\n"}, "warning"),
    "multi-node on a single-node type": (
        {"s.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n    num_nodes: 2\n"}, "error"),
    "no instance type and no default": ({"s.yaml": "clusters:\n  t: {num_nodes: 1}\n"}, "error"),
    "an address in two files": ({"stack/a.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n",
                                 "stack/b.yaml": "clusters:\n  t:\n    instance_type: 2xH100\n"}, "error"),
    "moved to an undeclared address": (
        {"s.yaml": "clusters:\n  t:\n    instance_type: 1xH100\nmoved:\n  - {from: a, to: nowhere}\n"}, "error"),
    "files naming different stacks": ({"stack/a.yaml": "stack: one\nclusters: {}\n",
                                       "stack/b.yaml": "stack: two\nclusters: {}\n"}, "error"),
    "key data that is not a key": (
        {"s.yaml": f"clusters:\n  t:\n    instance_type: 1xH100\n    public_keys: ['{TRUNCATED_KEY}']\n"}, "error"),
}


@pytest.mark.parametrize("case", sorted(ONLY_VALIDATE))
def test_what_only_validate_catches(tmp_path, case):
    files, severity = ONLY_VALIDATE[case]
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    code, report = check_jsonschema(SCHEMA, *(tmp_path / name for name in files))
    assert (code, report.get("errors")) == (0, [])
    target = "stack" if len(files) > 1 else "s.yaml"
    done = run_tp(tmp_path, "validate", target)
    assert f": {severity}: " in done.stderr, done.stderr
    assert done.returncode == (1 if severity == "error" else 0), done.stderr
