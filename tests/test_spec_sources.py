"""Spec sources: pipes, FIFOs, /dev/stdin and <(...) are read once; bytes read by the caller are used as
they are; one run is one stack, and what the arguments name decides which."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tpdeclare.spec.loader import PIPE_NAME, content_hash, load_stack
from tpdeclare.spec.sources import names_a_stack, read_bounded

SPEC = b"stack: piped\nclusters:\n  a: {instance_type: 1xH100}\n"
LOAD = ("import sys; from tpdeclare.spec.loader import load_stack; spec, d = load_stack(sys.argv[1:]); "
        "print(spec.stack if spec else '\\n'.join(x.format() for x in d))")


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def serve_fifo(path: Path, data: bytes) -> threading.Thread:
    """A FIFO at path whose one writer hands over data to the first reader (as a shell's producer would)."""
    os.mkfifo(path)

    def feed() -> None:
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except BrokenPipeError:  # the reader stopped early: that is its answer
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    return writer


def test_a_fifo_is_read_once(work):
    writer = serve_fifo(work / "s.yaml", SPEC)
    spec, diagnostics = load_stack(["s.yaml"])
    writer.join(5)
    assert diagnostics == [] and spec is not None
    assert spec.stack == "piped" and list(spec.clusters) == ["a"]
    assert spec.content_hash == content_hash([(PIPE_NAME, SPEC)])


def test_the_same_fifo_twice_is_read_once(work):
    writer = serve_fifo(work / "s.yaml", SPEC)
    spec, diagnostics = load_stack(["s.yaml", "./s.yaml"])  # a second open would wait for ever
    writer.join(5)
    assert spec is not None and diagnostics == []


def test_standard_input_as_a_pipe():
    proc = subprocess.run([sys.executable, "-c", LOAD, "/dev/stdin"], input=SPEC, capture_output=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.decode().strip() == "piped", proc.stderr


def test_standard_input_without_a_stack_is_refused_at_its_first_line():
    proc = subprocess.run([sys.executable, "-c", LOAD, "/dev/stdin"], input=b"clusters: {}\n", capture_output=True,
                          timeout=60)
    assert proc.stdout.decode().startswith("/dev/stdin:1:1: error: this spec comes from a pipe or descriptor, so no"
                                           " file name can name its stack\n  hint: set `stack: NAME` at the top")


def test_process_substitution(work):
    script = f"{sys.executable} -c \"$LOAD\" <(printf 'stack: sub\\nclusters: {{}}\\n')"
    proc = subprocess.run(["bash", "-c", script], env={**os.environ, "LOAD": LOAD}, capture_output=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.decode().strip() == "sub", proc.stderr


def test_a_pipe_is_bounded_while_it_is_read(work):
    writer = serve_fifo(work / "big.yaml", b"stack: big\nclusters: {}\n" + b"#" * 5_000_000)
    spec, diagnostics = load_stack(["big.yaml"], max_bytes=1_000)
    assert spec is None
    assert [d.format().splitlines()[0] for d in diagnostics] == [
        "big.yaml: error: the file is larger than the limit of 1,000 bytes"]
    writer.join(5)
    assert not writer.is_alive()  # the reader closed its end, so the writer stopped


def test_a_fifo_in_a_directory_is_not_a_spec_file(work):
    (work / "d").mkdir()
    (work / "d" / "a.yaml").write_bytes(b"clusters: {}\n")
    os.mkfifo(work / "d" / "b.yaml")  # nobody writes to it: opening it would block
    spec, diagnostics = load_stack(["d"])
    assert spec is not None and spec.files == ("d/a.yaml",)


# --- bytes the caller has already read ----------------------------------------------------------------


def test_preread_bytes_are_used_instead_of_reading(work):
    (work / "s.yaml").write_bytes(b"clusters: {}\n")  # what is on disk is not read again
    spec, diagnostics = load_stack(["s.yaml"], preread={"s.yaml": SPEC})
    assert spec is not None and spec.stack == "piped" and list(spec.clusters) == ["a"]
    assert spec.content_hash == content_hash([("s.yaml", SPEC)])  # a regular file keeps its name


def test_preread_from_a_pipe_needs_no_file(work):
    spec, _ = load_stack(["/dev/fd/63"], preread={"/dev/fd/63": SPEC})
    assert spec is not None and spec.stack == "piped"
    assert spec.content_hash == content_hash([(PIPE_NAME, SPEC)])
    spec, diagnostics = load_stack(["/dev/fd/63"], preread={"/dev/fd/63": b"clusters: {}\n"})
    assert spec is None and diagnostics[0].summary.startswith("this spec comes from a pipe or descriptor")


def test_preread_of_a_fifo_does_not_open_it(work):
    os.mkfifo(work / "s.yaml")  # nobody writes: opening it would block
    spec, diagnostics = load_stack(["s.yaml"], preread={"s.yaml": SPEC})
    assert spec is not None and diagnostics == []


def test_preread_bytes_are_held_to_the_limit(work):
    spec, diagnostics = load_stack(["s.yaml"], preread={"s.yaml": SPEC + b"#" * 100}, max_bytes=50)
    assert spec is None
    assert diagnostics[0].format().startswith("s.yaml: error: the file is larger than the limit of 50 bytes")


def test_a_directory_file_may_be_preread(work):
    (work / "d").mkdir()
    (work / "d" / "a.yaml").write_bytes(b"clusters: {}\n")
    spec, _ = load_stack(["d"], preread={os.path.join("d", "a.yaml"): b"clusters:\n  z: {instance_type: 1xH100}\n"})
    assert spec is not None and list(spec.clusters) == ["z"] and spec.stack == "d"


def test_read_bounded_is_the_callers_way_to_read_once(work):
    writer = serve_fifo(work / "s.yaml", SPEC)
    raw, problem = read_bounded("s.yaml", max_bytes=1_000)
    writer.join(5)
    assert (raw, problem) == (SPEC, None)
    spec, _ = load_stack(["s.yaml"], preread={"s.yaml": raw})
    assert spec is not None and spec.stack == "piped"
    raw, problem = read_bounded("missing.yaml", max_bytes=1_000)
    assert raw is None and problem.format() == (
        "missing.yaml: error: no such file\n  hint: check the path; a spec is a .yaml file or a directory of them")


@pytest.mark.parametrize("path,named", [("a.yaml", True), ("/dev/stdin", False), ("/dev/fd/63", False),
                                        ("/proc/self/fd/0", False), ("/proc/123/fd/4", False)])
def test_which_paths_can_name_a_stack(work, path, named):
    (work / "a.yaml").write_text("")
    assert names_a_stack(path, os.stat(work / "a.yaml").st_mode) is named  # as if each were a regular file
    assert names_a_stack("a.yaml", None) is False


# --- one stack per run --------------------------------------------------------------------------------


def _write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


def test_files_that_name_the_same_stack_are_one_stack(work):
    _write(work, "a.yaml", "stack: s\nclusters:\n  a: {instance_type: 1xH100}\n")
    _write(work, "b.yaml", "stack: s\nclusters:\n  b: {instance_type: 1xH100}\n")
    _write(work, "d/c.yaml", "stack: s\nclusters:\n  c: {instance_type: 1xH100}\n")
    spec, diagnostics = load_stack(["a.yaml", "b.yaml", "d"])
    assert spec is not None and diagnostics == []
    assert spec.stack == "s" and list(spec.clusters) == ["a", "b", "c"]


def test_files_of_one_name_in_two_places_are_that_stack(work):
    # Run alone, each would be stack `lab` with state/lab.json: together they are the same stack.
    _write(work, "one/lab.yaml", "clusters:\n  a: {instance_type: 1xH100}\n")
    _write(work, "two/lab.yaml", "clusters:\n  b: {instance_type: 1xH100}\n")
    spec, _ = load_stack(["one/lab.yaml", "two/lab.yaml"])
    assert spec is not None and spec.stack == "lab"


def test_a_file_without_a_stack_joins_its_directory(work):
    _write(work, "team/a.yaml", "stack: research\nclusters:\n  a: {instance_type: 1xH100}\n")
    _write(work, "team/b.yaml", "clusters:\n  b: {instance_type: 1xH100}\n")
    spec, _ = load_stack(["team"])
    assert spec is not None and spec.stack == "research" and list(spec.clusters) == ["a", "b"]


def test_a_directory_and_a_file_naming_its_stack(work):
    _write(work, "team/a.yaml", "clusters:\n  a: {instance_type: 1xH100}\n")
    _write(work, "extra.yaml", "stack: team\nclusters:\n  b: {instance_type: 1xH100}\n")
    spec, _ = load_stack(["team", "extra.yaml"])
    assert spec is not None and spec.stack == "team"
