"""The table of bad specs and the words users must read for each, shared by the loader and CLI tests.

Each case is a set of files written under a temporary directory, the arguments to load them with
(relative to that directory, which tests make the working directory), and substrings that must all
appear in the formatted diagnostics: `file:line:col: error: path: summary` and the hint.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Real OpenSSH public keys, made with ssh-keygen for these tests (the private halves were not kept).
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIAPrRylS7juAjcYNZe08XyBgPIwGZhUGwoKSqHE7nAD alice@laptop"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEHWBze9Qtj2gBPJurd1iDPqNmiCIk/huNoREBJvQ6mT bob@desk"
RSA_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC8fTAnuVzfrypi3VdpPxTwEKLyaZUDBEhrxFNFi8fhZKJqH4lm2QgWpX1xayybuu3GgHW2"
    "KqgXkNf0R0xGDVXJTKA2mDUHncuYObC4M49XFsDGzobnK9SQeE+1kFgb8Z59vhaYDwNuhsbZfo0ctP7+Onyv9uszq5gIsf0SON7SAQNrT7kb"
    "mE6wDH+VL4osweLhQLPtE/twOBf66iVmVlhSaKC+cUUqnhEZtgZqw5q9N/wuv4jnQNso0vwj9yP/UgRLMYmYiF6PzKe6BY5jQ3X8KgH8Po5v"
    "0EGDI/sU4uIy7lDxpaTp1R3Wcpl1f/Q0pbhmUAjaD/taV4Psk0wjEoY1 carol@ci"
)
RSA_1024_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDKK8FgG7p17QkvlmOhUyrlzs+LUwzt4AqyVF9bWnAVa4DWpFBjmSiOtKdshK8w9TYy3BIJ"
    "c86grhpKt+8ipPwAKfJWlfDXoMcj4n9TBU0jAimRx83H6VRvROdgrpEUBGBwmXkV26gvlZKHqs1/IIGJfZYKZBMCg+ick7eW1tNCTw== "
    "small"
)
ECDSA_256_KEY = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGnNIbn6oL4lx4Zh/iKc4ymaMcEDO5CfyCOQ"
    "opadrxUcUYrUi2p7qymy1cqceQKCqpwBpNnLQWlUGSjAv2MM3PY= dan@box"
)
ECDSA_384_KEY = (
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBGs3IRz5m9wnzpNJ4dDZNPWqNYSzRtc9ax/Z"
    "eNjT6OhSYqZ60yYv7h6VYZPlW+OfyFcnM/UC44eUnQrEnHTkbPdqkJNVdrD8SQkq2k6BYulEBIkSKD6l7QO2bWY5atatkg== e@x"
)
ECDSA_521_KEY = (
    "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAGGWSG9b76BPuRAShddqSVJ3I0Rem+gDY6p"
    "5L2R5dV0EOzNOcHNFH4PHk5Is0RP0R1tK3qHAFtpleRhomao7uu7HgChTJMOZlCCa3eAKDSMNps0suX1mxC0Z6UMyUYbyHDdxuCIia0MRB3l"
    "KaBp8hpL+sbK7h/QKq4x5Z9KQeTvB1gAXA== f@x"
)
CERT = (  # ssh-keygen -s ca -I alice -n alice id_ed25519.pub: a certificate, not a key
    "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIGoIAmOz/kAI4oPG/Z4zNWB"
    "hk9Mkg9dKlUrN3J945y/VAAAAIIAPrRylS7juAjcYNZe08XyBgPIwGZhUGwoKSqHE7nADAAAAAAAAAAAAAAABAAAABWFsaWNlAAAACQAAAAV"
    "hbGljZQAAAAAAAAAA//////////8AAAAAAAAAggAAABVwZXJtaXQtWDExLWZvcndhcmRpbmcAAAAAAAAAF3Blcm1pdC1hZ2VudC1mb3J3YXJ"
    "kaW5nAAAAAAAAABZwZXJtaXQtcG9ydC1mb3J3YXJkaW5nAAAAAAAAAApwZXJtaXQtcHR5AAAAAAAAAA5wZXJtaXQtdXNlci1yYwAAAAAAAAA"
    "AAAAAMwAAAAtzc2gtZWQyNTUxOQAAACDYif37DwOGCTIys3/slGY9wAd1tVlHfcigM/j6pKKXgQAAAFMAAAALc3NoLWVkMjU1MTkAAABAIlj"
    "C8uzU+C/TE0TVNPpHD3Rh8Sv1xUNmSyRqxuVIzoQt1+yrDZ65qqjy7Ks3Y7U2vXLtTmG0aHe/oJsa6ib4DA== alice@laptop"
)


def ssh_field(data: bytes) -> bytes:
    """One RFC 4251 string: a 4-byte big-endian length, then the bytes."""
    return len(data).to_bytes(4, "big") + data


def openssh_key(key_type: str, *fields: bytes, comment: str = "", blob_type: str | None = None) -> str:
    """An OpenSSH public key line built from its fields (the blob's own type may differ, for bad keys)."""
    blob = ssh_field((blob_type or key_type).encode()) + b"".join(ssh_field(f) for f in fields)
    return f"{key_type} {base64.b64encode(blob).decode()}" + (f" {comment}" if comment else "")


def ec_point(coord_bytes: int) -> bytes:
    """An uncompressed EC point of the right length (tpdeclare checks its shape, not the curve equation)."""
    return b"\x04" + bytes(range(1, 2 * coord_bytes + 1))


SK_ED25519_KEY = openssh_key("sk-ssh-ed25519@openssh.com", bytes(range(32)), b"ssh:", comment="yubi@desk")
SK_ECDSA_KEY = openssh_key("sk-ecdsa-sha2-nistp256@openssh.com", b"nistp256", ec_point(32), b"ssh:", comment="yubi")


@dataclass(frozen=True)
class BadSpec:
    """One bad input and what must be said about it."""

    id: str
    files: dict[str, str | bytes]
    expect: tuple[str, ...]
    args: tuple[str, ...] = ()  # default: the only file, or the one directory the files are in
    max_bytes: int | None = None  # None: the default limit
    errors: int | None = None  # exact number of error diagnostics, when it matters
    fifos: tuple[str, ...] = ()  # files served through a FIFO (named pipe) instead: see `feeding`

    def write(self, root: Path) -> list[str]:
        """Write the files under root; return the arguments to load them with (relative to root)."""
        for name, content in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name in self.fifos:
                os.mkfifo(path)
            elif isinstance(content, bytes):
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


    @contextmanager
    def feeding(self, root: Path) -> Iterator[None]:
        """While the block runs, a writer per FIFO hands its content to whoever opens it (once, as a pipe does)."""
        writers = []
        for name in self.fifos:
            content = self.files[name]
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            writer = threading.Thread(target=_feed, args=(root / name, data), daemon=True)
            writer.start()
            writers.append((root / name, writer))
        try:
            yield
        finally:
            for path, writer in writers:
                if writer.is_alive():  # nobody opened it: open it ourselves, so the writer's open returns
                    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
                    writer.join(5)
                    os.close(fd)
                writer.join(5)


def _feed(path: Path, data: bytes) -> None:
    try:
        with open(path, "wb") as fh:  # blocks until a reader opens the FIFO
            fh.write(data)
    except BrokenPipeError:  # the reader stopped early (too big, say): that is its answer
        pass


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
        ("spec.yaml:4:5: error: clusters.trainer.instance_type: duplicate key 'instance_type': first defined at lin"
         "e 3, column 5",
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
        ("spec.yaml:4:16: error: clusters.t.num_nodes: must be at least 1, got 0", "hint: num_nodes is between 1 an"
                                                                                   "d 64"),
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
        ("spec.yaml:3:20: error: clusters.t.instance_type: Python tags are not allowed: '!!python/object/apply:os.s"
         "ystem'",
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
        {"demo.yaml": "clusters:\n  a:\n    instance_type: 1xH100\n  b:\n    instance_type: 1xH100\n    name: demo-"
                      "a\n"},
        ("demo.yaml:6:11: error: clusters.b.name: cluster name 'demo-a' is also the name of cluster 'a' (demo.yaml:"
         "2:3)",
         "hint: cluster names are unique in your TensorPool account"),
        errors=1,
    ),
    BadSpec(
        "default-name-too-long",
        {"spec.yaml": "stack: " + "s" * 40 + "\nclusters:\n  " + "a" * 30 + ":\n    instance_type: 1xH100\n"},
        ("spec.yaml:3:3: error: clusters." + "a" * 30 + ": the default cluster name '", "hint: set `name:` for this"
                                                                                        " cluster"),
    ),
    BadSpec(
        "moved-to-undeclared",
        {"spec.yaml": "clusters:\n  notebook:\n    instance_type: 1xH100\nmoved:\n  - {from: old-notebook, to: note"
                      "bok}\n"},
        ("spec.yaml:5:30: error: moved[0].to: moved to 'notebok', which is not declared in `clusters`",
         "hint: did you mean 'notebook'?"),
    ),
    BadSpec(
        "moved-from-still-declared",
        {"spec.yaml": "clusters:\n  a:\n    instance_type: 1xH100\n  b:\n    instance_type: 1xH100\nmoved:\n  - fro"
                      "m: a\n    to: b\n"},
        ("spec.yaml:7:11: error: moved[0].from: moved from 'a', which is still declared in `clusters`",),
    ),
    BadSpec(
        "moved-chain",
        {"spec.yaml": "clusters:\n  c:\n    instance_type: 1xH100\nmoved:\n  - {from: a, to: b}\n  - {from: b, to: "
                      "c}\n"},
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
        ("spec.yaml:2:1: error: invalid YAML: a second document starts here", "hint: a spec file holds one YAML doc"
                                                                              "ument"),
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
        ("spec.yaml:2:18: error: defaults.instance_type: unknown instance type '8xh200'",
         "hint: did you mean '8xH200'?"),
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
        "stack/b.yaml:4:26: error: clusters.trainer.deletion_protection: expected true or false, got a string ('may"
        "be')",
        "stack/b.yaml:6:19: error: moved[0].to: moved to 'nowhere', which is not declared in `clusters`",
    ),
    errors=6,
)



# --- SSH public keys (issue 9.3): one OpenSSH public key per entry, checked to the key data ------------

def _yaml_str(text: str) -> str:
    """`text` as a YAML double-quoted scalar, control characters escaped (JSON's escapes are YAML's)."""
    import json

    return json.dumps(text)


def _keys_spec(*entries: str) -> str:
    """A one-cluster spec whose public_keys are the given YAML scalars: entry N is at line 5+N, column 9."""
    return "clusters:\n  t:\n    instance_type: 1xH100\n    public_keys:\n" + "".join(f"      - {e}\n" for e in entries)


def _key_case(case_id: str, key: str, reason: str, hint: str, *, index: int = 0,
              before: tuple[str, ...] = ()) -> BadSpec:
    """A spec whose public key number `index` is `key`: refused at its place, with `reason` and `hint`."""
    entries = [*(_yaml_str(k) for k in before), _yaml_str(key)]
    return BadSpec(
        "ssh-key-" + case_id,
        {"spec.yaml": _keys_spec(*entries)},
        (f"spec.yaml:{5 + index}:9: error: clusters.t.public_keys[{index}]: ",
         f"is not a valid SSH public key: {reason}", f"hint: {hint}", "one key per entry"),
        errors=1,
    )


_RSA_E = (65537).to_bytes(3, "big")
_BODY = KEY.split()[1]
_COPY = "copy the whole line of the .pub file unchanged"

SSH_KEY_CASES: list[BadSpec] = [
    _key_case("newline-smuggles-a-second-key", KEY + "\n" + KEY_B, "it contains a line break (U+000A) at character 94",
              "a line break would install a second key"),
    _key_case("carriage-return", KEY + "\r" + KEY_B, "it contains a line break (U+000D) at character 94",
              "a line break would install a second key"),
    _key_case("crlf-at-the-end", KEY + "\r\n", "it contains a line break (U+000D) at character 94",
              "a line break would install a second key; put each key in its own list item"),
    _key_case("line-separator", KEY + "\u2028" + KEY_B, "it contains a line break (U+2028) at character 94",
              "a line break would install a second key"),
    _key_case("paragraph-separator", KEY + "\u2029", "it contains a line break (U+2029) at character 94",
              "a line break"),
    _key_case("next-line", KEY + "\u0085" + KEY_B, "it contains a line break (U+0085) at character 94", "a line break"),
    _key_case("vertical-tab", KEY + "\x0b" + KEY_B, "it contains a line break (U+000B) at character 94",
              "a line break"),
    _key_case("nul", KEY + "\x00" + KEY_B, "it contains a control character (U+0000) at character 94",
              "remove it: an SSH key is one line of plain text"),
    _key_case("tab-in-comment", KEY.replace(" alice", "\talice"),
              "it contains a control character (U+0009) at character 81", "remove it"),
    _key_case("terminal-escape", KEY + " \x1b[2J\x1b[31m", "it contains a control character (U+001B) at character 95",
              "remove it"),
    _key_case("delete-character", KEY + "\x7f", "it contains a control character (U+007F) at character 94",
              "remove it"),
    _key_case("bidi-override", KEY.replace("alice", "\u202eecila"),
              "it contains an invisible or unassigned character (U+202E) at character 82", "remove it"),
    _key_case("zero-width-space-in-data", KEY.replace("AAAAC3", "AAAA\u200bC3"),
              "it contains an invisible or unassigned character (U+200B) at character 17", "remove it"),
    _key_case("byte-order-mark", "\ufeff" + KEY,
              "it contains an invisible or unassigned character (U+FEFF) at character 1", "remove it"),
    _key_case("no-break-space", KEY.replace(" ", "\u00a0", 1), "it separates its parts with U+00A0, not a plain space",
              "retype the spaces"),
    _key_case("two-keys-one-string", KEY + " " + KEY_B, "it holds 2 keys", "put each key in its own list item"),
    _key_case("two-keys-comma", KEY + "," + KEY_B, "it holds 2 keys", "put each key in its own list item"),
    _key_case("three-keys-in-the-comment", f"{KEY} {RSA_KEY} {KEY_B}", "it holds 3 keys",
              "put each key in its own list item (`- ssh-ed25519 AAAA… alice@laptop`): one key per entry"),
    _key_case("options-command", 'command="/bin/sh -c evil" ' + KEY,
              "it starts with 'command=\"/bin/sh -c evil\"' before the key type",
              "give only the key, starting with its type; authorized_keys options"),
    _key_case("options-list", 'no-pty,from="10.0.0.0/8",no-port-forwarding ' + KEY,
              "it starts with 'no-pty,from=\"10.0.0.0/8\",no-port-forwar…' before the key type",
              "give only the key, starting with its type; authorized_keys options (command=, from=, no-pty …) cannot"
              " be set here: one key per entry"),
    _key_case("option-restrict", "restrict " + KEY, "it starts with 'restrict' before the key type",
              "give only the key"),
    _key_case("option-cert-authority", "cert-authority " + KEY, "it starts with 'cert-authority' before the key type",
              "give only the key"),
    _key_case("wrong-blob-type", "ssh-rsa " + _BODY, "its key data is an ssh-ed25519 key, but the entry says ssh-rsa",
              _COPY),
    _key_case("wrong-curve-type", "ecdsa-sha2-nistp384 " + ECDSA_256_KEY.split()[1],
              "its key data is an ecdsa-sha2-nistp256 key, but the entry says ecdsa-sha2-nistp384", _COPY),
    _key_case("sk-type-on-plain-key", "sk-ssh-ed25519@openssh.com " + _BODY,
              "its key data is an ssh-ed25519 key, but the entry says sk-ssh-ed25519@openssh.com", _COPY),
    _key_case("blob-without-a-type", openssh_key("ssh-ed25519", bytes(32), blob_type="\x00\x01garbage"),
              "its key data does not begin with a key type: it is not an SSH public key", _COPY),
    _key_case("truncated-mid-group", KEY[:61], "its key data is cut short or badly padded (base64 comes in groups of 4"
              " characters; it has 49)", _COPY),
    _key_case("truncated-whole-groups", KEY[:56], "its key data is cut short (a field runs past the end)", _COPY),
    _key_case("fields-missing", openssh_key("ssh-rsa", _RSA_E), "its key data is cut short (fields are missing)",
              _COPY),
    _key_case("padding-bits-set", ECDSA_384_KEY.replace("atatkg==", "atatkh=="),
              "its key data is not canonical base64 (the last group carries bits beyond the data)", _COPY),
    _key_case("too-much-padding", ECDSA_384_KEY.replace("kg==", "kg==="), "its key data has too much padding"
              " (more than two '=')", _COPY),
    _key_case("padding-in-the-middle", KEY.replace("AAAAIIAP", "AA==IIAP"),
              "its key data is not base64 ('=' at character 23 of it)", _COPY),
    _key_case("not-base64", KEY.replace("Ryl", "R!l"), "its key data is not base64 ('!' at character 31 of it)", _COPY),
    _key_case("url-safe-base64", RSA_KEY.replace("+", "-"), "its key data is not base64 ('-' at character 151 of"
              " it)", _COPY),
    _key_case("stray-bytes", openssh_key("ssh-ed25519", bytes(range(32))) [:-1] + "BBBB",
              "its key data is cut short", _COPY),
    _key_case("second-blob-appended", openssh_key("ssh-ed25519", bytes(range(32)), b"ssh-ed25519", bytes(32)),
              "its key data has 2 more field(s) after the key", _COPY),
    _key_case("short-ed25519", openssh_key("ssh-ed25519", bytes(31)), "its ed25519 key is 31 bytes long, not 32",
              _COPY),
    _key_case("rsa-768-bits", openssh_key("ssh-rsa", _RSA_E, b"\x00\xc1" + bytes(95)),
              "its RSA key has 768 bits; OpenSSH accepts 1024 to 16384", _COPY),
    _key_case("rsa-even-exponent", openssh_key("ssh-rsa", b"\x02", b"\x00\xc1" + bytes(255)),
              "its RSA exponent (2) is not an odd number of at least 3", _COPY),
    _key_case("rsa-negative-modulus", openssh_key("ssh-rsa", _RSA_E, b"\xc1" + bytes(255)),
              "its RSA numbers are not positive integers", _COPY),
    _key_case("ecdsa-wrong-curve-name", openssh_key("ecdsa-sha2-nistp256", b"nistp384", ec_point(32)),
              "its curve is 'nistp384', but the type says nistp256", _COPY),
    _key_case("ecdsa-compressed-point", openssh_key("ecdsa-sha2-nistp256", b"nistp256", b"\x02" + bytes(32)),
              "its ECDSA point is not an uncompressed nistp256 point (33 bytes)", _COPY),
    _key_case("huge-key", "ssh-rsa AAAAB3NzaC1yc2E" + "A" * 20_000, "it is 20,023 characters long; the longest SSH"
              " public key is about 2,800", "is this several keys, or a private key?"),
    _key_case("certificate", CERT, "it is an SSH certificate, not a public key",
              "give the public key the certificate was made for (the .pub file without -cert)"),
    _key_case("dsa", "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/xfW6M"
                     "PbLm1Vs"
              " old@box", "DSA keys (ssh-dss) are no longer accepted by OpenSSH", "make a new key with `ssh-keygen -t"
              " ed25519`"),
    _key_case("misspelt-type", KEY.replace("ssh-ed25519", "ssh-ed2519"), "'ssh-ed2519' is not an SSH key type",
              "did you mean 'ssh-ed25519'? (key types: ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256"),
    _key_case("upper-case-type", KEY.replace("ssh-ed25519", "SSH-ED25519"), "'SSH-ED25519' is not an SSH key type",
              "did you mean 'ssh-ed25519'?"),
    _key_case("type-only", "ssh-ed25519", "it has no key data after the type", _COPY),
    _key_case("two-spaces-after-type", KEY.replace(" ", "  ", 1), "it has more than one space after the key type",
              _COPY),
    _key_case("two-spaces-before-comment", KEY.replace(" alice", "  alice"),
              "it has more than one space before its comment", "remove the extra spaces"),
    _key_case("leading-space", " " + KEY, "it starts or ends with a space", "remove the spaces around the key"),
    _key_case("trailing-space", KEY + " ", "it starts or ends with a space", "remove the spaces around the key"),
    _key_case("empty", "", "it is empty", "give the key, as in its .pub file"),
    _key_case("second-entry", KEY_B + "\n", "it contains a line break (U+000A) at character 90", "a line break",
              index=1, before=(KEY,)),
    BadSpec(
        "ssh-key-private-key",
        {"spec.yaml": _keys_spec("|\n        -----BEGIN OPENSSH PRIVATE KEY-----\n        b3BlbnNzaC1rZXktdjEAAAAAB"
                                 "G5vbmUA"
                                 "AAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n        -----END OPENSSH PRIVATE KEY-----")},
        ("spec.yaml:5:9: error: clusters.t.public_keys[0]: this is a private SSH key, the secret half of a key pair,"
         " not a public key", "hint: remove it from the spec now and treat the key as leaked",
         "one key per entry"),
        errors=1,
    ),
    BadSpec(
        "ssh-key-block-scalar-two-keys",
        {"spec.yaml": _keys_spec(f"|\n        {KEY}\n        {KEY_B}")},
        ("spec.yaml:5:9: error: clusters.t.public_keys[0]: ", "it contains a line break (U+000A) at character 94",
         "one key per entry"),
        errors=1,
    ),
    BadSpec(
        "ssh-key-not-a-string",
        {"spec.yaml": _keys_spec("42")},
        ("spec.yaml:5:9: error: clusters.t.public_keys[0]: expected a string, got an integer (42)",
         "hint: quote the value to make it a string; one key per entry"),
        errors=1,
    ),
    BadSpec(
        "ssh-key-list-is-a-string",
        {"spec.yaml": f"clusters:\n  t:\n    instance_type: 1xH100\n    public_keys: {KEY}\n"},
        ("spec.yaml:4:18: error: clusters.t.public_keys: expected a list, got a string",
         "hint: write a list: one `- item` per line, or [item, item]; one key per entry"),
        errors=1,
    ),
    BadSpec(  # a bad default key is reported once, where the default is set, not in every cluster
        "ssh-key-bad-default",
        {"spec.yaml": f"defaults:\n  public_keys:\n    - {_yaml_str(KEY + chr(10) + KEY_B)}\n"
                      "clusters:\n  a: {instance_type: 1xH100}\n  b: {instance_type: 1xH100}\n"},
        ("spec.yaml:3:7: error: defaults.public_keys[0]: ", "it contains a line break (U+000A) at character 94",
         "one key per entry"),
        errors=1,
    ),
    BadSpec(  # the schema's pattern passes it (editors cannot see the key data); the loader's check does not
        "ssh-key-bad-data-in-defaults",
        {"spec.yaml": f"defaults:\n  public_keys: [{_yaml_str(KEY[:56])}]\nclusters:\n  a:"
                      f" {{instance_type: 1xH100}}\n"},
        ("spec.yaml:2:17: error: defaults.public_keys[0]: ", "its key data is cut short (a field runs past the end)",
         "one key per entry"),
        errors=1,
    ),
]


# --- sizes (issue 9.11): a count no node has is an error at its place, never a warning with a price ----

def _type_spec(instance_type: str, num_nodes: str = "") -> str:
    nodes = f"    num_nodes: {num_nodes}\n" if num_nodes else ""
    return f"clusters:\n  t:\n    instance_type: {instance_type}\n{nodes}"


_UNITS_HINT = "hint: the number before the x is the GPUs (or vCPUs) of one node, e.g. 8xH100; for more, add nodes"

SIZE_CASES: list[BadSpec] = [
    BadSpec("units-ten-to-the-twenty", {"spec.yaml": _type_spec("100000000000000000000xH100")},
            ("spec.yaml:3:20: error: clusters.t.instance_type: '100000000000000000000xH100' asks for"
             " 100000000000000000000 units per node; a node has at most 999", _UNITS_HINT,
             "(multi-node types: 8xH200, 8xB200)"), errors=1),
    BadSpec("units-ten-to-the-twenty-new-kind", {"spec.yaml": _type_spec("100000000000000000000xMI300X")},
            ("spec.yaml:3:20: error: clusters.t.instance_type: '100000000000000000000xMI300X' asks for"
             " 100000000000000000000 units per node; a node has at most 999", _UNITS_HINT), errors=1),
    BadSpec("units-one-past-the-bound", {"spec.yaml": _type_spec("1000xCPU")},
            ("spec.yaml:3:20: error: clusters.t.instance_type: '1000xCPU' asks for 1000 units per node;"
             " a node has at most 999", _UNITS_HINT), errors=1),
    BadSpec("units-spaced-out", {"spec.yaml": _type_spec("'5000 x H100'")},
            ("spec.yaml:3:20: error: clusters.t.instance_type: '5000 x H100' asks for 5000 units per node;"
             " a node has at most 999",), errors=1),
    BadSpec("units-longer-than-the-field", {"spec.yaml": _type_spec("1" + "0" * 40 + "xH100")},
            ("spec.yaml:3:20: error: clusters.t.instance_type: '1" + "0" * 40 + "xH100' asks for 1" + "0" * 22 + "…"
             " units per node; a node has at most 999",
             "spec.yaml:3:20: error: clusters.t.instance_type: is longer than 32 characters (46)"), errors=2),
    BadSpec("units-in-defaults", {"spec.yaml": "defaults:\n  instance_type: 100000000000000000000xH100\n"
                                               "clusters:\n  a: {}\n  b: {}\n"},
            ("spec.yaml:2:18: error: defaults.instance_type: '100000000000000000000xH100' asks for",), errors=1),
    BadSpec("units-zero", {"spec.yaml": _type_spec("0xH100")},
            ("spec.yaml:3:20: error: clusters.t.instance_type: unknown instance type '0xH100'",
             "hint: did you mean '8xH100'?"), errors=1),
    BadSpec("kind-too-long", {"spec.yaml": _type_spec("8xABCDEFGHIJKLMNOPQ")},
            ("spec.yaml:3:20: error: clusters.t.instance_type: unknown instance type '8xABCDEFGHIJKLMNOPQ'",
             "hint: an instance type is <GPUs per node>x<kind>"), errors=1),
    BadSpec("num-nodes-ten-to-the-twenty", {"spec.yaml": _type_spec("8xH200", "100000000000000000000")},
            ("spec.yaml:4:16: error: clusters.t.num_nodes: must be at most 64, got 100000000000000000000",
             "hint: num_nodes is between 1 and 64"), errors=1),
    BadSpec("num-nodes-float-ten-to-the-twenty", {"spec.yaml": _type_spec("8xH200", "1.0e+20")},
            ("spec.yaml:4:16: error: clusters.t.num_nodes: must be at most 64, got 1e+20",), errors=1),
    BadSpec("num-nodes-too-long-to-read", {"spec.yaml": _type_spec("8xH200", "9" * 5000)},
            ("spec.yaml:4:16: error: clusters.t.num_nodes: cannot read '" + "9" * 39 + "…' as an integer",),
            errors=1),
    BadSpec("num-nodes-negative", {"spec.yaml": _type_spec("8xH200", "-3")},
            ("spec.yaml:4:16: error: clusters.t.num_nodes: must be at least 1, got -3",), errors=1),
    BadSpec("num-nodes-fraction", {"spec.yaml": _type_spec("8xH200", "2.5")},
            ("spec.yaml:4:16: error: clusters.t.num_nodes: expected an integer, got a number (2.5)",), errors=1),
    BadSpec("num-nodes-in-defaults", {"spec.yaml": "defaults:\n  num_nodes: 1000\nclusters:\n  a: {instance_type: 8"
                                                   "xH200}\n"},
            ("spec.yaml:2:14: error: defaults.num_nodes: must be at most 64, got 1000",), errors=1),
]


# --- one stack per run (issue 9.10): arguments naming different stacks are refused, each named ---------

_STACK_HINT = ("hint: one stack per run: run tpdeclare once for each stack (each has its own state), or keep each"
               " stack in a directory of its own; to make these one stack, set the same `stack:` in every file")
_ONE = "clusters:\n  a: {instance_type: 1xH100}\n"
_TWO = "clusters:\n  b: {instance_type: 1xH100}\n"

STACK_CASES: list[BadSpec] = [
    BadSpec("stacks-declared-apart", {"a.yaml": "stack: x\n" + _ONE, "b.yaml": "stack: y\n" + _TWO},
            ("b.yaml:1:8: error: spec files of different stacks are given together: a.yaml names stack 'x',"
             " b.yaml names stack 'y'", _STACK_HINT), args=("a.yaml", "b.yaml"), errors=1),
    BadSpec("stacks-declared-and-file-name", {"prod.yaml": "stack: prod\n" + _ONE, "staging.yaml": _TWO},
            ("staging.yaml:1:1: error: spec files of different stacks are given together: prod.yaml names stack"
             " 'prod', staging.yaml names stack 'staging' (its file name)", _STACK_HINT),
            args=("prod.yaml", "staging.yaml"), errors=1),
    BadSpec("stacks-two-file-names", {"a.yaml": _ONE, "b.yaml": _TWO},
            ("b.yaml:1:1: error: spec files of different stacks are given together: a.yaml names stack 'a'"
             " (its file name), b.yaml names stack 'b' (its file name)",), args=("a.yaml", "b.yaml"), errors=1),
    BadSpec("stacks-three-files", {"a.yaml": "stack: x\n" + _ONE, "b.yaml": "stack: y\n" + _TWO,
                                   "c.yaml": "stack: x\nclusters: {}\n"},
            ("b.yaml:1:8: error: spec files of different stacks are given together: a.yaml names stack 'x',"
             " b.yaml names stack 'y', c.yaml names stack 'x'",), args=("a.yaml", "b.yaml", "c.yaml"), errors=1),
    BadSpec("stacks-two-directories-same-file-names",  # both files are main.yaml: once merged as stack 'main'
            {"one/main.yaml": _ONE, "two/main.yaml": _TWO},
            ("two: error: spec files of different stacks are given together: directory one names stack 'one'"
             " (the directory's name), directory two names stack 'two' (the directory's name)", _STACK_HINT),
            args=("one", "two"), errors=1),
    BadSpec("stacks-two-directories-declared", {"d1/a.yaml": "stack: x\n" + _ONE, "d2/b.yaml": "stack: y\n" + _TWO},
            ("d2/b.yaml:1:8: error: spec files of different stacks are given together: directory d1 names stack"
             " 'x', directory d2 names stack 'y'",), args=("d1", "d2"), errors=1),
    BadSpec("stacks-directory-and-file", {"team/a.yaml": "stack: team\n" + _ONE, "extra.yaml": _TWO},
            ("extra.yaml:1:1: error: spec files of different stacks are given together: directory team names stack"
             " 'team', extra.yaml names stack 'extra' (its file name)",), args=("team", "extra.yaml"), errors=1),
    BadSpec("stacks-file-and-directory-of-another-name", {"lab.yaml": "stack: lab\n" + _ONE, "lab2/b.yaml": _TWO},
            ("lab2: error: spec files of different stacks are given together: lab.yaml names stack 'lab',"
             " directory lab2 names stack 'lab2' (the directory's name)",), args=("lab.yaml", "lab2"), errors=1),
    BadSpec("stack-pipe-without-stack", {"pipe.yaml": _ONE},
            ("pipe.yaml:1:1: error: this spec comes from a pipe or descriptor, so no file name can name its stack",
             "hint: set `stack: NAME` at the top of it (the stack's name is otherwise the file's name)"),
            fifos=("pipe.yaml",), errors=1),
    BadSpec("stacks-pipe-and-file", {"pipe.yaml": "stack: x\n" + _ONE, "b.yaml": "stack: y\n" + _TWO},
            ("b.yaml:1:8: error: spec files of different stacks are given together: pipe.yaml names stack 'x',"
             " b.yaml names stack 'y'",), args=("pipe.yaml", "b.yaml"), fifos=("pipe.yaml",), errors=1),
    BadSpec("stack-pipe-too-big", {"pipe.yaml": "stack: x\nclusters: {}\n" + "#" * 2_000 + "\n"},
            ("pipe.yaml: error: the file is larger than the limit of 1,000 bytes",), fifos=("pipe.yaml",),
            max_bytes=1_000, errors=1),
]


# --- names and values that could write to the terminal: trailing newlines, control characters --------

NAME_CASES: list[BadSpec] = [
    BadSpec("name-block-scalar-newline", {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n    name: |\n"
                                                       "      research\n"},
            ("spec.yaml:4:11: error: clusters.t.name: 'research\\n' is not a valid cluster name",
             "hint: a cluster name is lowercase letters"), errors=1),
    BadSpec("stack-trailing-newline", {"spec.yaml": 'stack: "research\\n"\nclusters: {}\n'},
            ("spec.yaml:1:8: error: stack: 'research\\n' is not a valid stack name",), errors=1),
    BadSpec("address-trailing-newline", {"spec.yaml": 'clusters:\n  "trainer\\n": {instance_type: 1xH100}\n'},
            ("spec.yaml:2:3: error: clusters.trainer\\n: 'trainer\\n' is not a valid cluster address",
             "hint: did you mean 'trainer'?"), errors=1),
    BadSpec("instance-type-trailing-newline", {"spec.yaml": _type_spec('"8xH100\\n"')},
            ("spec.yaml:3:20: error: clusters.t.instance_type: unknown instance type '8xH100\\n'",
             "hint: did you mean '8xH100'?"), errors=1),
    BadSpec("moved-trailing-newline", {"spec.yaml": _ONE + 'moved:\n  - {from: "old\\n", to: a}\n'},
            ("spec.yaml:4:12: error: moved[0].from: 'old\\n' is not a valid address",), errors=1),
    BadSpec("name-terminal-escape", {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n"
                                                  '    name: "\\e]0;pwned\\a\\e[2J"\n'},
            ("spec.yaml:4:11: error: clusters.t.name: '\\x1b]0;pwned\\x07\\x1b[2J' is not a valid cluster name",),
            errors=1),
    BadSpec("container-terminal-escape", {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n"
                                                       '    container: "img:1\\e[1A\\r"\n'},
            ("spec.yaml:4:16: error: clusters.t.container: 'img:1\\x1b[1A\\r' is not a valid container image",),
            errors=1),
    BadSpec("container-trailing-newline", {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n"
                                                        "    container: |\n      nvcr.io/nvidia/pytorch:25.01-py3\n"},
            ("spec.yaml:4:16: error: clusters.t.container: 'nvcr.io/nvidia/pytorch:25.01-py3\\n' is not a valid"
             " container image",), errors=1),
    BadSpec("container-not-ascii", {"spec.yaml": "clusters:\n  t:\n    instance_type: 1xH100\n"
                                                 "    container: nvcr.io/nvidia/pytоrch:25.01\n"},  # a Cyrillic о
            ("spec.yaml:4:16: error: clusters.t.container: 'nvcr.io/nvidia/pytоrch:25.01' is not a valid container"
             " image", "hint: a container image is a reference without spaces"), errors=1),
    BadSpec("key-bidi-override-in-unknown-key", {"spec.yaml": 'clusters: {}\n"\\u202eevil": 1\n'},
            ("spec.yaml:2:1: error: \\u202eevil: unknown key '\\u202eevil'",), errors=1),
    BadSpec("price-kind-trailing-newline", {"spec.yaml": 'prices: {"H100\\n": 2}\nclusters: {}\n'},
            ("spec.yaml:1:10: error: prices.H100\\n: 'H100\\n' is not a valid price kind",), errors=1),
]

# --- lifetimes (issue 14): exactly one expiry key, durations with units, RFC 3339 times with a timezone ---


def _life(body: str) -> dict[str, str]:
    return {"spec.yaml": f"clusters:\n  t:\n    instance_type: 1xH100\n    lifetime: {body}\n"}


_DURATION = "hint: a duration is a number with a unit (d, h, m or s), largest first, e.g. 8h, 90m or 1h30m"
_ONE_OF = ("hint: give exactly one: expires_after (a duration counted from the cluster's creation, e.g. 8h) "
           "or expires_at")

LIFETIME_CASES: list[BadSpec] = [
    BadSpec("lifetime-both-keys", _life("{expires_after: 8h, expires_at: 2026-12-05T18:00:00Z}"),
            ("spec.yaml:4:35: error: clusters.t.lifetime: lifetime gives both expires_after and expires_at", _ONE_OF),
            errors=1),
    BadSpec("lifetime-neither-key", _life("{warn_before: 1h}"),
            ("spec.yaml:4:15: error: clusters.t.lifetime: lifetime gives neither expires_after nor expires_at",
             _ONE_OF), errors=1),
    BadSpec("lifetime-empty-mapping", _life("{}"),
            ("spec.yaml:4:15: error: clusters.t.lifetime: lifetime gives neither expires_after nor expires_at",),
            errors=1),
    BadSpec("lifetime-no-timezone", _life("{expires_at: 2026-12-05T18:00:00}"),
            ("spec.yaml:4:28: error: clusters.t.lifetime.expires_at: expires_at '2026-12-05T18:00:00' has no "
             "timezone", "hint: add one: 2026-12-05T18:00:00Z for UTC, or an offset such as 2026-12-05T18:00:00+01:00"),
            errors=1),
    BadSpec("lifetime-no-timezone-no-seconds", _life("{expires_at: '2026-12-05T18:00'}"),
            ("spec.yaml:4:28: error: clusters.t.lifetime.expires_at: expires_at '2026-12-05T18:00' has no timezone",),
            errors=1),
    BadSpec("lifetime-date-only", _life("{expires_at: 2026-12-05}"),
            ("spec.yaml:4:28: error: clusters.t.lifetime.expires_at: expires_at '2026-12-05' is a date without a "
             "time of day", "hint: add the time and a timezone, e.g. 2026-12-05T18:00:00Z"), errors=1),
    BadSpec("lifetime-space-separated", _life("{expires_at: '2026-12-05 18:00:00Z'}"),
            ("spec.yaml:4:28: error: clusters.t.lifetime.expires_at: expires_at '2026-12-05 18:00:00Z' separates the "
             "date and time with a space", "hint: write a T there"), errors=1),
    BadSpec("lifetime-not-a-real-date", _life("{expires_at: 2026-02-30T18:00:00Z}"),
            ("spec.yaml:4:28: error: clusters.t.lifetime.expires_at: expires_at '2026-02-30T18:00:00Z' is not a real "
             "date and time", "hint: check the month, day, hour, minute and second"), errors=1),
    BadSpec("lifetime-hour-25", _life("{expires_at: 2026-12-05T25:00:00Z}"),
            ("spec.yaml:4:28: error: clusters.t.lifetime.expires_at: expires_at '2026-12-05T25:00:00Z' is not a real "
             "date and time",), errors=1),
    BadSpec("lifetime-time-a-number", _life("{expires_at: 20261205}"),
            ("spec.yaml:4:28: error: clusters.t.lifetime.expires_at: expires_at must be a date and time, got an "
             "integer (20261205)",), errors=1),
    BadSpec("lifetime-duration-no-unit", _life("{expires_after: 8}"),
            ("spec.yaml:4:31: error: clusters.t.lifetime.expires_after: expires_after 8 has no unit",
             "hint: write 8h, 8m or 8d; a duration is"), errors=1),
    BadSpec("lifetime-duration-quoted-no-unit", _life("{expires_after: '90'}"),
            ("spec.yaml:4:31: error: clusters.t.lifetime.expires_after: expires_after '90' has no unit",), errors=1),
    BadSpec("lifetime-duration-unknown-unit", _life("{expires_after: 2w}"),
            ("spec.yaml:4:31: error: clusters.t.lifetime.expires_after: expires_after '2w' has an unknown unit 'w'",
             _DURATION), errors=1),
    BadSpec("lifetime-duration-out-of-order", _life("{expires_after: 30m1h}"),
            ("spec.yaml:4:31: error: clusters.t.lifetime.expires_after: expires_after '30m1h' gives its units out of "
             "order, or one twice", _DURATION), errors=1),
    BadSpec("lifetime-duration-trailing-number", _life("{expires_after: 1h30}"),
            ("spec.yaml:4:31: error: clusters.t.lifetime.expires_after: expires_after '1h30' ends with a number "
             "without a unit",), errors=1),
    BadSpec("lifetime-duration-zero", _life("{expires_after: 0h}"),
            ("spec.yaml:4:31: error: clusters.t.lifetime.expires_after: expires_after '0h' is no time at all",
             "hint: give a duration of at least 1s, e.g. 8h"), errors=1),
    BadSpec("lifetime-duration-boolean", _life("{expires_after: true}"),
            ("spec.yaml:4:31: error: clusters.t.lifetime.expires_after: expires_after must be a duration, got a "
             "boolean (true)",), errors=1),
    BadSpec("lifetime-warn-before-words", _life("{expires_after: 8h, warn_before: soon}"),
            ("spec.yaml:4:48: error: clusters.t.lifetime.warn_before: warn_before 'soon' is not a duration",
             _DURATION), errors=1),
    BadSpec("lifetime-warn-before-zero", _life("{expires_after: 8h, warn_before: 0s}"),
            ("spec.yaml:4:48: error: clusters.t.lifetime.warn_before: warn_before '0s' is no time at all",), errors=1),
    BadSpec("lifetime-a-string", _life("8h"),
            ("spec.yaml:4:15: error: clusters.t.lifetime: a lifetime is a mapping, got a string ('8h')",
             "hint: write it indented under `lifetime:`, e.g. `lifetime: {expires_after: 8h}`"), errors=1),
    BadSpec("lifetime-misspelt-key", _life("{expire_after: 1h}"),
            ("spec.yaml:4:16: error: clusters.t.lifetime.expire_after: unknown key 'expire_after'",
             "hint: did you mean 'expires_after'?"), errors=1),
    BadSpec("lifetime-default-reported-once",
            {"spec.yaml": "defaults:\n  lifetime:\n    expires_after: 8\nclusters:\n  t: {instance_type: 1xH100}\n"
                          "  u: {instance_type: 1xH100}\n"},
            ("spec.yaml:3:20: error: defaults.lifetime.expires_after: expires_after 8 has no unit",), errors=1),
    BadSpec("lifetime-default-both-keys",
            {"spec.yaml": "defaults:\n  lifetime: {expires_after: 8h, expires_at: 2026-12-05T18:00:00Z}\n"
                          "clusters:\n  t: {instance_type: 1xH100}\n"},
            ("spec.yaml:2:33: error: defaults.lifetime: lifetime gives both expires_after and expires_at",),
            errors=1),
]

# Each class of bad input with its own corpus, by the name the tests report it under.
CORPORA: dict[str, list[BadSpec]] = {
    "spec table": CASES, "SSH public keys": SSH_KEY_CASES, "sizes": SIZE_CASES, "stacks": STACK_CASES,
    "names and control characters": NAME_CASES, "lifetimes": LIFETIME_CASES,
}
ALL_CASES: list[BadSpec] = [case for corpus in CORPORA.values() for case in corpus] + [MANY_ERRORS]
