"""The rules every stored record and state document keeps: each field's type and grammar, problems by JSON path.

A record that breaks any rule is never acted on: a `num_nodes` of "2" would read as a change from
2 and replace a healthy cluster. The same rules serve the state file, the journal and every write
(tpdeclare never stores what it would refuse to read). `fast_read` checks the same rules a column at
a time; these functions are the reference and say exactly what is wrong and where.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeGuard

from tpdeclare.frozen_values import fields, frozen
from tpdeclare.identifiers import ADDRESS, ENGINE_ID, INSTANCE_TYPE, STACK
from tpdeclare.state.model import STATUSES, Record

# One OpenSSH public key, as the spec schema allows it: <type> <body> [comment] (and printable: one line).
PUBLIC_KEY = re.compile(r"(?:ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ +\S+(?: .*)?")
# An RFC 3339 time with its timezone (`Z` or a numeric offset), e.g. 2026-11-26T10:00:00Z.
TIMESTAMP = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):"
                       r"[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

STATUS_SET = frozenset(STATUSES)
# every status after the engine accepted the create, but `expired`: its cluster is gone (a memory of the expiry)
NEEDS_CLUSTER_ID = frozenset(STATUSES) - {"pending", "expired"}
RECORD_KEYS = frozenset(f.name for f in fields(Record) if f.name != "address")
REQUIRED_RECORD_KEYS = ("status", "name", "spec")
SPEC_KEYS = ("instance_type", "num_nodes", "name", "container", "deletion_protection", "public_keys",
             "prevent_destroy")
TOP_KEYS = ("format_version", "tool_version", "stack", "engine", "lineage", "serial", "resources")
OPTIONAL_TOP_KEYS = ("volumes",)  # present only when the state has one (the fast reader leaves it to these rules)
REQUIRED_TOP_KEYS = ("format_version", "stack", "lineage", "serial", "resources")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@frozen
class Problem:
    """One broken rule: where (a JSON path), what is wrong, and the record it makes unusable, if one."""

    path: str
    text: str
    address: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.text}" if self.path else self.text


def child(path: str, key: str) -> str:
    """The JSON path of `key` inside the object at `path`."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), "object" if isinstance(value, dict) else type(value).__name__)


def shown(value: Any) -> str:
    """What a wrong value was, short and with every control character escaped."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = repr(value)
        return f"{type_name(value)} {text[:60] + '…' if len(text) > 60 else text}"
    return type_name(value)


def is_int(value: object) -> TypeGuard[int]:
    """An integer, and not a boolean (JSON's true is no count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_text(value: object) -> TypeGuard[str]:
    """A non-empty printable string: no control or format characters (a newline, an ANSI escape, a
    right-to-left override), no line or paragraph separators, no lone surrogates."""
    return isinstance(value, str) and value != "" and value.isprintable()


def is_container(value: object) -> bool:
    """A container image reference as the spec schema allows it: printable, no spaces, at most 512."""
    return is_text(value) and len(value) <= 512 and " " not in value


def is_public_key(value: object) -> bool:
    """One OpenSSH public key on one line."""
    return is_text(value) and PUBLIC_KEY.fullmatch(value) is not None


def is_timestamp(value: str) -> bool:
    """True for an RFC 3339 time with a timezone naming a real day (no 30 February)."""
    if TIMESTAMP.fullmatch(value) is None:
        return False
    year, month, day = int(value[:4]), int(value[5:7]), int(value[8:10])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= _MONTH_DAYS[month - 1] + (1 if month == 2 and leap else 0)


# -- one value --------------------------------------------------------------------------------------
# Each rule returns None for a good value, else what was expected.

Rule = Callable[[Any], str | None]


def _grammar(grammar: re.Pattern[str] | Callable[[Any], bool], expected: str, *, nullable: bool = False) -> Rule:
    def rule(value: Any) -> str | None:
        if value is None and nullable:
            return None
        if isinstance(grammar, re.Pattern):
            if isinstance(value, str) and grammar.fullmatch(value) is not None:
                return None
        elif grammar(value):
            return None
        return expected + (" or null" if nullable else "")
    return rule


def _timestamp(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and is_timestamp(value)):
        return None
    return "an RFC 3339 time with a timezone, like 2026-11-26T10:00:00Z, or null"


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _node_count(value: Any) -> str | None:
    return None if is_int(value) and value >= 1 else "an integer of at least 1"


def _message(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else "a string or null"


_ENGINE_ID = "an engine ID (letters, digits, '-' and '_', at most 128)"
_NAME = "a non-empty string of printable characters"
SPEC_RULES: dict[str, Rule] = {
    "instance_type": _grammar(INSTANCE_TYPE, "an instance type like 8xH200"),
    "num_nodes": _node_count,
    "name": _grammar(is_text, _NAME),
    "container": _grammar(is_container, "a container image without spaces (at most 512 characters)",
                          nullable=True),
    "deletion_protection": _boolean,
    "prevent_destroy": _boolean,
}
RECORD_RULES: dict[str, Rule] = {
    "name": _grammar(is_text, _NAME),
    "cluster_id": _grammar(ENGINE_ID, _ENGINE_ID, nullable=True),
    "request_id": _grammar(ENGINE_ID, _ENGINE_ID, nullable=True),
    "intent_id": _grammar(ENGINE_ID, _ENGINE_ID, nullable=True),
    "created_at": _timestamp,
    "updated_at": _timestamp,
    "message": _message,
    "expired_at": _timestamp,  # when the cluster's lifetime ended (a destroy for expiry: DESIGN §10)
    "lifetime": _grammar(is_text, "the lifetime as the spec said it, e.g. 'expires_after 8h'", nullable=True),
}
PUBLIC_KEY_RULE = _grammar(is_public_key, "one OpenSSH public key on one line (<type> <key> [comment])")


def _check(rule: Rule, value: Any, path: str, address: str | None) -> list[Problem]:
    expected = rule(value)
    return [] if expected is None else [Problem(path, f"expected {expected}, got {shown(value)}", address)]


def _check_list(value: Any, item: Rule, path: str, address: str) -> list[Problem]:
    if not isinstance(value, list):
        return [Problem(path, f"expected an array, got {shown(value)}", address)]
    problems: list[Problem] = []
    for i, entry in enumerate(value):
        problems += _check(item, entry, f"{path}[{i}]", address)
    return problems


def _keys(data: Mapping[str, Any], path: str, allowed: Iterable[str], required: Iterable[str],
          address: str | None, *, newer: bool = True, unknown: str = "unknown key") -> list[Problem]:
    problems = [Problem(path, f"duplicate key {key!r}", address)
                for key in getattr(data, "duplicates", ())]
    missing = [repr(key) for key in required if key not in data]
    if missing:
        problems.append(Problem(path, f"missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)}", address))
    known = set(allowed)
    why = " (written by a newer tpdeclare?)" if newer else ""
    problems += [Problem(path, f"{unknown} {key!r}{why}", address) for key in sorted(set(data) - known)]
    return problems


# -- one record -------------------------------------------------------------------------------------


def check_spec(data: Any, path: str, address: str) -> list[Problem]:
    """The problems of a record's `spec`: every managed field, with its type, and prevent_destroy."""
    if not isinstance(data, dict):
        return [Problem(path, f"expected an object, got {shown(data)}", address)]
    problems = _keys(data, path, SPEC_KEYS, SPEC_KEYS, address, newer=False)
    for key, rule in SPEC_RULES.items():
        if key in data:
            problems += _check(rule, data[key], child(path, key), address)
    if "public_keys" in data:
        problems += _check_list(data["public_keys"], PUBLIC_KEY_RULE, child(path, "public_keys"), address)
    return problems


def entry_start(address: Any, data: Any, path: str) -> tuple[list[Problem], bool]:
    """The problems of a stored entry's address, and whether its value is an object (only then is the rest
    of it checked); shared by cluster and volume records."""
    problems: list[Problem] = []
    if not (isinstance(address, str) and ADDRESS.fullmatch(address)):
        problems.append(Problem(path, "the address is not valid: lowercase letters, digits and hyphens, "
                                      "starting with a letter, at most 63", address))
    if not isinstance(data, dict):
        problems.append(Problem(path, f"expected an object, got {shown(data)}", address))
        return problems, False
    return problems, True


def check_record(address: str, data: Any, path: str) -> list[Problem]:
    """Every problem of one stored record (the object at `path`, kept at `address`)."""
    problems, is_object = entry_start(address, data, path)
    if not is_object:
        return problems
    problems += _keys(data, path, RECORD_KEYS, REQUIRED_RECORD_KEYS, address)
    status = data.get("status")
    if "status" in data and not (isinstance(status, str) and status in STATUS_SET):
        problems.append(Problem(child(path, "status"), (
            f"unknown status {status!r} (expected one of {', '.join(STATUSES)})" if isinstance(status, str)
            else f"expected a string, got {shown(status)}"), address))
    for key, rule in RECORD_RULES.items():
        if key in data:
            problems += _check(rule, data[key], child(path, key), address)
    if "spec" in data:
        problems += check_spec(data["spec"], child(path, "spec"), address)
    if "instance_ids" in data:
        problems += _check_list(data["instance_ids"], RECORD_RULES["cluster_id"], child(path, "instance_ids"),
                                address)
    if isinstance(status, str) and status in NEEDS_CLUSTER_ID and data.get("cluster_id") is None:
        problems.append(Problem(child(path, "cluster_id"), f"a {status!r} record needs its cluster_id, got null",
                                address))
    return problems


def check_unique_cluster_ids(records: Iterable[tuple[str, str | None]], path: str = "resources") -> list[Problem]:
    """One problem per record whose cluster_id an earlier record already holds: one cluster, one address."""
    first: dict[str, str] = {}
    problems = []
    for address, cluster_id in records:
        if cluster_id is None:
            continue
        if cluster_id in first:
            problems.append(Problem(child(child(path, address), "cluster_id"),
                                    f"{cluster_id} is also the cluster_id of {child(path, first[cluster_id])}; "
                                    f"one cluster belongs to one address", address))
        else:
            first[cluster_id] = address
    return problems


# -- the document -----------------------------------------------------------------------------------


def check_document(doc: dict[str, Any]) -> list[Problem]:
    """Every problem of a state document whose format_version was already accepted."""
    problems = _keys(doc, "", TOP_KEYS + OPTIONAL_TOP_KEYS, REQUIRED_TOP_KEYS, None, unknown="unknown top-level key")
    if "stack" in doc:
        problems += _check(_grammar(STACK, "a stack name (lowercase letters, digits and hyphens)"), doc["stack"],
                           "stack", None)
    if "lineage" in doc:
        problems += _check(_grammar(ENGINE_ID, "a lineage ID (letters, digits, '-' and '_')"), doc["lineage"],
                           "lineage", None)
    if doc.get("engine") is not None:
        problems += _check(_grammar(is_text, "an engine URL or 'sandbox'", nullable=True), doc["engine"], "engine",
                           None)
    if "tool_version" in doc and not isinstance(doc["tool_version"], str):
        problems.append(Problem("tool_version", f"expected a string, got {shown(doc['tool_version'])}"))
    if "serial" in doc and not (is_int(doc["serial"]) and doc["serial"] >= 0):
        problems.append(Problem("serial", f"expected a non-negative integer, got {shown(doc['serial'])}"))
    resources = doc.get("resources", {})
    if not isinstance(resources, dict):
        return [*problems, Problem("resources", f"expected an object, got {shown(resources)}")]
    problems += [Problem("resources", f"duplicate key {key!r} (two records at one address)", key)
                 for key in getattr(resources, "duplicates", ())]
    for address, data in resources.items():
        problems += check_record(address, data, child("resources", address))
    problems += check_unique_cluster_ids(
        (a, d.get("cluster_id")) for a, d in resources.items()
        if isinstance(d, dict) and isinstance(d.get("cluster_id"), str))
    if "volumes" in doc:
        from tpdeclare.state.volume_rules import check_volumes

        problems += check_volumes(doc["volumes"])
    return problems

