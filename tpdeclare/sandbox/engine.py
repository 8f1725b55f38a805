"""The sandbox engine: turns one HTTP request into one response of the emulated TensorPool API.

`Engine.handle(method, target, headers, body)` is pure request handling (no sockets): the HTTP server
(`server.py`) and the in-process `requests` adapter (`inprocess.py`) are thin transports around it.
Request bodies are validated against `specs/tensorpool-api.json`; every rule, status and body shape is
the one that document and `tensorpool-api.md` describe. Statuses follow the time-based state machine in
`timeline.py`, computed from stored timestamps on every read, so no background thread is needed and a
restart over the same `FileWorld` keeps the timeline.

Outside the API's paths, for tests and benchmarks (no auth, never faulted, not counted):
`GET /_sandbox/stats` (counters), `POST /_sandbox/reset` (clear world and counters),
`POST /_sandbox/faults` with `{"spec": "..."}` (replace the fault plan; grammar in `faults.py`).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tpdeclare import catalog
from tpdeclare.errors import TpdeclareError
from tpdeclare.sandbox import timeline as tl
from tpdeclare.sandbox.faults import RETRY_AFTER_STATUSES, FaultPlan
from tpdeclare.sandbox.world import MemoryWorld, WorldSession, WorldStore, fresh_counters, fresh_world

DEFAULT_BALANCE = 10_000.0
MUTATING_ENDPOINTS = frozenset({"create", "edit", "delete"})

# (method, path template, endpoint name). Order matters as in FastAPI: the first full match wins; a
# path that matches only under another method is a 405.
_ROUTE_TABLE = (
    ("POST", "/health", "health"),
    ("GET", "/healthz", "healthz"),
    ("POST", "/cluster/create", "create"),
    ("GET", "/request/info/{request_id}", "request_info"),
    ("GET", "/cluster/list", "list"),
    ("GET", "/cluster/info/{cluster}", "info"),
    ("PATCH", "/cluster/edit/{cluster}", "edit"),
    ("DELETE", "/cluster/{cluster}", "delete"),
    ("GET", "/_sandbox/stats", "_stats"),
    ("POST", "/_sandbox/reset", "_reset"),
    ("POST", "/_sandbox/faults", "_faults"),
)
_ROUTES = tuple(
    (method, re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"), template, name)
    for method, template, name in _ROUTE_TABLE
)
_BOOL_WORDS = {
    **dict.fromkeys(("1", "on", "t", "true", "y", "yes"), True),
    **dict.fromkeys(("0", "off", "f", "false", "n", "no"), False),
}
_FAULT_WORDS = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
    429: "Too many requests",
}


@dataclass
class Response:
    """One HTTP answer: status, body bytes and headers (Content-Type included)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class Drop:
    """Commit-then-drop: the request took effect, and the transport must close without answering."""

    def __repr__(self) -> str:
        return "Drop()"


@dataclass
class _Ctx:
    session: WorldSession
    now: float
    params: dict[str, str]
    query: dict[str, list[str]]
    body: bytes

    @property
    def world(self) -> dict:
        return self.session.world


class Engine:
    """The emulated TensorPool API over a WorldStore."""

    def __init__(
        self,
        world: WorldStore | None = None,
        *,
        api_key: str | None = None,
        provision_seconds: float = 60.0,
        destroy_seconds: float | None = None,
        retry_after: float | None = None,
        balance: float = DEFAULT_BALANCE,
        faults: FaultPlan | str | None = None,
        seed: int | str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """`api_key=None` accepts any non-empty bearer key. `destroy_seconds=None` means the same as
        `provision_seconds`. `retry_after=None` means 1 s (0 when `provision_seconds` is 0). `seed`
        makes fault draws and generated IDs reproducible."""
        if provision_seconds < 0 or (destroy_seconds is not None and destroy_seconds < 0):
            raise TpdeclareError("sandbox provisioning/destroy times must be >= 0 seconds")
        self.world = world if world is not None else MemoryWorld()
        self.api_key = api_key
        self.provision_seconds = float(provision_seconds)
        self.destroy_seconds = float(destroy_seconds) if destroy_seconds is not None else self.provision_seconds
        if retry_after is None:
            retry_after = 1.0 if self.provision_seconds > 0 else 0.0
        if retry_after < 0:
            raise TpdeclareError("sandbox retry_after must be >= 0 seconds")
        self.retry_after = float(retry_after)
        self.balance = float(balance)
        self.seed = seed
        self._faults = faults if isinstance(faults, FaultPlan) else FaultPlan.parse(faults)
        self._rng = random.Random(seed)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # (world, number of clusters, their total hourly cost, earliest created_at): what an upper
        # bound on the spend needs, kept in step with this engine's own creates (see _affordable).
        self._spend_bound: tuple | None = None

    # ----------------------------------------------------------------------------------- control

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    def set_faults(self, faults: FaultPlan | str | None) -> None:
        """Replace the fault plan (a FaultPlan or a spec string; TpdeclareError if it does not parse)."""
        plan = faults if isinstance(faults, FaultPlan) else FaultPlan.parse(faults)
        with self._lock:
            self._faults = plan

    def stats(self) -> dict:
        """The counters and derived figures that `GET /_sandbox/stats` returns."""
        with self._lock, self.world.session() as s:
            return self._stats(s, self._clock())

    def reset(self) -> None:
        """Forget every cluster, request, spend and counter (the fault plan stays)."""
        with self._lock, self.world.session() as s:
            _reset(s)
            self._spend_bound = None

    # ----------------------------------------------------------------------------------- dispatch

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response | Drop:
        """Answer one request. `target` is the path with an optional query string.

        Never raises for anything a client sends; raises TpdeclareError only when the world store is
        unusable (e.g. an unreadable world file), which the HTTP server turns into a 500."""
        method = method.upper()
        split = urlsplit(target)
        path = split.path or "/"
        endpoint, params, allowed = _route(method, path)
        if endpoint is None:
            status, word = (405, "Method Not Allowed") if allowed else (404, "Not Found")
            extra = {"Allow": ", ".join(sorted(allowed))} if allowed else {}
            with self._lock, self.world.session() as s:
                _count(s, "unknown", status)
            return _json(status, {"detail": word}, extra)
        if endpoint.startswith("_"):
            return self._control(endpoint, body)

        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            faults = self._faults.for_endpoint(endpoint)
            error_status = faults.pick_error(self._rng.random()) if faults.errors else None
            drop = faults.drop > 0 and self._rng.random() < faults.drop
        if faults.latency > 0:
            self._sleep(faults.latency)

        with self._lock, self.world.session() as s:
            ctx = _Ctx(s, self._clock(), params, parse_qs(split.query, keep_blank_values=True), body or b"")
            if faults.latency > 0:
                _count_fault(s, "latency")
            if error_status is not None:
                _count_fault(s, str(error_status))
                response = self._fault_response(error_status)
            elif endpoint != "healthz" and not self._authorized(lowered.get("authorization")):
                response = _message(401, "Invalid or missing API key", {"WWW-Authenticate": "Bearer"})
            else:
                response = getattr(self, "_do_" + endpoint)(ctx)
            if endpoint in MUTATING_ENDPOINTS:
                s.counters["mutating_requests"] += 1
            if drop:
                _count_fault(s, "drop")
            _count(s, endpoint, "dropped" if drop else response.status)
        return Drop() if drop else response

    def _authorized(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, key = header.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return False
        if self.api_key is None:
            return True
        return hmac.compare_digest(key.encode(), self.api_key.encode())

    def _fault_response(self, status: int) -> Response:
        headers = {"Retry-After": _seconds(self.retry_after)} if status in RETRY_AFTER_STATUSES else {}
        return _message(status, f"{_FAULT_WORDS[status]} (sandbox fault injection)", headers)

    # ----------------------------------------------------------------------------------- endpoints

    def _do_health(self, ctx: _Ctx) -> Response:
        return _json(200, {"message": "Sandbox engine is healthy"})

    def _do_healthz(self, ctx: _Ctx) -> Response:
        return _json(200, {"status": "ok"})

    def _do_create(self, ctx: _Ctx) -> Response:
        data, error = _validated_body(ctx.body, "ClusterCreateRestRequest")
        if error is not None:
            return error
        world, now = ctx.world, ctx.now
        instance_type = data["instance_type"]
        num_nodes = data.get("num_nodes") or 1
        name = data.get("tp_cluster_name")
        if instance_type not in catalog.INSTANCE_TYPES:
            return _message(
                400, f"Invalid instance type '{instance_type}'. Valid types: {', '.join(catalog.INSTANCE_TYPES)}"
            )
        if num_nodes > 1 and instance_type not in catalog.MULTI_NODE_TYPES:
            return _message(
                400,
                f"Instance type {instance_type} does not support num_nodes={num_nodes}; "
                f"multi-node clusters need {' or '.join(catalog.MULTI_NODE_TYPES)}",
            )
        if name is not None:
            if not name.strip():
                return _message(400, "tp_cluster_name must not be empty")
            taken = _alive_by_name(world, name, now)
            if taken is not None:
                return _message(400, f"Cluster name '{name}' is already in use")
        hourly = catalog.hourly_cost(instance_type, num_nodes) or 0.0
        if not self._affordable(world, now, hourly):
            remaining = self.balance - _spent(world, now)
            if remaining < hourly:
                return _message(
                    402,
                    f"Insufficient balance: ${remaining:,.2f} available, but {num_nodes} x {instance_type} "
                    f"needs ${hourly:,.2f} for its first hour",
                )

        if _collect_gone(world, now):
            self._spend_bound = None
        cluster_id = self._new_id(world, "c-", 8)
        request_id = self._new_id(world, "r-", 12)
        instance_ids = [self._new_id(world, "i-", 8) for _ in range(num_nodes)]
        if name is None:
            name = f"cluster-{cluster_id[2:]}"
            while _alive_by_name(world, name, now) is not None:
                name = f"cluster-{self._new_id(world, '', 8)}"
        fails = False
        if self._faults.provision_failed > 0 and self._rng.random() < self._faults.provision_failed:
            fails = True
            _count_fault(ctx.session, "provision_failed")
        world["requests"][request_id] = {
            "request_id": request_id,
            "request_type": tl.CLUSTER_CLAIM,
            "object_id": cluster_id,
            "created_at": now,
            "duration": self.provision_seconds,
            "fails": fails,
            "cancelled_at": None,
        }
        world["clusters"][cluster_id] = {
            "cluster_id": cluster_id,
            "tp_cluster_name": name,
            "instance_type": instance_type,
            "num_nodes": num_nodes,
            "container": data.get("container"),
            "deletion_protection": bool(data.get("deletion_protection")),
            "public_keys": list(data.get("public_keys") or []),
            "instance_ids": instance_ids,
            "created_at": now,
            "hourly_cost": hourly,
            "claim_request_id": request_id,
            "release_request_id": None,
        }
        bound = self._spend_bound
        if bound is not None and bound[0] is world and bound[1] == len(world["clusters"]) - 1:
            self._spend_bound = (world, bound[1] + 1, bound[2] + max(0.0, hourly), min(bound[3], now))
        ctx.session.mark_dirty()
        ctx.session.counters["creates_accepted"] += 1
        return _json(
            202,
            {
                "cluster_id": cluster_id,
                "instance_ids": instance_ids,
                "request_id": request_id,
                "message": f"Cluster {cluster_id} ({name}) is being created: {num_nodes} x {instance_type}. "
                f"Track it with GET /request/info/{request_id}",
            },
        )

    def _do_request_info(self, ctx: _Ctx) -> Response:
        request_id = ctx.params["request_id"]
        req = ctx.world["requests"].get(request_id)
        if req is None:
            return _message(404, f"Request {request_id} not found")
        status = tl.request_status(req, ctx.now)
        cluster = ctx.world["clusters"].get(req["object_id"])
        body = {
            "request_id": request_id,
            "request_type": req["request_type"],
            "status": status,
            "created_at": _iso(req["created_at"]),
            "object_id": req["object_id"],
            "external_message": tl.request_message(req, status, cluster),
        }
        return _json(200, body, {"Retry-After": _seconds(self.retry_after)})

    def _do_list(self, ctx: _Ctx) -> Response:
        for value in ctx.query.get("include_org", []):
            if value.lower() not in _BOOL_WORDS:
                return _validation_error(
                    [_error_item(["query", "include_org"], "bool_parsing",
                                 "Input should be a valid boolean, unable to interpret input", value)]
                )
        world, now = ctx.world, ctx.now
        requests = world["requests"]
        clusters = []
        for c in sorted(world["clusters"].values(), key=lambda c: (c["created_at"], c["cluster_id"])):
            status = tl.cluster_status(c, requests, now)  # None once gone
            if status is not None:
                clusters.append(_cluster_view(c, world, now, status))
        return _json(200, {"clusters": clusters, "message": _list_table(clusters)})

    def _do_info(self, ctx: _Ctx) -> Response:
        cluster = _alive(ctx.world, ctx.params["cluster"], ctx.now)
        if cluster is None:
            return _message(404, f"Cluster {ctx.params['cluster']} not found")
        view = _cluster_view(cluster, ctx.world, ctx.now)
        return _json(200, {"cluster_info": view, "message": _info_table(view)})

    def _do_edit(self, ctx: _Ctx) -> Response:
        data, error = _validated_body(ctx.body, "ClusterEditRequest")
        if error is not None:
            return error
        world, now = ctx.world, ctx.now
        cluster_id = ctx.params["cluster"]
        cluster = _alive(world, cluster_id, now)
        if cluster is None:
            return _message(404, f"Cluster {cluster_id} not found")
        new_name = data.get("cluster_name")
        protection = data.get("deletion_protection")
        if new_name is None and protection is None:
            return _message(400, "Nothing to edit: give cluster_name and/or deletion_protection")
        if cluster.get("release_request_id") is not None:
            return _message(409, f"Cluster {cluster_id} is being destroyed and cannot be edited")
        if new_name is not None:
            if not new_name.strip():
                return _message(400, "cluster_name must not be empty")
            other = _alive_by_name(world, new_name, now)
            if other is not None and other["cluster_id"] != cluster_id:
                return _message(400, f"Cluster name '{new_name}' is already in use")
        if _collect_gone(world, now):
            self._spend_bound = None
        changes = []
        if new_name is not None and new_name != cluster["tp_cluster_name"]:
            changes.append(f"name '{cluster['tp_cluster_name']}' -> '{new_name}'")
            cluster["tp_cluster_name"] = new_name
        if protection is not None and protection != cluster["deletion_protection"]:
            changes.append(f"deletion protection {'on' if protection else 'off'}")
            cluster["deletion_protection"] = protection
        ctx.session.mark_dirty()
        ctx.session.counters["edits_accepted"] += 1
        what = ", ".join(changes) if changes else "no change"
        return _json(202, {"message": f"Cluster {cluster_id} updated: {what}"})

    def _do_delete(self, ctx: _Ctx) -> Response:
        world, now = ctx.world, ctx.now
        cluster_id = ctx.params["cluster"]
        cluster = _alive(world, cluster_id, now)
        if cluster is None:
            return _message(404, f"Cluster {cluster_id} not found")
        release_id = cluster.get("release_request_id")
        if release_id is not None:
            return _json(
                202,
                {"cluster_id": cluster_id, "request_id": release_id,
                 "message": f"Cluster {cluster_id} is already being destroyed"},
            )
        if cluster["deletion_protection"]:
            return _message(
                409,
                f"Cluster {cluster_id} has deletion protection enabled; turn it off first "
                f"(PATCH /cluster/edit/{cluster_id} with deletion_protection=false)",
            )
        if _collect_gone(world, now):
            self._spend_bound = None
        release_id = self._new_id(world, "r-", 12)
        world["requests"][release_id] = {
            "request_id": release_id,
            "request_type": tl.CLUSTER_RELEASE,
            "object_id": cluster_id,
            "created_at": now,
            "duration": self.destroy_seconds,
            "fails": False,
            "cancelled_at": None,
        }
        claim = world["requests"][cluster["claim_request_id"]]
        if tl.request_status(claim, now) not in tl.TERMINAL:
            claim["cancelled_at"] = now
        cluster["release_request_id"] = release_id
        ctx.session.mark_dirty()
        ctx.session.counters["deletes_accepted"] += 1
        return _json(
            202,
            {"cluster_id": cluster_id, "request_id": release_id,
             "message": f"Cluster {cluster_id} ({cluster['tp_cluster_name']}) is being destroyed"},
        )

    # ----------------------------------------------------------------------------------- internals

    def _control(self, endpoint: str, body: bytes) -> Response:
        if endpoint == "_stats":
            return _json(200, self.stats())
        if endpoint == "_reset":
            self.reset()
            return _json(200, {"message": "Sandbox world and counters cleared"})
        try:
            data = json.loads(body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("spec"), str):
            return _message(400, 'Expected a JSON body {"spec": "<fault spec>"}')
        try:
            self.set_faults(data["spec"])
        except TpdeclareError as exc:
            return _message(400, exc.message)
        return _json(200, {"message": "Fault plan replaced", "faults": self._faults.spec})

    def _stats(self, s: WorldSession, now: float) -> dict:
        counters = s.counters
        world = s.world
        by_status: dict[str, int] = {}
        hourly = 0.0
        for cluster in world["clusters"].values():
            status = tl.cluster_status(cluster, world["requests"], now)
            if status is None:
                continue
            by_status[status] = by_status.get(status, 0) + 1
            if status != tl.FAILED:
                hourly += cluster["hourly_cost"]
        spent = _spent(world, now)
        requests = copy.deepcopy(counters["requests"])
        return {
            "requests": requests,
            "requests_total": sum(n for per in requests.values() for n in per.values()),
            "polls": sum(requests.get("request_info", {}).values()),
            "creates_accepted": counters["creates_accepted"],
            "deletes_accepted": counters["deletes_accepted"],
            "edits_accepted": counters["edits_accepted"],
            "mutating_requests": counters["mutating_requests"],
            "faults_injected": dict(counters["faults_injected"]),
            "clusters_alive": sum(by_status.values()),
            "clusters_by_status": by_status,
            "balance": round(self.balance - spent, 6),
            "spent": round(spent, 6),
            "hourly_cost": round(hourly, 6),
            "faults": self._faults.spec,
        }

    def _affordable(self, world: dict, now: float, hourly: float) -> bool:
        """True when the balance certainly covers `hourly` more: an upper bound on the spend (every
        cluster's hourly cost accrued since the earliest creation) leaves enough. False means "not
        certain": the caller then sums the exact spend, as it always did. Summing every cluster's
        spend on every create made a create O(clusters) and an apply of N clusters O(N^2) (3 s of
        engine time for 2,000); the bound is kept in step with creates, so it is O(1) per create."""
        clusters = world["clusters"]
        bound = self._spend_bound
        if bound is None or bound[0] is not world or bound[1] != len(clusters):
            total, first = 0.0, now
            for c in clusters.values():
                total += max(0.0, c["hourly_cost"])
                first = min(first, c["created_at"])
            bound = self._spend_bound = (world, len(clusters), total, first)
        most = world["spent"] + bound[2] * max(0.0, now - bound[3]) / 3600.0
        margin = 1e-9 * (abs(self.balance) + abs(most) + abs(hourly) + 1.0)  # float rounding, generously
        return self.balance - most - margin >= hourly

    def _new_id(self, world: dict, prefix: str, hex_digits: int) -> str:
        """A fresh ID: random, or (with a seed) derived from the seed and a per-world sequence number,
        so it never repeats within one world even across restarts."""
        while True:
            if self.seed is None:
                digest = secrets.token_hex((hex_digits + 1) // 2)
            else:
                world["seq"] = world.get("seq", 0) + 1
                digest = hashlib.sha256(f"{self.seed}:{world['seq']}".encode()).hexdigest()
            ident = prefix + digest[:hex_digits]
            if ident not in world["clusters"] and ident not in world["requests"]:
                return ident


# --------------------------------------------------------------------------------------- helpers


# A timestamp's text never changes, and a list repeats every cluster's: memoised.
_iso = functools.lru_cache(maxsize=1 << 16)(tl.iso)


def coerce_seed(value: int | str | None) -> int | str | None:
    """A seed from a command line or environment: digits become an int, anything else stays as is."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.lstrip("-").isdigit():
            return int(text)
    return value


def _route(method: str, path: str) -> tuple[str | None, dict[str, str], set[str]]:
    allowed: set[str] = set()
    for route_method, regex, _template, name in _ROUTES:
        m = regex.match(path)
        if m is None:
            continue
        if route_method == method:
            return name, {k: unquote(v) for k, v in m.groupdict().items()}, allowed
        allowed.add(route_method)
    return None, {}, allowed


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


def _message(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"message": message}, headers)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _count(s: WorldSession, endpoint: str, status: int | str) -> None:
    per = s.counters["requests"].setdefault(endpoint, {})
    per[str(status)] = per.get(str(status), 0) + 1
    s.mark_counters_dirty()


def _count_fault(s: WorldSession, kind: str) -> None:
    faults = s.counters["faults_injected"]
    faults[kind] = faults.get(kind, 0) + 1
    s.mark_counters_dirty()


def _reset(s: WorldSession) -> None:
    s.world.clear()
    s.world.update(fresh_world())
    s.counters.clear()
    s.counters.update(fresh_counters())
    s.mark_dirty()
    s.mark_counters_dirty()


def _alive(world: dict, cluster_id: str, now: float) -> dict | None:
    cluster = world["clusters"].get(cluster_id)
    if cluster is None or tl.is_gone(cluster, world["requests"], now):
        return None
    return cluster


def _alive_by_name(world: dict, name: str, now: float) -> dict | None:
    for cluster in world["clusters"].values():
        if cluster["tp_cluster_name"] == name and not tl.is_gone(cluster, world["requests"], now):
            return cluster
    return None


def _spent(world: dict, now: float) -> float:
    return world["spent"] + sum(tl.accrued(c, world["requests"], now) for c in world["clusters"].values())


def _collect_gone(world: dict, now: float) -> bool:
    """Fold clusters that are gone into `spent` and forget them (their requests stay pollable).
    Only a cluster with a release request can be gone, so only those are looked at closely.
    True when any was forgotten."""
    clusters, requests = world["clusters"], world["requests"]
    gone = [cluster_id for cluster_id, cluster in clusters.items()
            if cluster.get("release_request_id") is not None and tl.is_gone(cluster, requests, now)]
    for cluster_id in gone:
        world["spent"] += tl.accrued(clusters[cluster_id], requests, now)
        del clusters[cluster_id]
    return bool(gone)


def _cluster_view(cluster: dict, world: dict, now: float, status: str | None = None) -> dict:
    status = status or tl.cluster_status(cluster, world["requests"], now) or tl.DESTROYING
    instance_status = tl.INSTANCE_STATUS[status]
    return {
        "cluster_id": cluster["cluster_id"],
        "tp_cluster_name": cluster["tp_cluster_name"],
        "instance_type": cluster["instance_type"],
        "num_nodes": cluster["num_nodes"],
        "container": cluster["container"],
        "deletion_protection": cluster["deletion_protection"],
        "status": status,
        "instances": [{"instance_id": i, "status": instance_status} for i in cluster["instance_ids"]],
        "created_at": _iso(cluster["created_at"]),
    }


def _list_table(clusters: list[dict]) -> str:
    if not clusters:
        return "No clusters found."
    rows = [
        [c["cluster_id"], c["tp_cluster_name"], c["instance_type"], str(c["num_nodes"]), c["status"],
         "yes" if c["deletion_protection"] else "no", c["created_at"]]
        for c in clusters
    ]
    table = tl.text_table(["ID", "NAME", "TYPE", "NODES", "STATUS", "PROTECTED", "CREATED"], rows)
    return f"{table}\n{len(clusters)} cluster{'s' if len(clusters) != 1 else ''}"


def _info_table(view: dict) -> str:
    fields = tl.text_table(
        ["Cluster", view["cluster_id"]],
        [
            ["Name", view["tp_cluster_name"]],
            ["Type", f"{view['instance_type']} x {view['num_nodes']} node{'s' if view['num_nodes'] != 1 else ''}"],
            ["Container", view["container"] or "-"],
            ["Protected", "yes" if view["deletion_protection"] else "no"],
            ["Status", view["status"]],
            ["Created", view["created_at"]],
        ],
    )
    instances = tl.text_table(["INSTANCE", "STATUS"], [[i["instance_id"], i["status"]] for i in view["instances"]])
    return f"{fields}\n\n{instances}"


# --------------------------------------------------------------------------------------- validation

_TYPE_ERRORS = {
    "integer": ("int_type", "Input should be a valid integer"),
    "number": ("float_type", "Input should be a valid number"),
    "string": ("string_type", "Input should be a valid string"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
    "array": ("list_type", "Input should be a valid list"),
    "object": ("model_attributes_type", "Input should be a valid dictionary or object to extract fields from"),
}


def _validated_body(body: bytes, schema_name: str) -> tuple[dict, None] | tuple[None, Response]:
    """The JSON body if it matches the contract's schema, else a FastAPI-shaped 422."""
    from tpdeclare.sandbox.contract import load_contract

    if not body.strip():
        return None, _validation_error([_error_item(["body"], "missing", "Field required", None)])
    try:
        data = json.loads(body)
    except ValueError as exc:
        pos = getattr(exc, "pos", 0)
        item = _error_item(["body", pos], "json_invalid", "JSON decode error", {})
        item["ctx"] = {"error": getattr(exc, "msg", str(exc))}
        return None, _validation_error([item])
    validator = load_contract().schema_validator(schema_name)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return data, None
    items: list[dict] = []
    for error in errors:
        items.extend(_fastapi_items(error))
    return None, _validation_error(items)


def _fastapi_items(error) -> list[dict]:
    """Translate one jsonschema error into pydantic/FastAPI error items."""
    loc = ["body", *error.absolute_path]
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        return [
            _error_item([*loc, name], "missing", "Field required", instance)
            for name in error.validator_value
            if name not in instance
        ]
    if error.validator == "anyOf" and error.context:
        relevant = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        if relevant:
            return _fastapi_items(min(relevant, key=lambda e: len(e.relative_schema_path)))
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else error.validator_value[0]
        kind, msg = _TYPE_ERRORS.get(expected, ("value_error", error.message))
        if expected == "integer" and isinstance(error.instance, float):
            kind, msg = "int_from_float", "Input should be a valid integer, got a number with a fractional part"
        if not error.absolute_path and expected == "object":
            loc = ["body"]
        return [_error_item(loc, kind, msg, error.instance)]
    if error.validator == "minimum":
        msg = f"Input should be greater than or equal to {error.validator_value}"
        return [_error_item(loc, "greater_than_equal", msg, error.instance)]
    return [_error_item(loc, "value_error", error.message, error.instance)]


def _error_item(loc: list, kind: str, msg: str, value: Any) -> dict:
    return {"type": kind, "loc": list(loc), "msg": msg, "input": value}


def _validation_error(items: list[dict]) -> Response:
    return _json(422, {"detail": items})
