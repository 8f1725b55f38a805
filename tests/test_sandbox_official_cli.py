"""The official TensorPool CLI (`pip install tensorpool==0.0.9`, command `tp`) works against `tpdeclare sandbox
serve` in the default dialect: create --wait, list, info, a refused and an accepted destroy, edit, errors.

The CLI lives in its own venv (its requirements are not the project's: it wants requests >= 2.32.3, above the
project's tested lower bound), made once from PyPI with pip under the user's cache directory and reused.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_helpers import ServedSandbox

VERSION = "0.0.9"
KEY = "tp-official-cli-key-42"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tpdeclare-tests" / f"tensorpool-{VERSION}"


@pytest.fixture(scope="module")
def tp() -> Path:
    """The `tp` command of tensorpool 0.0.9, installed on first use."""
    venv = _cache_dir()
    tp = venv / "bin" / "tp"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", f"import importlib.metadata as m; assert m.version('tensorpool') == '{VERSION}'"]
    if tp.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return tp
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           f"tensorpool=={VERSION}"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not tp.exists():
        pytest.fail(f"could not install tensorpool=={VERSION} from PyPI into {venv}: {done.stderr[-800:]}")
    return tp


@pytest.fixture
def served():
    sandbox = ServedSandbox(provision_seconds=0.5, key=KEY)
    yield sandbox
    sandbox.stop()


def _tp(tp: Path, served: ServedSandbox, cwd: Path, *args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "TENSORPOOL_ENGINE": served.url,
           "TENSORPOOL_KEY": key, "NO_COLOR": "1"}
    return subprocess.run([str(tp), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_the_official_cli_drives_a_cluster_through_its_life(tp, served, tmp_path):
    run = lambda *args, **kw: _tp(tp, served, tmp_path, *args, **kw)  # noqa: E731

    created = run("cluster", "create", "8xH200", "-n", "2", "--name", "cli-a", "--deletion-protection", "--wait")
    assert created.returncode == 0, created.stdout + created.stderr
    m = re.search(r"Cluster (c-[0-9a-f]{8}) \(cli-a\) is ready", created.stdout)
    assert m, created.stdout
    cid = m.group(1)

    listing = run("cluster", "list")
    assert listing.returncode == 0
    assert re.search(rf"^{cid}\s+cli-a\s+8xH200\s+2\s+RUNNING\s+yes\s", listing.stdout, re.M), listing.stdout

    info = run("cluster", "info", cid)
    assert info.returncode == 0 and "8xH200 x 2 nodes" in info.stdout and "running" in info.stdout

    refused = run("cluster", "destroy", cid, "--no-input", "--wait")
    assert refused.returncode == 1 and "deletion protection enabled" in refused.stdout

    edited = run("cluster", "edit", cid, "--name", "cli-b", "--deletion-protection", "false")
    assert edited.returncode == 0 and "name 'cli-a' -> 'cli-b', deletion protection off" in edited.stdout

    destroyed = run("cluster", "destroy", cid, "--no-input", "--wait")
    assert destroyed.returncode == 0 and f"Cluster {cid} (cli-b) was destroyed" in destroyed.stdout
    assert "No clusters found." in run("cluster", "list").stdout

    stats = served.stats()
    assert (stats["creates_accepted"], stats["edits_accepted"], stats["deletes_accepted"]) == (1, 1, 1)
    assert stats["requests"]["health"] == {"200": 7}  # the CLI checks health before every command
    assert set(stats["requests"]["delete"]) == {"202", "409"}


def test_the_official_cli_shows_the_sandboxs_errors(tp, served, tmp_path):
    wrong = _tp(tp, served, tmp_path, "cluster", "list", key="tp-wrong-key")
    assert wrong.returncode == 1 and "Invalid or missing API key" in wrong.stdout
    missing = _tp(tp, served, tmp_path, "cluster", "info", "c-00000000")
    assert missing.returncode == 1 and "Cluster c-00000000 not found" in missing.stdout
    bad_type = _tp(tp, served, tmp_path, "cluster", "create", "9xZ900", "--name", "x")
    assert bad_type.returncode == 1 and "Invalid instance type '9xZ900'" in bad_type.stdout
    assert served.stats()["creates_accepted"] == 0
