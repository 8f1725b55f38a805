"""Tests for engine and API-key resolution and for building the client (tpdeclare.api.connect)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest
import requests
from tpdeclare.api.client import TensorPoolClient
from tpdeclare.api.connect import (
    DEFAULT_ENGINE,
    check_engine_url,
    is_loopback_host,
    make_client,
    resolve_api_key,
    resolve_engine,
)
from tpdeclare.errors import ApiConnectionError, TpdeclareError

KEY = "tp-key-Zq8vXw3Kd9"


def _closed_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ----------------------------------------------------------------------------------------- engine
@pytest.mark.parametrize(
    "arg, env, expected",
    [
        (None, {}, DEFAULT_ENGINE),
        (None, {"TENSORPOOL_ENGINE": "https://env.test/"}, "https://env.test"),
        ("https://arg.test//", {"TENSORPOOL_ENGINE": "https://env.test"}, "https://arg.test"),
        ("  https://arg.test/prefix/  ", {}, "https://arg.test/prefix"),
        ("https://arg.test", {"TENSORPOOL_ENGINE": ""}, "https://arg.test"),  # the flag wins over the variable
        ("sandbox", {"TENSORPOOL_ENGINE": "https://env.test"}, "sandbox"),
        ("Sandbox", {}, "sandbox"),
        (None, {"TENSORPOOL_ENGINE": "sandbox"}, "sandbox"),
    ],
)
def test_resolve_engine(arg, env, expected):
    assert resolve_engine(arg, env) == expected


@pytest.mark.parametrize(
    "arg, env, message",
    [
        ("", {}, "--engine is empty: no engine to talk to"),
        ("   ", {}, "--engine is empty: no engine to talk to"),
        ("\t\n", {"TENSORPOOL_ENGINE": "https://env.test"}, "--engine is empty: no engine to talk to"),
        ("", {"TENSORPOOL_ENGINE": ""}, "--engine is empty: no engine to talk to"),
        (None, {"TENSORPOOL_ENGINE": ""}, "TENSORPOOL_ENGINE is set but empty: no engine to talk to"),
        (None, {"TENSORPOOL_ENGINE": "   "}, "TENSORPOOL_ENGINE is set but empty: no engine to talk to"),
        (None, {"TENSORPOOL_ENGINE": "\n"}, "TENSORPOOL_ENGINE is set but empty: no engine to talk to"),
    ],
)
def test_an_empty_engine_is_an_error_never_the_public_api(arg, env, message, tmp_path):
    with pytest.raises(TpdeclareError) as info:
        resolve_engine(arg, env)
    assert str(info.value) == message
    assert DEFAULT_ENGINE in info.value.hint and "sandbox" in info.value.hint
    with pytest.raises(TpdeclareError) as info:  # make_client resolves the same way, before anything else
        make_client(arg, env={**env, "TENSORPOOL_KEY": KEY}, cwd=tmp_path)
    assert str(info.value) == message
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------- key
def test_key_from_environment_wins(tmp_path):
    (tmp_path / ".env").write_text("TENSORPOOL_KEY=from-file\n")
    assert resolve_api_key({"TENSORPOOL_KEY": f"  {KEY}\n"}, tmp_path) == KEY


def test_empty_environment_key_falls_back_to_dotenv(tmp_path):
    (tmp_path / ".env").write_text("TENSORPOOL_KEY=from-file\n")
    assert resolve_api_key({"TENSORPOOL_KEY": ""}, tmp_path) == "from-file"


def test_no_key_anywhere(tmp_path):
    assert resolve_api_key({}, tmp_path) is None
    (tmp_path / ".env").write_text("OTHER=1\n")
    assert resolve_api_key({}, tmp_path) is None


@pytest.mark.parametrize(
    "content, expected",
    [
        ("TENSORPOOL_KEY=abc123\n", "abc123"),
        ('TENSORPOOL_KEY="abc123"\n', "abc123"),
        ("TENSORPOOL_KEY='abc123'\n", "abc123"),
        ("  TENSORPOOL_KEY = abc123  \n", "abc123"),
        ("export TENSORPOOL_KEY=abc123\n", "abc123"),
        ("TENSORPOOL_KEY=abc123 # my key\n", "abc123"),
        ('TENSORPOOL_KEY="abc#123" # comment\n', "abc#123"),
        ("TENSORPOOL_KEY=abc#123\n", "abc#123"),
        ("TENSORPOOL_KEY=abc123\r\n", "abc123"),
        ("# TENSORPOOL_KEY=commented\nTENSORPOOL_KEY=real\n", "real"),
        ("TENSORPOOL_KEY=first\nTENSORPOOL_KEY=second\n", "second"),
        ("TENSORPOOL_KEYS=nope\nXTENSORPOOL_KEY=nope\n", None),
        ("TENSORPOOL_KEY=\n", None),
        ('TENSORPOOL_KEY=""\n', None),
        ("TENSORPOOL_KEY\n", None),
        ('TENSORPOOL_KEY="unterminated\n', "unterminated"),
        ("\ufeffTENSORPOOL_KEY=after-bom\n", "after-bom"),
    ],
)
def test_dotenv_parsing(tmp_path, content, expected):
    (tmp_path / ".env").write_text(content, encoding="utf-8", newline="")
    assert resolve_api_key({}, tmp_path) == expected


def test_unreadable_dotenv_is_ignored(tmp_path):
    (tmp_path / ".env").mkdir()
    assert resolve_api_key({}, tmp_path) is None
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".env").write_bytes(b"\xff\xfeTENSORPOOL_KEY=bytes-ok\n")
    assert resolve_api_key({}, tmp_path / "sub") is None  # undecodable bytes never become a key


# ----------------------------------------------------------------------------------------- URL rules
@pytest.mark.parametrize(
    "host, loopback",
    [("localhost", True), ("LOCALHOST", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
     ("[::1]", True), ("::ffff:127.0.0.1", True), ("128.0.0.1", False), ("10.0.0.1", False),
     ("localhost.evil.test", False), ("example.com", False), ("::2", False), ("0.0.0.0", False)],
)
def test_is_loopback_host(host, loopback):
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    "url",
    ["https://engine.tensorpool.dev", "https://engine.test:8443/prefix", "http://127.0.0.1:8080",
     "http://localhost:9000", "http://[::1]:8080", "http://127.3.4.5", "HTTPS://Engine.Test"],
)
def test_good_engine_urls(url):
    check_engine_url(url)


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("http://engine.tensorpool.dev", "refusing to send the API key over plain http to engine.tensorpool.dev"),
        ("http://10.0.0.5:8080", "plain http to 10.0.0.5"),
        ("http://localhost.evil.test", "plain http"),
        ("ftp://engine.test", "must start with https://"),
        ("engine.tensorpool.dev", "must start with https://"),
        ("https://", "no host name"),
        ("https://engine.test:99999", "invalid engine URL"),
        ("https://engine.test:port", "invalid engine URL"),
        ("https://user:secret@engine.test", "must not contain credentials"),
        ("https://engine.test/?x=1", "query or fragment"),
        ("https://engine .test", "contains spaces"),
        ("https://[::1", "invalid engine URL"),
    ],
)
def test_bad_engine_urls(url, fragment):
    with pytest.raises(TpdeclareError) as info:
        check_engine_url(url)
    assert fragment in str(info.value)
    assert info.value.hint
    assert "secret" not in str(info.value)


def test_plain_http_hint_names_the_loopback_rule():
    with pytest.raises(TpdeclareError) as info:
        make_client("http://engine.test", env={"TENSORPOOL_KEY": KEY}, cwd=".")
    assert "127.0.0.1" in info.value.hint and "https://" in info.value.hint


# ----------------------------------------------------------------------------------------- make_client
def test_make_client_for_a_real_engine(tmp_path):
    client = make_client(None, env={"TENSORPOOL_KEY": KEY}, cwd=tmp_path)
    assert isinstance(client, TensorPoolClient)
    assert client.base_url == DEFAULT_ENGINE
    assert KEY not in repr(client)


def test_make_client_reads_dotenv_and_forwards_client_options(tmp_path):
    (tmp_path / ".env").write_text(f"TENSORPOOL_KEY='{KEY}'\n")
    slept = []
    client = make_client(f"http://127.0.0.1:{_closed_port()}/", env={}, cwd=tmp_path, timeout=(1, 2),
                         max_retries=0, sleep=slept.append)
    assert client.base_url.startswith("http://127.0.0.1:") and not client.base_url.endswith("/")
    with pytest.raises(ApiConnectionError):  # max_retries=0 and the sleep were forwarded: one try, no sleep
        client.list_clusters()
    assert slept == []
    with pytest.raises(ValueError, match="timeout"):  # and so is the timeout
        make_client("http://127.0.0.1:9/", env={}, cwd=tmp_path, timeout=0)


def test_make_client_without_a_key_says_how_to_set_one(tmp_path):
    with pytest.raises(TpdeclareError) as info:
        make_client(None, env={}, cwd=tmp_path)
    assert str(info.value).startswith("no API key: set TENSORPOOL_KEY")
    assert "--engine sandbox" in info.value.hint


def test_make_client_checks_the_url_before_the_key(tmp_path):
    with pytest.raises(TpdeclareError) as info:
        make_client("ftp://x.test", env={}, cwd=tmp_path)
    assert "invalid engine URL" in str(info.value)


@pytest.fixture
def fake_sandbox(monkeypatch):
    """A stand-in for tpdeclare.sandbox.inprocess that records how it was called."""
    calls = []
    module = types.ModuleType("tpdeclare.sandbox.inprocess")
    module.INPROCESS_BASE_URL = "http://sandbox.invalid"

    def make_inprocess_session(data_path, env=None):
        calls.append((Path(data_path), env))
        return requests.Session()

    module.make_inprocess_session = make_inprocess_session
    monkeypatch.setitem(sys.modules, "tpdeclare.sandbox.inprocess", module)
    return calls


def test_sandbox_needs_no_key_and_keeps_its_world_under_cwd_state(tmp_path, fake_sandbox):
    env = {"TENSORPOOL_ENGINE": "sandbox"}
    client = make_client(None, env=env, cwd=tmp_path)
    assert client.base_url == "http://sandbox.invalid"
    assert fake_sandbox == [(tmp_path / "state" / "_sandbox-engine.json", env)]
    assert client._key.reveal() == "sandbox-key"


def test_sandbox_uses_the_resolved_key_when_there_is_one(tmp_path, fake_sandbox):
    client = make_client("sandbox", env={"TENSORPOOL_KEY": KEY}, cwd=tmp_path)
    assert client._key.reveal() == KEY


def test_sandbox_is_not_subject_to_the_http_rule(tmp_path, fake_sandbox):
    # INPROCESS_BASE_URL is http:// to a non-loopback name, but nothing leaves the process
    make_client("sandbox", env={}, cwd=tmp_path, max_retries=1)


def test_connect_imports_cheaply():
    code = (
        "import sys, tpdeclare.api.connect; "
        "print(sorted(m for m in ('requests', 'urllib3', 'tpdeclare.api.client') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
