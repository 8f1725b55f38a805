"""The GitOps kit in a fresh repository: its workflow passes actionlint, and its jobs' script, run as the workflow
runs it, against the served sandbox with a fake `gh` (tests/fake_gh.py) standing in for GitHub.

State is a local directory outside the repository here (TPDECLARE_STATE); in the kit it is s3://BUCKET/PREFIX.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from e2e_helpers import cli_env, run_tp
from fake_gh import install
from real_tools import REPO, actionlint, git

KIT = REPO / "examples" / "gitops"
WORKFLOW = KIT / "tpdeclare.yml"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@pytest.fixture
def kit(tmp_path, sandbox):
    """The kit copied into a new git repository as its README says, on main, with its environment."""
    repo = tmp_path / "infra"
    shutil.copytree(KIT, repo, ignore=shutil.ignore_patterns("tpdeclare.yml"))
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW, repo / ".github" / "workflows" / "tpdeclare.yml")
    (repo / "stacks" / "notes").mkdir()
    (repo / "stacks" / "notes" / "README.md").write_text("not a stack\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the kit")
    gh = install(tmp_path / "bin", tmp_path / "github.json")
    env = cli_env(sandbox, TPDECLARE_STATE=str(tmp_path / "bucket" / "tpdeclare"), GITHUB_REPOSITORY="org/infra",
                  TPDECLARE_CMD=f"{sys.executable} -m tpdeclare")
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    return Kit(repo, env, gh, sandbox, tmp_path / "bucket" / "tpdeclare")


class Kit:
    def __init__(self, repo: Path, env: dict, gh, sandbox, state: Path):
        self.repo, self.env, self.gh, self.sandbox, self.state = repo, env, gh, sandbox, state

    def ci(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "ci/tpdeclare_ci.py", *args], cwd=self.repo, env=self.env,
                              capture_output=True, text=True, timeout=300)

    def head(self) -> str:
        return git(self.repo, "rev-parse", "HEAD")

    def edit(self, path: str, old: str, new: str) -> None:
        f = self.repo / path
        assert old in f.read_text()
        f.write_text(f.read_text().replace(old, new))

    def commit(self, message: str) -> str:
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "-m", message)
        return self.head()

    def branch(self, name: str) -> None:
        git(self.repo, "checkout", "-q", "-b", name)

    def merge(self, branch: str) -> str:
        git(self.repo, "checkout", "-q", "main")
        git(self.repo, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
        return self.head()


def ok(done, code=0):
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


# ---- the workflow -----------------------------------------------------------------------------------
def test_the_workflow_passes_actionlint():
    done = subprocess.run([*actionlint(), str(WORKFLOW)], capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout.strip()) == (0, "actionlint: no problems in 1 workflow file"), done.stderr


def test_actionlint_really_checks_the_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("${{ github.event.before }}",
                                                   "${{ github.evnt.before }}", 1))
    done = subprocess.run([*actionlint(), str(broken)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and f"{broken}:" in done.stdout and '"evnt" is not defined' in done.stdout, done.stdout


def test_the_workflow_installs_a_pinned_tag_with_s3_and_commits_nothing():
    text = WORKFLOW.read_text()
    workflow = yaml.safe_load(text)
    assert re.fullmatch(r"tpdeclare\[s3\] @ git\+https://github\.com/your-org/tpdeclare@v\d+\.\d+\.\d+",
                        workflow["env"]["TPDECLARE_PIP"])
    assert "git add" not in text and "git push" not in text and workflow["permissions"]["contents"] == "read"
    runs = {job: [s.get("run", "") for s in spec["steps"]] for job, spec in workflow["jobs"].items()}
    assert all(any(r == 'pip install "$TPDECLARE_PIP"' for r in steps) for steps in runs.values())
    assert any("tpdeclare_ci.py plan-pr" in r for r in runs["plan"])
    assert any("tpdeclare_ci.py apply-merged" in r for r in runs["apply"])
    assert "--auto-approve" not in " ".join(runs["apply"])  # it applies the saved, compared plan
    drift = workflow["jobs"]["drift"]["steps"]
    [orphans] = [s for s in drift if "tpdeclare_ci.py orphans" in s.get("run", "")]
    assert orphans.get("if") == "always()"
    assert (KIT / ".gitignore").read_text().splitlines().count("state/") == 1
    # No shared group for merges: GitHub cancels a pending run when a newer one joins its group.
    assert workflow["concurrency"]["group"] == "tpdeclare-${{ github.event.pull_request.number || github.run_id }}"


# ---- which stacks a change touches ------------------------------------------------------------------
def test_only_the_changed_stacks_are_selected(kit):
    base = kit.head()
    (kit.repo / "stacks" / "notes" / "README.md").write_text("a note\n")
    assert ok(kit.ci("changed", base, kit.commit("notes only"))).stdout == ""  # the workflow loops over lines
    kit.edit("stacks/inference/inference.yaml", "1xL40S", "1xH100")
    (kit.repo / "stacks" / "notes" / "README.md").write_text("still not a stack\n")
    head = kit.commit("inference only")
    assert ok(kit.ci("changed", base, head)).stdout.split() == ["inference"]
    (kit.repo / "stacks" / "vision").mkdir()
    (kit.repo / "stacks" / "vision" / "v.yaml").write_text("stack: vision\nclusters:\n  a: {instance_type: 1xH100}\n")
    kit.edit("stacks/research/research.yaml", "1xH100", "1xL40S")
    assert ok(kit.ci("changed", base, kit.commit("two more"))).stdout.split() == ["inference", "research", "vision"]
    kit.edit("ci/tpdeclare_ci.py", "LOCK_TIMEOUT = \"300\"", "LOCK_TIMEOUT = \"600\"")
    since = kit.head()
    assert ok(kit.ci("changed", since, kit.commit("the kit itself"))).stdout.split() == [
        "inference", "research", "vision"]  # a change to the kit plans every stack
    shutil.rmtree(kit.repo / "stacks" / "vision")
    since = kit.head()
    gone = kit.ci("changed", since, kit.commit("remove vision"))
    assert gone.returncode == 1 and "stack directory removed: vision; destroy its clusters first" in gone.stderr


# ---- pull request: one comment, a section per stack, digests in statuses ----------------------------
def open_pr(kit) -> tuple[str, str]:
    base = kit.head()
    kit.branch("change")
    kit.edit("stacks/inference/inference.yaml", "1xL40S", "1xH100")
    kit.edit("stacks/research/research.yaml", "num_nodes: 2", "num_nodes: 1")
    return base, kit.commit("resize")


def test_the_pr_job_posts_one_sticky_comment_with_a_section_per_stack(kit):
    base, head = open_pr(kit)
    ok(kit.ci("plan-pr", "7", head, base))
    [comment] = kit.gh.comments
    body = comment["body"]
    assert comment["pr"] == "7" and body.startswith("<!-- tpdeclare-plan -->\n")
    assert re.findall(r"^### tpdeclare plan: `(\w+)`", body, re.MULTILINE) == ["inference", "research"]
    sections = dict(re.findall(r"^<!-- tpdeclare-digest (\w+) (sha256:[0-9a-f]{64}) -->$", body, re.MULTILINE))
    assert set(sections) == {"inference", "research"}
    assert {s["context"]: s["description"] for s in kit.gh.statuses} == {
        f"tpdeclare/{k}": v for k, v in sections.items()}
    assert all(s["sha"] == head and s["state"] == "success" for s in kit.gh.statuses)
    # The digest is the one `tpdeclare plan --digest` prints for the stack.
    alone = run_tp(kit.repo, "plan", "stacks/research", "--state", str(kit.state / "research.json"),
                   "--refresh", "--digest", env=kit.env)
    assert DIGEST.findall(alone.stdout) == [sections["research"]]
    # Another push to the pull request updates the same comment.
    kit.edit("stacks/inference/inference.yaml", "max_hourly_cost: 20", "max_hourly_cost: 25")
    second = kit.commit("budget")
    ok(kit.ci("plan-pr", "7", second, base))
    [comment] = kit.gh.comments
    assert f"<!-- tpdeclare-sha {second} -->" in comment["body"]
    assert [c["argv"][2] for c in kit.gh.calls if c["argv"][:2] == ["api", "-X"]].count("PATCH") == 1


def test_a_blocked_plan_fails_the_pr_job_and_says_so_in_its_section(kit):
    base = kit.head()
    kit.edit("stacks/inference/inference.yaml", "max_hourly_cost: 20", "max_hourly_cost: 1")
    head = kit.commit("too small a budget")
    done = kit.ci("plan-pr", "8", head, base)
    assert done.returncode == 1 and "the plan of inference failed or was blocked" in done.stderr
    [comment] = kit.gh.comments
    assert "**The plan was blocked by policy (exit 3).**" in comment["body"]
    assert comment["body"].count("### tpdeclare plan: `inference`") == 1
    assert [(s["context"], s["state"]) for s in kit.gh.statuses] == [("tpdeclare/inference", "failure")]


# ---- merge: apply only what was reviewed ------------------------------------------------------------
def test_the_merge_job_applies_each_stack_when_its_digest_is_the_reviewed_one(kit):
    base, head = open_pr(kit)
    ok(kit.ci("plan-pr", "7", head, base))
    merge = kit.merge("change")
    kit.gh.merged(merge, 7, head)
    done = ok(kit.ci("apply-merged", merge, base))
    assert "inference: applying the reviewed plan sha256:" in done.stdout
    assert "research: applying the reviewed plan sha256:" in done.stdout
    assert set(kit.sandbox.by_name()) == {"inference-serving", "inference-canary", "research-trainer",
                                          "research-notebook"}
    assert sorted(p.name for p in kit.state.glob("*.json")) == ["inference.json", "research.json"]
    assert not (kit.repo / "state").exists()
    assert git(kit.repo, "status", "--porcelain") == ""  # nothing to commit: state is in the bucket


def test_the_merge_job_refuses_a_plan_that_changed_since_review(kit):
    base, head = open_pr(kit)
    ok(kit.ci("plan-pr", "7", head, base))
    # Meanwhile someone applies the inference stack by hand: its state serial moves on.
    ok(run_tp(kit.repo, "apply", "stacks/inference", "--state", str(kit.state / "inference.json"),
              "--auto-approve", env=kit.env))
    before = kit.sandbox.stats()["mutating_requests"]
    merge = kit.merge("change")
    kit.gh.merged(merge, 7, head)
    done = kit.ci("apply-merged", merge, base)
    assert done.returncode == 1
    assert "Error: the plan changed since review: `inference`: reviewed sha256:" in done.stderr
    assert "Nothing was applied" in done.stderr
    assert kit.sandbox.stats()["mutating_requests"] == before  # not even the unchanged stack
    sticky, new = kit.gh.comments
    assert new["pr"] == "7" and not new["body"].startswith("<!-- tpdeclare-plan -->")
    assert "the plan changed since review" in new["body"] and "### tpdeclare plan: `inference`" in new["body"]
    assert "### tpdeclare plan: `research`" not in new["body"]


def test_the_merge_job_applies_nothing_without_a_reviewed_plan(kit):
    base, head = open_pr(kit)
    merge = kit.merge("change")
    done = kit.ci("apply-merged", merge, base)
    assert done.returncode == 1 and "no merged pull request has commit" in done.stderr
    kit.gh.merged(merge, 7, head)  # merged, but no plan was ever posted for its last commit
    done = kit.ci("apply-merged", merge, base)
    assert done.returncode == 1 and "reviewed nothing (no reviewed plan)" in done.stderr
    assert kit.sandbox.clusters() == []


def test_the_digest_is_read_from_the_comment_when_there_is_no_status(kit):
    base, head = open_pr(kit)
    ok(kit.ci("plan-pr", "7", head, base))
    data = kit.gh.load()
    data["statuses"] = []
    kit.gh.save(data)
    merge = kit.merge("change")
    kit.gh.merged(merge, 7, head)
    ok(kit.ci("apply-merged", merge, base))
    assert len(kit.sandbox.clusters()) == 4


# ---- scheduled jobs ---------------------------------------------------------------------------------
def test_drift_and_orphans_run_over_every_stack(kit):
    done = kit.ci("drift")
    assert done.returncode == 2  # nothing applied yet: both stacks would change
    assert done.stdout.count("::group::drift:") == 2
    ok(kit.ci("orphans"))
    for stack in ("inference", "research"):
        ok(run_tp(kit.repo, "apply", f"stacks/{stack}", "--state", str(kit.state / f"{stack}.json"),
                  "--auto-approve", env=kit.env))
    ok(kit.ci("drift"))
    kit.sandbox.post("/cluster/create", {"tp_cluster_name": "research-stray", "instance_type": "1xH100"})
    assert kit.ci("orphans").returncode == 2


def test_without_a_state_location_the_jobs_say_what_to_set(kit):
    env = dict(kit.env)
    del env["TPDECLARE_STATE"]
    done = subprocess.run([sys.executable, "ci/tpdeclare_ci.py", "drift"], cwd=kit.repo, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Error: TPDECLARE_STATE is not set: set it (a repository secret) to s3://BUCKET/PREFIX" in done.stderr


def test_gh_pages_are_joined():
    sys.path.insert(0, str(KIT / "ci"))
    try:
        from tpdeclare_ci import _joined_pages
    finally:
        sys.path.pop(0)
    assert _joined_pages('[{"id": 1}]\n[{"id": 2}, {"id": 3}]\n') == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert _joined_pages(json.dumps({"id": 4})) == {"id": 4}


def test_the_pr_jobs_validate_step_runs_as_written(kit):
    [step] = [s for s in yaml.safe_load(WORKFLOW.read_text())["jobs"]["plan"]["steps"]
              if s.get("name", "").startswith("validate")]
    env = {**kit.env, "PATH": f"{Path(sys.executable).parent}:{kit.env['PATH']}"}

    def run(base, head):
        return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=kit.repo, env={**env, "BASE": base, "HEAD": head},
                              capture_output=True, text=True, timeout=120)

    base = kit.head()
    (kit.repo / "stacks" / "notes" / "README.md").write_text("a note\n")
    assert ok(run(base, kit.commit("notes"))).stdout == ""
    kit.edit("stacks/research/research.yaml", "1xH100", "1xL40S")
    done = ok(run(base, kit.commit("research")))
    assert done.stdout == "Success! The spec is valid: stack 'research', 2 clusters.\n"
    shutil.rmtree(kit.repo / "stacks" / "inference")
    assert run(base, kit.commit("gone")).returncode == 1  # the script's failure fails the step
