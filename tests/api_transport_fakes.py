"""Scripted fakes of the HTTP transport for the API client's tests: answers, failures, a clock moved by sleeps."""

from __future__ import annotations

import http.client
import json

import requests
import urllib3.exceptions
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from tpdeclare.api.client import TensorPoolClient

BASE = "https://engine.test"
KEY = "tp-key-Zq8vXw3Kd9"


class Reply:
    """A scripted HTTP answer."""

    def __init__(self, status=200, body=None, *, raw=None, headers=None, reason=None):
        self.status = status
        self.raw = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.headers = dict(headers or {})
        if body is not None and raw is None:
            self.headers.setdefault("Content-Type", "application/json")
        self.reason = reason

    def build(self, request):
        resp = requests.Response()
        resp.status_code = self.status
        resp._content = self.raw
        resp.headers = CaseInsensitiveDict(self.headers)
        resp.reason = self.reason if self.reason is not None else http.client.responses.get(self.status, "")
        resp.url = request.url
        resp.request = request
        return resp


class FakeAdapter(BaseAdapter):
    """A transport that replays a script of Replies and exceptions; the last item repeats forever."""

    def __init__(self, script):
        super().__init__()
        self.script = list(script)
        self.sent = []  # (PreparedRequest, send kwargs)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append((request, {"timeout": timeout}))
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if callable(item) and not isinstance(item, Reply):
            item = item(request)
        if isinstance(item, BaseException):
            raise item
        return item.build(request)

    def close(self):
        pass

    @property
    def count(self):
        return len(self.sent)

    def body(self, i=-1):
        return json.loads(self.sent[i][0].body)


class FakeTime:
    """A clock that only moves when slept on; records every sleep."""

    START = 1000.0

    def __init__(self):
        self.now = self.START
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def make(script, **kw):
    adapter = FakeAdapter(script)
    session = requests.Session()
    session.mount(BASE, adapter)
    t = FakeTime()
    kw.setdefault("rng", lambda: 0.5)
    client = TensorPoolClient(BASE, KEY, session=session, sleep=t.sleep, clock=t.clock, **kw)
    return client, adapter, t


def refused():
    """What requests raises when nothing listens: ConnectionError(MaxRetryError(NewConnectionError))."""
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as inner:
        try:
            raise urllib3.exceptions.NewConnectionError(
                None, "Failed to establish a new connection: [Errno 111] Connection refused"
            ) from inner
        except urllib3.exceptions.NewConnectionError as nce:
            mre = urllib3.exceptions.MaxRetryError(None, "/cluster/create", nce)
            return requests.ConnectionError(mre)


def reset():
    """What requests raises when the server drops the connection after reading the request."""
    return requests.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    )


def remote_disconnected():
    return requests.ConnectionError(
        urllib3.exceptions.ProtocolError(
            "Connection aborted.", http.client.RemoteDisconnected("Remote end closed connection without response")
        )
    )


CLUSTER = {
    "cluster_id": "c-3f9a1b2c",
    "tp_cluster_name": "research-trainer",
    "instance_type": "8xH200",
    "num_nodes": 2,
    "container": None,
    "deletion_protection": True,
    "status": "RUNNING",
    "instances": [{"instance_id": "i-1", "status": "running"}, {"instance_id": "i-2", "status": "running"}],
    "created_at": "2026-11-26T10:00:00Z",
}
CREATED = {"cluster_id": "c-1", "instance_ids": ["i-1"], "request_id": "r-1", "message": "Cluster creation initiated"}




def create(client, **kw):
    args = dict(instance_type="8xH200", num_nodes=2, tp_cluster_name="research-trainer")
    args.update(kw)
    return client.create_cluster(**args)


def poll(status, retry_after=None, **extra):
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    body = {"request_id": "r-1", "request_type": "CLUSTER_CLAIM", "status": status, "object_id": "c-1"}
    body.update(extra)
    return Reply(200, body, headers=headers)
