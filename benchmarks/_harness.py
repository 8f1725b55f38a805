"""Shared benchmark plumbing: run a process and measure its wall time and peak RSS, summarise repeats,
serve the sandbox, and write each benchmark's results as JSON for `benchmarks/run` to report.

Measurement: every measured command is its own process, run under GNU time (`/usr/bin/time -f %M`),
whose report gives the command's peak resident set (KiB). (Not our own `os.wait4`: Linux counts in a
child's `ru_maxrss` the pages it shared with its parent before `exec`, so a child of this ~30 MiB
harness would never show less than ~30 MiB; under `time`, a ~1 MiB process, the error is ~1 MiB.)
CPU time (user + system) comes from `os.wait4` of that process, which includes the command it ran.
Wall time is `time.perf_counter()` from just before the fork to just after the reap (the extra
fork+exec of `time` is ~1 ms and is paid by both sides of every comparison). Commands being compared
are run interleaved (A B A B ...), so machine noise lands on both sides of a ratio alike.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / "data"
RESULTS_DIR = DATA / "results"



def interpreter() -> str:
    """The interpreter every measured Python process runs: this one, as started.

    Inside a virtual environment (how a newcomer installs), `sys.executable` is the venv's `python`, a
    link whose location is what makes it the venv: resolving the link would escape to the base
    interpreter, which cannot import tpdeclare. Outside one, the link is resolved, so that a pyenv shim
    (a bash script that execs `pyenv exec`, tens of milliseconds per start that no installed copy pays)
    is never what gets measured.
    """
    if sys.prefix != sys.base_prefix:
        return sys.executable
    return os.path.realpath(sys.executable)


# The interpreter and console script of the environment the harness runs in.
PY = interpreter()
_SCRIPT = Path(sysconfig.get_path("scripts")) / "tpdeclare"
TPDECLARE = [str(_SCRIPT)] if _SCRIPT.exists() else [PY, "-m", "tpdeclare"]

BENCH_KEY = "bench-key-0123456789"
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def quick() -> bool:
    """BENCH_QUICK=1: fewer repeats (for trying the harness, not for the record)."""
    return os.environ.get("BENCH_QUICK") == "1"


def reps(normal: int, quick_value: int = 2) -> int:
    return quick_value if quick() else normal


class Sample(dict):
    """One measured process: wall_s, cpu_s, maxrss_kib, rc."""


def measure(cmd: list[str], *, cwd: str | Path | None = None, env: dict | None = None,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check: bool = True) -> Sample:
    """Run cmd to completion; wall time, CPU time and peak RSS of that process alone."""
    env = cli_env() if env is None else env
    report = None
    full = list(map(str, cmd))
    if GNU_TIME:
        fd, report = tempfile.mkstemp(prefix="time-", suffix=".txt")
        os.close(fd)
        full = [GNU_TIME, "-f", "%M", "-o", report, *full]
    t0 = time.perf_counter()
    proc = subprocess.Popen(full, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    err = b""
    if stderr is subprocess.PIPE:
        err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr:
        proc.stderr.close()
    maxrss = ru.ru_maxrss
    if report is not None:
        text = Path(report).read_text().split()
        os.unlink(report)
        maxrss = int(text[-1]) if text and text[-1].isdigit() else maxrss
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}: "
                           f"{err.decode(errors='replace')[-2000:]}")
    return Sample(wall_s=wall, cpu_s=ru.ru_utime + ru.ru_stime, maxrss_kib=maxrss, rc=proc.returncode,
                  stderr=err.decode(errors="replace")[-500:] if proc.returncode else "")


def summary(values: list[float]) -> dict:
    """median, min, max, spread ((max-min)/median) and n."""
    med = statistics.median(values)
    return {
        "median": med,
        "min": min(values),
        "max": max(values),
        "spread": (max(values) - min(values)) / med if med else 0.0,
        "n": len(values),
        "values": values,
    }


def summarise_samples(samples: list[Sample]) -> dict:
    return {
        "wall_s": summary([s["wall_s"] for s in samples]),
        "cpu_s": summary([s["cpu_s"] for s in samples]),
        "maxrss_mib": summary([s["maxrss_kib"] / 1024 for s in samples]),
    }


def ratio_of_medians(a: dict, b: dict, key: str = "wall_s") -> float:
    return a[key]["median"] / b[key]["median"]


def paired_ratios(a: list[Sample], b: list[Sample], key: str = "wall_s") -> dict:
    """The per-repeat ratios a[i]/b[i] of interleaved runs (their spread shows how noisy the ratio is)."""
    return summary([x[key] / y[key] for x, y in zip(a, b, strict=True)])


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


PYCACHE = DATA / "pycache"


def cli_env(**extra: str) -> dict:
    """The environment of every measured process (both sides of every comparison).

    This machine sets PYTHONDONTWRITEBYTECODE=1, so without help nothing outside site-packages ever
    gets a .pyc and tpdeclare's ~5,000 lines would be compiled from source at every start (~60 ms),
    which no installed copy of tpdeclare does. The benchmarks therefore run with a bytecode cache,
    kept out of the source tree under benchmarks/data/pycache (PYTHONPYCACHEPREFIX) and filled by
    the warm-up runs.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORPOOL", "TPDECLARE"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def write_result(name: str, result: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return path


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Sandbox:
    """`tpdeclare sandbox serve` on a free loopback port, in its own process."""

    def __init__(self, *extra: str, provision_seconds: float):
        args = [PY, "-m", "tpdeclare", "sandbox", "serve", "--port", "0", "--key", BENCH_KEY,
                "--provision-seconds", str(provision_seconds), *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=DATA, env=cli_env())
        line = self.proc.stdout.readline()
        if "http://" not in line:
            self.proc.kill()
            raise RuntimeError(f"sandbox did not start: {line!r} {self.proc.stderr.read()!r}")
        self.url = line[line.index("http://"):].split()[0].rstrip(".")
        self.session = requests.Session()

    def stats(self) -> dict:
        r = self.session.get(self.url + "/_sandbox/stats", timeout=60)
        r.raise_for_status()
        return r.json()

    def reset(self) -> None:
        self.session.post(self.url + "/_sandbox/reset", timeout=60).raise_for_status()

    def env(self) -> dict:
        return cli_env(TENSORPOOL_ENGINE=self.url, TENSORPOOL_KEY=BENCH_KEY)

    def cpu_s(self) -> float:
        """CPU seconds the server process has used so far (user + system, from /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def stop(self) -> None:
        self.session.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def stats_delta(before: dict, after: dict) -> dict:
    """Requests made between two stats snapshots, by endpoint (all statuses summed)."""
    def per_endpoint(s: dict) -> dict:
        return {ep: sum(by.values()) for ep, by in s["requests"].items()}

    b, a = per_endpoint(before), per_endpoint(after)
    return {ep: a.get(ep, 0) - b.get(ep, 0) for ep in sorted(set(a) | set(b)) if a.get(ep, 0) != b.get(ep, 0)}
