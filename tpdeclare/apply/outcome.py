"""What an apply, destroy or expire did, change by change, and what runs (and costs) afterwards.

Two forms of the same facts: the failure table printed after a run with any failure, and the JSON document of
`--json`. A change succeeded, failed (with the server's words), was not started (a stop or the deadline
came first), or was interrupted in flight; "running now" is every cluster the state records afterwards, with
its hourly cost at the plan's prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tpdeclare.apply.executor import ApplyResult
from tpdeclare.diagnostics import printable
from tpdeclare.frozen_values import frozen
from tpdeclare.plan.cost import PriceBook
from tpdeclare.plan.model import Action, Plan
from tpdeclare.plan.render_lifetimes import hourly
from tpdeclare.state.model import CREATING, DELETING, READY, TAINTED, State

FORMAT_VERSION = "1.0"
_WORDS = {Action.CREATE: "create", Action.UPDATE: "update", Action.REPLACE: "replace", Action.DELETE: "destroy"}
_LIVE = (READY, CREATING, TAINTED, DELETING)  # a cluster exists on the engine (and may bill)


@frozen
class Row:
    """One change of the plan and what became of it."""

    address: str
    action: str  # create, update, replace, destroy; `wait` for a create an earlier run started
    result: str  # succeeded, failed, not started, interrupted
    detail: str | None = None  # the failure, in the server's words where it gave them


@frozen
class Running:
    """The clusters the state records after the run, and what they cost per hour together."""

    clusters: tuple[tuple[str, str | None, str, float | None], ...]  # (address, cluster ID, status, USD/hour)
    unpriced: tuple[str, ...]

    @property
    def hourly(self) -> float:
        return round(sum(h or 0.0 for *_, h in self.clusters), 6)


def rows(plan: Plan, result: ApplyResult) -> list[Row]:
    """Every change the plan asked for (and every wait, and every failed step), with its result."""
    steps = [(c.address, _WORDS[c.action]) for c in plan.actionable]
    steps += [(a, "wait") for a in plan.waits]
    if plan.storage is not None:  # volumes, then attachments, as the plan lists them
        from tpdeclare.apply.storage_steps import attachment_label
        from tpdeclare.state.volumes import volume_address

        steps += [(v.shown, _WORDS[v.action]) for v in plan.storage.volumes if v.action is not Action.NOOP]
        changed = {s for s, _ in steps}
        steps += [(volume_address(a), "wait") for a in plan.storage.waits if volume_address(a) not in changed]
        steps += [(attachment_label(a), a.link.value) for a in plan.storage.attachments]
    steps += [(a, "drop intent") for a in sorted(result.failures) if all(a != s for s, _ in steps)]
    succeeded, not_started = set(result.succeeded), set(result.not_started)
    out = []
    for address, action in steps:
        if address in result.failures:
            out.append(Row(address, action, "failed", printable(" ".join(result.failures[address].split()))))
        elif address in not_started:
            blocker = result.blocked_by.get(address)
            out.append(Row(address, action, "not started",
                           f"waits for {blocker}, which did not succeed" if blocker else None))
        elif address in succeeded:
            out.append(Row(address, action, "succeeded"))
        else:
            out.append(Row(address, action, "interrupted"))
    return out


def running(state: State, prices: Mapping[str, float]) -> Running:
    """What the state says exists on the engine now, each with its hourly cost."""
    costs = PriceBook(prices)
    live = [(a, r.cluster_id, r.status.value, costs(r.spec)) for a, r in sorted(state.resources.items())
            if r.status in _LIVE]
    return Running(tuple(live), tuple(a for a, _, _, h in live if h is None))


def _volume_summary(result: ApplyResult) -> dict[str, Any]:
    """The volumes' counts (issue 15), present only when the run touched a volume or an attachment."""
    counts = {"added": result.volumes_added, "changed": result.volumes_changed, "replaced": result.volumes_replaced,
              "destroyed": result.volumes_destroyed, "attachments_changed": result.linked}
    if result.volumes_waited:  # present only when it happened: earlier documents keep their keys
        counts["waited"] = result.volumes_waited
    return {"volumes": counts} if any(counts.values()) else {}


def is_clean(result: ApplyResult) -> bool:
    return not (result.failures or result.not_started or result.interrupted or result.timed_out)


def failure_table(word: str, table: list[Row], now: Running) -> str:
    """The table printed after a run with any failure: each change's result, then what runs now."""
    failed = sum(1 for r in table if r.result == "failed")
    head = (f"{word} finished with {failed} failure{'s' if failed != 1 else ''}" if failed
            else f"{word} did not finish")
    lines = [f"{head}. What became of each change:", ""]
    header = ("ADDRESS", "ACTION", "RESULT", "DETAIL")
    cells = [header] + [(r.address, r.action, r.result, r.detail or "") for r in table]
    widths = [max(len(c[i]) for c in cells) for i in range(3)]
    for c in cells:
        lines.append(("  " + "  ".join(f"{v:<{w}}" for v, w in zip(c[:3], widths, strict=True)) + "  " + c[3]).rstrip())
    lines.append("")
    lines.append(running_line(now))
    return "\n".join(lines) + "\n"


def running_line(now: Running) -> str:
    n = len(now.clusters)
    line = f"Running now: {n} cluster{'s' if n != 1 else ''} at {hourly(now.hourly)}"
    if now.unpriced:
        line += f" (and {', '.join(now.unpriced)}, whose price is not known)"
    return line + "."


def document(command: str, stack: str | None, outcome: str, *, plan_json: dict[str, Any] | None = None,
             table: list[Row] | None = None, now: Running | None = None, result: ApplyResult | None = None,
             error: str | None = None) -> dict[str, Any]:
    """The `--json` document of apply, destroy and expire: the same facts as the failure table."""
    return {
        "format_version": FORMAT_VERSION,
        "command": command,
        "stack": stack,
        "outcome": outcome,
        "error": error,
        "changes": [{"address": r.address, "action": r.action, "result": r.result, "error": r.detail}
                    for r in (table or [])],
        "summary": None if result is None else {"added": result.added, "changed": result.changed,
                                                "replaced": result.replaced, "destroyed": result.destroyed,
                                                "waited": result.waited, **_volume_summary(result)},
        "running": None if now is None else {
            "hourly": now.hourly, "unpriced": list(now.unpriced),
            "clusters": [{"address": a, "cluster_id": cid, "status": status, "hourly": h}
                         for a, cid, status, h in now.clusters],
        },
        "plan": plan_json,
    }
