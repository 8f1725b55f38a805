"""Whether a state holds records an interrupted run left unsettled (the recovery modules settle them)."""

from __future__ import annotations

from tpdeclare.state.model import CREATING, DELETING, PENDING, State

UNSETTLED = (PENDING, CREATING, DELETING)  # a cluster's or a volume's record between intent and outcome


def needs_recovery(state: State | None) -> bool:
    """Some cluster record is pending, creating or deleting (tpdeclare.apply.recovery settles it)."""
    return state is not None and any(r.status in UNSETTLED for r in state.resources.values())


def needs_volume_recovery(state: State | None) -> bool:
    """Some volume record is pending, creating or deleting (tpdeclare.apply.volume_recovery settles it)."""
    return state is not None and any(v.status in UNSETTLED for v in state.volumes.values())
