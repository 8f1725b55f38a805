"""The stack's name, from the `stack:` the files declare or the names they are given by; one stack per run.

Each spec argument names one stack. A file argument names the `stack:` it declares, else its stem
(`gpu-box.yml` is stack `gpu-box`); a pipe or descriptor (`/dev/stdin`, `<(...)`) has no file name, so
it must declare `stack:`. A directory argument names the `stack:` its files declare (they must agree;
a file that leaves it out joins it), else the directory's name. Arguments that name different stacks
are refused, each named with its stack: merging them would put one stack's clusters into another's
state (and create them again under other names), so they are never merged silently.
"""

from __future__ import annotations

import os
import re

from tpdeclare.frozen_values import frozen
from tpdeclare.spec.model import SourceRef
from tpdeclare.spec.parsed import ParsedFile
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.schema import rules
from tpdeclare.spec.sources import Argument


@frozen
class _Claim:
    """The stack one argument names, and how."""

    argument: Argument
    stack: str
    source: str  # "" when declared with `stack:`, else what the name was taken from
    where: SourceRef | None  # None: the directory itself (no line to point at)

    def words(self) -> str:
        what = f"directory {self.argument.path}" if self.argument.is_dir else self.argument.path
        return f"{what} names stack '{self.stack}'" + (f" ({self.source})" if self.source else "")


def stack_name(files: list[ParsedFile], report: Reporter) -> str | None:
    """The one stack the files name; None (with an error reported) when it cannot be told."""
    groups: dict[Argument, list[ParsedFile]] = {}
    for f in files:
        groups.setdefault(f.argument, []).append(f)
    claims = [_claim(argument, members, report) for argument, members in groups.items()]
    named = [claim for claim in claims if claim is not None]
    if len(named) < len(claims):
        return None
    different = [claim for claim in named if claim.stack != named[0].stack]
    if different:
        report.error(
            "spec files of different stacks are given together: " + ", ".join(claim.words() for claim in named),
            different[0].where, file=different[0].argument.path,
            hint="one stack per run: run tpdeclare once for each stack (each has its own state), or keep each"
                 " stack in a directory of its own; to make these one stack, set the same `stack:` in every file",
        )
        return None
    return named[0].stack


def _claim(argument: Argument, members: list[ParsedFile], report: Reporter) -> _Claim | None:
    stack_rule = rules().stack
    declared = [(f.data["stack"], f) for f in members
                if isinstance(f.data.get("stack"), str) and stack_rule.allows(f.data["stack"])]
    if declared:
        first, first_file = declared[0]
        for value, f in declared[1:]:
            if value != first:
                report.error(
                    f"stack '{value}' disagrees with stack '{first}' set in {first_file.path}"
                    f" ({first_file.at(('stack',))})",
                    f.at(("stack",)), path=("stack",),
                    hint="the files of one stack must name the same stack (or leave `stack:` out)",
                )
        return _Claim(argument, first, "", first_file.at(("stack",)))
    if any("stack" in f.data for f in members):
        return None  # set but invalid: the schema has said so
    if argument.is_dir:
        source = os.path.basename(os.path.normpath(os.path.abspath(argument.path)))
        return _named_after(argument, source, "directory", None, report)
    f = members[0]
    if not f.named:
        report.error("this spec comes from a pipe or descriptor, so no file name can name its stack",
                     SourceRef(f.path, 1, 1),
                     hint="set `stack: NAME` at the top of it (the stack's name is otherwise the file's name)")
        return None
    source = os.path.splitext(os.path.basename(f.path))[0]
    return _named_after(argument, source, "file", SourceRef(f.path, 1, 1), report)


def _named_after(argument: Argument, source: str, label: str, where: SourceRef | None,
                 report: Reporter) -> _Claim | None:
    stack_rule = rules().stack
    if stack_rule.allows(source):
        return _Claim(argument, source, f"its {label} name" if label == "file" else "the directory's name", where)
    suggestion = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")
    suggestion = re.sub(r"^[^a-z]+", "", suggestion)[: stack_rule.max_length] or "my-stack"
    report.error(
        f"the stack name '{source}' (from the {label} name) is not a valid stack name",
        where, file=argument.path,
        hint=f"set `stack: {suggestion}` at the top of the {'file' if label == 'file' else 'files'}"
             f" (lowercase letters, digits and hyphens, starting with a letter), or rename the {label}",
    )
    return None
