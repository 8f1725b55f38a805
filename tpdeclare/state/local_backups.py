"""The numbered backups of a local snapshot: one kept on every write, and the newest good one named after damage."""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Collection

from tpdeclare.errors import StateError
from tpdeclare.state import codec
from tpdeclare.state.local_paths import LocalPaths


def rotate(paths: LocalPaths, keep: int, current: bytes) -> int:
    """Shift `<target>.1…` up by one (dropping the oldest) and keep the snapshot on disk, `current`, as
    `<target>.1`; returns the bytes copied (none where hard links work)."""
    from tpdeclare import atomic_files

    if keep <= 0:
        return 0
    for n in range(keep - 1, 0, -1):
        if paths.backup(n).exists():
            os.replace(paths.backup(n), paths.backup(n + 1))
    newest = paths.backup(1)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(newest)
    copied = 0
    try:
        os.link(paths.target, newest)  # the old snapshot's inode lives on as .1: no bytes copied
    except OSError:
        atomic_files.atomic_write(newest, current)  # filesystems without hard links
        copied = len(current)
    os.chmod(newest, 0o600)
    return copied


def _newest_good(paths: LocalPaths, keep: int) -> tuple[int, int, int] | None:
    """(n, its serial, backups found) for the newest backup that reads cleanly; (0, 0, found) if none does."""
    found = 0
    for n in range(1, keep + 1):
        try:
            raw = paths.backup(n).read_bytes()
        except OSError:
            continue
        found += 1
        try:
            return n, codec.parse_state(raw, source=str(paths.backup(n))).serial, found
        except StateError:
            continue
    return (0, 0, found) if found else None


def restore_hint(paths: LocalPaths, keep: int, damaged: Collection[str]) -> str:
    """What to do about a snapshot that does not read: restore the newest backup that does, `state rm`
    the damaged records, or correct the file by hand."""
    parts = ["the file was left untouched"]
    good = _newest_good(paths, keep)
    if good is not None and good[0]:
        n, serial, _ = good
        backup, target = shlex.quote(str(paths.backup(n))), shlex.quote(str(paths.target))
        parts.append(f"the newest backup that reads cleanly is {paths.backup(n)} (serial {serial}): "
                     f"`cp {backup} {target}` restores it, losing the changes made since")
    elif good is not None:
        parts.append(f"no backup reads cleanly ({paths.backup(1)} … .{keep} checked)")
    else:
        parts.append(f"it has no backups ({paths.backup(1)} … .{keep})" if keep else "no backups are kept")
    if damaged:
        parts.append(f"`tpdeclare state rm {' '.join(damaged)}` forgets the damaged records instead; their "
                     f"clusters keep running (and billing) until you `tpdeclare import` them again")
    parts.append("or correct the file by hand")
    return "; ".join(parts)
