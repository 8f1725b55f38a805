"""Durable file replacement: write a temporary file beside the target, fsync it, rename it over, fsync the directory."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a rename or unlink in `directory` durable (a no-op where directories cannot be fsynced)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def write_target(path: str | os.PathLike[str]) -> Path:
    """The file a write to `path` must replace: the final target when `path` is a symbolic link (so the
    link stays a link), else `path` itself."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600,
                 before_rename: Callable[[int], None] | None = None) -> Path:
    """Replace the file at `path` with `data` atomically and durably; returns the file written.

    A reader sees the old bytes or the new ones, never a mix, and after a crash one of the two is on
    disk. A symbolic link is written through: the temporary file is made in the target's directory and
    renamed over the target, so the link itself is never replaced. Raises OSError; nothing is left
    behind on failure. `before_rename`, if given, is called with the temporary file's descriptor once the
    data is written, before the fsync (the state store stamps its snapshot there: tpdeclare.state.verified).
    """
    target = write_target(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            if before_rename is not None:
                before_rename(f.fileno())
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)
    return target
