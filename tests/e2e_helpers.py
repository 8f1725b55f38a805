"""End-to-end harness: the sandbox served over real HTTP, and the real CLI run in this process or in another.

Two ways to serve the sandbox, both real HTTP on 127.0.0.1:
    ThreadedSandbox   the engine served by a thread of the test process (cheap: what the e2e tests use)
    ServedSandbox     `tpdeclare sandbox serve` in a subprocess (for tests of that command itself)
Two ways to run the CLI, both returning an object with returncode, stdout and stderr:
    run_tp            `tpdeclare.cli.main(args)` in this process, with the environment, working directory,
                      standard streams and argv of a fresh process (what most tests use)
    run_cli           `python -m tpdeclare` in a subprocess (signals, TTYs, locks held by another process,
                      the entry points themselves)
"""

from __future__ import annotations

import _thread
import argparse
import io
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

TEST_KEY = "tp-test-key-5f1d2c3b4a"
REPO = Path(__file__).resolve().parents[1]

# The threaded sandbox's creates and destroys complete at once (and it sends Retry-After: 0): an e2e run
# never sleeps a poll interval, and no e2e test depends on how fast this machine polls. The engine's
# timeline itself is tested on a fake clock (test_sandbox_engine.py) and in real time by the contract,
# kill and signal suites.
FAST_PROVISION_SECONDS = 0.0


class _SandboxCalls:
    """What a test asks a served sandbox directly, over HTTP, beside the CLI (`url` and `key` set by the subclass)."""

    url: str
    key: str | None

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str) -> dict:
        r = requests.get(self.url + path, headers=self._headers(), timeout=10)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return requests.post(self.url + path, json=body or {}, headers=self._headers(), timeout=10)

    def delete(self, cluster_id: str) -> requests.Response:
        return requests.delete(f"{self.url}/cluster/{cluster_id}", headers=self._headers(), timeout=10)

    def edit(self, cluster_id: str, body: dict) -> requests.Response:
        return requests.patch(f"{self.url}/cluster/edit/{cluster_id}", json=body, headers=self._headers(), timeout=10)

    def stats(self) -> dict:
        return self.get("/_sandbox/stats")

    def clusters(self) -> list[dict]:
        return [c for c in self.get("/cluster/list")["clusters"] if c["status"] not in ("DESTROYING", "DESTROYED")]

    def by_name(self) -> dict[str, dict]:
        return {c["tp_cluster_name"]: c for c in self.clusters()}


class HeldClock:
    """An engine clock that stands still until the test moves it: what the engine does over time (provisioning,
    requests finishing) happens only when told, however slow the machine is."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ThreadedSandbox(_SandboxCalls):
    """The sandbox engine over real HTTP on 127.0.0.1 (a free port), served by a thread of this process.

    `extra` takes the options of `tpdeclare sandbox serve` (`--faults SPEC`, `--balance USD`, ...), parsed by
    that command's own argument definitions, so it is a drop-in for ServedSandbox without the process."""

    def __init__(self, *extra: str, provision_seconds: float = FAST_PROVISION_SECONDS, key: str | None = TEST_KEY,
                 retry_after: float = 0.0, clock=time.time):
        from tpdeclare.sandbox.serve import add_arguments, build_engine
        from tpdeclare.sandbox.server import serve

        parser = argparse.ArgumentParser(prog="ThreadedSandbox")
        add_arguments(parser)
        args = ["--provision-seconds", str(provision_seconds), "--retry-after", str(retry_after), "--seed", "7"]
        opts = vars(parser.parse_args(args + (["--key", key] if key else []) + list(extra)))
        self.engine = build_engine(opts, clock=clock)
        # A served sandbox in its own process logs to its own stderr: keep this one's request log out of
        # the stderr of `tpdeclare -v` runs in this process (its logger is a child of theirs).
        self._quiet = _server_log_filter()
        logging.getLogger(SERVER_LOGGER).addFilter(self._quiet)
        self.server = serve("127.0.0.1", 0, self.engine)
        self.url = self.server.base_url
        self.key = key

    def stop(self) -> None:
        self.server.stop()
        self.engine.world.close()
        logging.getLogger(SERVER_LOGGER).removeFilter(self._quiet)


SERVER_LOGGER = "tpdeclare.sandbox.server"


def _server_log_filter() -> logging.Filter:
    """A filter that drops every record (a fresh object per sandbox, so that each removes only its own)."""
    quiet = logging.Filter()
    quiet.filter = lambda record: False  # type: ignore[method-assign]
    return quiet


class ServedSandbox(_SandboxCalls):
    """`tpdeclare sandbox serve` on 127.0.0.1 with a free port, in a subprocess started and stopped by the test."""

    def __init__(self, *extra: str, provision_seconds: float = 0.2, key: str | None = TEST_KEY):
        args = [sys.executable, "-m", "tpdeclare", "sandbox", "serve", "--port", "0",
                "--provision-seconds", str(provision_seconds), "--seed", "7", *extra]
        if key:
            args += ["--key", key]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "http://" not in line:
            self.proc.kill()
            raise RuntimeError(f"sandbox did not start: {line!r} {self.proc.stderr.read()!r}")
        self.url = line[line.index("http://"):].split()[0].rstrip(".")
        self.key = key

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def cli_env(sandbox: _SandboxCalls | None = None, **extra) -> dict:
    """The whole environment of a CLI run: this one without TENSORPOOL*/TPDECLARE* variables, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORPOOL", "TPDECLARE"))}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(REPO)
    if sandbox is not None:
        env["TENSORPOOL_ENGINE"] = sandbox.url
        env["TENSORPOOL_KEY"] = sandbox.key or "unused"
    env.update(extra)
    return env


def run_cli(cwd: Path, *args: str, env: dict | None = None, input: str | None = None, timeout: float = 120):
    """Run `python -m tpdeclare ARGS` in a subprocess, the way a user would; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "tpdeclare", *args],
        cwd=cwd,
        env=env if env is not None else cli_env(),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


@dataclass
class Ran:
    """The outcome of one in-process CLI run, shaped like subprocess.CompletedProcess."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def _exit_code(exc: SystemExit, stderr: io.StringIO) -> int:
    """The exit status the interpreter would give for `raise SystemExit(code)` (argparse's --help, usage)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    stderr.write(f"{exc.code}\n")
    return 1


def run_tp(cwd: Path, *args: str, env: dict | None = None, input: str | None = None, timeout: float = 120) -> Ran:
    """Run `tpdeclare ARGS` in this process as `run_cli` runs it in a new one: `env` is the whole environment
    (default `cli_env()`), `cwd` the working directory, standard input is `input` (or empty) and not a
    terminal, output is captured, and sys.argv is the command's. Everything process-wide it changes is put
    back afterwards, including the `tpdeclare` logger's handlers and level that `-v` sets.

    After `timeout` seconds the run is interrupted as by Ctrl-C (its exit code is then 130, and stderr says so)."""
    from tpdeclare import cli

    out, err = io.StringIO(), io.StringIO()
    logger = logging.getLogger("tpdeclare")
    saved_logging = (list(logger.handlers), logger.level, logger.propagate)
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams, saved_argv = (sys.stdin, sys.stdout, sys.stderr), sys.argv
    timed_out = threading.Event()

    def interrupt() -> None:
        timed_out.set()
        _thread.interrupt_main()

    watchdog = threading.Timer(timeout, interrupt)
    os.environ.clear()
    os.environ.update(env if env is not None else cli_env())
    os.chdir(cwd)
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(input or ""), out, err
    sys.argv = ["tpdeclare", *args]
    watchdog.start()
    try:
        code = cli.main(list(args))
    except SystemExit as exc:
        code = _exit_code(exc, err)
    finally:
        watchdog.cancel()
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        logger.handlers[:], level, logger.propagate = saved_logging[0], saved_logging[1], saved_logging[2]
        logger.setLevel(level)
    if timed_out.is_set():
        err.write(f"run_tp: interrupted after {timeout}s\n")
    return Ran(["tpdeclare", *args], code, out.getvalue(), err.getvalue())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def assert_no_traceback(proc) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def installed_script(name: str = "tpdeclare") -> str:
    """The console script pip installed beside this interpreter (whether or not its venv is on PATH)."""
    import sysconfig

    return str(Path(sysconfig.get_path("scripts")) / name)
