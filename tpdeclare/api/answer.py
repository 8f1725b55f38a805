"""One HTTP answer as read off the wire (status, headers, the whole body): what the api package works on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from tpdeclare.api.retry import parse_retry_after
from tpdeclare.api.vocabulary import H_DATE, H_RETRY_AFTER
from tpdeclare.frozen_values import frozen


@frozen
class Answer:
    """A complete answer. `status` is None when the transport gave none; `oversized` when the body was
    longer than the client reads (then `body` is empty and was not read to its end)."""

    status: int | None
    reason: str
    headers: Mapping[str, str] = field(default_factory=dict)  # case-insensitive when read off the wire
    body: bytes = b""
    oversized: bool = False

    def header(self, name: str) -> str | None:
        try:
            value = self.headers.get(name)
        except Exception:  # a header mapping we cannot read is a header we ignore
            return None
        return value if isinstance(value, str) else None

    def retry_after(self) -> float | None:
        """The answer's Retry-After in seconds (an HTTP-date measured from its own Date header); None if none."""
        return parse_retry_after(self.header(H_RETRY_AFTER), date=self.header(H_DATE))

    @property
    def is_success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300
