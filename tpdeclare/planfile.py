"""Saved plan files: what a plan was made from, so `apply FILE` applies exactly it or refuses."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tpdeclare import errors

MAGIC = "tpdeclare-plan"
VERSION = 1


@dataclass
class SavedPlan:
    """A plan file's contents: the inputs it binds and the changes it promised."""

    path: str
    stack: str
    spec_files: list[str]  # the spec arguments as given to `plan` (files or directories)
    spec_hash: str
    state_existed: bool
    state_lineage: str | None
    state_serial: int | None
    state_hash: str | None
    refresh: bool
    destroy_all: bool
    targets: list[str]
    replace: list[str]
    max_hourly_cost: float | None
    prices: dict | None
    plan: dict

    def _stale(self, why: str) -> errors.PlanFileError:
        return errors.PlanFileError(
            f"the saved plan {self.path} is stale: {why}; nothing was changed",
            hint="make a new plan with `tpdeclare plan --out FILE` and review it",
        )

    def check_state(self, state, store) -> None:
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

    def check_plan(self, prepared) -> None:
        """Refuse unless the specs are the same and planning again gives exactly the saved changes."""
        from tpdeclare.plan.render import plan_to_json

        if prepared.spec.stack != self.stack:
            raise self._stale(f"the specs now make stack '{prepared.spec.stack}', the plan is for '{self.stack}'")
        if prepared.spec.content_hash != self.spec_hash:
            raise self._stale("the spec files changed after the plan was made")
        if plan_to_json(prepared.plan)["resource_changes"] != self.plan["resource_changes"]:
            raise self._stale("the engine's clusters changed since the plan was made")


def save_plan(path: str, prepared, args, prices: dict | None = None) -> None:
    """Write the plan file; a plan blocked by policy is never saved."""
    from tpdeclare.plan.render import plan_to_json

    if prepared.plan.blocked:
        raise errors.PlanFileError(f"the plan is blocked by policy, so it was not saved to {path}")
    doc = {
        "kind": MAGIC,
        "version": VERSION,
        "stack": prepared.spec.stack,
        "spec_files": list(args.spec),
        "spec_hash": prepared.spec.content_hash,
        "state": {
            "existed": prepared.state is not None,
            "lineage": prepared.state.lineage if prepared.state else None,
            "serial": prepared.state.serial if prepared.state else None,
            "hash": prepared.store.content_hash() if prepared.state else None,
        },
        "options": {
            "refresh": bool(getattr(args, "refresh", False)),
            "destroy_all": bool(getattr(args, "destroy", False)),
            "targets": list(getattr(args, "target", ()) or ()),
            "replace": list(getattr(args, "replace", ()) or ()),
            "max_hourly_cost": prepared.plan.max_hourly_cost,
            "prices": prices,
        },
        "plan": plan_to_json(prepared.plan),
    }
    data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise errors.PlanFileError(f"cannot write the plan file {path}: {exc.strerror or exc}") from exc


def is_plan_file(path: str) -> bool:
    """True for a file that starts like a saved plan (specs are YAML and never do)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and MAGIC.encode() in head


def load_plan(path: str) -> SavedPlan:
    try:
        with open(path, "rb") as fh:
            doc = json.load(fh)
        if doc.get("kind") != MAGIC:
            raise ValueError("not a tpdeclare plan")
        if doc.get("version") != VERSION:
            raise errors.PlanFileError(
                f"{path} is a plan of format {doc.get('version')}, this tpdeclare reads {VERSION}",
                hint="make the plan again with this version of tpdeclare",
            )
        state, options = doc["state"], doc["options"]
        saved = SavedPlan(
            path=path,
            stack=doc["stack"],
            spec_files=list(doc["spec_files"]),
            spec_hash=doc["spec_hash"],
            state_existed=bool(state["existed"]),
            state_lineage=state["lineage"],
            state_serial=state["serial"],
            state_hash=state["hash"],
            refresh=bool(options["refresh"]),
            destroy_all=bool(options["destroy_all"]),
            targets=list(options["targets"]),
            replace=list(options["replace"]),
            max_hourly_cost=options.get("max_hourly_cost"),
            prices=options.get("prices"),
            plan=doc["plan"],
        )
        from tpdeclare.plan.render import plan_from_json

        plan_from_json(saved.plan)  # every change must be readable before anything trusts the file
        return saved
    except errors.PlanFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise errors.PlanFileError(
            f"{path} is not a readable tpdeclare plan file ({exc})",
            hint="make one with `tpdeclare plan --out FILE`",
        ) from exc
