"""End-to-end harness: the sandbox served over real HTTP in a subprocess, and the real CLI in another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import requests

TEST_KEY = "tp-test-key-5f1d2c3b4a"
REPO = Path(__file__).resolve().parents[1]


class ServedSandbox:
    """`tpdeclare sandbox serve` on 127.0.0.1 with a free port, started and stopped by the test."""

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

    def get(self, path: str) -> dict:
        r = requests.get(self.url + path, headers={"Authorization": f"Bearer {self.key}"}, timeout=10)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return requests.post(self.url + path, json=body or {}, headers={"Authorization": f"Bearer {self.key}"}, timeout=10)

    def delete(self, cluster_id: str) -> requests.Response:
        return requests.delete(f"{self.url}/cluster/{cluster_id}", headers={"Authorization": f"Bearer {self.key}"}, timeout=10)

    def edit(self, cluster_id: str, body: dict) -> requests.Response:
        return requests.patch(f"{self.url}/cluster/edit/{cluster_id}", json=body,
                              headers={"Authorization": f"Bearer {self.key}"}, timeout=10)

    def stats(self) -> dict:
        return self.get("/_sandbox/stats")

    def clusters(self) -> list[dict]:
        return [c for c in self.get("/cluster/list")["clusters"] if c["status"] not in ("DESTROYING", "DESTROYED")]

    def by_name(self) -> dict[str, dict]:
        return {c["tp_cluster_name"]: c for c in self.clusters()}

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


def cli_env(sandbox: ServedSandbox | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORPOOL", "TPDECLARE"))}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(REPO)
    if sandbox is not None:
        env["TENSORPOOL_ENGINE"] = sandbox.url
        env["TENSORPOOL_KEY"] = sandbox.key or "unused"
    env.update(extra)
    return env


def run_cli(cwd: Path, *args: str, env: dict | None = None, input: str | None = None, timeout: float = 120):
    """Run `python -m tpdeclare ARGS` the way a user would; returns the CompletedProcess."""
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


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def assert_no_traceback(proc) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
