"""Copies of the spec schema for editors: the text `tpdeclare schema` writes, and whether the copy a spec's
editor modeline names is this version's.

An editor with the YAML language server loads the schema a spec names on its modeline,
`# yaml-language-server: $schema=PATH`, with PATH relative to the spec's directory. In a repository
that is a copy vendored there (the GitOps kit's `.tpdeclare/cluster.schema.json`); that copy goes stale
when tpdeclare is upgraded, and the editor then flags fields this version accepts, or misses new rules.
`tpdeclare validate` reads each spec's modeline the way the language server does and checks what it
names: a file that is missing, or a tpdeclare schema that is not this version's, is a warning. Remote
targets (http, https) and schemas that are not tpdeclare's are left alone.
"""

from __future__ import annotations

import json
import os
import re
import stat
from typing import Any
from urllib.parse import unquote, urlsplit

from tpdeclare import __version__
from tpdeclare.diagnostics import Diagnostic
from tpdeclare.frozen_values import frozen
from tpdeclare.spec.schema import spec_schema

VERSION_KEY = "x-tpdeclare-version"  # which tpdeclare wrote a copy: compared by `validate`
_STAMP_KEYS = ("$comment", VERSION_KEY)
# The language server's modeline (yaml-language-server 2, src/languageservice/services/modelineUtil.ts): the
# first comment of the document's header that is one, and the schema its `$schema=` (or `$schema:`) names.
_MODELINE = re.compile(r"#\s+(?:yaml-language-server\s*:|\$schema:)")
_SCHEMA_ATTR = re.compile(r"\$schema(?:=|:[^\S\r\n]*)(\S+)")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")


def schema_text() -> str:
    """The installed version's schema as `tpdeclare schema` writes it: stamped with the version that wrote it."""
    source = spec_schema()
    stamped: dict[str, Any] = {}
    for key, value in source.items():
        stamped[key] = value
        if key == "$id":
            stamped["$comment"] = (f"Written by `tpdeclare schema` (tpdeclare {__version__}). After upgrading "
                                   f"tpdeclare, write it again: tpdeclare schema --out <this file>.")
            stamped[VERSION_KEY] = __version__
    return json.dumps(stamped, indent=2, ensure_ascii=False) + "\n"


@frozen
class Modeline:
    """The schema a spec file's modeline names, and where the name is written."""

    file: str
    line: int  # 1-based
    col: int  # 1-based: where the schema's name starts
    target: str  # as written after `$schema=`


def find_modeline(file: str, text: str) -> Modeline | None:
    """The schema named by the modeline of a spec's header (the comments before its first content), or None."""
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not line.strip() or line.strip() == "---":
            continue
        if not line.startswith("#"):
            return None  # the header ends where the content starts
        if _MODELINE.match(line):
            attr = _SCHEMA_ATTR.search(line)
            return None if attr is None else Modeline(file, number, attr.start(1) + 1, attr.group(1))
    return None


def local_path(modeline: Modeline) -> str | None:
    """The file a modeline's schema names, resolved from the spec's directory; None for a remote schema."""
    target = modeline.target
    if target.startswith("file://"):
        return unquote(urlsplit(target).path)
    if _URL_SCHEME.match(target):  # http:, https: or another scheme: not a file here
        return None
    return os.path.normpath(os.path.join(os.path.dirname(modeline.file) or ".", target))


def check_copy(modeline: Modeline) -> Diagnostic | None:
    """A warning when the schema the modeline names is missing or is another version's tpdeclare schema."""
    path = local_path(modeline)
    if path is None:
        return None
    refresh = f"tpdeclare schema --out {_shown(path)}"
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the read: never wait on one
            return _warning(modeline, f"the schema this modeline names, '{modeline.target}', is not a file",
                            f"write it: {refresh}")
        with open(path, "rb") as fh:
            raw = fh.read(4 * 1024 * 1024)
    except FileNotFoundError:
        return _warning(modeline, f"the schema this modeline names, '{modeline.target}', does not exist",
                        f"write it (and commit it): {refresh}")
    except OSError as exc:
        return _warning(modeline, f"cannot read the schema this modeline names, '{modeline.target}': "
                                  f"{exc.strerror or exc}", None)
    try:
        copy = json.loads(raw)
    except ValueError:
        return _warning(modeline, f"the schema this modeline names, '{modeline.target}', is not JSON",
                        f"write it again: {refresh}")
    if not isinstance(copy, dict) or not _is_tpdeclare_schema(copy):
        return None
    if {k: v for k, v in copy.items() if k not in _STAMP_KEYS} == spec_schema():
        return None
    return _warning(modeline, *_staleness(modeline.target, copy.get(VERSION_KEY), refresh))


def _is_tpdeclare_schema(doc: dict[str, Any]) -> bool:
    return VERSION_KEY in doc or doc.get("$id") == spec_schema().get("$id")


def _staleness(target: str, written_by: object, refresh: str) -> tuple[str, str]:
    """What to say about a tpdeclare schema copy that is not this version's, by the version that wrote it."""
    named = f"the schema this modeline names, '{target}',"
    again = f"write it again (and commit it), so editors check specs as this version does: {refresh}"
    ours = _version_tuple(__version__)
    theirs = _version_tuple(written_by) if isinstance(written_by, str) else None
    if theirs is None or ours is None or theirs == ours:
        return f"{named} differs from this tpdeclare's ({__version__})", again
    if theirs < ours:
        return (f"{named} is older than this tpdeclare's: written by tpdeclare {written_by}, this is {__version__}",
                again)
    return (f"{named} was written by a newer tpdeclare ({written_by}) than this one ({__version__})",
            f"upgrade tpdeclare (pip install -U tpdeclare), or write it for this version: {refresh}")


def _version_tuple(version: str) -> tuple[int, ...] | None:
    """`0.1.0` -> (0, 1, 0); None for anything that is not dotted numbers (with an optional suffix)."""
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)*)(?:[.+-]?[A-Za-z][0-9A-Za-z.+-]*)?", version)
    return tuple(int(p) for p in m.group(1).split(".")) if m else None


def _shown(path: str) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith(os.pardir + os.sep) else path


def _warning(modeline: Modeline, summary: str, hint: str | None) -> Diagnostic:
    return Diagnostic(summary, file=modeline.file, line=modeline.line, col=modeline.col, hint=hint,
                      severity="warning")
