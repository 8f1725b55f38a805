"""Which state a state-only command means: --state, else a spec's stack, else a stack name, else the only one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tpdeclare import errors
from tpdeclare.commands.context import Context, iter_state_files
from tpdeclare.identifiers import STACK

if TYPE_CHECKING:
    from tpdeclare.state.model import Record, State
    from tpdeclare.state.store import StateStore


def find_state(ctx: Context, specs: tuple[str, ...] | list[str], *, stack_names: bool = False,
               preread: Mapping[str, bytes] | None = None) -> StateStore:
    """The state store meant: --state, else the specs' stack, else (with `stack_names`) a stack whose state
    is under ./state, else the only state file there."""
    from tpdeclare.state.local import LocalStateStore

    if ctx.options.state:
        return ctx.store("")
    if stack_names and len(specs) == 1 and STACK.fullmatch(specs[0]) and not Path(specs[0]).exists():
        path = ctx.state_path(specs[0])
        if path.exists():
            return LocalStateStore(path)
        raise errors.TpdeclareError(
            f"no spec file '{specs[0]}' and no state for a stack of that name at {path}",
            hint="name the stack's spec, its stack (with state under ./state), or its state with --state PATH",
        )
    if specs:
        spec = ctx.load_spec(specs, preread)
        return ctx.store(spec.stack, spec.backend)
    candidates = list(iter_state_files(ctx.cwd / "state"))
    if len(candidates) == 1:
        return LocalStateStore(candidates[0])
    listing = ", ".join(str(c.relative_to(ctx.cwd)) for c in candidates) or "none under ./state"
    raise errors.TpdeclareError(
        f"which state? found {listing}",
        hint="name the stack's spec (`tpdeclare show examples/cluster.yaml`, "
        "`tpdeclare state list --spec examples/cluster.yaml`) or pass --state PATH",
    )


def read_existing(store: StateStore, dropping: tuple[str, ...] = ()) -> State:
    """The state at `store`, which must exist (records at `dropping` left out unchecked)."""
    state = store.read(dropping=dropping)
    if state is None:
        raise errors.StateError(f"no state at {store.name}", hint="nothing has been applied for this stack yet")
    return state


def recorded(state: State, address: str, store: StateStore) -> Record:
    """The record at `address`, which must exist."""
    if address not in state.resources:
        raise errors.TpdeclareError(
            f"no cluster at address '{address}' in {store.name}",
            hint="see `tpdeclare state list` for the recorded addresses",
        )
    return state.resources[address]
