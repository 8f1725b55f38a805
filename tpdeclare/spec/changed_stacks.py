"""Which stacks a list of changed files belongs to (one directory = one stack), for `validate --stacks-of`.

pre-commit passes the YAML files a commit touches. Each stands for the stack of its directory, which is
validated whole (its files are one stack, checked together). A directory named as such is a stack the
user chose and is always validated; a directory reached through a changed file is validated only when it
holds a tpdeclare spec, so the workflows, compose files and other YAML of a repository are left alone.
A file is a tpdeclare spec when its header names tpdeclare's schema on a language-server modeline, or a
line of it starts a top-level `clusters:` or `stack:` key.
"""

from __future__ import annotations

import os
import re

from tpdeclare.frozen_values import frozen
from tpdeclare.spec.schema_copies import find_modeline
from tpdeclare.spec.sources import SPEC_SUFFIXES

_TOP_LEVEL_KEY = re.compile(rb"^(?:clusters|stack)[ \t]*:", re.MULTILINE)
_SNIFF_BYTES = 256 * 1024
SCHEMA_FILE_NAME = "cluster.schema.json"


@frozen
class ChangedStacks:
    """The stacks to validate, in order, and the directories left alone (no tpdeclare spec in them)."""

    stacks: tuple[str, ...]
    skipped: tuple[str, ...]


def stacks_of(paths: tuple[str, ...] | list[str]) -> ChangedStacks:
    """Directories named are stacks as given; each file stands for its directory's stack, if that holds a spec."""
    named: dict[str, str] = {}  # normalised -> as given (the loader's messages name files as given)
    reached: set[str] = set()
    for path in paths:
        if os.path.isdir(path):
            named.setdefault(os.path.normpath(path), path)
        else:
            reached.add(os.path.dirname(os.path.normpath(path)) or os.curdir)
    stacks: list[str] = list(named.values())
    skipped: list[str] = []
    for directory in sorted(reached - set(named)):
        (stacks if holds_a_spec(directory) else skipped).append(directory)
    return ChangedStacks(tuple(stacks), tuple(skipped))


def holds_a_spec(directory: str) -> bool:
    """True when a spec file of the directory (as the loader lists them) is recognisably a tpdeclare spec."""
    try:
        entries = [e for e in os.scandir(directory)
                   if e.name.endswith(SPEC_SUFFIXES) and not e.name.startswith(".") and e.is_file()]
    except OSError:
        return True  # let the loader say what is wrong with it
    return any(is_tpdeclare_spec(entry.path) for entry in entries)


def is_tpdeclare_spec(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return True  # unreadable: the loader reports it
    modeline = find_modeline(path, head.decode("utf-8", "replace"))
    if modeline is not None and modeline.target.endswith(SCHEMA_FILE_NAME):
        return True
    return _TOP_LEVEL_KEY.search(head) is not None
