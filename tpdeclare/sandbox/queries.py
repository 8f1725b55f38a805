"""The endpoints that only read: health, the OpenAPI document, request status, cluster list and info."""

from __future__ import annotations

from tpdeclare.gc_pause import gc_paused
from tpdeclare.sandbox import timeline as tl
from tpdeclare.sandbox.call_context import Call
from tpdeclare.sandbox.lax_validation import query_bool
from tpdeclare.sandbox.responses import JSON_HEADERS, Response, json_response, message, seconds
from tpdeclare.sandbox.views import cluster_view, info_body, list_body, request_body
from tpdeclare.sandbox.world_queries import alive


def health(call: Call) -> Response:
    return json_response(200, {"message": "Sandbox engine is healthy"})


def healthz(call: Call) -> Response:
    return json_response(200, {"status": "ok"})


def openapi(call: Call) -> Response:
    from tpdeclare.sandbox.openapi_doc import served_bytes

    return Response(200, served_bytes(call.dialect), dict(JSON_HEADERS))


def request_info(call: Call) -> Response:
    request_id = call.params["request_id"]
    req = call.world["requests"].get(request_id)
    if req is None:
        return message(404, f"Request {request_id} not found")
    body = request_body(req, call.world, call.now, call.dialect)
    return json_response(200, body, {"Retry-After": seconds(call.settings.retry_after)})


def cluster_list(call: Call) -> Response:
    bad = query_bool(call.query, "include_org")
    if bad is not None:
        return bad
    world, now = call.world, call.now
    requests = world["requests"]
    views = []
    with gc_paused():  # a view of dicts per cluster, all acyclic: the collector's scans were a fifth of the time
        for c in sorted(world["clusters"].values(), key=lambda c: (c["created_at"], c["cluster_id"])):
            status = tl.cluster_status(c, requests, now)  # None once gone
            if status is not None:
                views.append(cluster_view(c, world, now, call.dialect, status))
        return json_response(200, list_body(views, call.dialect))


def cluster_info(call: Call) -> Response:
    cluster = alive(call.world, call.params["cluster"], call.now)
    if cluster is None:
        return message(404, f"Cluster {call.params['cluster']} not found")
    return json_response(200, info_body(cluster_view(cluster, call.world, call.now, call.dialect), call.dialect))
