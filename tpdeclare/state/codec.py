"""The state document's format: bytes <-> State, refusing a document that breaks any rule and naming every problem."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from tpdeclare.errors import StateError
from tpdeclare.gc_pause import gc_paused
from tpdeclare.identifiers import ADDRESS
from tpdeclare.state import rules
from tpdeclare.state.fast_read import read_fast, read_trusted
from tpdeclare.state.model import FORMAT_VERSION, Record, State
from tpdeclare.state.rules import Problem, is_int
from tpdeclare.state.strict_json import DamagedState, decode, decode_tracking_duplicates
from tpdeclare.state.volumes import VolumeRecord, split_volume_address, volume_address


def backup_hint(source: str) -> str:
    """The hint of a 'cannot read this file' error when nothing better is known (the store names its backups)."""
    return (
        f"the file was left untouched; restore the newest good backup "
        f"({source}.1, then {source}.2 … {source}.5) or fix it by hand"
    )


class StateFileError(DamagedState):
    """A state document (or journal record) breaks the rules; `problems` holds every one, with its JSON path."""

    def __init__(self, source: str, problems: Iterable[Problem], *, what: str = "state file",
                 hint: str | None = None, fix_file: str = "restore a backup"):
        self.source, self.what = source, what
        self.problems = tuple(problems)
        self.fix_file = fix_file
        lines = [f"{p} [fix: {self.fix_of(p)}]" for p in self.problems]
        if len(lines) == 1:
            message = f"{what} {source} is invalid: {lines[0]}"
        else:
            message = f"{what} {source} is invalid ({len(lines)} problems):\n" + "\n".join(f"  - {x}" for x in lines)
        super().__init__(message, hint=hint or backup_hint(source))

    def fix_of(self, problem: Problem) -> str:
        if problem.address and _removable(problem.address):
            return f"`tpdeclare state rm {problem.address}`"
        return self.fix_file  # a file-wide problem, or an address no command line should carry

    @property
    def damaged(self) -> tuple[str, ...]:
        """The addresses whose records are damaged (each can be dropped with `state rm`; a volume's as
        `storage.ADDR`)."""
        return tuple(dict.fromkeys(p.address for p in self.problems
                                   if p.address and _removable(p.address)))

    def with_hint(self, hint: str) -> StateFileError:
        return StateFileError(self.source, self.problems, what=self.what, hint=hint, fix_file=self.fix_file)


def _removable(address: str) -> bool:
    """An address `state rm` takes: a cluster's, or a volume's as `storage.ADDR`."""
    volume = split_volume_address(address)
    return ADDRESS.fullmatch(address if volume is None else volume) is not None


def newer_format_error(source: str, version: int, tool_version: Any = None, what: str = "state file") -> StateError:
    """The error for a document written by a newer tpdeclare than this one."""
    by = f" {tool_version}" if isinstance(tool_version, str) and tool_version else ""
    return StateError(
        f"{what} {source} was written by a newer tpdeclare{by} (format {version}); "
        f"this tpdeclare reads format {FORMAT_VERSION} at most",
        hint="upgrade tpdeclare; the file was left untouched",
    )


def check_format_version(doc: dict[str, Any], *, source: str, what: str = "state file") -> None:
    """Refuse a missing, malformed or newer `format_version` before looking at anything else."""
    if "format_version" not in doc:
        raise StateFileError(source, [Problem("", "missing key 'format_version'")], what=what)
    version = doc["format_version"]
    if not is_int(version) or version < 1:
        raise StateFileError(source, [Problem("format_version", f"expected a positive integer, got {version!r}")],
                             what=what)
    if version > FORMAT_VERSION:
        raise newer_format_error(source, version, doc.get("tool_version"), what)


def parse_state(raw: bytes, *, source: str, dropping: Collection[str] = (), verified: bool = False) -> State:
    """Parse and fully check a state document; any problem is a StateError naming `source`.

    Records at the addresses in `dropping` are neither checked nor returned: that is how
    `tpdeclare state rm` forgets a damaged record. `verified`: the bytes carry the stamp of a snapshot
    tpdeclare checked and wrote (tpdeclare.state.verified), so the rules are not checked again."""
    hint = backup_hint(source)
    with gc_paused():  # many small acyclic objects: the collector's scans would be a third of the time
        doc = decode(raw, source=source, what="state file", hint=hint)
        if not dropping:
            state = read_trusted(doc) if verified else None
            if state is None:
                state = read_fast(doc, raw)
            if state is not None:
                return state
        if not isinstance(doc, dict):
            raise StateFileError(source, [Problem("", f"expected a JSON object at the top level, got "
                                                      f"{rules.type_name(doc)}")])
        check_format_version(doc, source=source)
        return _parse_carefully(raw, source, frozenset(dropping))


def _parse_carefully(raw: bytes, source: str, dropping: frozenset[str]) -> State:
    doc = decode_tracking_duplicates(raw, source=source, what="state file", hint=backup_hint(source))
    problems = [p for p in rules.check_document(doc) if p.address is None or p.address not in dropping]
    if problems:
        raise StateFileError(source, problems)
    return State(
        stack=doc["stack"],
        lineage=doc["lineage"],
        serial=doc["serial"],
        resources={a: Record.from_json(a, d) for a, d in doc["resources"].items() if a not in dropping},
        tool_version=doc.get("tool_version", ""),
        engine=doc.get("engine"),
        volumes={a: VolumeRecord.from_json(a, d) for a, d in (doc.get("volumes") or {}).items()
                 if volume_address(a) not in dropping},
    )


def parse_record(address: str, data: Any, *, source: str, where: str, what: str = "state file",
                 hint: str | None = None, fix_file: str = "restore a backup") -> Record:
    """Check one stored record and build it; the StateFileError names `source` and `where`."""
    problems = rules.check_record(address, data, where)
    if problems:
        raise StateFileError(source, problems, what=what, hint=hint, fix_file=fix_file)
    return Record.from_json(address, data)


def record_problems(record: Record) -> list[Problem]:
    """What is wrong with a record about to be stored (nothing, unless a caller has a bug)."""
    return rules.check_record(record.address, record.to_json(), rules.child("resources", record.address))


def state_problems(state: State) -> list[Problem]:
    """What is wrong with a state about to be stored: tpdeclare never writes what it would refuse to read."""
    doc = state.to_json()
    with gc_paused():
        if read_fast(doc, None) is not None:
            return []
        return rules.check_document(doc)


def refuse_to_store(subject: str, problems: list[Problem]) -> StateError:
    """The error for storing `subject`, which holds a damaged record: nothing was written."""
    listed = "; ".join(map(str, problems[:5])) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    return StateError(f"refusing to store {subject}: it would not read back ({listed})",
                      hint="nothing was written; this is a bug in tpdeclare or in what the engine sent: "
                           "please report it with the values above")


def dump_state(state: State) -> bytes:
    """Serialise a State stably: sorted keys, 2-space indent, trailing newline, UTF-8."""
    return (json.dumps(state.to_json(), sort_keys=True, indent=2) + "\n").encode("utf-8")


def dump_line(obj: dict[str, Any]) -> bytes:
    """One compact, sorted JSON line (for the journal), newline included."""
    return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
