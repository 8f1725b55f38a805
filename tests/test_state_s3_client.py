"""The S3 client's boundary: boto3's errors translated, credentials never in the words shown."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from tpdeclare.errors import StateError
from tpdeclare.state.s3_client import PreconditionFailed, S3Client, redact
from tpdeclare.state.s3_location import S3Location

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"


class Raising:
    """A boto3-shaped client whose every call raises `exc`."""

    def __init__(self, exc: Exception):
        self.exc = exc

    def __getattr__(self, name):
        def call(**kwargs):
            raise self.exc
        return call


def client_raising(exc: Exception) -> S3Client:
    return S3Client(S3Location(bucket="team-state", key="tpdeclare/t.json"), client=Raising(exc))


def test_a_server_error_naming_the_credentials_is_redacted(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    error = ClientError({"Error": {"Code": "SignatureDoesNotMatch",
                                   "Message": f"key {KEY_ID} secret {SECRET} did not match"},
                         "ResponseMetadata": {"HTTPStatusCode": 403}}, "PutObject")
    with pytest.raises(StateError) as info:
        client_raising(error).put("k", b"x")
    text = f"{info.value.message} {info.value.hint} {info.value!r} {info.value.__cause__!r}"
    assert SECRET not in text and KEY_ID not in text
    assert "SignatureDoesNotMatch (HTTP 403)" in info.value.message and "credentials" in info.value.hint
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_no_credentials_is_a_clear_error():
    with pytest.raises(StateError, match="Unable to locate credentials") as info:
        client_raising(NoCredentialsError()).get("k")
    assert "AWS_ACCESS_KEY_ID" in info.value.hint


def test_412_is_a_failed_precondition_and_404_is_absent():
    failed = ClientError({"Error": {"Code": "PreconditionFailed"}, "ResponseMetadata": {"HTTPStatusCode": 412}},
                         "PutObject")
    with pytest.raises(PreconditionFailed):
        client_raising(failed).put("k", b"x", if_absent=True)
    missing = ClientError({"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "GetObject")
    assert client_raising(missing).get("k") is None


def test_redact_removes_anything_shaped_like_a_key_id():
    assert redact(f"x {KEY_ID} y ASIAXXXXXXXXXXXXXXXX z") == "x <redacted> y <redacted> z"


def test_a_put_sends_its_body_at_once_not_after_a_100_continue(monkeypatch, moto_s3, bucket):
    """botocore asks for `Expect: 100-continue` on every PutObject; the client made here does not (one round
    trip less per journal append), and the object still arrives whole."""
    from s3_fixtures import CREDENTIALS

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    client = S3Client(S3Location(bucket=bucket, key="t.json", endpoint_url=moto_s3.url, region="us-east-1"))
    sent: list[dict[str, str]] = []
    client._client.meta.events.register("before-send.s3.PutObject",
                                        lambda request, **_: sent.append(dict(request.headers)))
    etag = client.put("t.json", b'{"a": 1}\n', if_absent=True)
    assert len(sent) == 1 and not any(h.lower() == "expect" for h in sent[0])
    got = client.get("t.json")
    assert got is not None and got.data == b'{"a": 1}\n' and got.etag == etag
