"""What `tpdeclare doctor` checks of an engine, as data: each check's verdict, the mapping, what was confirmed.

Only reads: POST /health, GET /openapi.json, GET /cluster/list, GET /cluster/info (of a listed cluster,
else of an ID that cannot exist, which must answer 404). Nothing is ever created or changed. The key is
never part of the report: a check says only whether it was accepted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tpdeclare import errors
from tpdeclare.api.answer import Answer
from tpdeclare.api.field_aliases import GROUPS, INFO_WRAPPER, LIST_WRAPPER
from tpdeclare.api.field_mapping import DOCUMENT, FieldMap, Mapped
from tpdeclare.api.retry import http_date
from tpdeclare.api.vocabulary import RATE_LIMIT_HEADER_PREFIXES
from tpdeclare.frozen_values import frozen

if TYPE_CHECKING:
    from tpdeclare.api.client import TensorPoolClient

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
CHECK_NAMES = ("reachable", "tls", "key", "openapi", "list", "lookup_by_name", "info", "clock", "rate_limits",
               "status_words")
PROBE_ID = "c-tpdeclare-doctor-probe"  # a cluster ID no engine has: its info must answer 404
REPORT_FORMAT = 1
_SCHEMA_GROUPS = {"ClusterInfo": "cluster", "InstanceInfo": "instance"}
_WRAPPERS = {("ClusterListResponse", LIST_WRAPPER.contract_name): LIST_WRAPPER.attr,
             ("ClusterInfoResponse", INFO_WRAPPER.contract_name): INFO_WRAPPER.attr}


@frozen
class Check:
    name: str
    status: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


class AnswerLog:
    """Sees every answer (the client's `observe`): the engine's clock and its rate-limit headers."""

    def __init__(self, wall_clock: Callable[[], float] = time.time):
        self._wall = wall_clock
        self.skews: list[float] = []
        self.rate_limits: dict[str, str] = {}

    def __call__(self, method: str, path: str, answer: Answer) -> None:
        stamp = http_date(answer.header("Date") or "")
        if stamp is not None:
            self.skews.append(stamp - self._wall())
        try:
            items = list(answer.headers.items())
        except Exception:  # a header mapping we cannot read is one we ignore
            return
        for name, value in items:
            if isinstance(name, str) and isinstance(value, str) and (
                    name.lower().startswith(RATE_LIMIT_HEADER_PREFIXES) or name.lower() == "retry-after"):
                self.rate_limits[name] = value[:100]


@dataclass
class EngineReport:
    """Everything doctor found; `as_json` is the stable document of `doctor --json`."""

    engine: str
    checks: list[Check] = field(default_factory=list)
    openapi: dict[str, Any] = field(default_factory=lambda: {"found": False})
    field_mapping: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    assumed_fields: list[dict[str, Any]] = field(default_factory=list)
    clock_skew_seconds: float | None = None
    rate_limit_headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    def add(self, name: str, status: str, detail: str) -> None:
        self.checks.append(Check(name, status, detail))

    def skip_rest(self, why: str) -> None:
        done = {c.name for c in self.checks}
        for name in CHECK_NAMES:
            if name not in done:
                self.add(name, SKIP, why)

    def as_json(self) -> dict[str, Any]:
        return {
            "format_version": REPORT_FORMAT,
            "engine": self.engine,
            "ok": self.ok,
            "checks": [c.as_json() for c in self.checks],
            "openapi": self.openapi,
            "field_mapping": self.field_mapping,
            "assumed_fields": self.assumed_fields,
            "clock_skew_seconds": self.clock_skew_seconds,
            "rate_limit_headers": self.rate_limit_headers,
            "warnings": self.warnings,
        }


def examine(client: TensorPoolClient, report: EngineReport, answers: AnswerLog, *, transport_word: str,
            max_skew: float, contract: Mapping[str, Any]) -> EngineReport:
    """Run every check against `client` (made with discovery, `answers` as its observer) into `report`."""
    try:
        _reach(client, report, transport_word)
        if not report.ok:
            return report
        clusters = _listing(client, report)
        if clusters is not None:
            _info(client, report, clusters)
    finally:
        _openapi(client, report)
        _clock(report, answers, max_skew)
        report.rate_limit_headers = dict(sorted(answers.rate_limits.items()))
        seen = ", ".join(f"{k}: {v}" for k, v in report.rate_limit_headers.items())
        report.add("rate_limits", PASS, f"seen: {seen}" if seen else "no rate-limit headers seen")
        words = client.unknown_words.seen()
        report.add("status_words", WARN if words else PASS,
                   "unknown status words: " + "; ".join(f"{k} {', '.join(v)}" for k, v in words.items())
                   if words else "every status word seen is known")
        report.field_mapping = {answer: {attr: m.as_json() for attr, m in fields.items()}
                                for answer, fields in client.field_map.report().items()}
        mapping = client.discovered.mapping
        report.assumed_fields = assumed_fields(client.field_map, contract, mapping.fields if mapping else {})
        report.skip_rest("not checked: an earlier check failed")
        order = {name: i for i, name in enumerate(CHECK_NAMES)}
        report.checks.sort(key=lambda c: order.get(c.name, len(order)))
    return report


def _reach(client: TensorPoolClient, report: EngineReport, transport_word: str) -> None:
    try:
        client.health()
    except errors.Unauthorized as exc:
        report.add("reachable", PASS, f"the engine answered ({transport_word})")
        report.add("tls", PASS, transport_word)
        report.add("key", FAIL, f"refused: POST /health answered HTTP {exc.status} (the key is not shown)")
        return
    except errors.ApiStatusError as exc:
        report.add("reachable", PASS, f"the engine answered ({transport_word})")
        report.add("tls", PASS, transport_word)
        if exc.status == 403:
            report.add("key", FAIL, "refused: POST /health answered HTTP 403 (the key is not shown)")
        else:
            report.add("key", WARN, f"POST /health answered HTTP {exc.status}; the list below tests the key")
        return
    except (errors.ApiConnectionError, errors.DeadlineExceeded) as exc:
        tls = "TLS" in exc.message
        report.add("reachable", FAIL, exc.message)
        report.add("tls", FAIL if tls else SKIP, exc.message if tls else "not reached")
        return
    except errors.ApiError as exc:
        report.add("reachable", PASS, f"the engine answered ({transport_word})")
        report.add("tls", PASS, transport_word)
        report.add("key", WARN, f"{exc.message}; the list below tests the key")
        return
    report.add("reachable", PASS, f"POST /health answered ({transport_word})")
    report.add("tls", PASS, transport_word)
    report.add("key", PASS, "accepted (the key is not shown)")


def _listing(client: TensorPoolClient, report: EngineReport) -> list[Any] | None:
    try:
        clusters = client.list_clusters()
        lookup = client.lookup_by_name()
    except errors.Unauthorized as exc:
        report.checks = [c for c in report.checks if c.name != "key"]
        report.add("key", FAIL, f"refused: GET /cluster/list answered HTTP {exc.status} (the key is not shown)")
        return None
    except errors.ApiError as exc:
        report.add("list", FAIL, exc.message)
        report.add("lookup_by_name", FAIL, "impossible: the list cannot be read as clusters with an ID and a name")
        return None
    report.add("list", PASS, f"readable: {len(clusters)} cluster{'s' if len(clusters) != 1 else ''} listed")
    how = f"ID {_wire(lookup.id_field)}, name {_wire(lookup.name_field)}"
    if lookup.name_field.confirmed:
        report.add("lookup_by_name", PASS, f"works (by listing, never by creating): {how}, seen in a real cluster")
    elif lookup.name_field.origin == DOCUMENT:
        report.add("lookup_by_name", PASS, f"works as far as can be seen (by listing): {how} as the OpenAPI "
                                           f"document says; no cluster is listed to confirm it")
    else:
        report.add("lookup_by_name", WARN, f"assumed (by listing): {how} as the built-in contract says; no cluster "
                                           f"is listed and no OpenAPI document describes the list to confirm it")
    return clusters


def _info(client: TensorPoolClient, report: EngineReport, clusters: list[Any]) -> None:
    if clusters:
        cid = clusters[0].cluster_id
        try:
            info = client.cluster_info(cid)
        except errors.ApiError as exc:
            report.add("info", FAIL, exc.message)
            return
        report.add("info", PASS, f"readable: GET /cluster/info/{cid} shows {info.status}")
        return
    try:
        client.cluster_info(PROBE_ID)
    except errors.NotFound:
        report.add("info", PASS, "no cluster to read (doctor never creates one); an unknown ID answers 404 as "
                                 "it must (only a 404 means gone)")
        return
    except errors.ApiError as exc:
        report.add("info", WARN, f"no cluster to read; an unknown ID should answer 404, but: {exc.message}")
        return
    report.add("info", FAIL, f"GET /cluster/info/{PROBE_ID} answered a cluster for an ID that cannot exist")


def _openapi(client: TensorPoolClient, report: EngineReport) -> None:
    found = client.discovered
    mapping = found.mapping
    report.openapi = {
        "found": found.found, "sha256": found.sha256, "etag": found.etag, "source": found.source,
        "reason": found.reason, "title": found.document.title if found.document is not None else None,
        "describes": sorted(mapping.described) if mapping is not None else [],
        "async_edits": mapping.async_edits if mapping is not None else None,
        "unmapped": dict(sorted(mapping.unmapped.items())) if mapping is not None else {},
    }
    if found.found:
        short = (found.sha256 or "")[:16]
        report.add("openapi", PASS, f"found, sha256 {short}… ({found.source}); fields are mapped from it and "
                                    f"checked against the real answers")
    else:
        report.add("openapi", WARN, f"not found ({found.reason}): the built-in contract is used, checked against "
                                    f"the real answers")


def _clock(report: EngineReport, answers: AnswerLog, max_skew: float) -> None:
    if not answers.skews:
        report.add("clock", WARN, "no Date header seen: the clock skew cannot be measured")
        return
    skew = sorted(answers.skews)[len(answers.skews) // 2]
    report.clock_skew_seconds = round(skew, 1)
    side = "ahead of" if skew >= 0 else "behind"
    text = f"the engine's Date is {abs(skew):.1f}s {side} this machine's clock"
    if abs(skew) > max_skew:
        report.add("clock", FAIL, f"{text}: more than the {max_skew:g}s tpdeclare tolerates when it tells its "
                                  f"own clusters from strangers' by creation time; fix this machine's clock")
    else:
        report.add("clock", PASS, text)


def assumed_fields(fields: FieldMap, contract: Mapping[str, Any], documented: Mapping[str, tuple[str, ...]]
                   ) -> list[dict[str, Any]]:
    """Each field the contract marks `assumed` in an answer tpdeclare reads, and what the live engine showed."""
    out = []
    schemas = contract.get("components", {}).get("schemas", {})
    for schema_name, schema in schemas.items():
        if schema_name not in _SCHEMA_GROUPS and not any(s == schema_name for s, _ in _WRAPPERS):
            continue  # an answer tpdeclare does not read
        for prop, spec in (schema.get("properties") or {}).items():
            if not isinstance(spec, dict) or spec.get("x-provenance") != "assumed":
                continue
            attr = _WRAPPERS.get((schema_name, prop)) or _attr(_SCHEMA_GROUPS.get(schema_name), prop)
            entry: dict[str, Any] = {"field": f"{schema_name}.{prop}", "status": "unconfirmed", "wire": None,
                                     "by": None}
            if attr is not None:
                mapped = fields.mapped(attr)
                if mapped.confirmed or mapped.origin == DOCUMENT:
                    entry.update(status="confirmed" if mapped.name == prop else "renamed", wire=mapped.name,
                                 by="answer" if mapped.confirmed else "document")
            elif prop in fields.seen_fields(_SCHEMA_GROUPS.get(schema_name, "")):
                entry.update(status="confirmed", wire=prop, by="answer")
            elif prop in documented.get(_SCHEMA_GROUPS.get(schema_name, ""), ()):
                entry.update(status="confirmed", wire=prop, by="document")
            out.append(entry)
    return out


def _attr(group: str | None, prop: str) -> str | None:
    for alias in GROUPS.get(group or "", ()):
        if alias.contract_name == prop:
            return alias.attr
    return None


def _wire(mapped: Mapped) -> str:
    return "the object itself" if mapped.name is None else repr(mapped.name)
