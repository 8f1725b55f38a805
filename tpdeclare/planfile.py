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
    spec_files: list[str]
    spec_hash: str
    state_existed: bool
    state_lineage: str | None
    state_serial: int | None
    state_hash: str | None
    refresh: bool
    destroy_all: bool
    targets: list[str]
    replace: list[str]
    plan: dict

    def check_against(self, prepared) -> None:
        """Refuse (PlanFileError, nothing changed) unless specs, state and plan are as when it was saved."""
        from tpdeclare.plan.render import plan_to_json

        why = None
        if prepared.spec.content_hash != self.spec_hash:
            why = "the spec files changed after the plan was made"
        elif prepared.state is not None and not self.state_existed:
            why = "the plan was made before any state existed, and state exists now (another apply ran)"
        elif prepared.state is None and self.state_existed:
            why = "the state the plan was made against no longer exists"
        elif prepared.state is not None and (
            prepared.state.lineage != self.state_lineage
            or prepared.state.serial != self.state_serial
            or prepared.store.content_hash() != self.state_hash
        ):
            why = (
                f"the state moved on since the plan was made (serial {self.state_serial} -> "
                f"{prepared.state.serial}); another apply ran"
                if prepared.state.lineage == self.state_lineage
                else "the state file is a different one (lineage differs)"
            )
        elif plan_to_json(prepared.plan)["resource_changes"] != self.plan["resource_changes"]:
            why = "the engine's clusters changed since the plan was made"
        if why:
            raise errors.PlanFileError(
                f"the saved plan {self.path} is stale: {why}; nothing was changed",
                hint="make a new plan with `tpdeclare plan --out FILE` and review it",
            )


def save_plan(path: str, prepared, args) -> None:
    from tpdeclare.plan.render import plan_to_json

    doc = {
        "kind": MAGIC,
        "version": VERSION,
        "stack": prepared.spec.stack,
        "spec_files": list(prepared.spec.files),
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
        return SavedPlan(
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
            plan=doc["plan"],
        )
    except errors.PlanFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise errors.PlanFileError(
            f"{path} is not a readable tpdeclare plan file ({exc})",
            hint="make one with `tpdeclare plan --out FILE`",
        ) from exc
