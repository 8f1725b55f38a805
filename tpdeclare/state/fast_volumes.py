"""Reading a state's volume records fast: every rule of tpdeclare.state.volume_rules checked a column at a time.

The volumes' counterpart of tpdeclare.state.fast_read's record columns, for the layout dump_state writes
(sorted keys, no `message`). Any other layout answers None, and the caller checks one volume at a time
(state/volume_rules.py); a column that breaks a rule answers None too, and the careful path then names the
problem. So this path may refuse a good document but never accepts a bad one (tests/test_state_fast_volumes.py
checks both paths agree on generated and damaged documents).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, compress, repeat
from operator import is_, is_not
from typing import Any

from tpdeclare.state.fast_read import (
    ADDRESS_LINES,
    BY_VALUE,
    ID_LINES,
    Strings,
    columns_of,
    from_columns,
    lines_match,
    present,
    texts,
    times,
)
from tpdeclare.state.volumes import VOLUME_SPEC_KEYS, VolumeRecord

# a volume's keys as dump_state writes them (VolumeRecord.to_json, sorted); `message` would be the fourth
_COLUMNS = ("attached", "created_at", "intent_id", "name", "request_id", "spec", "status", "storage_id", "updated_at")
_SPEC_COLUMNS = tuple(sorted(VOLUME_SPEC_KEYS))
_RECORD, _SPEC = frozenset(_COLUMNS), frozenset(_SPEC_COLUMNS)
_STATUS_WORDS = frozenset(BY_VALUE) - {"expired"}  # lifetimes are clusters' only
_NEEDS_ID = _STATUS_WORDS - {"pending"}
_SETTERS = tuple(getattr(VolumeRecord, name).__set__ for name in (
    "address", "status", "name", "spec", "storage_id", "attached", "request_id", "intent_id", "created_at",
    "updated_at", "message"))


def volume_records(volumes: Any, strings: Strings) -> dict[str, VolumeRecord] | None:
    """The VolumeRecords of the state's `volumes`, when it has dump_state's layout and keeps every rule (else None),
    with every string in it counted, the "volumes" key too, for the duplicate-key proof."""
    if type(volumes) is not dict or not volumes:
        return None  # (an empty `volumes` is never written: the careful path judges it)
    addresses, data = list(volumes), list(volumes.values())
    if set(map(type, data)) != {dict} or not lines_match(ADDRESS_LINES, addresses, strings):
        return None
    columns = columns_of(data, _COLUMNS, _RECORD)
    if columns is None:
        return None
    attached, created, intent_ids, names, request_ids, specs, statuses, storage_ids, updated = columns
    strings.count += 1 + len(_COLUMNS) * len(data)  # "volumes" and every record's keys
    try:
        if not _STATUS_WORDS.issuperset(statuses):
            return None
    except TypeError:  # an unhashable status
        return None
    strings.count += len(statuses)
    if not (texts(names, strings) and _specs_ok(specs, strings) and _attached_ok(attached, strings)):
        return None
    ids = present(storage_ids)
    for values in (ids, present(request_ids), present(intent_ids)):
        if not lines_match(ID_LINES, values, strings):
            return None
    if len(set(ids)) != len(ids):
        return None  # one volume at two addresses
    if set(compress(statuses, map(is_, storage_ids, repeat(None)))) & _NEEDS_ID:
        return None  # a record past `pending` without its volume
    if not (times(created, strings) and times(updated, strings)):
        return None
    return _build(addresses, columns)


def trusted_volumes(volumes: dict[str, Any]) -> dict[str, VolumeRecord]:
    """The VolumeRecords of a verified document's `volumes` (no rule checked again), built as `volume_records`
    builds them when they have dump_state's layout, else one at a time."""
    data = list(volumes.values())
    columns = columns_of(data, _COLUMNS, _RECORD) if data and set(map(type, data)) == {dict} else None
    if columns is None:
        return {a: VolumeRecord.from_json(a, d) for a, d in volumes.items()}
    return _build(list(volumes), columns)


def _specs_ok(specs: Sequence[Any], strings: Strings) -> bool:
    if set(map(type, specs)) != {dict}:
        return False
    columns = columns_of(list(specs), _SPEC_COLUMNS, _SPEC)
    if columns is None:
        return False
    protect, names, prevent, sizes = columns
    strings.count += len(_SPEC_COLUMNS) * len(specs)
    if set(map(type, sizes)) != {int} or min(sizes) < 1:
        return False
    return set(map(type, protect)) | set(map(type, prevent)) <= {bool} and texts(names, strings)


def _attached_ok(attached: Sequence[Any], strings: Strings) -> bool:
    """Every `attached` is an object of cluster address -> cluster ID (an ID, never null)."""
    if set(map(type, attached)) - {dict}:
        return False
    clusters = list(chain.from_iterable(attached))
    cluster_ids = list(chain.from_iterable(map(dict.values, attached)))
    return (all(map(is_not, cluster_ids, repeat(None))) and lines_match(ADDRESS_LINES, clusters, strings)
            and lines_match(ID_LINES, cluster_ids, strings))


def _build(addresses: list[str], columns: list[Sequence[Any]]) -> dict[str, VolumeRecord]:
    """VolumeRecords from checked columns, each field set by its slot (as fast_read builds cluster records)."""
    attached, created, intent_ids, names, request_ids, specs, statuses, storage_ids, updated = columns
    values: tuple[Sequence[Any], ...] = (addresses, list(map(BY_VALUE.__getitem__, statuses)), names, specs,
                                         storage_ids, attached, request_ids, intent_ids, created, updated,
                                         [None] * len(addresses))
    return from_columns(VolumeRecord, _SETTERS, addresses, values)
