"""Reading a state file fast: every rule of tpdeclare.state.rules checked a column at a time, in C.

A 10,000-cluster state is 7.5 MB; checked one value at a time in Python, the rules cost more than
decoding it. Here each rule runs once per column, in C: the set of types a column holds, one regular
expression over the column's distinct values joined by newlines, one `set` for uniqueness. Any doubt
answers None, and the caller then reads the file the careful way (tpdeclare.state.codec), which finds
and names every problem: this path may refuse a good file but never accepts a bad one (its tests
check that both paths agree).

Duplicate keys, which the C decoder cannot see, are ruled out by counting quotes. Unless the text
holds the two characters `\\"` somewhere, every `"` in it opens or closes a string, so it holds
exactly two per string: when that is twice the keys and string values decoded, no key was lost to a
duplicate (each lost key takes its own two quotes with it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

from tpdeclare.identifiers import ADDRESS, ENGINE_ID, INSTANCE_TYPE, STACK
from tpdeclare.state.model import FORMAT_VERSION, Record, RecordStatus, State
from tpdeclare.state.rules import CONTAINER, NEEDS_CLUSTER_ID, PUBLIC_KEY, SPEC_KEYS, TEXT, TIMESTAMP, TOP_KEYS

_TOP = frozenset(TOP_KEYS)
_COLUMNS = ("status", "name", "spec", "cluster_id", "instance_ids", "request_id", "intent_id", "created_at",
            "updated_at")
_BY_VALUE = {s.value: s for s in RecordStatus}
_STATUS_WORDS = frozenset(_BY_VALUE)
_LATE_DAY = re.compile(r"^([0-9]{4})-([0-9]{2})-(29|30|31)", re.M)  # the days a month may not have
_FIELDS = ("address", "status", "name", "spec", "cluster_id", "instance_ids", "request_id", "intent_id",
           "created_at", "updated_at", "message")
_SETTERS = tuple(getattr(Record, name).__set__ for name in _FIELDS)


def _lines(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """`pattern` for a run of values, each followed by a newline."""
    return re.compile(f"(?:(?:{pattern.pattern})\n)*")


_ADDRESSES, _IDS, _TYPES = _lines(ADDRESS), _lines(ENGINE_ID), _lines(INSTANCE_TYPE)
_TEXTS, _CONTAINERS, _KEYS, _TIMES = _lines(TEXT), _lines(CONTAINER), _lines(PUBLIC_KEY), _lines(TIMESTAMP)


class _Strings:
    """The strings counted in the document so far (keys and values), for the duplicate-key proof."""

    def __init__(self) -> None:
        self.count = 0


def _all_match(lines: re.Pattern[str], values: Sequence[Any], strings: _Strings, *, distinct: bool = False) -> bool:
    """Every value is a str matching the pattern (a value holding a newline cannot pass for two)."""
    if not values:
        return True
    if set(map(type, values)) != {str}:
        return False
    strings.count += len(values)
    if distinct:
        values = list(set(values))
    text = "\n".join(values) + "\n"
    return text.count("\n") == len(values) and lines.fullmatch(text) is not None


def _present(values: Sequence[Any]) -> list[Any]:
    return [v for v in values if v is not None]


def _times(values: Sequence[Any], strings: _Strings) -> bool:
    """Every value is an RFC 3339 time (or null) on a day its month has."""
    times = _present(values)
    if not _all_match(_TIMES, times, strings):
        return False
    from datetime import date

    try:
        for late in _LATE_DAY.finditer("\n".join(times)):
            date(int(late[1]), int(late[2]), int(late[3]))
    except ValueError:  # 30 February and the like
        return False
    return True


def _column(data: Sequence[dict[str, Any]], key: str) -> list[Any]:
    return list(map(itemgetter(key), data))


def _spec_ok(specs: Sequence[Any], strings: _Strings) -> bool:
    if set(map(type, specs)) != {dict} or sum(map(len, specs)) != len(SPEC_KEYS) * len(specs):
        return False
    strings.count += len(SPEC_KEYS) * len(specs)
    itypes, nodes, names, images, protect, keys, prevent = (_column(specs, k) for k in SPEC_KEYS)  # KeyError: absent
    if not (_all_match(_TYPES, itypes, strings, distinct=True) and set(map(type, nodes)) == {int} and min(nodes) >= 1):
        return False
    if not (_all_match(_TEXTS, names, strings) and _all_match(_CONTAINERS, _present(images), strings, distinct=True)):
        return False
    if not set(map(type, protect)) | set(map(type, prevent)) <= {bool} or set(map(type, keys)) != {list}:
        return False
    return _all_match(_KEYS, list(chain.from_iterable(keys)), strings, distinct=True)


def _top_ok(doc: dict[str, Any], strings: _Strings) -> bool:
    if doc.keys() != _TOP or type(doc["format_version"]) is not int or doc["format_version"] != FORMAT_VERSION:
        return False
    serial, engine = doc["serial"], doc["engine"]
    if type(serial) is not int or serial < 0 or type(doc["resources"]) is not dict:
        return False
    if not (type(doc["tool_version"]) is str and _all_match(_lines(STACK), [doc["stack"]], strings)
            and _all_match(_IDS, [doc["lineage"]], strings)):
        return False
    strings.count += len(doc) + 1  # the keys and tool_version
    return engine is None or _all_match(_TEXTS, [engine], strings)


def _records_ok(data: list[Any], columns: list[list[Any]], messages: list[Any], strings: _Strings) -> bool:
    statuses, names, specs, cluster_ids, instance_ids, request_ids, intent_ids, created, updated = columns
    try:
        if not _STATUS_WORDS.issuperset(statuses):
            return False
    except TypeError:  # an unhashable status
        return False
    strings.count += len(statuses) + sum(map(len, data))  # the statuses and every key
    if not (_all_match(_TEXTS, names, strings) and _spec_ok(specs, strings)):
        return False
    if set(map(type, instance_ids)) != {list}:
        return False
    ids = _present(cluster_ids)
    for values in (ids, _present(request_ids), _present(intent_ids), list(chain.from_iterable(instance_ids))):
        if not _all_match(_IDS, values, strings):
            return False
    if len(set(ids)) != len(ids) or {s for s, c in zip(statuses, cluster_ids, strict=True) if c is None} & NEEDS_CLUSTER_ID:
        return False  # one cluster at two addresses, or a record past `pending` without its cluster
    if not (_times(created, strings) and _times(updated, strings)):
        return False
    notes = _present(messages)
    strings.count += len(notes)
    return not notes or set(map(type, notes)) == {str}


def read_fast(doc: Any, raw: bytes | None) -> State | None:
    """The State `doc` (decoded from `raw` by the C scanner) holds, if it keeps every rule; else None.

    `raw` None: `doc` was built in memory (a state about to be written), so no key can have been lost."""
    strings = _Strings()
    if type(doc) is not dict or not _top_ok(doc, strings):
        return None
    resources: dict[str, Any] = doc["resources"]
    addresses, data = list(resources), list(resources.values())
    records: dict[str, Record] = {}
    if data:
        if set(map(type, data)) != {dict} or not _all_match(_ADDRESSES, addresses, strings):
            return None
        noted = sum(map(dict.__contains__, data, repeat("message")))
        if sum(map(len, data)) != len(_COLUMNS) * len(data) + noted:
            return None  # a key beyond the nine (and `message`), or one missing (with an unknown one)
        try:
            columns = [_column(data, key) for key in _COLUMNS]
            messages = [d.get("message") for d in data] if noted else [None] * len(data)
            if not _records_ok(data, columns, messages, strings):
                return None
        except KeyError:  # a required key is absent
            return None
        records = _build(addresses, columns, messages)
    if raw is not None and ((raw.find(b"\\") != -1 and b'\\"' in raw) or raw.count(b'"') != 2 * strings.count):
        return None  # a key may have been lost to a duplicate: the careful path decides
    return State(stack=doc["stack"], lineage=doc["lineage"], serial=doc["serial"], resources=records,
                 tool_version=doc["tool_version"], engine=doc["engine"])


def _build(addresses: list[str], columns: list[list[Any]], messages: list[Any]) -> dict[str, Record]:
    """Records from checked columns, each field set by its slot, a column at a time: the constructor's
    own checks would find nothing left, and skipping them makes building 3× faster."""
    statuses, names, specs, cluster_ids, instance_ids, request_ids, intent_ids, created, updated = columns
    values = (addresses, list(map(_BY_VALUE.__getitem__, statuses)), names, specs, cluster_ids,
              list(map(tuple, instance_ids)), request_ids, intent_ids, created, updated, messages)
    records = list(map(object.__new__, repeat(Record, len(addresses))))
    for setter, column in zip(_SETTERS, values, strict=True):
        any(map(setter, records, column))  # each returns None: `any` runs them all, in C
    return dict(zip(addresses, records, strict=True))
