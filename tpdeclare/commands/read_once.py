"""Reading each SPEC|PLANFILE argument exactly once, so pipes, FIFOs, /dev/stdin and `<(...)` work."""

from __future__ import annotations

import os

from tpdeclare.spec.sources import read_bounded


def read_once(paths: tuple[str, ...]) -> dict[str, bytes]:
    """The bytes of each spec argument that is not a directory, read exactly once and bounded by the spec size
    limit; the loader takes them as `preread` and never opens those paths again. A path that cannot be read is
    left out: the loader reports it with the words every command uses."""
    out: dict[str, bytes] = {}
    for path in paths:
        if os.path.isdir(path):  # never blocks on a FIFO
            continue
        raw, problem = read_bounded(path)
        if raw is not None and problem is None:
            out[path] = raw
    return out
