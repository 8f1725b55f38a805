"""Waiting for the engine: polling a request to its end, or a cluster to running or gone, within the deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tpdeclare import errors
from tpdeclare.apply.context import ApplyContext, elapsed_text
from tpdeclare.apply.ownership import is_gone
from tpdeclare.interrupt import Stopped
from tpdeclare.state.model import Record

if TYPE_CHECKING:
    from tpdeclare.api.client import ClusterInfo, RequestInfo

TIMEOUT_HINT = "the record stays in state and the next run picks it up; raise --timeout to wait longer"


class Poller:
    """Polls for one apply: every wait ends at the run's deadline, and a stop request ends it at the next poll."""

    def __init__(self, ctx: ApplyContext):
        self.ctx = ctx

    def progress(self, address: str, verb: str, started: float) -> Callable[[object], None]:
        """An on_poll callback: stops at a stop request, says "Still creating..." every so often."""
        last = [started]
        ctx = self.ctx

        def on_poll(_info: object) -> None:
            if ctx.stop.is_set():
                raise Stopped()
            now = ctx.clock()
            if now - last[0] >= ctx.pace.progress_every:
                last[0] = now
                ctx.report(f"{address}: Still {verb}... [{elapsed_text(now - started)} elapsed]")

        return on_poll

    def request(self, request_id: str, what: str, on_poll: Callable[[object], None], started: float) -> RequestInfo:
        """Wait for a request to end (COMPLETED or FAILED), within the run's deadline."""
        remaining = self.ctx.remaining()
        try:
            return self.ctx.api.wait_for_request(
                request_id, deadline_seconds=max(0.0, remaining) if remaining is not None else 10.0**9,
                what=what, on_poll=on_poll,
            )
        except errors.PollTimeout as exc:
            raise errors.PollTimeout(
                f"timed out after {elapsed_text(self.ctx.clock() - started)} waiting for {what}", hint=TIMEOUT_HINT
            ) from exc

    def cluster(
        self, rec: Record, on_poll: Callable[[object], None], started: float, what: str, *, until_gone: bool
    ) -> tuple[bool, str | None, ClusterInfo | None]:
        """Watch `GET /cluster/info` until the cluster is running/failed (or gone, for a destroy):
        (done, failure words, the last ClusterInfo seen)."""
        assert rec.cluster_id is not None
        while True:
            try:
                info = self.ctx.api.cluster_info(rec.cluster_id)
            except errors.NotFound:
                if until_gone:
                    return True, None, None
                raise errors.ApiError(
                    f"{rec.cluster_id} disappeared while it was being created",
                    hint="the next run forgets it and plans it again",
                ) from None
            if until_gone:
                if info.is_destroyed:
                    return True, None, info
            elif info.is_running:
                return True, None, info
            elif info.is_failed:
                return False, "the engine reports the cluster FAILED", info
            elif is_gone(info):
                raise errors.ApiError(
                    f"{rec.cluster_id} is being destroyed by someone else while it was being created",
                    hint="the next run forgets it and plans it again",
                )
            on_poll(info)
            if self.ctx.past_deadline():
                raise errors.PollTimeout(
                    f"timed out after {elapsed_text(self.ctx.clock() - started)} waiting for {what}", hint=TIMEOUT_HINT
                )
            self.ctx.sleep(self.ctx.pace.cluster_poll)

    def whereabouts(self, cluster_id: str) -> str:
        """'gone', 'destroying' or 'alive', from `GET /cluster/info`."""
        try:
            info = self.ctx.api.cluster_info(cluster_id)
        except errors.NotFound:
            return "gone"
        if info.is_destroyed:
            return "gone"
        if info.is_destroying:
            return "destroying"
        return "alive"
