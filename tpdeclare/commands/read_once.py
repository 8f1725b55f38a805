"""Reading each SPEC|PLANFILE argument exactly once, so pipes, FIFOs, /dev/stdin and `<(...)` work."""

from __future__ import annotations

import os
import stat

from tpdeclare.spec.yamlsafe import DEFAULT_MAX_BYTES


def read_once(paths: tuple[str, ...]) -> dict[str, bytes]:
    """The bytes of each spec argument that is not a directory, read exactly once (so a pipe, a FIFO,
    /dev/stdin or `<(...)` works), bounded by the spec size limit. Unreadable paths are left to the loader,
    which reports them with the words every command uses."""
    out: dict[str, bytes] = {}
    for path in paths:
        try:
            if stat.S_ISDIR(os.stat(path).st_mode):
                continue
            with open(path, "rb") as fh:
                out[path] = fh.read(DEFAULT_MAX_BYTES + 1)
        except OSError:
            continue
    return out
