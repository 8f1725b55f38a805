"""`tpdeclare state push FILE`: replace the stack's state with a state file, under the lock."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tpdeclare import errors
from tpdeclare.command_options import StatePushOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.state_locator import find_state
from tpdeclare.state.codec import parse_state


def run(ctx: Context, opts: StatePushOptions) -> int:
    try:
        data = Path(opts.file).read_bytes()
    except OSError as exc:
        raise errors.TpdeclareError(f"cannot read {opts.file}: {exc.strerror or exc}",
                                    hint="name a state file, e.g. one written by `tpdeclare state pull`") from exc
    pushed = parse_state(data, source=opts.file)
    store = find_state(ctx, opts.specs)
    with ctx.lock(store, "tpdeclare state push"):
        current = store.read()
        if current is not None:
            if current.lineage != pushed.lineage and not opts.force:
                raise errors.StateError(
                    f"refusing to push {opts.file}: it is of lineage {pushed.lineage}, but {store.name} is of "
                    f"lineage {current.lineage} (another state altogether)",
                    hint="push a state of this stack, or pass --force to replace it anyway")
            if pushed.serial < current.serial and not opts.force:
                raise errors.StateError(
                    f"refusing to push {opts.file}: its serial {pushed.serial} is older than {store.name}'s "
                    f"serial {current.serial}",
                    hint="pull the current state first (`tpdeclare state pull`), or pass --force")
            if opts.force:  # the pushed records, as the next version of the current state
                pushed = dataclasses.replace(pushed, lineage=current.lineage, stack=current.stack,
                                             serial=max(pushed.serial, current.serial + 1))
        store.write(pushed)
    ctx.console.print(f"Pushed {opts.file} to {store.name} (serial {pushed.serial}).")
    return 0
