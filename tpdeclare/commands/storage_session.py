"""What a planning command's start needs for storage: whether the stack has volumes, and the engine's list of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tpdeclare import errors
from tpdeclare.api.storage_models import VolumeInfo
from tpdeclare.state.model import State


def uses_storage(state: State | None, spec_volumes: bool) -> bool:
    """A stack reads the engine's volumes only when its spec or state has one: others make no storage call."""
    return spec_volumes or (state is not None and bool(state.volumes))


def list_volumes(client: Any) -> list[VolumeInfo]:
    """One `GET /storage/list`; an engine client without storage support is refused before anything is sent."""
    lister = getattr(client, "list_storage", None)
    if not callable(lister):
        raise errors.ApplyError("this engine client cannot read storage volumes",
                                hint="upgrade tpdeclare; nothing was changed")
    volumes: list[VolumeInfo] = lister()
    return volumes


def observed_volumes(volumes: Sequence[VolumeInfo]) -> dict[str, VolumeInfo]:
    """storage_id -> the engine's volume, for the planner's drift (destroyed ones read as gone)."""
    return {v.storage_id: v for v in volumes if not v.is_destroyed}
