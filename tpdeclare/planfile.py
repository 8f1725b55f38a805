"""Saved plan files: the Plan itself plus what it was made against, so `apply FILE` applies exactly it or refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tpdeclare import errors
from tpdeclare.atomic_files import atomic_write
from tpdeclare.frozen_values import frozen
from tpdeclare.plan.codec import decode_plan, encode_plan
from tpdeclare.plan.model import Plan

if TYPE_CHECKING:
    from tpdeclare.state.model import State
    from tpdeclare.state.store import StateStore

MAGIC = "tpdeclare-plan"
VERSION = 2


@frozen
class SavedPlan:
    """A plan file's contents: the plan, and the state, specs and engine it binds."""

    path: str
    plan: Plan
    spec_files: tuple[str, ...]  # the spec arguments as given to `plan` (files or directories)
    spec_hash: str
    engine: str
    state_existed: bool
    state_lineage: str | None
    state_serial: int | None
    state_hash: str | None

    def _stale(self, why: str) -> errors.PlanFileError:
        return errors.PlanFileError(
            f"the saved plan {self.path} is stale: {why}; nothing was changed",
            hint="make a new plan with `tpdeclare plan --out FILE` and review it",
        )

    def check_engine(self, engine: str) -> None:
        if engine != self.engine:
            raise errors.PlanFileError(
                f"the saved plan {self.path} was made against engine {self.engine}, but this run uses {engine}",
                hint=f"pass --engine {self.engine} (or set TENSORPOOL_ENGINE), or make a new plan",
            )

    def check_state(self, state: State | None, store: StateStore) -> None:
        """Refuse unless the state is exactly the one the plan was made against (before any recovery)."""
        if state is not None and not self.state_existed:
            raise self._stale("the plan was made before any state existed, and state exists now (another apply ran)")
        if state is None and self.state_existed:
            raise self._stale("the state the plan was made against no longer exists")
        if state is None:
            return
        if state.lineage != self.state_lineage:
            raise self._stale("the state file is a different one (its lineage differs)")
        if state.serial != self.state_serial or store.content_hash() != self.state_hash:
            raise self._stale(
                f"the state moved on since the plan was made (serial {self.state_serial} -> {state.serial}); "
                f"another run changed it"
            )

    def check_recovery(self, before: State | None, after: State | None) -> None:
        """Recovery settled records of an interrupted run: the plan was made against what is no longer so."""
        if before is not None and after is not None and after.serial != before.serial:
            raise self._stale("an interrupted run's clusters were settled since the plan was made")

    def specs_present(self) -> bool:
        """Whether the spec files the plan was made from are still there (a plan applies without them)."""
        return bool(self.spec_files) and all(Path(p).exists() for p in self.spec_files)

    def check_spec(self, stack: str, content_hash: str) -> None:
        """Refuse when the spec files, still present, now say something else than the plan was made from."""
        if stack != self.plan.stack:
            raise self._stale(f"the specs now make stack '{stack}', the plan is for '{self.plan.stack}'")
        if content_hash != self.spec_hash:
            raise self._stale("the spec files changed after the plan was made")


def save_plan(path: str, plan: Plan, *, spec_args: tuple[str, ...], spec_hash: str, engine: str,
              state: State | None, store: StateStore) -> None:
    """Write the plan file (mode 0600, atomically); a plan that cannot be applied is never saved."""
    if plan.blocked or plan.conflicts:
        raise errors.PlanFileError(f"the plan cannot be applied, so it was not saved to {path}")
    doc = {
        "kind": MAGIC,
        "version": VERSION,
        "spec_files": list(spec_args),
        "spec_hash": spec_hash,
        "engine": engine,
        "state": {
            "existed": state is not None,
            "lineage": state.lineage if state else None,
            "serial": state.serial if state else None,
            "hash": store.content_hash() if state else None,
        },
        "plan": encode_plan(plan),
    }
    data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise errors.PlanFileError(f"cannot write the plan file {path}: {exc.strerror or exc}") from exc


def is_plan_bytes(head: bytes) -> bool:
    """True for bytes that start like a saved plan (specs are YAML and never do)."""
    return head.lstrip().startswith(b"{") and MAGIC.encode() in head[:4096]


def load_plan(path: str, data: bytes) -> SavedPlan:
    """Decode a plan file's bytes (already read once); PlanFileError for anything unreadable."""
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("kind") != MAGIC:
            raise ValueError("not a tpdeclare plan")
        if doc.get("version") != VERSION:
            raise errors.PlanFileError(
                f"{path} is a plan of format {doc.get('version')}, this tpdeclare reads {VERSION}",
                hint="make the plan again with this version of tpdeclare",
            )
        state: dict[str, Any] = doc["state"]
        return SavedPlan(
            path=path,
            plan=decode_plan(doc["plan"], source=path),
            spec_files=tuple(_strings(doc["spec_files"])),
            spec_hash=_string(doc["spec_hash"]),
            engine=_string(doc["engine"]),
            state_existed=bool(state["existed"]),
            state_lineage=state["lineage"],
            state_serial=state["serial"],
            state_hash=state["hash"],
        )
    except errors.PlanFileError:
        raise
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise errors.PlanFileError(
            f"{path} is not a readable tpdeclare plan file ({exc})",
            hint="make one with `tpdeclare plan --out FILE`",
        ) from exc


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return [_string(v) for v in value]
