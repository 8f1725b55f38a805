"""Parse, validate and serialise state documents (bytes <-> State) with precise StateErrors."""

from __future__ import annotations

import dataclasses
import gc
import json
from typing import Any

from tpdeclare.errors import StateError
from tpdeclare.state.model import FORMAT_VERSION, STATUSES, Record, State

# Record keys that must be present in every stored record; the rest default when absent.
REQUIRED_RECORD_KEYS = ("status", "name", "spec")
_OPTIONAL_STR_KEYS = ("cluster_id", "request_id", "intent_id", "created_at", "updated_at", "message", "expired_at",
                      "lifetime")
REQUIRED_TOP_KEYS = ("format_version", "stack", "lineage", "serial", "resources")


def backup_hint(source: str) -> str:
    """The hint shared by every 'cannot read this file' error."""
    return (
        f"the file was left untouched; restore the newest good backup "
        f"({source}.1, then {source}.2 … {source}.5) or fix it by hand"
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a state file")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _byte_offset(text: str, char_pos: int) -> int:
    return len(text[:char_pos].encode("utf-8"))


def loads_json(raw: bytes, *, source: str, what: str = "state file") -> Any:
    """Decode UTF-8 JSON strictly (no NaN, no duplicate keys); StateError says where it broke."""
    if not raw.strip():
        raise StateError(f"{what} {source} is empty (truncated or corrupt)", hint=backup_hint(source))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateError(
            f"{what} {source} is truncated or corrupt: not UTF-8 text "
            f"(invalid byte at offset {exc.start})",
            hint=backup_hint(source),
        ) from exc
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        # An unterminated string can only run into the end of the text (raw newlines are refused).
        if not text[exc.pos:].strip() or exc.msg.startswith("Unterminated string"):
            line = text.count("\n") + 1
            col = len(text) - (text.rfind("\n") + 1) + 1
            where = f"the JSON ends early at line {line}, column {col} (byte offset {len(raw)}, the end of the file)"
        else:
            where = (f"invalid JSON at line {exc.lineno}, column {exc.colno} "
                     f"(byte offset {_byte_offset(text, exc.pos)}): {exc.msg}")
        raise StateError(f"{what} {source} is truncated or corrupt: {where}",
                         hint=backup_hint(source)) from exc
    except ValueError as exc:  # raised by the hooks above
        raise StateError(f"{what} {source} is corrupt: {exc}", hint=backup_hint(source)) from exc


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def record_keys() -> frozenset[str]:
    """Every key a stored record may carry (the Record fields, less the address)."""
    return frozenset(f.name for f in dataclasses.fields(Record)) - {"address"}


_RECORD_KEYS = record_keys()
_STATUS_SET = frozenset(STATUSES)
_STR_OR_NONE = (str, type(None))


def _record_is_clean(data: Any) -> bool:
    """The fast path for a well-formed record (the common case: a file tpdeclare wrote); False means
    "look closer", and _check_record then says exactly what is wrong."""
    if type(data) is not dict or not data.keys() <= _RECORD_KEYS:
        return False
    if data.get("status") not in _STATUS_SET or type(data.get("name")) is not str or type(data.get("spec")) is not dict:
        return False
    for key in _OPTIONAL_STR_KEYS:
        if type(data.get(key)) not in _STR_OR_NONE:
            return False
    ids = data.get("instance_ids", ())
    return type(ids) in (list, tuple) and all(type(i) is str for i in ids)


def _check_record(address: str, data: Any, where: str) -> list[str]:
    if address and _record_is_clean(data):
        return []
    problems: list[str] = []
    if not isinstance(data, dict):
        return [f"{where}: expected an object, got {_type_name(data)}"]
    for key in REQUIRED_RECORD_KEYS:
        if key not in data:
            problems.append(f"{where}: missing key {key!r}")
    unknown = sorted(set(data) - record_keys())
    for key in unknown:
        problems.append(f"{where}: unknown key {key!r} (written by a newer tpdeclare?)")
    status = data.get("status")
    if "status" in data:
        if not isinstance(status, str):
            problems.append(f"{where}.status: expected a string, got {_type_name(status)}")
        elif status not in STATUSES:
            problems.append(
                f"{where}.status: unknown status {status!r} (expected one of {', '.join(STATUSES)})"
            )
    if "name" in data and not isinstance(data["name"], str):
        problems.append(f"{where}.name: expected a string, got {_type_name(data['name'])}")
    if "spec" in data and not isinstance(data["spec"], dict):
        problems.append(f"{where}.spec: expected an object, got {_type_name(data['spec'])}")
    for key in _OPTIONAL_STR_KEYS:
        if key in data and data[key] is not None and not isinstance(data[key], str):
            problems.append(f"{where}.{key}: expected a string or null, got {_type_name(data[key])}")
    if "instance_ids" in data:
        ids = data["instance_ids"]
        if not isinstance(ids, list):
            problems.append(f"{where}.instance_ids: expected an array, got {_type_name(ids)}")
        else:
            for i, item in enumerate(ids):
                if not isinstance(item, str):
                    problems.append(
                        f"{where}.instance_ids[{i}]: expected a string, got {_type_name(item)}"
                    )
    if not address:
        problems.append(f"{where}: the address is empty")
    return problems


def _fail(source: str, problems: list[str], what: str = "state file",
          hint: str | None = None) -> StateError:
    if len(problems) == 1:
        message = f"{what} {source} is invalid: {problems[0]}"
    else:
        message = f"{what} {source} is invalid ({len(problems)} problems):\n" + "\n".join(
            f"  - {p}" for p in problems
        )
    return StateError(message, hint=hint or backup_hint(source))


def parse_record(address: str, data: Any, *, source: str, where: str, what: str = "state file",
                 hint: str | None = None) -> Record:
    """Validate one stored record and build it; StateError names `source` and `where`."""
    problems = _check_record(address, data, where)
    if problems:
        raise _fail(source, problems, what, hint)
    return Record.from_json(address, data)


def newer_format_error(source: str, version: int, tool_version: Any = None, what: str = "state file") -> StateError:
    """The error for a document written by a newer tpdeclare than this one."""
    by = f" {tool_version}" if isinstance(tool_version, str) and tool_version else ""
    return StateError(
        f"{what} {source} was written by a newer tpdeclare{by} (format {version}); "
        f"this tpdeclare reads format {FORMAT_VERSION} at most",
        hint="upgrade tpdeclare; the file was left untouched",
    )


def check_format_version(doc: dict, *, source: str, what: str = "state file") -> None:
    """Refuse a missing, malformed or newer `format_version` before looking at anything else."""
    if "format_version" not in doc:
        raise _fail(source, ["missing key 'format_version'"], what)
    version = doc["format_version"]
    if not _is_int(version) or version < 1:
        raise _fail(source, [f"format_version: expected a positive integer, got {version!r}"], what)
    if version > FORMAT_VERSION:
        raise newer_format_error(source, version, doc.get("tool_version"), what)


def parse_state(raw: bytes, *, source: str) -> State:
    """Parse and fully validate a state document; any problem is a StateError naming `source`."""
    paused = gc.isenabled()
    gc.disable()  # many small acyclic objects: the cyclic GC's scans were a third of the read time
    try:
        return _parse_state(raw, source=source)
    finally:
        if paused:
            gc.enable()


def _parse_state(raw: bytes, *, source: str) -> State:
    doc = loads_json(raw, source=source)
    if not isinstance(doc, dict):
        raise _fail(source, [f"expected a JSON object at the top level, got {_type_name(doc)}"])
    check_format_version(doc, source=source)
    problems = [f"missing key {key!r}" for key in REQUIRED_TOP_KEYS if key not in doc]
    allowed = set(State(stack="_").to_json())
    problems += [f"unknown top-level key {key!r} (written by a newer tpdeclare?)"
                 for key in sorted(set(doc) - allowed)]
    for key in ("stack", "lineage"):
        if key in doc and (not isinstance(doc[key], str) or not doc[key]):
            problems.append(f"{key}: expected a non-empty string, got {doc[key]!r}")
    if doc.get("engine") is not None and (not isinstance(doc["engine"], str) or not doc["engine"]):
        problems.append(f"engine: expected a non-empty string or null, got {doc['engine']!r}")
    if "tool_version" in doc and not isinstance(doc["tool_version"], str):
        problems.append(f"tool_version: expected a string, got {_type_name(doc['tool_version'])}")
    if "serial" in doc and (not _is_int(doc["serial"]) or doc["serial"] < 0):
        problems.append(f"serial: expected a non-negative integer, got {doc['serial']!r}")
    resources = doc.get("resources", {})
    if not isinstance(resources, dict):
        problems.append(f"resources: expected an object, got {_type_name(resources)}")
        resources = {}
    for address, data in resources.items():
        problems += _check_record(address, data, f"resources.{address}")
    if problems:
        raise _fail(source, problems)
    return State(
        stack=doc["stack"],
        lineage=doc["lineage"],
        serial=doc["serial"],
        resources={addr: Record.from_json(addr, data) for addr, data in resources.items()},
        tool_version=doc.get("tool_version", ""),
        engine=doc.get("engine"),
    )


def dump_state(state: State) -> bytes:
    """Serialise a State stably: sorted keys, 2-space indent, trailing newline, UTF-8."""
    return (json.dumps(state.to_json(), sort_keys=True, indent=2) + "\n").encode("utf-8")


def dump_line(obj: dict) -> bytes:
    """One compact, sorted JSON line (for the journal), newline included."""
    return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
