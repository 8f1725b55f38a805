"""The spec's `outputs:` section: references loaded into StackSpec.outputs, and every bad one a diagnostic at
file:line:col with a did-you-mean where a near word exists; the schema's word list agrees with the table."""

from __future__ import annotations

import textwrap

import pytest
from tpdeclare.cluster_outputs import FIELD_NAMES
from tpdeclare.spec.loader import load_stack
from tpdeclare.spec.model import OutputRef, SourceRef
from tpdeclare.spec.schema import spec_schema

from e2e_helpers import run_tp, write

HEAD = """\
clusters:
  trainer:
    instance_type: 8xH200
    num_nodes: 2
  notebook:
    instance_type: 1xH100
outputs:
"""


def _load(tmp_path, outputs: str, name="demo.yaml"):
    path = tmp_path / name
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(outputs), "  "))
    return load_stack([str(path)])


def _formatted(diags):
    return [d.format() for d in diags]


def test_good_references_are_loaded_in_order(tmp_path):
    spec, diags = _load(tmp_path, """
        trainer_ssh: clusters.trainer.ssh_command
        nb-id: clusters.notebook.cluster_id
    """)
    assert diags == []
    path = str(tmp_path / "demo.yaml")
    assert list(spec.outputs) == ["trainer_ssh", "nb-id"]
    assert spec.outputs["trainer_ssh"] == OutputRef("trainer_ssh", "trainer", "ssh_command", SourceRef(path, 9, 16))
    assert spec.outputs["nb-id"].reference == "clusters.notebook.cluster_id"


@pytest.mark.parametrize("field", FIELD_NAMES)
def test_every_output_field_can_be_referenced(tmp_path, field):
    spec, diags = _load(tmp_path, f"x: clusters.trainer.{field}\n")
    assert diags == [] and spec.outputs["x"].field == field


@pytest.mark.parametrize("line, expected", [
    ("a: clusters.trainr.cluster_id",
     ["demo.yaml:8:6: error: outputs.a: output 'a' refers to cluster 'trainr', which is not declared in `clusters`",
      "  hint: did you mean 'trainer'?"]),
    ("a: clusters.gpu.cluster_id",
     ["demo.yaml:8:6: error: outputs.a: output 'a' refers to cluster 'gpu', which is not declared in `clusters`",
      "  hint: the declared clusters: notebook, trainer"]),
    ("a: clusters.trainer.ssh_comand",
     ["demo.yaml:8:6: error: outputs.a: a cluster has no output 'ssh_comand'", "  hint: did you mean 'ssh_command'?"]),
    ("a: clusters.trainer.ip",
     ["demo.yaml:8:6: error: outputs.a: a cluster has no output 'ip'",
      "  hint: a cluster's outputs: " + ", ".join(FIELD_NAMES)]),
    ("a: clusters.trainer.Cluster_ID",
     ["demo.yaml:8:6: error: outputs.a: a cluster has no output 'Cluster_ID'", "  hint: did you mean 'cluster_id'?"]),
    ("a: cluster.trainer.cluster_id",
     ["demo.yaml:8:6: error: outputs.a: a reference starts with `clusters.`, not `cluster.`",
      "  hint: did you mean `clusters.trainer.cluster_id`?"]),
    ("a: clusters.trainer",
     ["demo.yaml:8:6: error: outputs.a: `clusters.trainer` is not a reference to a cluster's output",
      "  hint: write clusters.ADDRESS.FIELD, e.g. clusters.trainer.ssh_command"]),
    ("a: clusters.trainer.ssh_command.x",
     ["demo.yaml:8:6: error: outputs.a: `clusters.trainer.ssh_command.x` is not a reference to a cluster's output",
      "  hint: write clusters.ADDRESS.FIELD, e.g. clusters.trainer.ssh_command"]),
    ("a: clusters..cluster_id",
     ["demo.yaml:8:6: error: outputs.a: `clusters..cluster_id` is not a reference to a cluster's output",
      "  hint: write clusters.ADDRESS.FIELD, e.g. clusters.trainer.ssh_command"]),
    ("a: 3",
     ["demo.yaml:8:6: error: outputs.a: expected a string, got an integer (3)",
      "  hint: quote the value to make it a string"]),
    ("Trainer: clusters.trainer.cluster_id",
     ["demo.yaml:8:3: error: outputs.Trainer: 'Trainer' is not a valid key",
      "  hint: an output name is lowercase letters, digits, _ and -, starting with a letter, e.g. trainer_ssh"]),
])
def test_a_bad_reference_is_a_diagnostic_at_its_place(tmp_path, monkeypatch, line, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo.yaml").write_text(HEAD + "  " + line + "\n")
    spec, diags = load_stack(["demo.yaml"])
    assert spec is None
    assert "\n".join(_formatted(diags)) == "\n".join(expected)


def test_every_problem_of_a_reference_is_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo.yaml").write_text(HEAD + "  a: cluster.trainr.ssh_comand\n")
    _, diags = load_stack(["demo.yaml"])
    assert [d.summary for d in diags] == [
        "a cluster has no output 'ssh_comand'",
        "a reference starts with `clusters.`, not `cluster.`",
        "output 'a' refers to cluster 'trainr', which is not declared in `clusters`",
    ]
    assert {(d.line, d.col) for d in diags} == {(8, 6)}
    assert diags[1].hint == "did you mean `clusters.trainer.ssh_command`?"  # every near word corrected at once


def test_an_output_named_in_two_files_of_a_stack_names_both(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cluster = "clusters:\n  {0}:\n    instance_type: 1xH100\noutputs:\n  id: clusters.{0}.cluster_id\n"
    write(tmp_path / "stack" / "a.yaml", cluster.format("one"))
    write(tmp_path / "stack" / "b.yaml", cluster.format("two") + "  two_id: clusters.one.cluster_id\n")
    spec, diags = load_stack(["stack"])
    assert spec is None
    assert _formatted(diags) == ["stack/b.yaml:5:3: error: outputs.id: output 'id' is set twice: also at "
                                 "stack/a.yaml:5:7\n  hint: an output name is unique within a stack; rename or "
                                 "remove one"]


def test_a_reference_may_name_a_cluster_of_another_file_of_the_stack(tmp_path):
    write(tmp_path / "stack" / "a.yaml", "clusters:\n  one:\n    instance_type: 1xH100\n")
    write(tmp_path / "stack" / "b.yaml", "clusters: {}\noutputs:\n  id: clusters.one.cluster_id\n")
    spec, diags = load_stack([str(tmp_path / "stack")])
    assert diags == [] and spec.outputs["id"].address == "one"


def test_validate_reports_them_and_exits_1(tmp_path):
    (tmp_path / "demo.yaml").write_text(HEAD + "  a: clusters.notebok.public_ip\n  b: clusters.notebook.publicip\n")
    done = run_tp(tmp_path, "validate", "demo.yaml")
    assert done.returncode == 1
    assert done.stderr == (
        "demo.yaml:8:6: error: outputs.a: output 'a' refers to cluster 'notebok', which is not declared in "
        "`clusters`\n  hint: did you mean 'notebook'?\n"
        "demo.yaml:9:6: error: outputs.b: a cluster has no output 'publicip'\n  hint: did you mean 'public_ip'?\n"
        "Error: 2 errors in the spec; nothing was changed\n"
    )


def test_the_schemas_description_lists_exactly_the_output_fields():
    description = spec_schema()["properties"]["outputs"]["description"]
    listed = description.split("Fields: ", 1)[1].rstrip(".").split(", ")
    assert tuple(listed) == FIELD_NAMES
