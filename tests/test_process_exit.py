"""process_exit: the script's exit does what the interpreter's exit does (threads, atexit, flushed output, the
code) and skips only freeing what the run built; when it cannot, the exit is the interpreter's own."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import weakref

from tpdeclare import process_exit

CHILD = textwrap.dedent("""
    import atexit, os, sys, threading
    from tpdeclare import process_exit

    class Noisy:
        def __del__(self):
            sys.stderr.write("freed\\n")

    process_exit.arm()
    process_exit.keep_until_exit(Noisy())
    atexit.register(lambda: sys.stderr.write("atexit ran\\n"))
    print("the plan's last line")  # block-buffered: stdout is a pipe
    if sys.argv[1] == "thread":  # a worker still reading: the interpreter's exit waits for it
        threading.Thread(target=lambda: print("worker read", len(sys.stdin.read()))).start()
    if sys.argv[1] == "swapped":  # as error_handler does after a broken pipe: the original still holds the line
        sys.stdout = open(os.devnull, "w")
    if sys.argv[1] == "closed pipe":
        sys.stdin.readline()  # the test closes our stdout's reader first
    sys.stderr.write("ready\\n")
    sys.stderr.flush()
    process_exit.exit_now(3)
""")


# stdout block-buffered, as a user's is (PYTHONUNBUFFERED would hide a missing flush)
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def _child(mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=BUFFERED)


def test_the_exit_flushes_runs_atexit_keeps_the_code_and_frees_nothing():
    child = _child("plain")
    out, err = child.communicate(timeout=60)
    assert child.returncode == 3
    assert out == "the plan's last line\n"
    assert err == "ready\natexit ran\n"  # no "freed": the kept value was left to the kernel


def test_what_the_original_stdout_holds_is_written_when_stdout_was_swapped():
    child = _child("swapped")
    out, err = child.communicate(timeout=60)
    assert (child.returncode, out, err) == (3, "the plan's last line\n", "ready\natexit ran\n")


def test_a_live_worker_thread_gets_the_interpreters_own_exit():
    child = _child("thread")
    assert child.stderr.readline() == "ready\n"  # exit_now has been called; the worker still waits for stdin
    child.stdin.write("the rest of the input")
    child.stdin.close()
    out, err = child.stdout.read(), child.stderr.read()
    child.wait(timeout=60)
    assert child.returncode == 3
    assert out == "the plan's last line\nworker read 21\n"  # the worker ran on after exit_now was called
    assert err.startswith("atexit ran\n")


def test_a_closed_pipe_is_reported_as_the_interpreter_reports_it():
    reports = []
    for child_code in (CHILD, CHILD.replace("process_exit.exit_now(3)", "raise SystemExit(3)")):
        child = subprocess.Popen([sys.executable, "-c", child_code, "closed pipe"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=BUFFERED)
        child.stdout.close()  # nobody reads the plan: its flush fails
        child.stdin.write("go\n")
        child.stdin.flush()
        err = child.stderr.read()
        child.wait(timeout=60)
        reports.append((child.returncode, "BrokenPipeError" in err, "atexit ran" in err))
    assert reports[0] == reports[1] and reports[0][1:] == (True, True)


def test_in_process_nothing_is_kept():
    class Value:
        pass

    value = Value()
    gone = weakref.ref(value)
    assert process_exit._kept is None  # only the script's run() arms it
    process_exit.keep_until_exit(value)
    del value
    gc.collect()
    assert gone() is None


def test_python_m_tpdeclare_exits_as_main_returns(tmp_path):
    via_main = "import sys; from tpdeclare import cli; sys.exit(cli.main(sys.argv[1:]))"
    for words in (["validate", "missing.yaml"], ["--version"], ["plan", "--no-such-flag"]):
        runs = [subprocess.run([sys.executable, *how, *words], cwd=tmp_path, capture_output=True, text=True,
                               timeout=60) for how in (["-m", "tpdeclare"], ["-c", via_main])]
        assert [(r.returncode, r.stdout, r.stderr) for r in runs][0] == [
            (r.returncode, r.stdout, r.stderr) for r in runs][1]
