"""Plan values for storage volumes: each volume's change, each attach and detach, and the order they run in."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tpdeclare.frozen_values import frozen
from tpdeclare.plan.model import Action, FieldChange
from tpdeclare.spec.model import VolumeSpec

PRICE_PER_GB_MONTH = 0.10  # USD [doc]: TensorPool bills storage per GB-month
HOURS_PER_MONTH = 730  # the hourly equivalent of a monthly price: 365 × 24 / 12


def monthly_cost(size_gb: Any) -> float:
    return round(size_gb * PRICE_PER_GB_MONTH, 6) if isinstance(size_gb, int) and not isinstance(size_gb, bool) else 0.0


class Link(StrEnum):
    """An attachment step's kind (the values are the words plans and the executor use)."""

    ATTACH = "attach"
    DETACH = "detach"

    @property
    def glyph(self) -> str:
        """How plans mark it: `+` an attach, `-` a detach."""
        return "+" if self is Link.ATTACH else "-"


@frozen
class VolumeChange:
    """The planned action for one volume (address as in `storage:`, shown as `storage.ADDR`)."""

    address: str
    action: Action
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    field_changes: tuple[FieldChange, ...] = ()
    replace_paths: tuple[str, ...] = ()
    reason: str | None = None
    notes: tuple[str, ...] = ()
    storage_id: str | None = None
    desired: VolumeSpec | None = None
    lift_protection: bool = False  # a replace that turns deletion protection off before the DELETE

    @property
    def shown(self) -> str:
        return f"storage.{self.address}"

    @property
    def monthly_before(self) -> float:
        return monthly_cost((self.before or {}).get("size_gb"))

    @property
    def monthly_after(self) -> float:
        return monthly_cost((self.after or {}).get("size_gb"))


@frozen
class AttachmentStep:
    """Attach a volume to a cluster, or detach it: every one restarts all of the cluster's nodes."""

    link: Link
    volume: str  # volume address
    cluster: str  # cluster address
    cluster_id: str | None = None  # known when the cluster exists now and is kept (else found at apply time)
    storage_id: str | None = None  # known when the volume exists now and is kept
    reason: str = ""

    @property
    def key(self) -> str:
        return f"{self.link.value}:{self.volume}:{self.cluster}"  # the step's key: `attach:V:C`, `detach:V:C`

    @property
    def restart_note(self) -> str:
        return f"restarts all nodes of cluster {self.cluster}"


@frozen
class Step:
    """One unit of work in dependency order: `cluster:ADDR`, `volume:ADDR`, `attach:V:C` or `detach:V:C`;
    `after` names the steps that must finish first."""

    key: str
    after: tuple[str, ...] = ()


@frozen
class StoragePlan:
    """Everything a plan does to volumes and attachments, and the order of all dependent steps."""

    volumes: tuple[VolumeChange, ...] = ()
    attachments: tuple[AttachmentStep, ...] = ()
    order: tuple[Step, ...] = ()  # every step that depends on another or is depended on, topologically sorted
    monthly_before: float = 0.0
    monthly_after: float = 0.0
    waits: tuple[str, ...] = ()  # unchanged volumes an earlier run left being created: apply waits for each

    @property
    def has_changes(self) -> bool:
        return bool(self.attachments) or any(v.action is not Action.NOOP for v in self.volumes)

    def volume(self, address: str) -> VolumeChange | None:
        return next((v for v in self.volumes if v.address == address), None)

    def restarts(self) -> tuple[str, ...]:
        """The clusters whose nodes restart, each once, in step order."""
        return tuple(dict.fromkeys(a.cluster for a in self.attachments))
