"""Where a local state lives: the file a state path names, through any symbolic links, and the files beside it.

A state path that is a symbolic link stays one: the snapshot is written through it (atomically, in
the target's directory), and the journal, the lock and the numbered backups live beside the target,
not the link. So two links to one file share one lock and one history, and a link is never replaced.

A link that leads nowhere is refused rather than read as "no state yet": a state moved away or a
disk not mounted would otherwise plan every cluster as new and create it a second time.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from tpdeclare.errors import StateError
from tpdeclare.frozen_values import frozen


@frozen
class LocalPaths:
    """The files of one local state. `given` is the path as named (for messages); the rest are real paths."""

    given: Path
    target: Path  # the snapshot: `given` with every symbolic link resolved

    @property
    def journal(self) -> Path:
        return Path(f"{self.target}.journal")

    @property
    def lock(self) -> Path:
        return Path(f"{self.target}.lock")

    def backup(self, n: int) -> Path:
        return Path(f"{self.target}.{n}")

    @property
    def linked(self) -> bool:
        return self.target != Path(os.path.abspath(self.given))


def _refuse(given: Path, problem: str, hint: str) -> StateError:
    return StateError(f"state path {given} {problem}", hint=hint)


def resolve(given: Path) -> LocalPaths:
    """The files of the state at `given`; StateError for a path that cannot hold a state file."""
    try:
        info = os.lstat(given)
    except FileNotFoundError:
        return LocalPaths(given, Path(os.path.realpath(given)))  # no state yet (parents may be links)
    except OSError as exc:
        raise _refuse(given, f"cannot be examined: {exc.strerror or exc}",
                      "check the path and the permissions of its directories") from exc
    if stat.S_ISLNK(info.st_mode):
        return _through_link(given)
    if stat.S_ISDIR(info.st_mode):
        raise _refuse(given, "is a directory, not a state file",
                      f"name the state file itself, e.g. --state {given / 'STACK.json'}")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(given, "is not a regular file (a pipe, socket or device cannot hold a state)",
                      "pass the path of a state file")
    return LocalPaths(given, Path(os.path.realpath(given)))


def _through_link(given: Path) -> LocalPaths:
    target = Path(os.path.realpath(given))
    try:
        info = os.stat(given)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(given, "is a loop of symbolic links", "point the link at the state file itself") from exc
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise _refuse(given, f"is a symbolic link that cannot be followed: {exc.strerror or exc}",
                          "check the link and the permissions of its target's directories") from exc
        paths = LocalPaths(given, target)
        if paths.journal.exists():
            return paths  # a first apply that crashed before its first snapshot: the journal is the state
        raise _refuse(
            given, f"is a symbolic link to {target}, which does not exist",
            "a state moved away or a disk not mounted would read as no state at all, and every cluster would "
            f"be created again: fix the link; to start a new state at {target}, run once with --state {target}",
        ) from exc
    if stat.S_ISDIR(info.st_mode):
        raise _refuse(given, f"is a symbolic link to a directory ({target}), not to a state file",
                      "point the link at the state file itself")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(given, f"is a symbolic link to {target}, which is not a regular file",
                      "point the link at a state file")
    return LocalPaths(given, target)
