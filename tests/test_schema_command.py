"""`tpdeclare schema [--out FILE]`, the GitOps kit's vendored copy, and validate's warning about a stale copy."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from tpdeclare import __version__
from tpdeclare.resources import load_spec_json
from tpdeclare.spec.schema_copies import VERSION_KEY, find_modeline

from e2e_helpers import assert_no_traceback, run_cli, run_tp

REPO = Path(__file__).resolve().parents[1]
KIT_COPY = REPO / "examples" / "gitops" / ".tpdeclare" / "cluster.schema.json"
SPEC = "clusters:\n  nb:\n    instance_type: 1xH100\n"
MODELINE = "# yaml-language-server: $schema=../.tpdeclare/cluster.schema.json\n"


def without_stamp(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("$comment", VERSION_KEY)}


def test_schema_prints_the_installed_schema_stamped_with_the_version(tmp_path):
    shown = run_tp(tmp_path, "schema")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc[VERSION_KEY] == __version__
    assert without_stamp(doc) == load_spec_json("cluster.schema.json")
    assert list(doc)[:4] == ["$schema", "$id", "$comment", VERSION_KEY]


def test_schema_out_writes_the_same_text_making_directories(tmp_path):
    printed = run_tp(tmp_path, "schema").stdout
    done = run_tp(tmp_path, "schema", "--out", ".tpdeclare/cluster.schema.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Wrote the spec schema of tpdeclare {__version__} to .tpdeclare/cluster.schema.json.\n"
    target = tmp_path / ".tpdeclare" / "cluster.schema.json"
    assert target.read_text() == printed
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["cluster.schema.json"]  # no temporary file left


@pytest.mark.parametrize("out", ["missing-dir-is-a-file/x.json", "."])
def test_schema_out_to_an_unwritable_place_is_an_error(tmp_path, out):
    (tmp_path / "missing-dir-is-a-file").write_text("a file, not a directory")
    done = run_tp(tmp_path, "schema", "--out", out)
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: cannot write the schema to {out}: ")
    assert "hint: choose a file in a directory you can write to" in done.stderr
    assert done.stdout == ""
    assert_no_traceback(done)


def test_the_kits_vendored_copy_is_what_this_version_writes(tmp_path):
    # After a change to specs/cluster.schema.json: tpdeclare schema --out examples/gitops/.tpdeclare/cluster.schema.json
    assert KIT_COPY.read_text() == run_tp(tmp_path, "schema").stdout


# ---- validate's warning ------------------------------------------------------------------------------------
def kit(tmp_path: Path, copy: str | None, spec: str = MODELINE + SPEC) -> Path:
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters" / "a.yaml").write_text(spec)
    if copy is not None:
        (tmp_path / ".tpdeclare").mkdir()
        (tmp_path / ".tpdeclare" / "cluster.schema.json").write_text(copy)
    return tmp_path


def stamped(version: str, change=None) -> str:
    doc = json.loads(KIT_COPY.read_text())
    doc[VERSION_KEY] = version
    if change:
        change(doc)
    return json.dumps(doc, indent=2)


def drop_moved(doc: dict) -> None:
    doc["properties"].pop("moved")


def test_a_current_copy_says_nothing(tmp_path):
    done = run_tp(kit(tmp_path, KIT_COPY.read_text()), "validate", "clusters")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "Success! The spec is valid: stack 'clusters', 1 cluster.\n"


REFRESH = "tpdeclare schema --out .tpdeclare/cluster.schema.json"
WARNINGS = {
    "older": (stamped("0.0.9", drop_moved),
              "Warning: clusters/a.yaml:1:33: warning: the schema this modeline names, "
              "'../.tpdeclare/cluster.schema.json', is older than this tpdeclare's: written by tpdeclare 0.0.9, "
              f"this is {__version__}\n"
              f"  hint: write it again (and commit it), so editors check specs as this version does: {REFRESH}\n"),
    "newer": (stamped("99.0.0", drop_moved),
              "Warning: clusters/a.yaml:1:33: warning: the schema this modeline names, "
              f"'../.tpdeclare/cluster.schema.json', was written by a newer tpdeclare (99.0.0) than this one "
              f"({__version__})\n"
              f"  hint: upgrade tpdeclare (pip install -U tpdeclare), or write it for this version: {REFRESH}\n"),
    "edited": (stamped(__version__, drop_moved),
               "Warning: clusters/a.yaml:1:33: warning: the schema this modeline names, "
               f"'../.tpdeclare/cluster.schema.json', differs from this tpdeclare's ({__version__})\n"
               f"  hint: write it again (and commit it), so editors check specs as this version does: {REFRESH}\n"),
    "unstamped": (json.dumps(without_stamp(json.loads(stamped("0", drop_moved)))),
                  "Warning: clusters/a.yaml:1:33: warning: the schema this modeline names, "
                  f"'../.tpdeclare/cluster.schema.json', differs from this tpdeclare's ({__version__})\n"
                  f"  hint: write it again (and commit it), so editors check specs as this version does: {REFRESH}\n"),
    "missing": (None,
                "Warning: clusters/a.yaml:1:33: warning: the schema this modeline names, "
                "'../.tpdeclare/cluster.schema.json', does not exist\n"
                f"  hint: write it (and commit it): {REFRESH}\n"),
    "not JSON": ("{ not json",
                 "Warning: clusters/a.yaml:1:33: warning: the schema this modeline names, "
                 "'../.tpdeclare/cluster.schema.json', is not JSON\n"
                 f"  hint: write it again: {REFRESH}\n"),
}


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_a_stale_or_missing_copy_is_warned_about_and_validate_still_passes(tmp_path, case):
    copy, warning = WARNINGS[case]
    done = run_tp(kit(tmp_path, copy), "validate", "clusters")
    assert done.returncode == 0
    assert done.stderr == warning
    assert done.stdout == "Success! The spec is valid: stack 'clusters', 1 cluster.\n"


def test_the_warning_comes_with_the_specs_errors_too(tmp_path):
    done = run_tp(kit(tmp_path, None, MODELINE + SPEC.replace("1xH100", "1xh100")), "validate", "clusters")
    assert done.returncode == 1
    assert "does not exist" in done.stderr and "clusters/a.yaml:4:20: error:" in done.stderr


def test_one_warning_per_copy_however_many_files_name_it(tmp_path):
    kit(tmp_path, stamped("0.0.9", drop_moved))
    (tmp_path / "clusters" / "b.yaml").write_text(MODELINE + "clusters:\n  other:\n    instance_type: 1xH100\n")
    done = run_tp(tmp_path, "validate", "clusters")
    assert done.stderr.count("Warning:") == 1 and "clusters/a.yaml:1:33" in done.stderr


@pytest.mark.parametrize("modeline", [
    "# yaml-language-server: $schema=https://tpdeclare.dev/schemas/cluster.schema.json\n",  # remote: not checked
    "# yaml-language-server: $schema=../other.schema.json\n",  # another schema than tpdeclare's
    "# a comment only\n",
    "stack: clusters\n# yaml-language-server: $schema=../nowhere.json\n",  # not in the header: editors ignore it
])
def test_modelines_that_name_no_tpdeclare_copy_here_say_nothing(tmp_path, modeline):
    (tmp_path / "other.schema.json").write_text(json.dumps({"$id": "https://example.com/other", "type": "object"}))
    done = run_tp(kit(tmp_path, None, modeline + SPEC), "validate", "clusters")
    assert (done.returncode, done.stderr) == (0, "")


def test_a_spec_from_a_pipe_is_read_once_and_its_modeline_not_followed(tmp_path):
    done = run_cli(tmp_path, "validate", "/dev/stdin", input="# yaml-language-server: $schema=nowhere.json\n"
                  "stack: piped\n" + SPEC)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "Success! The spec is valid: stack 'piped', 1 cluster.\n"


@pytest.mark.parametrize(("text", "expected"), [
    ("# yaml-language-server: $schema=a.json\nstack: s\n", (1, 33, "a.json")),
    ("\ufeff# yaml-language-server: $schema=bom.json\n", (1, 33, "bom.json")),
    ("\n# intro\n#   yaml-language-server  : $schema=b.json other\n", (3, 37, "b.json")),
    ("# $schema: c.json\n", (1, 12, "c.json")),
    ("---\n# yaml-language-server: $schema=d.json\n", (2, 33, "d.json")),
    ("# yaml-language-server: $schema=e.json\n# yaml-language-server: $schema=f.json\n", (1, 33, "e.json")),
    ("# yaml-language-server: format\n# yaml-language-server: $schema=g.json\n", None),  # the first one counts
    ("  # yaml-language-server: $schema=h.json\n", None),
    ("#yaml-language-server: $schema=i.json\n", None),
    ("stack: s\n# yaml-language-server: $schema=j.json\n", None),
])
def test_modelines_are_read_as_the_language_server_reads_them(text, expected):
    found = find_modeline("dir/spec.yaml", text)
    assert (None if found is None else (found.line, found.col, found.target)) == expected


def test_the_examples_validate_without_warnings(tmp_path):
    for example in ("examples/cluster.yaml", "examples/multi-node.yaml", "examples/team",
                    "examples/gitops/stacks/research", "examples/gitops/stacks/inference"):
        done = run_tp(REPO, "validate", example)
        assert (done.returncode, done.stderr) == (0, ""), example
    assert os.path.relpath(KIT_COPY, REPO) not in (REPO / ".gitignore").read_text()


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_copy_that_is_not_a_file_is_warned_about_never_waited_on(tmp_path, kind):
    kit(tmp_path, None)
    (tmp_path / ".tpdeclare").mkdir()
    target = tmp_path / ".tpdeclare" / "cluster.schema.json"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    done = run_tp(tmp_path, "validate", "clusters", timeout=30)
    assert done.returncode == 0
    assert "'../.tpdeclare/cluster.schema.json', is not a file" in done.stderr
