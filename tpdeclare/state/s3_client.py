"""The one module that calls botocore: conditional gets, puts and deletes on one bucket, errors translated, redacted.

boto3's core, botocore, is imported here and only here, when an S3 store is first used (`pip install
"tpdeclare[s3]"`): its session makes the client directly, which spares the start of every S3 run boto3's own
layer (its resources and s3transfer, ~40 ms) that the stores never use; credentials come from the same chain.
Every answer is reduced to what the stores need (bytes and ETag, "precondition failed", "absent"); a
foreign exception never escapes, and no message carries an access key, a secret or a session token:
`redact` removes every credential value the process environment or boto3's chain holds, and any
string shaped like an AWS access key ID, from the server's words before they are shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tpdeclare.errors import StateError
from tpdeclare.frozen_values import frozen
from tpdeclare.state.s3_location import S3Location

INSTALL_HINT = 'install the S3 extra: pip install "tpdeclare[s3]"'
_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b")
_SECRET_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
REDACTED = "<redacted>"


class PreconditionFailed(Exception):
    """The server refused a conditional request (HTTP 412): the object is not as the condition said."""


@frozen
class Got:
    """An object read back: its bytes and its ETag (quoted, as the server sent it)."""

    data: bytes
    etag: str


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without any credential value (env and `secrets`) and without anything shaped like a key ID."""
    for value in [*(os.environ.get(v, "") for v in _SECRET_VARS), *secrets]:
        if value and len(value) >= 4:
            text = text.replace(value, REDACTED)
    return _KEY_ID.sub(REDACTED, text)


def import_botocore() -> tuple[Any, Any]:
    """botocore's session module and its Config, or a StateError with the install hint."""
    try:
        import botocore.session
        from botocore.config import Config
    except ImportError:
        raise StateError("an S3 state backend needs boto3 (botocore), which is not installed",
                         hint=INSTALL_HINT) from None
    return botocore.session, Config


class S3Client:
    """Conditional object operations on one bucket, through botocore (or any object with boto3's S3 client methods)."""

    def __init__(self, location: S3Location, *, client: Any = None, env: Mapping[str, str] | None = None,
                 on_request: Callable[[str, int], None] | None = None):
        self.location = location
        self.bucket = location.bucket
        self.requests = 0  # S3 requests made (benchmarks and tests)
        self.bytes_uploaded = 0
        self._on_request = on_request
        self._secrets: tuple[str, ...] = ()
        self.endpoint = location.endpoint_url or ""
        self._client = client if client is not None else self._make(env if env is not None else os.environ)

    def _make(self, env: Mapping[str, str]) -> Any:
        sessions, Config = import_botocore()  # noqa: N806 - botocore's class
        endpoint = self.location.endpoint_url or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
        self.endpoint = endpoint or ""
        config = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=10, read_timeout=30,
                        s3={"addressing_style": "path"})
        try:
            session = sessions.Session()
            creds = session.get_credentials()
            if creds is not None:
                frozen = creds.get_frozen_credentials()
                self._secrets = tuple(v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v)
            client = session.create_client("s3", endpoint_url=endpoint, region_name=self.location.region,
                                           config=config)
        except Exception as exc:  # noqa: BLE001 - botocore raises many kinds; all mean "cannot reach S3"
            raise self._error("cannot set up the S3 client", exc) from None
        client.meta.events.register("before-sign.s3.PutObject", _no_expect_continue)
        return client

    # -- the error boundary ---------------------------------------------------------------------

    def _error(self, what: str, exc: BaseException) -> StateError:
        code, status = _code_and_status(exc)
        detail = f"{code} (HTTP {status})" if code else type(exc).__name__
        text = redact(str(exc), self._secrets)
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
            hint = ("check the credentials boto3 finds (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile) "
                    "and that they may read and write the bucket")
        elif code == "NoSuchBucket":
            hint = f"create the bucket {self.bucket}, or fix `backend.s3.bucket` / --state"
        elif code is None and "credentials" in text.lower():
            hint = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile) for the bucket"
        else:
            hint = "check the endpoint (backend.s3.endpoint_url or AWS_ENDPOINT_URL) and try again"
        return StateError(f"{what} s3://{self.bucket}: {detail}: {text}", hint=hint)

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        self.requests += 1
        body = kwargs.get("Body")
        if isinstance(body, bytes):
            self.bytes_uploaded += len(body)
        if self._on_request is not None:
            self._on_request(method, len(body) if isinstance(body, bytes) else 0)
        try:
            return getattr(self._client, method)(Bucket=self.bucket, **kwargs)
        except Exception as exc:  # noqa: BLE001 - translated below, never re-raised as boto3's
            code, status = _code_and_status(exc)
            if status == 412 or code in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise PreconditionFailed(code or "412") from None
            if status == 404 or code in ("NoSuchKey", "404", "NotFound"):
                raise KeyError(kwargs.get("Key", "")) from None
            raise self._error(what, exc) from None

    # -- objects --------------------------------------------------------------------------------

    def get(self, key: str) -> Got | None:
        """The object's bytes and ETag, or None when there is none."""
        try:
            answer = self._call(f"cannot read {key} in", "get_object", Key=key)
        except KeyError:
            return None
        try:
            data = answer["Body"].read()
        except Exception as exc:  # noqa: BLE001 - a body cut short
            raise self._error(f"cannot read {key} in", exc) from None
        return Got(data=bytes(data), etag=str(answer["ETag"]))

    def put(self, key: str, data: bytes, *, if_match: str | None = None, if_absent: bool = False) -> str:
        """Write the object only if its ETag is `if_match`, or (`if_absent`) it does not exist; its new ETag.

        PreconditionFailed when the condition does not hold."""
        kwargs: dict[str, Any] = {"Key": key, "Body": data, "ContentType": "application/json"}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        if if_absent:
            kwargs["IfNoneMatch"] = "*"
        try:
            answer = self._call(f"cannot write {key} in", "put_object", **kwargs)
        except KeyError:  # If-Match on an object that is gone: the condition does not hold
            raise PreconditionFailed("404") from None
        return str(answer.get("ETag", ""))

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete the object (only if its ETag is `if_match`); PreconditionFailed when it is not."""
        kwargs: dict[str, Any] = {"Key": key}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        try:
            self._call(f"cannot delete {key} in", "delete_object", **kwargs)
        except KeyError:
            if if_match is not None:
                raise PreconditionFailed("404") from None

    def delete_many(self, keys: list[str]) -> None:
        """Delete these objects (one request per 1000)."""
        for start in range(0, len(keys), 1000):
            chunk = keys[start:start + 1000]
            self._call("cannot delete journal segments in", "delete_objects",
                       Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})

    def list(self, prefix: str) -> list[str]:
        """The keys under `prefix`, in order."""
        keys: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            answer = self._call(f"cannot list {prefix} in", "list_objects_v2", **kwargs)
            keys.extend(str(item["Key"]) for item in answer.get("Contents", []))
            token = answer.get("NextContinuationToken")
            if not answer.get("IsTruncated") or not token:
                return sorted(keys)

    def copy(self, source: str, key: str, *, if_match: str) -> None:
        """Copy `source` to `key` on the server (no bytes uploaded), only if `source` still has that ETag."""
        self._call(f"cannot copy {source} in", "copy_object", Key=key, CopySourceIfMatch=if_match,
                   CopySource={"Bucket": self.bucket, "Key": source})

    def versioning(self) -> bool:
        """Whether the bucket keeps object versions."""
        answer = self._call("cannot read the versioning of", "get_bucket_versioning")
        return bool(answer.get("Status") == "Enabled")


def _no_expect_continue(request: Any, **_: Any) -> None:
    """Send a PUT's body with its headers. botocore asks for `Expect: 100-continue` on every PutObject: the body
    then waits for the server's "100 Continue", one more round trip per PUT, on the path of every journal
    append. It saves sending a large body that a server refuses; a state object or lease is small."""
    del request.headers["Expect"]  # botocore's HTTPHeaders: no error when absent


def _code_and_status(exc: BaseException) -> tuple[str | None, int | None]:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None, None
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    code = error.get("Code")
    status = meta.get("HTTPStatusCode")
    return (str(code) if code else None), (int(status) if isinstance(status, int) else None)
