"""What every hardening case checks (issue 9): the exit code and words, no traceback, the state file byte for
byte as before, and the canary key nowhere: not in any output, not in any file the run could write."""

from __future__ import annotations

import hashlib
from pathlib import Path

from e2e_helpers import cli_env

CANARY = "tp-canary-key-7d1e9a5c3b2f4e6d"  # the API key of every hardening run: it must never show


def env_for(tmp_path: Path, engine: str, **extra: str) -> dict:
    """A CLI environment against `engine` with the canary key, its caches and crash logs kept under tmp_path."""
    return cli_env(TENSORPOOL_ENGINE=engine, TENSORPOOL_KEY=CANARY, XDG_CACHE_HOME=str(tmp_path / "cache"),
                   HOME=str(tmp_path / "home"), **extra)


def digest(path: Path) -> str | None:
    """sha256 of a file's bytes, None when it does not exist."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check_refused(proc, *, code: int, words: tuple[str, ...], root: Path, state: Path | None = None,
                  state_digest: str | None = None) -> None:
    """The run ended with `code` and these words, without a traceback; the state is as it was; and the
    canary key is in no output and in no file under `root` (state, journal, backups, plans, caches, logs)."""
    text = proc.stdout + proc.stderr
    assert proc.returncode == code, text
    for w in words:
        assert w in text, f"{w!r} not in:\n{text}"
    assert "Traceback" not in text, text
    if state is not None:
        assert digest(state) == state_digest, f"{state} changed"
    assert_canary_absent(text, root)


def assert_canary_absent(text: str, root: Path) -> None:
    assert CANARY not in text, text
    for name, data in files_under(root).items():
        assert CANARY.encode() not in data, f"the key is in {name}"
