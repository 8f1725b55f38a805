"""The wheel: a non-editable install carries the schemas and runs from anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_non_editable_wheel_ships_schemas_and_runs(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"),
         str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("tpdeclare-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tpdeclare/specs/cluster.schema.json" in names
    assert "tpdeclare/specs/tensorpool-api.json" in names
    assert any(n.endswith("entry_points.txt") for n in names)

    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "c.yaml").write_text("clusters:\n  nb:\n    instance_type: 1xH100\n")
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-m", "tpdeclare", "validate", "c.yaml"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    where = subprocess.run(
        [sys.executable, "-c", "import tpdeclare.resources as r; print(r.spec_path('cluster.schema.json'))"],
        cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip().startswith(str(target)), where.stdout + where.stderr
