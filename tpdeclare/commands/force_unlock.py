"""`tpdeclare force-unlock ID`: release a state lock whose holder is gone."""

from __future__ import annotations

from tpdeclare.command_options import ForceUnlockOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.state_locator import find_state


def run(ctx: Context, opts: ForceUnlockOptions) -> int:
    store = find_state(ctx, opts.specs)
    store.force_unlock(opts.lock_id)
    ctx.console.print(f"Lock {opts.lock_id} on {store.name} released.")
    return 0
