"""The field names the client reads answers by: proposed by the contract or the engine's OpenAPI document,
then checked against the real answers, which win only when they map unambiguously.

A `FieldMap` starts from the built-in contract (`BUILTIN_FIELDS`, specs/tensorpool-api.json). Discovery
may `propose` the names the engine's document gives. The first real answer that holds a field settles
it: the proposed name when it is there with the right kind, else the one known alias that is (a warning
says so), else the answer is refused with the names looked for and the names found. A strict map (what
a client built with an explicit `ResponseFields` uses) reads exactly the names it was given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from typing import Any

from tpdeclare.api.field_aliases import (
    GROUPS,
    INFO_WRAPPER,
    LIST_WRAPPER,
    Alias,
    Picked,
    json_type,
    kinds_of,
    pick,
)
from tpdeclare.api.vocabulary import BUILTIN_FIELDS, ResponseFields
from tpdeclare.frozen_values import frozen

CONTRACT = "contract"  # the built-in contract
DOCUMENT = "document"  # the engine's OpenAPI document
RESPONSE = "response"  # the engine's real answer
ORIGIN_WORDS = {CONTRACT: "the built-in contract", DOCUMENT: "the engine's OpenAPI document",
                RESPONSE: "the engine's answer"}
SHOWN_KEYS = 12
SHOWN_KEY_CHARS = 40


def field_path(where: str, key: str) -> str:
    """Where a field is in an answer: `key` inside `where` (`clusters[0].status`), or `key` in the body."""
    return f"{where}.{key}" if where else key


class ShapeError(Exception):
    """A 2xx body does not have the expected shape, or holds a value that is not safe to use."""


class TextOnly(ShapeError):
    """A list or info answer with no structured cluster in it (e.g. only a text `message`)."""

    def __init__(self, message: str, seen: str):
        super().__init__(message)
        self.seen = seen  # what the answer held instead, for the refusal


@frozen
class Mapped:
    """How one field is read: its wire name (None for a wrapper: the object itself), where that name came
    from, and whether a real answer has shown it."""

    name: str | None
    origin: str
    confirmed: bool

    def as_json(self) -> dict[str, Any]:
        return {"wire": self.name, "origin": self.origin, "confirmed": self.confirmed}


class FieldMap:
    """The names answers are read by, settled field by field against real answers (thread-safe)."""

    def __init__(self, fields: ResponseFields = BUILTIN_FIELDS, *, strict: bool = False,
                 warn: Callable[[str], None] = lambda line: None):
        self.fields = fields
        self.strict = strict
        self._warn = warn
        self._origin = dict.fromkeys(asdict(fields), CONTRACT)
        self._confirmed: set[str] = set()
        self._pending = {group: aliases for group, aliases in GROUPS.items()}
        self._seen: dict[str, tuple[str, ...]] = {}  # group -> the fields of the first object read
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------ proposals
    def propose(self, names: Mapping[str, str | None]) -> None:
        """Adopt the names an OpenAPI document gives (attribute -> wire name), before any answer is read."""
        with self._lock:
            self.fields = replace(self.fields, **_as_any(names))
            self._origin.update(dict.fromkeys(names, DOCUMENT))

    def seen_fields(self, group: str) -> tuple[str, ...]:
        """The field names of the first real object of `group` read (empty before one is)."""
        return self._seen.get(group, ())

    def mapped(self, attr: str) -> Mapped:
        return Mapped(getattr(self.fields, attr), self._origin[attr], attr in self._confirmed)

    def report(self) -> dict[str, dict[str, Mapped]]:
        """Per answer: how each field tpdeclare reads is mapped."""
        with self._lock:
            out = {"list": {LIST_WRAPPER.attr: self.mapped(LIST_WRAPPER.attr)},
                   "info": {INFO_WRAPPER.attr: self.mapped(INFO_WRAPPER.attr)}}
            for group, aliases in GROUPS.items():
                out[group] = {a.attr: self.mapped(a.attr) for a in aliases}
            return out

    # ------------------------------------------------------------------------------------ answers
    def settle(self, group: str, obj: Mapping[str, Any], where: str) -> ResponseFields:
        """The names to read `obj` (one object of `group`) by, once the fields it shows are settled."""
        if group not in self._seen:
            self._seen.setdefault(group, tuple(k for k in obj if isinstance(k, str)))
        if self.strict or not self._pending[group]:
            return self.fields
        with self._lock:
            present = kinds_of(obj)
            names: dict[str, str | None] = {}
            renamed: list[tuple[Alias, str | None, str | None]] = []
            still: list[Alias] = []
            for alias in self._pending[group]:
                current = getattr(self.fields, alias.attr)
                got = pick(alias, present, current)
                if got.name is None:
                    if got.ambiguous or alias.required:
                        raise ShapeError(self._unreadable(alias, got, present, where))
                    still.append(alias)  # optional and absent here: settled by a later object
                    continue
                if got.name != current:
                    names[alias.attr] = got.name
                    renamed.append((alias, current, got.name))
                self._confirmed.add(alias.attr)
            self._say_disagreement(renamed)
            self._commit(names)
            self._pending[group] = tuple(still)
            return self.fields

    def list_items(self, data: Any) -> tuple[list[Any], str]:
        """The clusters of a list answer, and where they are (for messages)."""
        if isinstance(data, list):  # tolerate a bare array
            return data, ""
        d = json_object(data, "")
        name = self.fields.clusters
        if self.strict or (LIST_WRAPPER.attr in self._confirmed and name is not None):
            items = d.get(name) if name is not None else None
            if not isinstance(items, list):
                if items is None:
                    raise ShapeError(f"field '{name}' is missing")
                raise ShapeError(f"field '{name}' should be an array, not {json_type(items)}")
            return items, name or ""
        got = self._settle_wrapper(LIST_WRAPPER, d)
        return d[got], got

    def info_object(self, data: Any) -> tuple[Any, str]:
        """The cluster object of an info answer, and where it is (for messages)."""
        d = json_object(data, "")
        f = self.fields
        if self.strict:
            if f.cluster_info is not None and f.cluster_info in d:
                return d[f.cluster_info], f.cluster_info
            if f.cluster_id in d:  # tolerate the ClusterInfo at top level
                return d, ""
            raise ShapeError(f"field '{f.cluster_info}' is missing")
        if f.cluster_info is None or f.cluster_info not in d:
            id_alias = GROUPS["cluster"][0]
            if pick(id_alias, kinds_of(d), f.cluster_id).name is not None:
                self._settle_bare(INFO_WRAPPER)
                return d, ""
        got = self._settle_wrapper(INFO_WRAPPER, d)
        return d[got], got

    # ------------------------------------------------------------------------------------ inside
    def _settle_wrapper(self, alias: Alias, d: Mapping[str, Any]) -> str:
        present = kinds_of(d)
        with self._lock:
            current = getattr(self.fields, alias.attr)
            got = pick(alias, present, current)
            if got.name is None:
                if got.ambiguous:
                    raise ShapeError(self._unreadable(alias, got, present, ""))
                seen = describe_fields(d)
                raise TextOnly(f"it holds no {alias.label.removeprefix('the ')} tpdeclare can read (looked for "
                               f"{_names(alias.names)}; the answer has {seen})", seen)
            if got.name != current:
                self._say_disagreement([(alias, current, got.name)])
                self._commit({alias.attr: got.name})
            self._confirmed.add(alias.attr)
            return got.name

    def _settle_bare(self, alias: Alias) -> None:
        with self._lock:
            current = getattr(self.fields, alias.attr)
            if current is not None:
                self._say_disagreement([(alias, current, None)])
                self._commit({alias.attr: None})
            self._confirmed.add(alias.attr)

    def _commit(self, names: Mapping[str, str | None]) -> None:
        if names:
            self.fields = replace(self.fields, **_as_any(names))
            self._origin.update(dict.fromkeys(names, RESPONSE))

    def _say_disagreement(self, renamed: list[tuple[Alias, str | None, str | None]]) -> None:
        """One warning for the fields one answer names otherwise than the document or the contract said."""
        if not renamed:
            return
        origins = sorted({ORIGIN_WORDS[self._origin[alias.attr]] for alias, _, _ in renamed})
        parts = [f"{alias.label} {_wire(found)} (not {_wire(current)})" for alias, current, found in renamed]
        self._warn(f"the engine's answers name these fields otherwise than {' and '.join(origins)} "
                   f"{'say' if len(origins) > 1 else 'says'}: {', '.join(parts)}; reading the answers' names")

    def _unreadable(self, alias: Alias, got: Picked, present: Mapping[str, frozenset[str]], where: str) -> str:
        place = f" in {where}" if where else ""
        if got.ambiguous:
            return (f"cannot tell which field{place} is {alias.label}: {_names(got.candidates)} all could be, "
                    f"and {ORIGIN_WORDS[self._origin[alias.attr]]} names '{getattr(self.fields, alias.attr)}'")
        shown = shown_keys(list(present))
        return (f"no field{place} can be read as {alias.label} (looked for {_names(alias.names)} as "
                f"{alias.kind}; it has {shown or 'no fields'})")


def describe_fields(d: Mapping[str, Any]) -> str:
    """What an object holds, for a refusal: `only a text message ('message')` or its field names."""
    keys = [k for k in d if isinstance(k, str)]
    if keys and all(isinstance(d[k], str) for k in keys):
        return f"only a text message ({shown_keys(keys)})"
    if not keys:
        return "no fields at all"
    return "the fields " + shown_keys(keys)


def shown_keys(keys: list[str]) -> str:
    """Field names an engine sent, for a message: quoted and escaped (repr), each cut short, at most a dozen."""
    shown = [repr(k[:SHOWN_KEY_CHARS]) + ("…" if len(k) > SHOWN_KEY_CHARS else "") for k in keys[:SHOWN_KEYS]]
    return ", ".join(shown) + (" …" if len(keys) > SHOWN_KEYS else "")


def _wire(name: str | None) -> str:
    return "the object itself" if name is None else repr(name)


def _as_any(names: Mapping[str, str | None]) -> dict[str, Any]:
    """Names for `dataclasses.replace` (the wrappers take None, every other field a string)."""
    return dict(names)


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(repr(n) for n in names)


def json_object(value: object, where: str) -> dict[str, Any]:
    """`value` when it is a JSON object; a ShapeError naming `where` (`""`: the body) otherwise."""
    if not isinstance(value, dict):
        raise ShapeError(f"{where or 'the body'} should be a JSON object, not {json_type(value)}")
    return value
