"""The table of bad specs and the words users must read for each, shared by the loader and CLI tests.

Each case is a set of files written under a temporary directory, the arguments to load them with
(relative to that directory, which tests make the working directory), and substrings that must all
appear in the formatted diagnostics: `file:line:col: error: path: summary` and the hint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Real OpenSSH public keys, made with ssh-keygen for these tests (the private halves were not kept).
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIAPrRylS7juAjcYNZe08XyBgPIwGZhUGwoKSqHE7nAD alice@laptop"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEHWBze9Qtj2gBPJurd1iDPqNmiCIk/huNoREBJvQ6mT bob@desk"


@dataclass(frozen=True)
class BadSpec:
    """One bad input and what must be said about it."""

    id: str
    files: dict[str, str | bytes]
    expect: tuple[str, ...]
    args: tuple[str, ...] = ()  # default: the only file, or the one directory the files are in
    max_bytes: int | None = None  # None: the default limit
    errors: int | None = None  # exact number of error diagnostics, when it matters

    def write(self, root: Path) -> list[str]:
        """Write the files under root; return the arguments to load them with (relative to root)."""
        for name, content in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        if self.args:
            return list(self.args)
        if len(self.files) == 1:
            return [next(iter(self.files))]
        parents = {str(Path(name).parent) for name in self.files}
        assert len(parents) == 1, f"{self.id}: give args explicitly"
        return [parents.pop()]


def _bomb() -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    lines.append("clusters: {}")
    return "\n".join(lines) + "\n"


CASES: list[BadSpec] = [
    BadSpec(
        "yaml-syntax-unclosed-flow",
        {"spec.yaml": "clusters:\n  a:\n    instance_type: [1xH100\n"},
        # libyaml's own words follow "invalid YAML:"; only tpdeclare's part is pinned
        ("spec.yaml:4:1: error: invalid YAML: ", " at line 3)", "hint: check the indentation and quoting"),
    ),
    BadSpec(
        "yaml-syntax-bad-indent",
        {"spec.yaml": "clusters:\n  a:\n    instance_type: 1xH100\n   num_nodes: 2\n"},
        ("spec.yaml:4:", "error: invalid YAML:", "hint: check the indentation"),
    ),
    BadSpec(
        "tab-indent",
        {"spec.yaml": "clusters:\n\ttrainer:\n\t\tinstance_type: 1xH100\n"},
        ("spec.yaml:2:1: error: invalid YAML", "hint: YAML does not allow tabs for indentation; use spaces"),
    ),
    BadSpec(
        "duplicate-key",
        {"spec.yaml": "clusters:\n  trainer:\n    instance_type: 1xH100\n    instance_type: 8xH200\n"},
        ("spec.yaml:4:5: error: clusters.trainer.instance_type: duplicate key 'instance_type': first defined at line 3, column 5",
         "hint: YAML would silently keep only one of them"),
    ),
    BadSpec(
        "duplicate-address-in-one-file",
        {"spec.yaml": "clusters:\n  a:\n    instance_type: 1xH100\n  a:\n    instance_type: 2xH100\n"},
        ("spec.yaml:4:3: error: clusters.a: duplicate key 'a': first defined at line 2, column 3",),
    ),
    BadSpec(
        "unknown-key-did-you-mean",
        {"spec.yaml": "clusters:\n  trainer:\n    instance_type: 8xH200\n    num_node: 2\n"},
        ("spec.yaml:4:5: error: clusters.trainer.num_node: unknown key 'num_node'", "hint: did you mean 'num_nodes'?"),
        errors=1,
    ),
    BadSpec(
        "unknown-top-level-key",
        {"spec.yaml": "stack: demo\ncluster:\n  a:\n    instance_type: 1xH100\n"},
        ("spec.yaml:2:1: error: cluster: unknown key 'cluster'", "hint: did you mean 'clusters'?",
         "spec.yaml:1:1: error: missing required key 'clusters'"),
        errors=2,
    ),
    BadSpec(
        "wrong-type-string-for-int",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 8xH200\n    num_nodes: two\n"},
        ("spec.yaml:4:16: error: clusters.t.num_nodes: expected an integer, got a string ('two')",
         "hint: write a number, e.g. 2"),
    ),
    BadSpec(
        "quoted-number",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 8xH200\n    num_nodes: \"2\"\n"},
        ("spec.yaml:4:16: error: clusters.t.num_nodes: expected an integer, got a string ('2')",
         "hint: remove the quotes: a quoted number is a string"),
    ),
    BadSpec(
        "num-nodes-zero",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n    num_nodes: 0\n"},
        ("spec.yaml:4:16: error: clusters.t.num_nodes: must be at least 1, got 0", "hint: num_nodes is between 1 and 64"),
        errors=1,
    ),
    BadSpec(
        "num-nodes-too-many",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 8xH200\n    num_nodes: 65\n"},
        ("spec.yaml:4:16: error: clusters.t.num_nodes: must be at most 64, got 65",),
    ),
    BadSpec(
        "multi-node-on-single-node-type",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n    num_nodes: 2\n"},
        ("spec.yaml:4:16: error: clusters.t.num_nodes: 1xH100 cannot have more than one node (num_nodes: 2)",
         "hint: multi-node clusters need one of: 8xH200, 8xB200"),
    ),
    BadSpec(
        "near-miss-lowercase",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 8xh100\n"},
        ("spec.yaml:3:20: error: clusters.t.instance_type: unknown instance type '8xh100'",
         "hint: did you mean '8xH100'?"),
        errors=1,
    ),
    BadSpec(
        "near-miss-space",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 8x H100\n"},
        ("spec.yaml:3:20: error: clusters.t.instance_type: unknown instance type '8x H100'",
         "hint: did you mean '8xH100'?"),
        errors=1,
    ),
    BadSpec(
        "near-miss-swapped",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: H100x8\n"},
        ("spec.yaml:3:20: error: clusters.t.instance_type: unknown instance type 'H100x8'",
         "hint: did you mean '8xH100'?"),
        errors=1,
    ),
    BadSpec(
        "malformed-instance-type",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: biggest-gpu\n"},
        ("spec.yaml:3:20: error: clusters.t.instance_type: unknown instance type 'biggest-gpu'",
         "hint: an instance type is <GPUs per node>x<kind>"),
    ),
    BadSpec(
        "address-in-two-files",
        {
            "stack/a.yaml": "clusters:\n  trainer:\n    instance_type: 1xH100\n",
            "stack/b.yaml": "# the same address again\nclusters:\n  trainer:\n    instance_type: 2xH100\n",
        },
        ("stack/b.yaml:3:3: error: clusters.trainer: cluster 'trainer' is declared twice: first at stack/a.yaml:2:3",
         "hint: addresses are unique within a stack"),
        errors=1,
    ),
    BadSpec(
        "alias-bomb",
        {"spec.yaml": _bomb()},
        ("spec.yaml:2:4: error: d[7][1]: aliases expand to more than 10,000 values", "billion laughs"),
    ),
    BadSpec(
        "python-tag",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: !!python/object/apply:os.system [\"echo pwned\"]\n"},
        ("spec.yaml:3:20: error: clusters.t.instance_type: Python tags are not allowed: '!!python/object/apply:os.system'",
         "hint: tpdeclare specs are plain data"),
    ),
    BadSpec(
        "python-name-tag",
        {"spec.yaml": "clusters: !!python/name:os.system ''\n"},
        ("spec.yaml:1:11: error: clusters: Python tags are not allowed: '!!python/name:os.system'",),
    ),
    BadSpec(
        "python-tag-on-root",
        {"spec.yaml": "--- !!python/object/new:os.system\nclusters: {}\n"},
        ("spec.yaml:1:5: error: Python tags are not allowed: '!!python/object/new:os.system'",),
    ),
    BadSpec(
        "empty-file",
        {"spec.yaml": ""},
        ("spec.yaml:1:1: error: the file is empty", "hint: a spec is a mapping with at least `clusters:`"),
    ),
    BadSpec(
        "comments-only",
        {"spec.yaml": "# nothing here yet\n\n"},
        ("spec.yaml:1:1: error: the file is empty",),
    ),
    BadSpec(
        "list-at-root",
        {"spec.yaml": "- trainer\n- notebook\n"},
        ("spec.yaml:1:1: error: the top level must be a mapping (key: value lines), not a list",
         "hint: start with `clusters:`"),
    ),
    BadSpec(
        "scalar-at-root",
        {"spec.yaml": "just some text\n"},
        ("spec.yaml:1:1: error: the top level must be a mapping (key: value lines), not a single value",),
    ),
    BadSpec(
        "oversized-file",
        {"spec.yaml": "clusters: {}\n" + "#" * 2_000 + "\n"},
        ("spec.yaml: error: the file is larger than the limit of 1,000 bytes", "hint: split the stack"),
        max_bytes=1_000,
    ),
    BadSpec(
        "oversized-file-default-limit",
        {"spec.yaml": "clusters: {}\n" + ("# padding padding padding padding padding padding\n" * 160_000)},
        ("spec.yaml: error: the file is larger than the limit of 8,000,000 bytes",),
    ),
    BadSpec(
        "non-utf8",
        {"spec.yaml": b"clusters:\n  t:\n    container: caf\xe9\n"},
        ("spec.yaml:3:19: error: the file is not valid UTF-8 (byte 0xe9)", "hint: save the file as UTF-8"),
    ),
    BadSpec(
        "control-character",
        {"spec.yaml": b"clusters:\n  t:\n    instance_type: 1xH100\x07\n"},
        ("spec.yaml:3:26: error: the file contains a character YAML does not allow",),
    ),
    BadSpec(
        "bad-address",
        {"spec.yaml": "clusters:\n  Upper_Case:\n    instance_type: 1xH100\n"},
        ("spec.yaml:2:3: error: clusters.Upper_Case: 'Upper_Case' is not a valid cluster address",
         "hint: did you mean 'upper-case'?"),
        errors=1,
    ),
    BadSpec(
        "bad-name",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n    name: Research_Trainer\n"},
        ("spec.yaml:4:11: error: clusters.t.name: 'Research_Trainer' is not a valid cluster name",
         "hint: a cluster name is lowercase letters, digits and hyphens"),
    ),
    BadSpec(
        "duplicate-resolved-names",
        {"demo.yaml": "clusters:\n  a:\n    instance_type: 1xH100\n  b:\n    instance_type: 1xH100\n    name: demo-a\n"},
        ("demo.yaml:6:11: error: clusters.b.name: cluster name 'demo-a' is also the name of cluster 'a' (demo.yaml:2:3)",
         "hint: cluster names are unique in your TensorPool account"),
        errors=1,
    ),
    BadSpec(
        "default-name-too-long",
        {"spec.yaml": "stack: " + "s" * 40 + "\nclusters:\n  " + "a" * 30 + ":\n    instance_type: 1xH100\n"},
        ("spec.yaml:3:3: error: clusters." + "a" * 30 + ": the default cluster name '", "hint: set `name:` for this cluster"),
    ),
    BadSpec(
        "moved-to-undeclared",
        {"spec.yaml": "clusters:\n  notebook:\n    instance_type: 1xH100\nmoved:\n  - {from: old-notebook, to: notebok}\n"},
        ("spec.yaml:5:30: error: moved[0].to: moved to 'notebok', which is not declared in `clusters`",
         "hint: did you mean 'notebook'?"),
    ),
    BadSpec(
        "moved-from-still-declared",
        {"spec.yaml": "clusters:\n  a:\n    instance_type: 1xH100\n  b:\n    instance_type: 1xH100\nmoved:\n  - from: a\n    to: b\n"},
        ("spec.yaml:7:11: error: moved[0].from: moved from 'a', which is still declared in `clusters`",),
    ),
    BadSpec(
        "moved-chain",
        {"spec.yaml": "clusters:\n  c:\n    instance_type: 1xH100\nmoved:\n  - {from: a, to: b}\n  - {from: b, to: c}\n"},
        ("spec.yaml:5:19: error: moved[0].to: moves chain through 'b'", "hint: write the final move directly"),
    ),
    BadSpec(
        "moved-twice",
        {"spec.yaml": "clusters:\n  b:\n    instance_type: 1xH100\n  c:\n    instance_type: 1xH100\n"
                      "moved:\n  - {from: a, to: b}\n  - {from: a, to: c}\n"},
        ("spec.yaml:8:12: error: moved[1].from: 'a' is moved twice: also at spec.yaml:7:12",),
    ),
    BadSpec(
        "moved-missing-to",
        {"spec.yaml": "clusters: {}\nmoved:\n  - from: a\n"},
        ("spec.yaml:3:5: error: moved[0]: missing required key 'to'", "hint: write moves as"),
    ),
    BadSpec(
        "ignore-changes-unknown-field",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n    lifecycle:\n      ignore_changes: [contaner]\n"},
        ("spec.yaml:5:24: error: clusters.t.lifecycle.ignore_changes[0]: 'contaner' is not a cluster field",
         "hint: did you mean 'container'?"),
    ),
    BadSpec(
        "missing-clusters",
        {"spec.yaml": "stack: demo\n"},
        ("spec.yaml:1:1: error: missing required key 'clusters'", "hint: add `clusters:`"),
    ),
    BadSpec(
        "missing-instance-type",
        {"spec.yaml": "clusters:\n  t:\n    num_nodes: 1\n"},
        ("spec.yaml:2:3: error: clusters.t: cluster 't' has no instance_type",
         "hint: add `instance_type:` (e.g. 1xH100) to the cluster, or to `defaults:`"),
    ),
    BadSpec(
        "cluster-without-body",
        {"spec.yaml": "clusters:\n  t:\n"},
        ("spec.yaml:2:3: error: clusters.t: expected a mapping (key: value), got nothing (an empty value)",
         "hint: give the cluster at least `instance_type:`"),
    ),
    BadSpec(
        "defaults-unknown-key",
        {"spec.yaml": "defaults:\n  name: shared\nclusters: {}\n"},
        ("spec.yaml:2:3: error: defaults.name: unknown key 'name'", "hint: a name is per cluster"),
    ),
    BadSpec(
        "defaults-typo",
        {"spec.yaml": "defaults:\n  containr: img\nclusters: {}\n"},
        ("spec.yaml:2:3: error: defaults.containr: unknown key 'containr'", "hint: did you mean 'container'?"),
    ),
    BadSpec(
        "stack-mismatch",
        {
            "team/a.yaml": "stack: team\nclusters:\n  a:\n    instance_type: 1xH100\n",
            "team/b.yaml": "stack: teem\nclusters:\n  b:\n    instance_type: 1xH100\n",
        },
        ("team/b.yaml:1:8: error: stack: stack 'teem' disagrees with stack 'team' set in team/a.yaml (team/a.yaml:1:8)",
         "hint: the files of one stack must name the same stack"),
    ),
    BadSpec(
        "stack-from-bad-file-name",
        {"My Cluster.yaml": "clusters: {}\n"},
        ("My Cluster.yaml:1:1: error: the stack name 'My Cluster' (from the file name) is not a valid stack name",
         "hint: set `stack: my-cluster` at the top of the file"),
    ),
    BadSpec(
        "bad-explicit-stack",
        {"spec.yaml": "stack: Research\nclusters: {}\n"},
        ("spec.yaml:1:8: error: stack: 'Research' is not a valid stack name",),
    ),
    BadSpec(
        "public-keys-not-a-list",
        {"spec.yaml": f"clusters:\n  t:\n    instance_type: 1xH100\n    public_keys: {KEY}\n"},
        ("spec.yaml:4:18: error: clusters.t.public_keys: expected a list, got a string", "hint: write a list"),
    ),
    BadSpec(
        "public-key-is-a-path",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n    public_keys:\n      - ~/.ssh/id_ed25519.pub\n"},
        ("spec.yaml:5:9: error: clusters.t.public_keys[0]: '~/.ssh/id_ed25519.pub' is not a valid SSH public key",
         "hint: paste the key itself"),
    ),
    BadSpec(
        "public-key-twice",
        {"spec.yaml": f"clusters:\n  t:\n    instance_type: 1xH100\n    public_keys:\n      - {KEY}\n      - {KEY}\n"},
        ("spec.yaml:6:9: error: clusters.t.public_keys[1]: '", "is listed twice"),
    ),
    BadSpec(
        "budget-negative",
        {"spec.yaml": "budget:\n  max_hourly_cost: -5\nclusters: {}\n"},
        ("spec.yaml:2:20: error: budget.max_hourly_cost: must be at least 0, got -5",),
    ),
    BadSpec(
        "budget-infinite",
        {"spec.yaml": "budget:\n  max_hourly_cost: .inf\nclusters: {}\n"},
        ("spec.yaml:2:20: error: budget.max_hourly_cost: '.inf' is not a finite number",),
    ),
    BadSpec(
        "prices-bad-kind",
        {"spec.yaml": "prices:\n  h100: 2.49\nclusters: {}\n"},
        ("spec.yaml:2:3: error: prices.h100: 'h100' is not a valid price kind", "hint: did you mean 'H100'?"),
    ),
    BadSpec(
        "container-with-spaces",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n    container: my image\n"},
        ("spec.yaml:4:16: error: clusters.t.container: 'my image' is not a valid container image",),
    ),
    BadSpec(
        "quoted-boolean",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n    deletion_protection: \"true\"\n"},
        ("spec.yaml:4:26: error: clusters.t.deletion_protection: expected true or false, got a string ('true')",
         "hint: remove the quotes: write true or false"),
    ),
    BadSpec(
        "two-documents",
        {"spec.yaml": "clusters: {}\n---\nclusters: {}\n"},
        ("spec.yaml:2:1: error: invalid YAML: a second document starts here", "hint: a spec file holds one YAML document"),
    ),
    BadSpec(
        "complex-key",
        {"spec.yaml": "clusters:\n  ? [a, b]\n  : {instance_type: 1xH100}\n"},
        ("spec.yaml:2:5: error: clusters: a mapping key must be a plain name, not a list",),
    ),
    BadSpec(
        "unsupported-tag",
        {"spec.yaml": "clusters:\n  t:\n    instance_type: !!binary MXhIMTAw\n"},
        ("spec.yaml:3:20: error: clusters.t.instance_type: unsupported YAML tag '!!binary'",),
    ),
    BadSpec(
        "recursive-alias",
        {"spec.yaml": "loop: &loop [*loop]\nclusters: {}\n"},
        ("spec.yaml:1:7: error: loop[0]: an alias refers to a list or mapping that contains it",),
    ),
    BadSpec(
        "deep-nesting",
        {"spec.yaml": "clusters: {}\nx: " + "[" * 5000 + "]" * 5000 + "\n"},
        ("spec.yaml:2:68: error: x[0][0][0]…: the YAML is nested more than 64 levels deep",),
    ),
    BadSpec(
        "very-deep-nesting",  # deeper than libyaml's C stack allows: refused before composing
        {"spec.yaml": "clusters: {}\nx: " + "[" * 200_000 + "]" * 200_000 + "\n"},
        ("spec.yaml:2:68: error: x[0][0][0]…: the YAML is nested more than 64 levels deep",),
    ),
    BadSpec(
        "very-deep-block-nesting",
        {"spec.yaml": "clusters: {}\nx:\n" + "- " * 100_000 + "x\n"},
        ("spec.yaml:3:129: error: x[0][0][0]…: the YAML is nested more than 64 levels deep",),
    ),
    BadSpec(
        "empty-directory",
        {"empty/README.md": "no specs here\n"},
        ("empty: error: the directory has no .yaml or .yml files",),
        args=("empty",),
    ),
    BadSpec(
        "missing-file",
        {"other.yaml": "clusters: {}\n"},
        ("nope.yaml: error: no such file",),
        args=("nope.yaml",),
    ),
    BadSpec(
        "defaults-set-in-two-files",
        {
            "team/a.yaml": "stack: team\ndefaults:\n  container: img-a\nclusters: {}\n",
            "team/b.yaml": "stack: team\ndefaults:\n  container: img-b\nclusters: {}\n",
        },
        ("team/b.yaml:3:14: error: defaults.container: `defaults.container` is set twice: also at team/a.yaml:3:14",),
    ),
    BadSpec(
        "defaults-bad-instance-type",
        {"spec.yaml": "defaults:\n  instance_type: 8xh200\nclusters:\n  a: {}\n  b: {}\n"},
        ("spec.yaml:2:18: error: defaults.instance_type: unknown instance type '8xh200'", "hint: did you mean '8xH200'?"),
        errors=1,
    ),
]

# One run, many problems in two files: every one of them must be reported.
MANY_ERRORS = BadSpec(
    "many-errors",
    {
        "stack/a.yaml": (
            "clusters:\n"
            "  trainer:\n"
            "    instance_type: 8xh200\n"
            "    num_node: 2\n"
            "  notebook:\n"
            "    instance_type: 1xH100\n"
            "    num_nodes: 0\n"
        ),
        "stack/b.yaml": (
            "clusters:\n"
            "  trainer:\n"
            "    instance_type: 1xH100\n"
            "    deletion_protection: maybe\n"
            "moved:\n"
            "  - {from: x, to: nowhere}\n"
        ),
    },
    (
        "stack/a.yaml:3:20: error: clusters.trainer.instance_type: unknown instance type '8xh200'",
        "stack/a.yaml:4:5: error: clusters.trainer.num_node: unknown key 'num_node'",
        "stack/a.yaml:7:16: error: clusters.notebook.num_nodes: must be at least 1, got 0",
        "stack/b.yaml:2:3: error: clusters.trainer: cluster 'trainer' is declared twice: first at stack/a.yaml:2:3",
        "stack/b.yaml:4:26: error: clusters.trainer.deletion_protection: expected true or false, got a string ('maybe')",
        "stack/b.yaml:6:19: error: moved[0].to: moved to 'nowhere', which is not declared in `clusters`",
    ),
    errors=6,
)

ALL_CASES: list[BadSpec] = CASES + [MANY_ERRORS]
