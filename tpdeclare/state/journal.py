"""The state journal's format: typed changes, their lines, and reading a journal back (scan, then replay).

A journal holds the changes made since its snapshot, one JSON line each:

    {"format_version": 1, "journal": 1, "lineage": …, "stack": …}   the header
    {"serial": n, "op": "put", "address": a, "record": {…}}
    {"serial": n, "op": "remove", "address": a}
    {"serial": n, "op": "move", "address": a, "to": b}
    {"serial": n, "op": "put-volume", "address": a, "volume": {…}}   a storage volume's record (state/volumes.py)
    {"serial": n, "op": "remove-volume", "address": a}

Serials increase. A torn final line (no newline, or not JSON) is what a crash in the middle of an
append leaves: it is dropped, never an error. Anything else wrong is a StateError naming the line.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from tpdeclare.errors import StateError
from tpdeclare.frozen_values import frozen
from tpdeclare.identifiers import ADDRESS, ENGINE_ID, STACK
from tpdeclare.state import codec, rules
from tpdeclare.state.model import FORMAT_VERSION, Record, State
from tpdeclare.state.volumes import VolumeRecord, split_volume_address, volume_address

JOURNAL_VERSION = 1
_ENTRY_KEYS = frozenset({"serial", "op", "address", "record", "to", "volume"})
_OPS = ("put", "remove", "move", "put-volume", "remove-volume")


class ChangeOp(StrEnum):
    """What a change does to the record at its address (the values are the words in the journal)."""

    PUT = "put"
    REMOVE = "remove"
    MOVE = "move"
    PUT_VOLUME = "put-volume"
    REMOVE_VOLUME = "remove-volume"


@frozen(slots=True)
class Change:
    """One durable change to the state: put `record` at `address`, remove it, or move it to `to`."""

    serial: int
    op: ChangeOp
    address: str
    record: Record | None = None
    to: str | None = None
    volume: VolumeRecord | None = None

    def __post_init__(self) -> None:
        put, move = self.op is ChangeOp.PUT, self.op is ChangeOp.MOVE
        put_volume = self.op is ChangeOp.PUT_VOLUME
        if ((self.record is not None) != put or (self.to is not None) != move
                or (self.volume is not None) != put_volume
                or (put and self.record is not None and self.record.address != self.address)
                or (put_volume and self.volume is not None and self.volume.address != self.address)):
            raise ValueError(f"a malformed {self.op.value!r} change at serial {self.serial}")

    @classmethod
    def put(cls, serial: int, item: Record | VolumeRecord) -> Change:
        """Store a cluster's record, or a volume's (`put-volume`), at its address."""
        if isinstance(item, VolumeRecord):
            return cls(serial, ChangeOp.PUT_VOLUME, item.address, volume=item)
        return cls(serial, ChangeOp.PUT, item.address, record=item)

    @classmethod
    def remove(cls, serial: int, address: str, *, volume: bool = False) -> Change:
        """Forget the cluster's record at `address`, or with `volume` the volume's (`remove-volume`)."""
        return cls(serial, ChangeOp.REMOVE_VOLUME if volume else ChangeOp.REMOVE, address)

    @classmethod
    def move(cls, serial: int, address: str, to: str) -> Change:
        return cls(serial, ChangeOp.MOVE, address, to=to)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"serial": self.serial, "op": self.op.value, "address": self.address}
        if self.record is not None:
            out["record"] = self.record.to_json()
        if self.to is not None:
            out["to"] = self.to
        if self.volume is not None:
            out["volume"] = self.volume.to_json()
        return out


class JournalHeader(NamedTuple):
    """A journal's first line: the state it belongs to."""

    stack: str
    lineage: str

    def line(self) -> bytes:
        return codec.dump_line({"format_version": FORMAT_VERSION, "journal": JOURNAL_VERSION,
                                "lineage": self.lineage, "stack": self.stack})


@frozen
class JournalScan:
    """What a journal file holds: its header, its valid entries, and where valid data ends."""

    header: JournalHeader | None
    entries: tuple[Change, ...]
    good_len: int  # bytes of complete, valid lines; a torn tail after it is ignored
    torn: bool  # True when a torn final line was dropped
    last_serial: int = 0  # of every entry, those left out by `dropping` included


def encode_changes(changes: Sequence[Change], after: int, where: str) -> tuple[list[bytes], int]:
    """The journal lines of `changes` and their last serial, refusing (StateError) a change not newer than
    `after` or the one before it, and a record that would not read back (`where`: the journal, for the error)."""
    lines, last = [], after
    for change in changes:
        if change.serial <= last:
            raise StateError(f"refusing to journal an out-of-order change (serial {change.serial} "
                             f"after {last}) to {change.address!r}")
        if change.record is not None:
            problems = codec.record_problems(change.record)
            if problems:
                raise codec.refuse_to_store(f"a change to the state journal {where}", problems)
        last = change.serial
        lines.append(codec.dump_line(change.to_json()))
    return lines, last


def journal_hint(source: str) -> str:
    return (f"the journal was left untouched; move {source} aside to fall back to the snapshot "
            f"(changes recorded only in the journal are then lost — check them by hand first)")


def _error(source: str, line: int, problem: str) -> StateError:
    return StateError(f"state journal {source} is corrupt at line {line}: {problem}", hint=journal_hint(source))


def _header(doc: dict[str, Any], *, source: str, line: int) -> JournalHeader:
    version = doc.get("format_version")
    if not rules.is_int(version) or version < 1:
        raise _error(source, line, f"header: 'format_version' must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise codec.newer_format_error(source, version, what="state journal")
    for key, grammar in (("stack", STACK), ("lineage", ENGINE_ID)):
        if not isinstance(doc.get(key), str) or not grammar.fullmatch(doc[key]):
            raise _error(source, line, f"header: {key!r} must be a {key} name or ID, got {doc.get(key)!r}")
    return JournalHeader(stack=doc["stack"], lineage=doc["lineage"])


def _address(doc: dict[str, Any], key: str, *, source: str, line: int) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not ADDRESS.fullmatch(value):
        what = "a 'move' entry needs a valid 'to'" if key == "to" else "'address' must be a valid address"
        raise _error(source, line, f"{what} (lowercase letters, digits and hyphens), got {value!r}")
    return value


def _entry(doc: dict[str, Any], *, source: str, line: int, dropping: Collection[str],
           problems: list[rules.Problem]) -> Change | None:
    """The change on one line; None when it concerns a dropped address or its record is damaged."""
    unknown = sorted(set(doc) - _ENTRY_KEYS)
    if unknown:
        raise _error(source, line, f"unknown key {unknown[0]!r}")
    serial, op = doc.get("serial"), doc.get("op")
    if not rules.is_int(serial) or serial < 1:
        raise _error(source, line, f"'serial' must be a positive integer, got {serial!r}")
    if op not in _OPS:
        raise _error(source, line, f"'op' must be one of {', '.join(map(repr, _OPS))}, got {op!r}")
    address = _address(doc, "address", source=source, line=line)
    if ("volume" in doc) != (op == "put-volume"):
        raise _error(source, line, "a 'put-volume' entry has no 'volume'" if op == "put-volume"
                     else f"a '{op}' entry carries a 'volume'")
    if op in ("put-volume", "remove-volume"):
        return _volume_entry(doc, serial, op, address, line, dropping, problems, source)
    if ("record" in doc) != (op == "put"):
        raise _error(source, line, "a 'put' entry has no 'record'" if op == "put"
                     else f"a '{op}' entry carries a 'record'")
    if op != "move" and "to" in doc:
        raise _error(source, line, f"a '{op}' entry carries a 'to'")
    if op == "move":
        to = _address(doc, "to", source=source, line=line)
        return None if address in dropping else Change.move(serial, address, to)
    if op == "remove":
        return Change.remove(serial, address)
    if address in dropping:
        return None
    found = rules.check_record(address, doc["record"], f"line {line}: record")
    if found:
        problems.extend(found)
        return None
    return Change.put(serial, Record.from_json(address, doc["record"]))


def _volume_entry(doc: dict[str, Any], serial: int, op: str, address: str, line: int, dropping: Collection[str],
                  problems: list[rules.Problem], source: str) -> Change | None:
    from tpdeclare.state.volume_rules import check_volume

    if "record" in doc or "to" in doc:
        raise _error(source, line, f"a '{op}' entry carries a 'record' or 'to'")
    if op == "remove-volume":
        return Change.remove(serial, address, volume=True)
    if volume_address(address) in dropping:
        return None
    found = check_volume(address, doc["volume"], f"line {line}: volume")
    if found:
        problems.extend(found)
        return None
    return Change.put(serial, VolumeRecord.from_json(address, doc["volume"]))


def _spans(data: bytes) -> tuple[list[tuple[int, int]], int]:
    """[start, end) of each newline-terminated line, and where the last one ends."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (nl := data.find(b"\n", pos)) != -1:
        spans.append((pos, nl + 1))
        pos = nl + 1
    return spans, pos


def scan_journal(data: bytes, *, source: str, dropping: Collection[str] = ()) -> JournalScan:
    """Parse journal bytes (a torn final line is dropped; anything else wrong is a StateError).

    Entries for the addresses in `dropping` are checked for their shape but left out."""
    spans, good_len = _spans(data)
    torn = good_len < len(data)  # bytes after the last newline: an unfinished line
    header: JournalHeader | None = None
    entries: list[Change] = []
    problems: list[rules.Problem] = []
    last = 0
    for index, (start, end) in enumerate(spans):
        line = index + 1
        try:
            doc = json.loads(data[start:end].decode("utf-8"), parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            if index == len(spans) - 1 and not torn:
                good_len, torn = start, True  # a torn final line that happens to end in "\n"
                break
            raise _error(source, line, "not a JSON line") from exc
        if not isinstance(doc, dict):
            raise _error(source, line, "expected a JSON object")
        if index == 0:
            if "op" in doc or "lineage" not in doc:
                raise _error(source, line, "the first line is not a journal header")
            header = _header(doc, source=source, line=line)
            continue
        entry = _entry(doc, source=source, line=line, dropping=dropping, problems=problems)
        serial: int = doc["serial"]  # _entry checked it
        if serial <= last:
            raise _error(source, line, f"serial {serial} does not follow serial {last}")
        last = serial
        if entry is not None:
            entries.append(entry)
    if problems:
        raise codec.StateFileError(source, problems, what="state journal", hint=journal_hint(source),
                                   fix_file=f"move {source} aside")
    return JournalScan(header=header, entries=tuple(entries), good_len=good_len, torn=torn, last_serial=last)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def replay(state: State, entries: Sequence[Change], *, dropping: Collection[str] = ()) -> State:
    """`state` with the journal entries newer than its serial applied (a new State)."""
    resources = dict(state.resources)
    volumes = dict(state.volumes)
    serial = state.serial
    changed = False
    for entry in entries:
        if entry.serial <= serial:
            continue  # already folded into the snapshot
        if entry.op is ChangeOp.PUT_VOLUME and entry.volume is not None:
            volumes[entry.address] = entry.volume
        elif entry.op is ChangeOp.REMOVE_VOLUME:
            volumes.pop(entry.address, None)
        elif entry.op is ChangeOp.PUT and entry.record is not None:
            resources[entry.address] = entry.record
        elif entry.op is ChangeOp.REMOVE:
            resources.pop(entry.address, None)
        elif entry.to is not None:
            moved = resources.pop(entry.address, None)
            if moved is not None:
                resources[entry.to] = dataclasses.replace(moved, address=entry.to)
        serial, changed = entry.serial, True
    for address in dropping:
        changed = resources.pop(address, None) is not None or changed
        volume = split_volume_address(address)
        changed = (volume is not None and volumes.pop(volume, None) is not None) or changed
    return dataclasses.replace(state, resources=resources, volumes=volumes, serial=serial) if changed else state
