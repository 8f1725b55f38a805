"""Reading a state file fast: every rule of tpdeclare.state.rules checked a column at a time, in C.

A 10,000-cluster state is 7.5 MB; checked one value at a time in Python, the rules cost more than
decoding it. Here a column is checked in a few C calls: the set of the types it holds, one regular
expression over the column joined by newlines (the rule's own pattern, repeated), `isprintable` over
the column joined, one `set` for uniqueness; columns that repeat a few values (instance types,
containers, keys) are checked once per distinct value. Any doubt answers None, and the caller then
reads the file the careful way (tpdeclare.state.codec), which finds and names every problem: this path
may refuse a good file but never accepts a bad one (the tests check that both paths agree).

Duplicate keys, which the C decoder cannot see, are ruled out by counting quotes. Unless the text
holds the two characters `\\"` somewhere, every `"` in it opens or closes a string, so it holds
exactly two per string: when that is twice the keys and string values decoded, no key was lost to a
duplicate (each lost key takes its own two quotes with it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import chain, compress, repeat
from operator import is_, is_not, itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

from tpdeclare.frozen_values import replace_fields
from tpdeclare.identifiers import ADDRESS, ENGINE_ID, STACK
from tpdeclare.state import rules
from tpdeclare.state.model import FORMAT_VERSION, Record, RecordStatus, State

if TYPE_CHECKING:
    from tpdeclare.state.volumes import VolumeRecord

T = TypeVar("T")
_TOP = frozenset(rules.TOP_KEYS)
_COLUMNS = ("cluster_id", "created_at", "instance_ids", "intent_id", "name", "request_id", "spec", "status",
            "updated_at")  # a record's keys as dump_state writes them: sorted (`message` is the tenth)
_SPEC_COLUMNS = tuple(sorted(rules.SPEC_KEYS))
_NOTED_COLUMNS = (*_COLUMNS[:4], "message", *_COLUMNS[4:])
_RECORD, _NOTED, _SPEC = frozenset(_COLUMNS), frozenset(_NOTED_COLUMNS), frozenset(_SPEC_COLUMNS)
BY_VALUE = {s.value: s for s in RecordStatus}
_STATUS_WORDS = frozenset(BY_VALUE) - {RecordStatus.EXPIRED.value}  # memories of expiries: the careful path
_SETTERS = tuple(getattr(Record, name).__set__ for name in (
    "address", "status", "name", "spec", "cluster_id", "instance_ids", "request_id", "intent_id", "created_at",
    "updated_at", "message", "expired_at", "lifetime"))


def _lines(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """`pattern` for a run of values, each followed by a newline."""
    return re.compile(f"(?:(?:{pattern.pattern})\n)*")


ADDRESS_LINES, _STACKS, ID_LINES, _TIMES = _lines(ADDRESS), _lines(STACK), _lines(ENGINE_ID), _lines(rules.TIMESTAMP)
_LATE_DAY = re.compile(r"-(?:29|30|31)T")  # the days a month may not have (a literal start: found fast)


class Strings:
    """The strings counted in the document so far (keys and values), for the duplicate-key proof."""

    def __init__(self) -> None:
        self.count = 0

    def typed(self, values: Sequence[Any]) -> bool:
        """Every value is a str (and is counted)."""
        if values and set(map(type, values)) != {str}:
            return False
        self.count += len(values)
        return True


def present(values: Sequence[Any]) -> list[Any]:
    """The values that are not None, in order."""
    return list(compress(values, map(is_not, values, repeat(None))))


def texts(values: Sequence[Any], strings: Strings) -> bool:
    """Every value is rules.is_text: a non-empty printable string."""
    return strings.typed(values) and (not values or (min(map(len, values)) >= 1 and "".join(values).isprintable()))


def lines_match(lines: re.Pattern[str], values: Sequence[Any], strings: Strings) -> bool:
    """Every value is a str matching the pattern of `lines` (a value holding a newline cannot pass for two)."""
    if not strings.typed(values):
        return False
    text = "\n".join(values) + "\n" if values else ""
    return text.count("\n") == len(values) and lines.fullmatch(text) is not None


def _distinct(rule: rules.Rule, values: Sequence[Any], strings: Strings) -> bool:
    """Every value keeps `rule`, checked once per distinct value (for columns that repeat a few values)."""
    return strings.typed(values) and all(rule(v) is None for v in set(values))


def times(values: Sequence[Any], strings: Strings) -> bool:
    """Every value is null or an RFC 3339 time with a timezone on a real day (rules.is_timestamp)."""
    stamps = present(values)
    if not lines_match(_TIMES, stamps, strings):
        return False
    text = "\n".join(stamps)
    return all(rules.is_timestamp(f"{text[late.start() - 7:late.end()]}00:00:00Z") for late in _LATE_DAY.finditer(text))


def columns_of(data: list[dict[str, Any]], canonical: tuple[str, ...],
               keys: frozenset[str]) -> list[Sequence[Any]] | None:
    """The columns of `data` (objects that must hold exactly `keys`) in `canonical` order, else None."""
    first = tuple(data[0])
    if first == canonical and list(chain.from_iterable(map(dict.keys, data))) == list(first) * len(data):
        return list(zip(*map(dict.values, data), strict=True))  # one pass: values come in key order
    if sum(map(len, data)) != len(keys) * len(data):
        return None
    try:
        return [list(map(itemgetter(key), data)) for key in canonical]
    except KeyError:
        return None


def _spec_ok(specs: Sequence[Any], strings: Strings, record_names: Sequence[str]) -> bool:
    if set(map(type, specs)) != {dict}:
        return False
    columns = columns_of(list(specs), _SPEC_COLUMNS, _SPEC)
    if columns is None:
        return False
    images, protect, itypes, names, nodes, prevent, keys = columns
    strings.count += len(_SPEC_COLUMNS) * len(specs)
    if set(map(type, nodes)) != {int} or min(nodes) < 1:
        return False
    if not set(map(type, protect)) | set(map(type, prevent)) <= {bool}:
        return False
    same_names = list(names) == list(record_names)  # as the executor records them: then checked once
    if not (_distinct(rules.SPEC_RULES["instance_type"], itypes, strings)
            and (strings.typed(names) if same_names else texts(names, strings))
            and _distinct(rules.SPEC_RULES["container"], present(images), strings)):
        return False
    return set(map(type, keys)) == {list} and _distinct(rules.PUBLIC_KEY_RULE, list(chain.from_iterable(keys)), strings)


def _records_ok(data: list[dict[str, Any]], columns: list[Sequence[Any]], messages: Sequence[Any],
                strings: Strings) -> bool:
    cluster_ids, created, instance_ids, intent_ids, names, request_ids, specs, statuses, updated = columns
    try:
        if not _STATUS_WORDS.issuperset(statuses):
            return False
    except TypeError:  # an unhashable status
        return False
    strings.count += len(statuses) + sum(map(len, data))  # the statuses and every key
    if not (texts(names, strings) and _spec_ok(specs, strings, names)) or set(map(type, instance_ids)) != {list}:
        return False
    ids = present(cluster_ids)
    for values in (ids, present(request_ids), present(intent_ids), list(chain.from_iterable(instance_ids))):
        if not lines_match(ID_LINES, values, strings):
            return False
    if len(set(ids)) != len(ids):
        return False  # one cluster at two addresses
    if set(compress(statuses, map(is_, cluster_ids, repeat(None)))) & rules.NEEDS_CLUSTER_ID:
        return False  # a record past `pending` without its cluster
    if not (times(created, strings) and times(updated, strings)):
        return False
    notes = present(messages)
    return strings.typed(notes)


def _top_ok(doc: dict[str, Any], strings: Strings) -> bool:
    if doc.keys() != _TOP or type(doc["format_version"]) is not int or doc["format_version"] != FORMAT_VERSION:
        return False
    serial, engine = doc["serial"], doc["engine"]
    if type(serial) is not int or serial < 0 or type(doc["resources"]) is not dict:
        return False
    strings.count += len(doc)  # the keys
    if not (strings.typed([doc["tool_version"]]) and lines_match(_STACKS, [doc["stack"]], strings)
            and lines_match(ID_LINES, [doc["lineage"]], strings)):
        return False
    return engine is None or texts([engine], strings)


def read_fast(doc: Any, raw: bytes | None) -> State | None:
    """The State `doc` (decoded from `raw` by the C scanner) holds, if it keeps every rule; else None.

    `raw` None: `doc` was built in memory (a state about to be written), so no key can have been lost."""
    strings = Strings()
    volumes: dict[str, VolumeRecord] | None = None
    if type(doc) is dict and "volumes" in doc:  # volume records (issue 15): checked by their rules, counted here
        volumes = _volume_records(doc["volumes"], strings)
        if volumes is None:
            return None
        doc = {k: v for k, v in doc.items() if k != "volumes"}
    if type(doc) is not dict or not _top_ok(doc, strings):
        return None
    resources: dict[str, Any] = doc["resources"]
    addresses, data = list(resources), list(resources.values())
    records: dict[str, Record] = {}
    if data:
        if set(map(type, data)) != {dict} or not lines_match(ADDRESS_LINES, addresses, strings):
            return None
        found = _record_columns(data)
        if found is None:
            return None
        columns, messages = found
        if not _records_ok(data, columns, messages, strings):
            return None
        records = _build(addresses, columns, messages)
    if raw is not None and ((raw.find(b"\\") != -1 and b'\\"' in raw) or raw.count(b'"') != 2 * strings.count):
        return None  # a key may have been lost to a duplicate: the careful path decides
    state = State(stack=doc["stack"], lineage=doc["lineage"], serial=doc["serial"], resources=records,
                  tool_version=doc["tool_version"], engine=doc["engine"])
    if volumes is not None:
        state = replace_fields(state, volumes=volumes)
    return state


def read_trusted(doc: Any) -> State | None:
    """The State of a document whose bytes carry the verified stamp (tpdeclare.state.verified): built as the
    careful path would build it, with no rule checked again (None: not a document this can build, so the
    caller checks it after all)."""
    if type(doc) is not dict or type(doc.get("resources")) is not dict:
        return None
    from tpdeclare.state.fast_volumes import trusted_volumes

    resources: dict[str, Any] = doc["resources"]
    addresses, data = list(resources), list(resources.values())
    found = _record_columns(data) if data and set(map(type, data)) == {dict} else None
    try:
        records = _build(addresses, *found) if found is not None else {
            a: Record.from_json(a, d) for a, d in resources.items()}
        return State(stack=doc["stack"], lineage=doc["lineage"], serial=doc["serial"], resources=records,
                     tool_version=doc.get("tool_version", ""), engine=doc.get("engine"),
                     volumes=trusted_volumes(doc.get("volumes") or {}))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _volume_records(volumes: Any, strings: Strings) -> dict[str, VolumeRecord] | None:
    """The state's volume records when every one keeps its rules (else None: the careful path says what is wrong),
    with every string in `volumes` counted (the "volumes" key too) for the duplicate-key proof: a column at a time
    in dump_state's layout (tpdeclare.state.fast_volumes), else one record at a time."""
    from tpdeclare.state.fast_volumes import volume_records

    counted = Strings()
    records = volume_records(volumes, counted)
    if records is not None:
        strings.count += counted.count
        return records
    from tpdeclare.state.volume_rules import check_volumes
    from tpdeclare.state.volumes import VolumeRecord

    if type(volumes) is not dict or not volumes or check_volumes(volumes):
        return None  # (an empty `volumes` is never written: the careful path judges it)
    strings.count += 1 + _count_strings(volumes)
    return {a: VolumeRecord.from_json(a, d) for a, d in volumes.items()}


def _count_strings(value: Any) -> int:
    """Keys and string values in a decoded JSON value."""
    if type(value) is dict:
        return sum(1 + _count_strings(v) for v in value.values())
    if type(value) is list:
        return sum(_count_strings(v) for v in value)
    return 1 if type(value) is str else 0


def _record_columns(data: list[dict[str, Any]]) -> tuple[list[Sequence[Any]], Sequence[Any]] | None:
    """The nine columns of the records, and their messages (a tenth key a record may keep)."""
    noted = sum(map(dict.__contains__, data, repeat("message")))
    if not noted:
        columns = columns_of(data, _COLUMNS, _RECORD)
        return None if columns is None else (columns, [None] * len(data))
    if noted == len(data):
        columns = columns_of(data, _NOTED_COLUMNS, _NOTED)
        return None if columns is None else (columns[:4] + columns[5:], columns[4])
    if sum(map(len, data)) != len(_COLUMNS) * len(data) + noted:
        return None
    try:
        return [list(map(itemgetter(key), data)) for key in _COLUMNS], [d.get("message") for d in data]
    except KeyError:
        return None


def _build(addresses: list[str], columns: list[Sequence[Any]], messages: Sequence[Any]) -> dict[str, Record]:
    """Records from checked columns, each field set by its slot, a column at a time: the constructor's
    own checks would find nothing left, and skipping them makes building 3× faster."""
    cluster_ids, created, instance_ids, intent_ids, names, request_ids, specs, statuses, updated = columns
    unset = [None] * len(addresses)  # expired_at and lifetime: a record on this path has neither
    values: tuple[Sequence[Any], ...] = (addresses, list(map(BY_VALUE.__getitem__, statuses)), names, specs,
                                         cluster_ids, list(map(tuple, instance_ids)), request_ids, intent_ids,
                                         created, updated, messages, unset, unset)
    return from_columns(Record, _SETTERS, addresses, values)


def from_columns(cls: type[T], setters: Sequence[Callable[[T, Any], None]], addresses: list[str],
                 values: Sequence[Sequence[Any]]) -> dict[str, T]:
    """address -> an instance of the slotted `cls` per address, each slot set by its setter from its column."""
    built: list[T] = list(map(object.__new__, repeat(cls, len(addresses))))
    for setter, column in zip(setters, values, strict=True):
        any(map(setter, built, column))  # each returns None: `any` runs them all, in C
    return dict(zip(addresses, built, strict=True))
