"""The real pre-commit (PyPI, the `test` extra) running tpdeclare's hook as users try it: `pre-commit try-repo`
and a plain .pre-commit-config.yaml, no `args`, against a temporary git repository of specs.

pre-commit installs the hook from a git repository of this working tree (tests/real_tools.py), into an
environment of its own (pip, from the registry), so these tests take seconds, not milliseconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from real_tools import CACHE, git, hook_repository

GOOD = ("# yaml-language-server: $schema=../.tpdeclare/cluster.schema.json\n"
        "clusters:\n  nb:\n    instance_type: 1xH100\n")
BROKEN = "clusters:\n  trainer:\n    instance_type: 8xh100\n    num_node: 2\n"
WORKFLOW = "on: push\njobs:\n  plan:\n    runs-on: ubuntu-latest\n    steps: [{run: tpdeclare validate clusters/}]\n"


def user_repository(root: Path, files: dict[str, str]) -> Path:
    repo = root / "infra"
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    return repo


def pre_commit(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(CACHE / "pre-commit"), "PRE_COMMIT_COLOR": "never",
           "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=900)


def config(rev_repo: tuple[Path, str], hook_extra: str = "") -> str:
    path, rev = rev_repo
    return f"repos:\n  - repo: {path}\n    rev: {rev}\n    hooks:\n      - id: tpdeclare-validate\n{hook_extra}"


def test_try_repo_passes_a_good_spec_with_no_args(tmp_path):
    hook_repo, _ = hook_repository()
    repo = user_repository(tmp_path, {"clusters/research.yaml": GOOD, ".github/workflows/ci.yml": WORKFLOW})
    done = pre_commit(repo, "try-repo", str(hook_repo), "tpdeclare-validate", "--all-files", "--verbose")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success! The spec is valid: stack 'clusters', 1 cluster." in done.stdout
    assert "required: SPEC" not in done.stdout + done.stderr


def test_try_repo_fails_a_broken_spec_naming_file_line_and_column(tmp_path):
    hook_repo, _ = hook_repository()
    repo = user_repository(tmp_path, {"clusters/research.yaml": GOOD, "clusters/broken.yaml": BROKEN})
    done = pre_commit(repo, "try-repo", str(hook_repo), "tpdeclare-validate", "--all-files")
    assert done.returncode == 1, done.stdout + done.stderr
    assert ("clusters/broken.yaml:3:20: error: clusters.trainer.instance_type: unknown instance type '8xh100'\n"
            "  hint: did you mean '8xH100'?\n"
            "clusters/broken.yaml:4:5: error: clusters.trainer.num_node: unknown key 'num_node'\n"
            "  hint: did you mean 'num_nodes'?\n"
            "Error: 2 errors in the spec; nothing was changed\n") in done.stdout


def test_a_plain_config_validates_the_stacks_of_the_staged_files(tmp_path):
    repo = user_repository(tmp_path, {
        ".pre-commit-config.yaml": config(hook_repository()),
        ".github/workflows/ci.yml": WORKFLOW,
        "clusters/research.yaml": GOOD,
        "teams/ml/a.yaml": "stack: ml\n" + BROKEN,
    })
    everything = pre_commit(repo, "run", "--all-files")
    assert everything.returncode == 1, everything.stdout + everything.stderr
    assert "teams/ml/a.yaml:4:20: error:" in everything.stdout and "teams/ml/a.yaml:5:5: error:" in everything.stdout

    git(repo, "commit", "-q", "--no-verify", "-m", "specs")
    (repo / "clusters" / "research.yaml").write_text(GOOD.replace("1xH100", "2xH100"))
    git(repo, "add", "clusters/research.yaml")
    staged = pre_commit(repo, "run", "--verbose")  # only the staged file: its stack, not the broken one elsewhere
    assert staged.returncode == 0, staged.stdout + staged.stderr
    assert "Success! The spec is valid: stack 'clusters', 1 cluster." in staged.stdout
    assert "teams/ml" not in staged.stdout


def test_args_name_stacks_to_validate_on_every_run(tmp_path):
    repo = user_repository(tmp_path, {
        ".pre-commit-config.yaml": config(hook_repository(), "        args: [teams/ml]\n"),
        "clusters/research.yaml": GOOD,
        "teams/ml/a.yaml": "stack: ml\n" + BROKEN,
    })
    git(repo, "commit", "-q", "--no-verify", "-m", "specs")
    (repo / "clusters" / "research.yaml").write_text(GOOD.replace("1xH100", "4xH100"))
    git(repo, "add", "clusters/research.yaml")
    done = pre_commit(repo, "run")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "teams/ml/a.yaml:4:20: error:" in done.stdout


def test_a_single_file_stack_among_others_is_named_with_the_plain_entry(tmp_path):
    repo = user_repository(tmp_path, {
        ".pre-commit-config.yaml": config(hook_repository(), "        entry: tpdeclare validate\n"
                                          "        pass_filenames: false\n        args: [specs/one.yaml]\n"),
        "specs/one.yaml": "stack: one\n" + BROKEN,
        "specs/two.yaml": "stack: two\nclusters: {}\n",
    })
    done = pre_commit(repo, "run", "--all-files")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "specs/one.yaml:4:20: error:" in done.stdout and "different stacks" not in done.stdout
