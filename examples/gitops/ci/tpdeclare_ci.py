#!/usr/bin/env python3
"""The GitOps kit's jobs: plan changed stacks on a pull request, apply the reviewed plans on merge, drift, expire.

One directory per stack under $TPDECLARE_STACKS_DIR (default `stacks/`); each stack's state is
`$TPDECLARE_STATE/<directory>.json`, e.g. `s3://team-state/tpdeclare/research.json` (a local directory
works too, for trying the kit out). GitHub is reached only through `gh` (GH_TOKEN, GITHUB_REPOSITORY).

    tpdeclare_ci.py changed BASE HEAD       the stacks a change touches, one directory a line
    tpdeclare_ci.py plan-pr PR HEAD_SHA BASE
        plans each changed stack, posts ONE sticky comment (a section per stack, each with its plan digest)
        and a commit status `tpdeclare/<stack>` on HEAD_SHA holding the digest; exit 1 when a plan failed
        or was blocked by policy
    tpdeclare_ci.py apply-merged SHA BEFORE
        finds the pull request merged as SHA, re-plans each stack changed in BEFORE..SHA and compares the
        digest with the reviewed one (the head commit's status, else the sticky comment). All equal: applies
        each saved plan, each stack under its own state lock. Any different or missing: applies nothing,
        posts the new plans on the pull request, exits 1: "the plan changed since review".
    tpdeclare_ci.py drift | orphans | expire | warn
        every stack: `plan --refresh --detailed-exitcode`, `orphans`, `expire --auto-approve`, `expire
        --warn-only`; the worst exit code (2 drift/orphans/warning, 3 policy/protection, 1 error) wins.

Only the Python standard library; the `tpdeclare` command is $TPDECLARE_CMD (default `tpdeclare`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

MARKER = "<!-- tpdeclare-plan -->"  # the sticky comment's first line: found again on every push
DIGEST = re.compile(r"^Plan digest: (sha256:[0-9a-f]{64})$", re.MULTILINE)
SECTION_DIGEST = re.compile(r"^<!-- tpdeclare-digest (\S+) (sha256:[0-9a-f]{64}) -->$", re.MULTILINE)
COMMENT_SHA = re.compile(r"^<!-- tpdeclare-sha ([0-9a-f]{7,40}) -->$", re.MULTILINE)
STATUS_CONTEXT = "tpdeclare/"  # + stack directory name
COMMENT_LIMIT = 60000  # GitHub refuses comments over 65536 characters
CHANGED_ALL = (".github/workflows/", "ci/", ".tpdeclare/")  # a change to the kit itself plans every stack
LOCK_TIMEOUT = "300"


class CiError(Exception):
    """A job's failure, said in one line (exit 1)."""


# ---- stacks ---------------------------------------------------------------------------------------
def stacks_dir() -> Path:
    return Path(os.environ.get("TPDECLARE_STACKS_DIR", "stacks"))


def all_stacks() -> list[str]:
    root = stacks_dir()
    if not root.is_dir():
        raise CiError(f"no stacks directory {root}/: make one directory per stack there, or set TPDECLARE_STACKS_DIR")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and _has_spec(p))


def _has_spec(directory: Path) -> bool:
    return any(p.suffix in (".yaml", ".yml") and not p.name.startswith(".") for p in directory.iterdir())


def stacks_of_files(files: list[str]) -> list[str]:
    """The stacks (directory names under the stacks directory) that changed files belong to; every stack when
    the kit itself changed. A stack directory that no longer exists (removed by the change) is reported."""
    root = stacks_dir().as_posix().rstrip("/") + "/"
    if any(f.startswith(CHANGED_ALL) for f in files):
        return all_stacks()
    names = sorted({f[len(root):].split("/", 1)[0] for f in files if f.startswith(root) and "/" in f[len(root):]})
    gone = [n for n in names if not (stacks_dir() / n).is_dir()]
    if gone:
        raise CiError(f"stack directory removed: {', '.join(gone)}; destroy its clusters first with "
                      f"`tpdeclare destroy` (state {state_url(gone[0])}), then remove the directory")
    return [n for n in names if _has_spec(stacks_dir() / n)]


def changed_stacks(base: str, head: str) -> list[str]:
    if not base or set(base) == {"0"}:  # a new branch: no before
        return all_stacks()
    diff = _run(["git", "diff", "--name-only", f"{base}...{head}"], check=True)
    return stacks_of_files([line for line in diff.stdout.splitlines() if line])


def state_url(stack: str) -> str:
    prefix = os.environ.get("TPDECLARE_STATE", "").rstrip("/")
    if not prefix:
        raise CiError("TPDECLARE_STATE is not set: set it (a repository secret) to s3://BUCKET/PREFIX; "
                      "each stack's state is PREFIX/<stack>.json")
    return f"{prefix}/{stack}.json"


# ---- running tpdeclare and gh ---------------------------------------------------------------------
def _run(argv: list[str], *, check: bool = False, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise CiError(f"{argv[0]} is not installed (or not on PATH)") from exc
    if check and done.returncode != 0:
        raise CiError(f"{shlex.join(argv[:3])} ... failed (exit {done.returncode}): {done.stderr.strip()}")
    return done


def tpdeclare(*args: str) -> subprocess.CompletedProcess[str]:
    command = shlex.split(os.environ.get("TPDECLARE_CMD", "tpdeclare"))
    done = _run([*command, *args])
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done


def gh_api(path: str, *, method: str = "GET", body: dict[str, object] | None = None) -> object:
    """One GitHub REST call through `gh api`; GET pages are joined into one list."""
    argv = ["gh", "api", "-X", method, path]
    if method == "GET":
        argv.append("--paginate")
    if body is not None:
        argv += ["--input", "-"]
    done = _run(argv, check=True, stdin=None if body is None else json.dumps(body))
    return _joined_pages(done.stdout)


def _joined_pages(text: str) -> object:
    """`gh api --paginate` prints one JSON document per page, back to back: lists are joined."""
    decoder, docs, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)
    if len(docs) == 1:
        return docs[0]
    return [item for doc in docs for item in (doc if isinstance(doc, list) else [doc])]


def repo() -> str:
    name = os.environ.get("GITHUB_REPOSITORY", "")
    if not name:
        raise CiError("GITHUB_REPOSITORY is not set (GitHub Actions sets it: OWNER/NAME)")
    return name


# ---- plans ----------------------------------------------------------------------------------------
@dataclass
class StackPlan:
    stack: str
    code: int  # tpdeclare's exit code: 0 no changes, 2 changes, 1 error, 3 blocked by policy
    markdown: str
    stderr: str
    digest: str | None

    @property
    def failed(self) -> bool:
        return self.code not in (0, 2)


def plan_stack(stack: str, *extra: str) -> StackPlan:
    done = tpdeclare("plan", str(stacks_dir() / stack), "--state", state_url(stack), "--refresh", "--markdown",
                     "--digest", "--detailed-exitcode", "--lock-timeout", LOCK_TIMEOUT, *extra)
    found = DIGEST.findall(done.stdout)
    return StackPlan(stack, done.returncode, done.stdout, done.stderr, found[-1] if found else None)


def section(p: StackPlan) -> str:
    """One stack's part of the comment: the plan's own Markdown (headed "### tpdeclare plan: `STACK`") and a
    digest line the merge job reads back; or, for a plan that failed, what failed."""
    if p.failed:
        what = "was blocked by policy" if p.code == 3 else "failed"
        stderr = p.stderr.strip().replace("```", "'''")
        head = "" if p.markdown.startswith("### ") else f"### tpdeclare plan: `{p.stack}`\n\n"  # none printed
        return (head + f"**The plan {what} (exit {p.code}).**\n\n" + p.markdown
                + (f"\n```text\n{stderr}\n```\n" if stderr else ""))
    return p.markdown.rstrip("\n") + f"\n\n<!-- tpdeclare-digest {p.stack} {p.digest} -->\n"


def comment_body(plans: list[StackPlan], sha: str, title: str) -> str:
    parts = [MARKER, f"<!-- tpdeclare-sha {sha} -->", f"## {title}", ""]
    if not plans:
        parts.append("No stack changed: nothing to plan.")
    sections = [section(p) for p in plans]
    if sum(map(len, sections)) > COMMENT_LIMIT:  # too long for one comment: cut each, keeping its digest
        budget = COMMENT_LIMIT // len(sections)
        sections = [_cut(text, p, budget) for text, p in zip(sections, plans, strict=True)]
    parts += sections
    parts.append("---\nMerging applies these plans only if a new plan on the merge commit has the same digest.")
    return "\n".join(parts) + "\n"


def _cut(text: str, p: StackPlan, budget: int) -> str:
    if len(text) <= budget:
        return text
    kept = text[:budget] + "\n\n… (cut here: the full plan is in the job's log)\n"
    return kept + (f"\nPlan digest: {p.digest}\n\n<!-- tpdeclare-digest {p.stack} {p.digest} -->\n" if p.digest else "")


def post_sticky(pr: str, body: str) -> None:
    """Update the PR's tpdeclare comment, or post it when there is none yet."""
    comments = gh_api(f"repos/{repo()}/issues/{pr}/comments")
    ours = [c for c in comments if isinstance(c, dict) and str(c.get("body", "")).startswith(MARKER)] \
        if isinstance(comments, list) else []
    if ours:
        gh_api(f"repos/{repo()}/issues/comments/{ours[-1]['id']}", method="PATCH", body={"body": body})
    else:
        gh_api(f"repos/{repo()}/issues/{pr}/comments", method="POST", body={"body": body})


def set_status(sha: str, p: StackPlan) -> None:
    ok = not p.failed and p.digest is not None
    gh_api(f"repos/{repo()}/statuses/{sha}", method="POST", body={
        "state": "success" if ok else "failure",
        "context": STATUS_CONTEXT + p.stack,
        "description": p.digest if ok else f"the plan failed (exit {p.code})",
    })


def plan_pr(pr: str, head_sha: str, base: str) -> int:
    plans = [plan_stack(stack) for stack in changed_stacks(base, head_sha)]
    post_sticky(pr, comment_body(plans, head_sha, f"tpdeclare plan for {head_sha[:7]}"))
    for p in plans:
        set_status(head_sha, p)
    failed = [p.stack for p in plans if p.failed]
    if failed:
        raise CiError(f"the plan of {', '.join(failed)} failed or was blocked: see the pull request's comment")
    print(f"Planned {len(plans)} stack{'s' if len(plans) != 1 else ''}: {', '.join(p.stack for p in plans) or '-'}")
    return 0


# ---- applying what was reviewed -------------------------------------------------------------------
def merged_pr(sha: str) -> dict[str, object]:
    pulls = gh_api(f"repos/{repo()}/commits/{sha}/pulls")
    merged = [p for p in pulls if isinstance(p, dict) and p.get("merged_at")] if isinstance(pulls, list) else []
    if not merged:
        raise CiError(f"no merged pull request has commit {sha[:7]}: only reviewed plans are applied "
                      f"(open a pull request, or run tpdeclare by hand)")
    return merged[0]


def reviewed_digests(pr: dict[str, object]) -> dict[str, str]:
    """stack -> the digest reviewed on the PR's last commit: its commit statuses, else its sticky comment."""
    head = pr.get("head")
    head_sha = str(head.get("sha", "")) if isinstance(head, dict) else ""
    found: dict[str, str] = {}
    statuses = gh_api(f"repos/{repo()}/commits/{head_sha}/statuses") if head_sha else []
    for s in statuses if isinstance(statuses, list) else []:  # newest first: the first per context counts
        context = str(s.get("context", "")) if isinstance(s, dict) else ""
        if context.startswith(STATUS_CONTEXT) and context[len(STATUS_CONTEXT):] not in found:
            found[context[len(STATUS_CONTEXT):]] = str(s.get("description", "")) if s.get("state") == "success" else ""
    comments = gh_api(f"repos/{repo()}/issues/{pr['number']}/comments")
    for c in comments if isinstance(comments, list) else []:
        body = str(c.get("body", "")) if isinstance(c, dict) else ""
        shas = COMMENT_SHA.findall(body)
        if body.startswith(MARKER) and shas and head_sha.startswith(shas[0]):
            for stack, digest in SECTION_DIGEST.findall(body):
                found.setdefault(stack, digest)
    return {stack: digest for stack, digest in found.items() if DIGEST.fullmatch(f"Plan digest: {digest}")}


def apply_merged(sha: str, before: str) -> int:
    stacks = changed_stacks(before, sha)
    if not stacks:
        print("No stack changed: nothing to apply.")
        return 0
    pr = merged_pr(sha)
    reviewed = reviewed_digests(pr)
    work = Path(tempfile.mkdtemp(prefix="tpdeclare-ci-"))
    plans = {s: plan_stack(s, "--out", str(work / f"{s}.plan")) for s in stacks}
    failed = [p.stack for p in plans.values() if p.failed]
    if failed:
        raise CiError(f"the plan of {', '.join(failed)} failed on the merge commit: nothing was applied")
    changed = [s for s, p in plans.items() if p.digest != reviewed.get(s)]
    if changed:
        lines = [f"- `{s}`: reviewed {reviewed.get(s, 'nothing (no reviewed plan)')}, now {plans[s].digest}"
                 for s in changed]
        body = comment_body([plans[s] for s in changed], sha, f"tpdeclare: the plan changed since review ({sha[:7]})")
        body = body.replace(MARKER + "\n", "", 1)  # a new comment, not the sticky one: it must notify
        body = body.replace("---\nMerging applies", "\n".join(lines) + "\n\nNothing was applied. Open a pull "
                            "request to review the new plan.\n\n---\nMerging applies", 1)
        gh_api(f"repos/{repo()}/issues/{pr['number']}/comments", method="POST", body={"body": body})
        raise CiError("the plan changed since review: " + "; ".join(line[2:] for line in lines)
                      + ". Nothing was applied; the new plan is posted on the pull request")
    errors = []
    for s, p in plans.items():
        if p.code == 0:
            print(f"{s}: no changes (digest {p.digest} as reviewed)")
            continue
        print(f"{s}: applying the reviewed plan {p.digest}")
        done = tpdeclare("apply", str(work / f"{s}.plan"), "--state", state_url(s), "--lock-timeout", LOCK_TIMEOUT)
        if done.returncode != 0:
            errors.append(f"{s} (exit {done.returncode})")
    if errors:
        raise CiError(f"apply failed for {', '.join(errors)}: what succeeded is in its state")
    return 0


# ---- scheduled jobs over every stack --------------------------------------------------------------
SCHEDULED = {
    "drift": ("plan", "--refresh", "--detailed-exitcode", "--lock-timeout", LOCK_TIMEOUT),
    "orphans": ("orphans",),
    "expire": ("expire", "--auto-approve", "--lock-timeout", LOCK_TIMEOUT),
    "warn": ("expire", "--warn-only"),
}
_SEVERITY = {0: 0, 2: 1, 3: 2}  # any other code (1 error, 130 interrupted) is worst


def scheduled(job: str) -> int:
    command, *flags = SCHEDULED[job]
    worst = 0
    for stack in all_stacks():
        print(f"::group::{job}: {stack}", flush=True)
        done = tpdeclare(command, str(stacks_dir() / stack), "--state", state_url(stack), *flags)
        print("::endgroup::", flush=True)
        if _SEVERITY.get(done.returncode, 3) > _SEVERITY.get(worst, 3):
            worst = done.returncode
    return worst


def main(argv: list[str]) -> int:
    usage = "usage: tpdeclare_ci.py changed BASE HEAD | plan-pr PR HEAD_SHA BASE | apply-merged SHA BEFORE | " \
            "drift | orphans | expire | warn"
    try:
        if argv[:1] == ["changed"] and len(argv) == 3:
            for stack in changed_stacks(argv[1], argv[2]):  # none: no output at all (not an empty line)
                print(stack)
            return 0
        if argv[:1] == ["plan-pr"] and len(argv) == 4:
            return plan_pr(argv[1], argv[2], argv[3])
        if argv[:1] == ["apply-merged"] and len(argv) == 3:
            return apply_merged(argv[1], argv[2])
        if len(argv) == 1 and argv[0] in SCHEDULED:
            return scheduled(argv[0])
    except CiError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(usage, file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
