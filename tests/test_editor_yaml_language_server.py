"""The real yaml-language-server (npm, over stdio, as editors run it) on the examples, the GitOps kit and broken specs.

The README's editor claims, each checked here: the examples and the kit copied into a fresh repository load
their schema and show no diagnostics; a broken spec gets diagnostics at the lines and columns `tpdeclare
validate` names; field names and instance types complete. The server's wording is never relied on.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from tpdeclare.catalog import INSTANCE_TYPES
from tpdeclare.resources import load_spec_json

from e2e_helpers import run_tp
from yaml_language_server import YamlLanguageServer

REPO = Path(__file__).resolve().parents[1]
KIT = REPO / "examples" / "gitops"
EXAMPLES = sorted(p for p in (REPO / "examples").rglob("*.y*ml") if p.name != "tpdeclare.yml")


@pytest.fixture(scope="module")
def server():
    with YamlLanguageServer(REPO) as ls:
        yield ls


def fresh_repository(tmp_path: Path) -> Path:
    """The GitOps kit copied into a new repository as its README says: the workflow under .github/workflows/."""
    repo = tmp_path / "infra"
    shutil.copytree(KIT, repo, ignore=shutil.ignore_patterns("tpdeclare.yml"))
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(KIT / "tpdeclare.yml", repo / ".github" / "workflows" / "tpdeclare.yml")
    return repo


def places(diagnostics) -> set[tuple[int, int]]:
    """1-based (line, column) of each diagnostic's start, as tpdeclare prints places."""
    return {(d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1) for d in diagnostics}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_diagnostics_on_the_examples(server, example):
    assert server.diagnostics(example) == []


def test_the_examples_schema_is_really_loaded(server):
    # A broken document beside each example, with its modeline, is flagged: the clean results above are
    # the schema's verdict, not a schema that failed to load in silence.
    for example in EXAMPLES:
        modeline = example.read_text().splitlines()[0]
        broken = f"{modeline}\nclusters:\n  t:\n    instance_type: 8xh100\n"
        found = server.diagnostics(example.with_name(f"probe-{example.stem}.yaml"), broken)
        assert places(found) == {(4, 20)}, (example, found)


def test_the_kit_in_a_fresh_repository_loads_its_vendored_schema(server, tmp_path):
    repo = fresh_repository(tmp_path)
    specs = sorted((repo / "stacks").glob("*/*.yaml"))
    assert specs
    for spec in specs:
        assert server.diagnostics(spec) == [], spec
    broken = specs[0].read_text().replace("instance_type: 1xH100", "instance_type: 1xh100")
    found = server.diagnostics(specs[0].with_name("probe.yaml"), broken)
    assert len(found) == 1
    assert found[0]["data"]["schemaUri"] == [(repo / ".tpdeclare" / "cluster.schema.json").as_uri()]


def test_the_old_kit_modeline_could_not_load_a_schema_in_a_fresh_repository(server, tmp_path):
    # What the issue saw: `../../../specs/` leaves the user's repository, so the editor had no schema at all.
    repo = fresh_repository(tmp_path)
    spec = repo / "stacks" / "research" / "research.yaml"
    old = re.sub(r"\$schema=\S+", "$schema=../../../specs/cluster.schema.json", spec.read_text(), count=1)
    found = server.diagnostics(spec.with_name("old-modeline.yaml"), old)
    assert found and all("schemaUri" not in d.get("data", {}) for d in found)


BROKEN = {
    "lower-case kind": "clusters:\n  t:\n    instance_type: 8xh100\n",
    "spaced kind": "clusters:\n  t:\n    instance_type: 8x H100\n",
    "kind first": "clusters:\n  t:\n    instance_type: H100x8\n",
    "unknown key": "clusters:\n  t:\n    instance_type: 8xH200\n    num_node: 2\n",
    "quoted number": "clusters:\n  t:\n    instance_type: 8xH200\n    num_nodes: \"2\"\n",
    "too few nodes": "clusters:\n  t:\n    instance_type: 1xH100\n    num_nodes: 0\n",
    "bad address": "clusters:\n  Upper_Case:\n    instance_type: 1xH100\n",
    "bad name": "clusters:\n  t:\n    instance_type: 1xH100\n    name: Research_Trainer\n",
    "not a boolean": "clusters:\n  t:\n    instance_type: 1xH100\n    deletion_protection: maybe\n",
    "ignore an unknown field": "clusters:\n  t:\n    instance_type: 1xH100\n    lifecycle:\n"
                               "      ignore_changes: [contaner]\n",
    "two problems": "clusters:\n  t:\n    instance_type: 8xh100\n    num_node: 2\n",
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_spec_is_flagged_where_validate_says(server, tmp_path, case):
    text = f"# yaml-language-server: $schema={REPO / 'specs' / 'cluster.schema.json'}\n{BROKEN[case]}"
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    validated = run_tp(tmp_path, "validate", "spec.yaml")
    assert validated.returncode == 1
    said = {(int(m[1]), int(m[2])) for m in re.finditer(r"^spec\.yaml:(\d+):(\d+): error:", validated.stderr, re.M)}
    assert said, validated.stderr
    assert places(server.diagnostics(spec)) == said


def _cluster_fields() -> set[str]:
    return set(load_spec_json("cluster.schema.json")["$defs"]["cluster"]["properties"])


def test_completion_of_field_names(server, tmp_path):
    text = f"# yaml-language-server: $schema={REPO / 'specs' / 'cluster.schema.json'}\nclusters:\n  t:\n    \n"
    labels = server.completion_labels(tmp_path / "fields.yaml", text, 3, 4)
    assert set(labels) == _cluster_fields()
    top = server.completion_labels(tmp_path / "top.yaml", text.replace("clusters:\n  t:\n    \n", "\n"), 1, 0)
    assert {"stack", "defaults", "budget", "prices", "clusters", "moved"} <= set(top)


@pytest.mark.parametrize("where", ["cluster", "defaults"])
def test_completion_of_instance_types(server, tmp_path, where):
    body = "clusters:\n  t:\n    instance_type: \n" if where == "cluster" else "defaults:\n  instance_type: \n"
    text = f"# yaml-language-server: $schema={REPO / 'specs' / 'cluster.schema.json'}\n{body}"
    line = text.splitlines()[-1]
    labels = server.completion_labels(tmp_path / f"types-{where}.yaml", text, len(text.splitlines()) - 1, len(line))
    assert labels == list(INSTANCE_TYPES)
