"""`tpdeclare validate --stacks-of FILE...`, what the pre-commit hook runs: changed files -> their directories'
stacks (one directory = one stack), other YAML left alone, every error of every stack reported at file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest
from tpdeclare.spec.changed_stacks import stacks_of

from e2e_helpers import run_tp

GOOD = "clusters:\n  nb:\n    instance_type: 1xH100\n"
BROKEN = "clusters:\n  t:\n    instance_type: 8xh100\n    num_node: 2\n"


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_changed_file_stands_for_its_directory_validated_whole(tmp_path):
    tree(tmp_path, {"clusters/a.yaml": "stack: research\n" + GOOD,
                    "clusters/b.yaml": "stack: research\nclusters:\n  nb:\n    instance_type: 2xH100\n"})
    done = run_tp(tmp_path, "validate", "--stacks-of", "clusters/b.yaml")
    assert done.returncode == 1
    assert done.stderr.startswith("clusters/b.yaml:3:3: error: clusters.nb: cluster 'nb' is declared twice: "
                                  "first at clusters/a.yaml:3:3")


def test_every_stack_is_reported_then_it_fails_once(tmp_path):
    tree(tmp_path, {"prod/a.yaml": BROKEN, "dev/b.yml": "stack: dev\n" + GOOD.replace("nb:", "x:\n    bad: 1\n  y:"),
                    "ok/c.yaml": GOOD})
    done = run_tp(tmp_path, "validate", "--stacks-of", "prod/a.yaml", "dev/b.yml", "ok/c.yaml")
    assert done.returncode == 1
    assert done.stderr == (
        "dev/b.yml:3:3: error: clusters.x: cluster 'x' has no instance_type\n"
        "  hint: add `instance_type:` (e.g. 1xH100) to the cluster, or to `defaults:`\n"
        "dev/b.yml:4:5: error: clusters.x.bad: unknown key 'bad'\n"
        "  hint: valid keys here: instance_type, num_nodes, name, container, deletion_protection, public_keys, "
        "lifecycle, lifetime, storage\n"
        "prod/a.yaml:3:20: error: clusters.t.instance_type: unknown instance type '8xh100'\n"
        "  hint: did you mean '8xH100'?\n"
        "prod/a.yaml:4:5: error: clusters.t.num_node: unknown key 'num_node'\n"
        "  hint: did you mean 'num_nodes'?\n"
        "Error: 4 errors in the spec; nothing was changed\n"
    )
    assert done.stdout == "Success! The spec is valid: stack 'ok', 1 cluster.\n"


def test_other_yaml_of_the_repository_is_left_alone(tmp_path):
    tree(tmp_path, {
        ".pre-commit-config.yaml": "repos: []\n",
        ".github/workflows/ci.yml": "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n",
        "deploy/compose.yaml": "services:\n  web:\n    image: nginx\n",
        "clusters/a.yaml": GOOD,
    })
    changed = [".pre-commit-config.yaml", ".github/workflows/ci.yml", "deploy/compose.yaml", "clusters/a.yaml"]
    done = run_tp(tmp_path, "validate", "--stacks-of", *changed)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == ("Success! The spec is valid: stack 'clusters', 1 cluster.\n"
                           "Skipped (no tpdeclare spec in the directory): ., .github/workflows, deploy\n")


@pytest.mark.parametrize("marker", [
    "clusters: {}\n",
    "stack: infra\nclusters: {}\n",
    "# yaml-language-server: $schema=../.tpdeclare/cluster.schema.json\nclusterz: {}\n",
    "# yaml-language-server: $schema=https://tpdeclare.dev/schemas/cluster.schema.json\n",
])
def test_a_directory_with_one_recognisable_spec_is_validated_whole(tmp_path, monkeypatch, marker):
    monkeypatch.chdir(tmp_path)
    # The recognisable file brings its neighbours along: a misspelt spec beside it is not skipped.
    tree(tmp_path, {"infra/a.yaml": marker, "infra/b.yaml": "clusterz:\n  t: {}\n"})
    assert stacks_of(["infra/b.yaml"]).stacks == ("infra",)
    done = run_tp(tmp_path, "validate", "--stacks-of", "infra/b.yaml")
    assert done.returncode == 1 and "infra/b.yaml:1:1: error: clusterz: unknown key 'clusterz'" in done.stderr


def test_named_directories_are_stacks_as_given_and_always_validated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tree(tmp_path, {"clusters/a.yaml": GOOD, "odd/x.yaml": "something: else\n", "docs/mkdocs.yml": "site_name: x\n"})
    found = stacks_of(["clusters/", "odd", "docs/mkdocs.yml", "clusters/a.yaml"])
    assert (found.stacks, found.skipped) == (("clusters/", "odd"), ("docs",))
    done = run_tp(tmp_path, "validate", "--stacks-of", "clusters/", "odd", "docs/mkdocs.yml", "clusters/a.yaml")
    assert done.returncode == 1
    assert "odd/x.yaml:1:1: error: something: unknown key 'something'" in done.stderr
    assert "clusters/" not in done.stderr and "docs" not in done.stderr


def test_hidden_files_and_files_at_the_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tree(tmp_path, {"stack.yaml": "stack: root\n" + GOOD, ".hidden.yaml": "clusters: {}\n",
                    "nested/.only-hidden.yaml": "clusters: {}\n"})
    found = stacks_of(["stack.yaml", ".hidden.yaml", "nested/.only-hidden.yaml"])
    assert (found.stacks, found.skipped) == ((".",), ("nested",))
    done = run_tp(tmp_path, "validate", "--stacks-of", "stack.yaml")
    assert done.stdout == "Success! The spec is valid: stack 'root', 1 cluster.\n"


def test_without_the_flag_the_arguments_are_one_stack_as_before(tmp_path):
    tree(tmp_path, {"a/x.yaml": "stack: one\n" + GOOD, "b/y.yaml": "stack: two\n" + GOOD.replace("nb", "other")})
    together = run_tp(tmp_path, "validate", "a/x.yaml", "b/y.yaml")
    assert together.returncode == 1
    assert together.stderr.startswith("b/y.yaml:1:8: error: spec files of different stacks are given together")
    apart = run_tp(tmp_path, "validate", "--stacks-of", "a/x.yaml", "b/y.yaml")
    assert apart.returncode == 0
    assert apart.stdout == ("Success! The spec is valid: stack 'one', 1 cluster.\n"
                            "Success! The spec is valid: stack 'two', 1 cluster.\n")
