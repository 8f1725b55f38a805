"""Reading 2xx bodies into typed results, defensively: extra fields are fine, missing, mistyped or unsafe ones are not.

What the server sends is input. Before a value is returned (to be stored in state, used in a URL path or
printed) it is checked:
- every ID (cluster, instance, request, object) must match `identifiers.ENGINE_ID`: no `/`, `..`, `?`,
  `%`, spaces, control characters, nothing over 128 characters;
- names, statuses, instance types, containers and timestamps are refused, never altered, when they hold
  control or invisible formatting characters (or are absurdly long): an altered name could equal one of
  ours, and a stranger's cluster would then be adopted. Refusing fails safe: nothing is looked up by it;
- the server's prose (`message`, `external_message`) is cleaned for a terminal and has the key redacted;
- display-only values (an instance's status and IP addresses) read as unknown (None) when unusable, so a
  new shape of them never fails a list that apply and recovery depend on;
- an SSH command (GET /ssh) must split into words and hold no key, API or private;
- any value that contains the API key is refused, and its message says "containing the API key"
  instead of showing it.
A refusal is a ShapeError, which the client turns into MalformedResponse (MalformedAcceptance for a
create or delete that was accepted).
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import unicodedata
from typing import Any

from tpdeclare.api import status_words
from tpdeclare.api.answer import Answer
from tpdeclare.api.field_aliases import json_type
from tpdeclare.api.field_mapping import FieldMap, ShapeError, field_path, json_object
from tpdeclare.api.models import (
    ClusterInfo,
    CreateResult,
    DeleteResult,
    EditResult,
    InstanceInfo,
    RequestInfo,
    SshCommand,
)
from tpdeclare.api.redaction import Secret, redact
from tpdeclare.api.server_text import clean, excerpt
from tpdeclare.api.status_words import UnknownWords
from tpdeclare.api.vocabulary import JUMPHOST_ID, R_CLUSTER_ID, R_INSTANCE_IDS, R_MESSAGE, R_REQUEST_ID
from tpdeclare.frozen_values import from_fields
from tpdeclare.gc_pause import gc_paused
from tpdeclare.identifiers import is_engine_id

__all__ = ["EMPTY", "BodyReader", "ShapeError", "json_body", "json_type"]

NAME_CHARS = 256
WORD_CHARS = 64  # statuses, request types, instance types, timestamps
CONTAINER_CHARS = 1024
PROSE_CHARS = 2000
COMMAND_CHARS = 1024  # an SSH command line
SHOWN_CHARS = 40

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}", re.ASCII)  # dotted quad, no leading zeros
_PRIVATE_KEY = "PRIVATE KEY"  # the armour of an OpenSSH/PEM private key block

_EXPECTED = {
    "str": "a string",
    "nonempty_str": "a non-empty string",
    "int": "an integer",
    "bool": "a boolean",
    "list": "an array",
    "str_list": "an array of strings",
}
_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "nonempty_str": lambda v: isinstance(v, str) and v != "",
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "str_list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


MISSING: Any = object()  # a field that is absent (or null where null is not allowed)
EMPTY: Any = object()  # an empty 2xx body, where one is acceptable


def json_body(answer: Answer, *, allow_empty: bool = False) -> Any:
    """The decoded JSON of a 2xx answer (EMPTY for an empty body when `allow_empty`)."""
    if answer.oversized:
        raise ShapeError("the body is too large to read")
    raw = answer.body
    if not raw.strip():
        if allow_empty:
            return EMPTY
        raise ShapeError("the body is empty (expected JSON)")
    try:
        with gc_paused():  # a list's decode builds ~40,000 acyclic containers: no collector scans of them
            return json.loads(raw)
    except (ValueError, RecursionError):
        shown = excerpt(raw.decode("utf-8", "replace"), 120)
        raise ShapeError(f"the body is not JSON: {shown!r}") from None


def _is_unsafe(text: str) -> bool:
    """Control characters, invisible formatting (bidi, zero-width), separators that break lines."""
    if text.isascii():
        return not text.isprintable()  # in ASCII, exactly \x00-\x1f and \x7f are not printable
    return any(unicodedata.category(ch) in _UNSAFE_CATEGORIES for ch in text)


def _shown(value: str) -> str:
    """A refused value, quoted and escaped so that it is safe to print."""
    if len(value) <= SHOWN_CHARS:
        return ascii(value)
    return f"{ascii(value[:SHOWN_CHARS])}… ({len(value)} characters)"


class BodyReader:
    """Turns decoded 2xx bodies into results, reading fields by the names the `FieldMap` settles on."""

    def __init__(self, fields: FieldMap, secret: Secret, words: UnknownWords):
        self.map = fields
        self._secret = secret
        self._words = words

    # ---------------------------------------------------------------------------------- bodies
    def message(self, data: Any) -> str:
        if data is EMPTY:  # e.g. 204 No Content: nothing to say, nothing wrong
            return ""
        return self._prose(json_object(data, ""), self.map.fields.message, "")

    def create(self, data: Any) -> CreateResult:
        d = json_object(data, "")
        return CreateResult(
            cluster_id=self._id(d, R_CLUSTER_ID, "", required=True),
            instance_ids=self._id_list(d, R_INSTANCE_IDS, ""),
            request_id=self._id(d, R_REQUEST_ID, "", required=False),
            message=self._prose(d, R_MESSAGE, ""),
        )

    def delete(self, data: Any, cluster_id: str) -> DeleteResult:
        d = json_object(data, "")
        return DeleteResult(
            cluster_id=self._id(d, R_CLUSTER_ID, "", required=False) or cluster_id,
            request_id=self._id(d, R_REQUEST_ID, "", required=False),
            message=self._prose(d, R_MESSAGE, ""),
        )

    def edit(self, data: Any) -> EditResult:
        if data is EMPTY:
            return EditResult(message="", request_id=None)
        d = json_object(data, "")
        f = self.map.settle("edit", d, "")
        return EditResult(message=self._prose(d, f.message, ""),
                          request_id=self._id(d, f.edit_request_id, "", required=False))

    def request_info(self, data: Any, request_id: str, retry_after: float | None) -> RequestInfo:
        d = json_object(data, "")
        f = self.map.settle("request", d, "")
        info = RequestInfo(
            request_id=self._id(d, f.request_id, "", required=False) or request_id,
            request_type=self._text(d, f.request_type, "", WORD_CHARS, required=False),
            status=self._status(d, f.request_status, ""),
            object_id=self._id(d, f.object_id, "", required=False),
            external_message=self._prose(d, f.external_message, "") or None,
            retry_after=retry_after,
        )
        self._words.check(status_words.REQUEST, info.status, f"request {request_id}")
        return info

    def cluster(self, data: Any, where: str) -> ClusterInfo:
        d = json_object(data, where)
        f = self.map.settle("cluster", d, where)
        cluster_id = self._id(d, f.cluster_id, where, required=True)
        jumphost_id = JUMPHOST_ID.format(cluster_id=cluster_id)
        nodes: list[InstanceInfo] = []
        jumphost = None
        listed = d.get(f.instances)
        if type(listed) is not list:
            listed = self._opt(d, f.instances, where, "list", [])
        listed_at = field_path(where, f.instances) if listed else ""
        for i, inst in enumerate(listed):
            instance = self._instance(inst, f"{listed_at}[{i}]")
            if instance.instance_id == jumphost_id:
                jumphost = instance
            else:
                nodes.append(instance)
        num_nodes = d.get(f.num_nodes)
        if type(num_nodes) is not int:  # (not a bool either) the checked read says what is wrong
            num_nodes = self._get(d, f.num_nodes, where, "int", required=True)
        if num_nodes < 1:
            raise ShapeError(f"field '{field_path(where, f.num_nodes)}' should be at least 1, not {num_nodes}")
        text = self._text
        info = from_fields(ClusterInfo, {  # ClusterInfo(...) by its fields, in order, as InstanceInfo below
            "cluster_id": cluster_id,
            "name": text(d, f.cluster_name, where, NAME_CHARS, required=False),
            "instance_type": text(d, f.instance_type, where, WORD_CHARS, required=True),
            "num_nodes": num_nodes,
            "container": text(d, f.container, where, CONTAINER_CHARS, required=False),
            "deletion_protection": self._bool(d, f.deletion_protection, where),
            "status": self._status(d, f.status, where),
            "instance_ids": tuple([n.instance_id for n in nodes]),
            "created_at": text(d, f.created_at, where, WORD_CHARS, required=False),
            "instances": tuple(nodes),
            "jumphost": jumphost,
        })
        if not status_words.is_known(status_words.CLUSTER, info.status):  # its words only for a warning
            self._words.check(status_words.CLUSTER, info.status, f"cluster {info.cluster_id}")
        return info

    def ssh(self, data: Any, instance_id: str) -> SshCommand:
        """GET /ssh/{instance_id}: a command line that splits into words, holds no key, is printed as sent."""
        f, d = self.map.fields, json_object(data, "")
        command: str = self._text(d, f.ssh_command, "", COMMAND_CHARS, required=True)
        if _PRIVATE_KEY in command.upper():
            raise ShapeError(f"field '{f.ssh_command}' holds a private key, which tpdeclare never shows")
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise ShapeError(f"field '{f.ssh_command}' is not a command line ({exc}): {_shown(command)}") from None
        if not words:
            raise ShapeError(f"field '{f.ssh_command}' is blank")
        return SshCommand(instance_id=instance_id, command=command, message=self._prose(d, f.message, ""))

    def cluster_list(self, data: Any) -> list[ClusterInfo]:
        items, where = self.map.list_items(data)
        with gc_paused():  # ~23,000 acyclic objects for 10,000 clusters: a full collection here cost 0.1-0.3 s
            return [self.cluster(item, f"{where}[{i}]") for i, item in enumerate(items)]

    def cluster_info(self, data: Any) -> ClusterInfo:
        obj, where = self.map.info_object(data)
        return self.cluster(obj, where)

    def _instance(self, data: Any, where: str) -> InstanceInfo:
        """An instance: its ID is required and checked; status and addresses are display-only (see `_shown_word`)."""
        d = json_object(data, where)
        f = self.map.settle("instance", d, where)
        # InstanceInfo(...) by its fields (13,000 instances in a list of 10,000 clusters);
        # tests/test_api_parsed_values.py holds both to their constructors.
        return from_fields(InstanceInfo, {
            "instance_id": self._id(d, f.instance_id, where, required=True),
            "status": self._shown_word(d.get(f.status)),
            "public_ip": self._ip(d.get(f.public_ip)),
            "private_ip": self._ip(d.get(f.private_ip)),
        })

    # ---------------------------------------------------------------------------------- fields
    def _get(self, d: dict[str, Any], key: str, where: str, kind: str, *, required: bool,
             nullable: bool = False) -> Any:
        """d[key] checked against `kind`; MISSING when absent and not required."""
        value = d.get(key, MISSING)
        if value is MISSING or (value is None and not nullable):
            if required:
                raise ShapeError(f"field '{field_path(where, key)}' is missing")
            return MISSING
        if value is None:
            return None
        if not _CHECKS[kind](value):
            raise ShapeError(f"field '{field_path(where, key)}' should be {_EXPECTED[kind]}, not {json_type(value)}")
        return value

    def _opt(self, d: dict[str, Any], key: str, where: str, kind: str, default: Any = None) -> Any:
        value = self._get(d, key, where, kind, required=False, nullable=True)
        return default if value is MISSING or value is None else value

    def _bool(self, d: dict[str, Any], key: str, where: str) -> bool:
        value = d.get(key)
        return value if type(value) is bool else self._get(d, key, where, "bool", required=True)

    def _id(self, d: dict[str, Any], key: str, where: str, *, required: bool) -> Any:
        """An engine ID (None when optional and absent or null)."""
        value = d.get(key)
        if isinstance(value, str) and is_engine_id(value) and not self._secret.found_in(value):
            return value  # the common case, in one look: `_safe_id` would let it through
        if value is None and not required:
            return None
        if required:
            value = self._get(d, key, where, "nonempty_str", required=True)
        else:
            value = self._opt(d, key, where, "nonempty_str")
        return None if value is None else self._safe_id(value, field_path(where, key))

    def _id_list(self, d: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        values = self._opt(d, key, where, "str_list", [])
        return tuple(self._safe_id(v, f"{field_path(where, key)}[{i}]") for i, v in enumerate(values))

    def _safe_id(self, value: str, field: str) -> str:
        if is_engine_id(value) and not self._secret.found_in(value):
            return value  # the common case: an ID's characters are never invisible, so one look for the key
        if self._holds_key(value):
            raise ShapeError(f"field '{field}' is an ID containing the API key")
        if not is_engine_id(value):
            raise ShapeError(f"field '{field}' is not a valid ID: {_shown(value)} (an ID is letters, digits, "
                             "'-' and '_', at most 128 characters)")
        return value

    def _text(self, d: dict[str, Any], key: str, where: str, limit: int, *, required: bool) -> Any:
        """A string shown or compared later: refused (not altered) when unsafe."""
        value = d.get(key)
        if value is None:
            if not required:
                return None  # absent or null, and optional
        elif (isinstance(value, str) and len(value) <= limit and value.isascii() and value.isprintable()
              and (value or not required) and not self._secret.found_in(value)):
            return value  # the common case, in one look: the checks below would let it through
        kind = "nonempty_str" if required else "str"
        value = self._get(d, key, where, kind, required=True) if required else self._opt(d, key, where, kind)
        if value is None:
            return None
        unsafe = _is_unsafe(value)
        if self._holds_key(value, unsafe):
            raise ShapeError(f"field '{field_path(where, key)}' is a value containing the API key")
        if len(value) > limit:
            raise ShapeError(f"field '{field_path(where, key)}' is longer than {limit} characters: {_shown(value)}")
        if unsafe:
            raise ShapeError(f"field '{field_path(where, key)}' holds control or invisible formatting characters: "
                             f"{_shown(value)}")
        return value

    def _shown_word(self, value: Any) -> str | None:
        """A display-only word (an instance's status): None, never an error, when it is unusable, so that a
        new shape of what is only shown cannot stop a list that an apply depends on."""
        if type(value) is str and len(value) <= WORD_CHARS and value.isascii() and value.isprintable():
            # the common case, in one look: what the checks below decide for a printable ASCII word
            word = value.strip()
            return word if word and not self._secret.found_in(value) else None
        if not isinstance(value, str) or not value.strip() or len(value) > WORD_CHARS:
            return None
        if _is_unsafe(value) or self._holds_key(value, False):
            return None
        return value.strip()

    def _ip(self, value: Any) -> str | None:
        """A display-only IP address (v4 or v6): None when absent or not an address."""
        word = self._shown_word(value)
        if word is None:
            return None
        if _CANONICAL_IPV4.fullmatch(word):
            return word  # what ipaddress would give back, without its octet-by-octet parse
        try:
            return str(ipaddress.ip_address(word))
        except ValueError:
            return None

    def _status(self, d: dict[str, Any], key: str, where: str) -> str:
        status: str = self._text(d, key, where, WORD_CHARS, required=True)
        return status.strip().upper()

    def _prose(self, d: dict[str, Any], key: str, where: str) -> str:
        """The server's words: cleaned for a terminal, bounded, the key redacted ("" when absent)."""
        value = self._opt(d, key, where, "str", "")
        return redact(clean(value, PROSE_CHARS), self._secret)

    def _holds_key(self, value: str, unsafe: bool | None = None) -> bool:
        """Whether `value` holds the key, also with invisible characters woven in (`unsafe`: already known)."""
        if self._secret.found_in(value):
            return True
        if unsafe is None:
            unsafe = _is_unsafe(value)
        return unsafe and self._secret.found_in("".join(ch for ch in value if not _is_unsafe(ch)))
