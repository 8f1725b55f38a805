"""A fake `gh` for the GitOps kit's tests: `gh api` over a small JSON "GitHub" in a file, every call recorded.

`install(bin_dir, db)` writes an executable `gh` into bin_dir. It understands what the kit calls:
    gh api -X GET  repos/R/issues/N/comments [--paginate]     the PR's comments (printed as 2 pages when > 1)
    gh api -X POST repos/R/issues/N/comments --input -        a new comment {"body": ...}
    gh api -X PATCH repos/R/issues/comments/ID --input -      edit one
    gh api -X POST repos/R/statuses/SHA --input -             a commit status (kept newest first, as GitHub lists)
    gh api -X GET  repos/R/commits/SHA/statuses               the statuses of a commit
    gh api -X GET  repos/R/commits/SHA/pulls                  the pull requests a commit belongs to (set by tests)
Anything else exits 1 with "fake gh: unknown call", so a test fails when the kit calls what this does not know.
Each call is appended to db["calls"] as {"argv": [...], "input": ...}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCRIPT = '''#!{python}
import json, re, sys
DB = {db!r}
def load():
    with open(DB) as fh:
        return json.load(fh)
def save(d):
    with open(DB, "w") as fh:
        json.dump(d, fh, indent=1)
argv = sys.argv[1:]
d = load()
stdin = sys.stdin.read() if "--input" in argv else None
d["calls"].append({{"argv": argv, "input": stdin}})
save(d)
if argv[:1] != ["api"]:
    sys.exit("fake gh: unknown call " + " ".join(argv))
method = argv[argv.index("-X") + 1] if "-X" in argv else "GET"
path = [a for a in argv[1:] if a.startswith("repos/")][0]
body = json.loads(stdin) if stdin else None
def out(doc):
    print(json.dumps(doc))
m = re.fullmatch(r"repos/[^/]+/[^/]+/issues/(\\d+)/comments", path)
if m and method == "GET":
    mine = [c for c in d["comments"] if c["pr"] == m.group(1)]
    if len(mine) > 1 and "--paginate" in argv:  # two pages, back to back, as gh --paginate prints them
        out(mine[:1]); out(mine[1:])
    else:
        out(mine)
elif m and method == "POST":
    d["next_id"] += 1
    d["comments"].append({{"id": d["next_id"], "pr": m.group(1), "body": body["body"]}})
    save(d); out(d["comments"][-1])
elif (m := re.fullmatch(r"repos/[^/]+/[^/]+/issues/comments/(\\d+)", path)) and method == "PATCH":
    [c] = [c for c in d["comments"] if c["id"] == int(m.group(1))]
    c["body"] = body["body"]
    save(d); out(c)
elif (m := re.fullmatch(r"repos/[^/]+/[^/]+/statuses/([0-9a-f]+)", path)) and method == "POST":
    d["statuses"].insert(0, {{"sha": m.group(1), **body}})
    save(d); out(body)
elif (m := re.fullmatch(r"repos/[^/]+/[^/]+/commits/([0-9a-f]+)/statuses", path)) and method == "GET":
    out([s for s in d["statuses"] if s["sha"] == m.group(1)])
elif (m := re.fullmatch(r"repos/[^/]+/[^/]+/commits/([0-9a-f]+)/pulls", path)) and method == "GET":
    out(d["pulls"].get(m.group(1), []))
else:
    sys.exit("fake gh: unknown call " + " ".join(argv))
'''


class FakeGitHub:
    """The fake's database, read and written by the `gh` script and by the test."""

    def __init__(self, path: Path):
        self.path = path
        if not path.exists():
            self.save({"calls": [], "comments": [], "statuses": [], "pulls": {}, "next_id": 100})

    def load(self) -> dict:
        return json.loads(self.path.read_text())

    def save(self, data: dict) -> None:
        self.path.write_text(json.dumps(data, indent=1))

    @property
    def comments(self) -> list[dict]:
        return self.load()["comments"]

    @property
    def statuses(self) -> list[dict]:
        return self.load()["statuses"]

    @property
    def calls(self) -> list[dict]:
        return self.load()["calls"]

    def merged(self, sha: str, pr: int, head_sha: str) -> None:
        """Commit `sha` is pull request `pr` merged, whose last commit was `head_sha`."""
        data = self.load()
        data["pulls"][sha] = [{"number": pr, "merged_at": "2026-12-01T12:00:00Z", "head": {"sha": head_sha}}]
        self.save(data)


def install(bin_dir: Path, db: Path) -> FakeGitHub:
    bin_dir.mkdir(parents=True, exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(SCRIPT.format(python=sys.executable, db=str(db)))
    gh.chmod(0o755)
    return FakeGitHub(db)
