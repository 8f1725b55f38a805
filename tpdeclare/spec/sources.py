"""Which files the spec arguments name, and their bytes: each read once, bounded, pipes and FIFOs included.

A file argument is read as it is: a regular file, a FIFO, `/dev/stdin` or a `<(...)` descriptor
(`/dev/fd/N`). Nothing is sized with stat first (a pipe has no size); the read itself stops one byte
past the limit. A directory argument is every `*.yaml`/`*.yml` regular file directly in it, sorted
(a FIFO or socket in a directory is not a spec file, so listing never blocks). Bytes the caller has
already read (`preread`, by the path as given) are used instead of reading again: a pipe can be read
only once.

Only a regular file reached by its own name can lend its stem to the stack's name: a pipe, a FIFO,
a device or a descriptor path (`/dev/stdin`, `/dev/fd/N`, `/proc/self/fd/N`) names no stack.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping

from tpdeclare.diagnostics import Diagnostic
from tpdeclare.frozen_values import frozen
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.yaml_errors import too_big
from tpdeclare.spec.yamlsafe import DEFAULT_MAX_BYTES

SPEC_SUFFIXES = (".yaml", ".yml")
_DESCRIPTOR_PATH = re.compile(r"/dev/(?:stdin|fd/[0-9]+)|/proc/(?:self|thread-self|[0-9]+)/fd/[0-9]+")


@frozen
class Argument:
    """One spec argument as given: a file, or a directory whose spec files are one stack."""

    path: str
    is_dir: bool


@frozen
class Source:
    """One spec file's bytes, read once, and whether its file name may name the stack."""

    path: str  # as given, or <directory>/<name> for a directory's file
    raw: bytes
    named: bool
    argument: Argument


def read_bounded(path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[bytes | None, Diagnostic | None]:
    """A file's, pipe's or FIFO's bytes, read once and at most `max_bytes` of them (more is a diagnostic,
    as is a file that cannot be read). For a caller that must look at an argument before loading it:
    pass the bytes on as `load_stack(..., preread={path: raw})`."""
    read = _read(path, max_bytes)
    return (None, read) if isinstance(read, Diagnostic) else (read[0], None)


def names_a_stack(path: str, mode: int | None) -> bool:
    """True when the file's stem may be the stack's name: a regular file reached by its own name."""
    return mode is not None and stat.S_ISREG(mode) and not _DESCRIPTOR_PATH.fullmatch(os.path.abspath(path))


def _read(path: str, max_bytes: int) -> tuple[bytes, bool] | Diagnostic:
    """(bytes, whether the file name may name the stack), or what stopped the read."""
    try:
        with open(path, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        return Diagnostic("no such file", file=path,
                          hint="check the path; a spec is a .yaml file or a directory of them")
    except IsADirectoryError:
        return Diagnostic("is a directory, expected a file", file=path)
    except PermissionError:
        return Diagnostic("permission denied: cannot read the file", file=path)
    except ValueError:  # e.g. a NUL byte in the path
        return Diagnostic("not a usable file path", file=path)
    except OSError as exc:
        return Diagnostic(f"cannot read the file: {exc.strerror or exc}", file=path)
    if len(raw) > max_bytes:
        return too_big(path, max_bytes)
    return raw, names_a_stack(path, mode)


def _stat_mode(path: str) -> int | None:
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError):
        return None


def gather(paths: list[str], report: Reporter, *, max_bytes: int,
           preread: Mapping[str, bytes] | None = None) -> list[Source]:
    """The bytes of every spec file the arguments name, once each (by real path), in argument order."""
    preread = preread or {}
    sources: list[Source] = []
    seen: set[str] = set()
    for argument, names in _expand(paths, report, preread):
        for name in names:
            key = os.path.realpath(name)
            if key in seen:
                continue
            seen.add(key)
            if name in preread:
                given = preread[name]
                if len(given) > max_bytes:
                    report.add(too_big(name, max_bytes))
                else:
                    sources.append(Source(name, given, names_a_stack(name, _stat_mode(name)), argument))
                continue
            read = _read(name, max_bytes)
            if isinstance(read, Diagnostic):
                report.add(read)
            else:
                sources.append(Source(name, read[0], read[1], argument))
    return sources


def _expand(paths: list[str], report: Reporter,
            preread: Mapping[str, bytes]) -> list[tuple[Argument, list[str]]]:
    """Each argument with the spec files it names (a directory: its *.yaml/*.yml regular files, sorted)."""
    expanded: list[tuple[Argument, list[str]]] = []
    for arg in paths:
        if arg in preread or not os.path.isdir(arg):
            expanded.append((Argument(arg, is_dir=False), [arg]))
            continue
        try:
            found = sorted(
                entry.name for entry in os.scandir(arg)
                if entry.name.endswith(SPEC_SUFFIXES) and not entry.name.startswith(".") and entry.is_file()
            )
        except OSError as exc:
            report.error(f"cannot list the directory: {exc.strerror or exc}", file=arg)
            continue
        if not found:
            report.error("the directory has no .yaml or .yml files", file=arg,
                         hint="a directory stack is every *.yaml/*.yml file directly in it (not in subdirectories)")
        expanded.append((Argument(arg, is_dir=True), [os.path.join(arg, name) for name in found]))
    return expanded
