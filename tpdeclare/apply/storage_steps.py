"""Builds the apply's step graph for a plan with storage: cluster changes, volume changes and waits, attaches and
detaches, each keyed as the plan's order names it, then runs it (apply/step_graph.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from tpdeclare.apply.context import ApplyContext
from tpdeclare.apply.polling import Poller
from tpdeclare.apply.step_graph import run_graph
from tpdeclare.apply.volumes import VolumeOps
from tpdeclare.plan.model import Action, Plan
from tpdeclare.plan.ordering import cluster_step, volume_step, wait_step
from tpdeclare.plan.storage_model import AttachmentStep
from tpdeclare.state.volumes import volume_address

RunOne = Callable[[str, Callable[[], None], "str | None"], bool]
_COUNTERS = {Action.CREATE: "volumes_added", Action.UPDATE: "volumes_changed", Action.REPLACE: "volumes_replaced",
             Action.DELETE: "volumes_destroyed"}


def attachment_label(step: AttachmentStep) -> str:
    """How the failure table and progress lines name an attachment step."""
    where = "to" if step.link.value == "attach" else "from"
    return f"{step.link.value} storage.{step.volume} {where} {step.cluster}"


def run_in_order(plan: Plan, cluster_work: Sequence[tuple[str, Callable[[], None], str | None]], ctx: ApplyContext,
                 poller: Poller, run_one: RunOne, skipped: Callable[[str, str], None], parallelism: int) -> None:
    """Every step of `plan` (the clusters' work given ready to call), each after what it depends on."""
    assert plan.storage is not None
    ops = VolumeOps(ctx, poller)
    tasks: dict[str, Callable[[], bool]] = {}
    labels: dict[str, str] = {}
    waits = set(plan.waits)
    for address, call, counter in cluster_work:
        key = wait_step(address) if counter == "waited" and address in waits else cluster_step(address)
        if key in tasks:
            key = f"{key}#{len(tasks)}"
        labels[key] = address
        tasks[key] = partial(run_one, address, call, counter)
    for v in plan.storage.volumes:
        if v.action is Action.NOOP:
            continue
        key = volume_step(v.address)
        labels[key] = v.shown
        tasks[key] = partial(run_one, v.shown, partial(ops.apply, v), _COUNTERS[v.action])
    for address in plan.storage.waits:
        key = volume_step(address)
        if key not in tasks:  # (an edit of the volume waits for it itself)
            labels[key] = volume_address(address)
            tasks[key] = partial(run_one, volume_address(address), partial(ops.wait_earlier, address),
                                  "volumes_waited")
    for a in plan.storage.attachments:
        labels[a.key] = attachment_label(a)
        tasks[a.key] = partial(run_one, attachment_label(a), partial(ops.link, a), "linked")
    after = {st.key: st.after for st in plan.storage.order}
    # the plan's order first (dependencies before dependants), then the independent steps
    ordered = [st.key for st in plan.storage.order if st.key in tasks] + [k for k in tasks
                                                                         if k not in after]
    run_graph({k: tasks[k] for k in ordered}, after, parallelism,
              lambda key, blocker: skipped(labels[key], labels.get(blocker, blocker)))
