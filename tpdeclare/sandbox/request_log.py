"""What the sandbox remembers of the requests it answered, for tests: counters, stats and the request log.

`GET /_sandbox/log[?since=SEQ]` answers `{"entries": [...], "requests": [...], "dropped": N}`:
- `entries`, one per API request in arrival order: `seq`, `time` (the engine clock, epoch seconds),
  `at` (ISO), `method`, `path`, `query`, `endpoint`, `status` (an int, or "dropped"), `faults` (kinds
  injected), `body` (a summary: top-level fields with long strings cut, lists and objects as counts;
  never headers) and `result` (`cluster_id` / `request_id` / `status` picked from the answer);
- `requests`, every asynchronous request the world knows: `request_id`, `request_type`, `object_id`,
  `created_at` and `transitions`, the `[{"status", "time"}]` it has gone through so far.
Statuses in the log are the contract's words (upper case) whatever the dialect. The API key a request
presented (or the configured one) is replaced by `***` wherever it appears in a path or body summary.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from tpdeclare.sandbox import storage_world as sw
from tpdeclare.sandbox import timeline as tl
from tpdeclare.sandbox.lax_validation import too_deep
from tpdeclare.sandbox.responses import Response
from tpdeclare.sandbox.world import WorldSession
from tpdeclare.sandbox.world_queries import spent

MAX_TEXT = 120  # characters of a string value kept in a body summary
MAX_FIELDS = 32
MIN_SECRET = 6  # shorter keys are not searched for (they would blank out ordinary words)
REDACTED = "***"
_RESULT_KEYS = ("cluster_id", "request_id", "status")


def count(s: WorldSession, endpoint: str, status: int | str) -> None:
    """One more answer of `status` from `endpoint`."""
    per = s.counters["requests"].setdefault(endpoint, {})
    per[str(status)] = per.get(str(status), 0) + 1
    s.mark_counters_dirty()


def _redact(text: str, secret: str | None) -> str:
    if secret and len(secret) >= MIN_SECRET and secret in text:
        return text.replace(secret, REDACTED)
    return text


def _summary_value(value: Any, secret: str | None) -> Any:
    if isinstance(value, str):
        value = _redact(value, secret)
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, list):
        return f"<list of {len(value)}>"
    if isinstance(value, dict):
        return f"<object of {len(value)} fields>"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def summarise_body(body: bytes, secret: str | None) -> Any:
    """A short, secret-free picture of a request body."""
    if not body.strip():
        return None
    if too_deep(body) is not None:
        return f"<{len(body)} bytes of JSON nested too deep>"
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return f"<{len(body)} bytes, not JSON>"
    if not isinstance(data, dict):
        return _summary_value(data, secret)
    fields = list(data.items())
    summary = {_redact(str(k), secret)[:MAX_TEXT]: _summary_value(v, secret) for k, v in fields[:MAX_FIELDS]}
    if len(fields) > MAX_FIELDS:
        summary["…"] = f"<{len(fields) - MAX_FIELDS} more fields>"
    return summary


def _result(endpoint: str, response: Response | None) -> dict[str, Any] | None:
    if response is None or endpoint not in ("create", "edit", "delete", "request_info"):
        return None
    try:
        data = json.loads(response.body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    picked = {k: data[k] for k in _RESULT_KEYS if isinstance(data.get(k), str)}
    if "status" in picked:
        picked["status"] = picked["status"].upper()
    return picked or None


def record(s: WorldSession, *, now: float, method: str, path: str, query: str, endpoint: str,
           status: int | str, faults: list[str], body: bytes, response: Response | None,
           secret: str | None) -> None:
    """Append one request to the log."""
    s.counters["log_seq"] = seq = s.counters.get("log_seq", 0) + 1
    s.mark_counters_dirty()
    s.log({
        "seq": seq, "time": now, "at": tl.iso(now), "method": method, "path": _redact(path, secret),
        "query": _redact(query, secret), "endpoint": endpoint, "status": status, "faults": faults,
        "body": summarise_body(body, secret), "result": _result(endpoint, response),
    })


def log_body(s: WorldSession, now: float, since: int) -> dict[str, Any]:
    """The answer of GET /_sandbox/log."""
    entries = [e for e in s.log_entries() if isinstance(e, dict) and e.get("seq", 0) > since]
    requests = sorted(s.world["requests"].values(), key=lambda r: (r["created_at"], r["request_id"]))
    return {
        "entries": entries,
        "requests": [
            {"request_id": r["request_id"], "request_type": r["request_type"], "object_id": r["object_id"],
             "created_at": r["created_at"],
             "transitions": [{"status": status, "time": at} for status, at in tl.transitions(r, now)]}
            for r in requests
        ],
        "dropped": s.log_dropped(),
    }


def stats_body(s: WorldSession, now: float, balance: float, faults_spec: str) -> dict[str, Any]:
    """The answer of GET /_sandbox/stats."""
    counters, world = s.counters, s.world
    by_status: dict[str, int] = {}
    hourly = 0.0
    for cluster in world["clusters"].values():
        status = tl.cluster_status(cluster, world["requests"], now)
        if status is None:
            continue
        by_status[status] = by_status.get(status, 0) + 1
        if status != tl.FAILED:
            hourly += cluster["hourly_cost"]
    total_spent = spent(world, now)
    requests = copy.deepcopy(counters["requests"])
    return {
        "requests": requests,
        "requests_total": sum(n for per in requests.values() for n in per.values()),
        "polls": sum(requests.get("request_info", {}).values()),
        "creates_accepted": counters["creates_accepted"],
        "deletes_accepted": counters["deletes_accepted"],
        "edits_accepted": counters["edits_accepted"],
        "mutating_requests": counters["mutating_requests"],
        "storage_accepted": dict(counters.get("storage_accepted") or {}),
        "volumes_alive": sum(1 for v in world.get("volumes", {}).values()
                             if sw.volume_status(v, world["requests"], now) is not None),
        "faults_injected": dict(counters["faults_injected"]),
        "clusters_alive": sum(by_status.values()),
        "clusters_by_status": by_status,
        "balance": round(balance - total_spent, 6),
        "spent": round(total_spent, 6),
        "hourly_cost": round(hourly, 6),
        "faults": faults_spec,
    }
