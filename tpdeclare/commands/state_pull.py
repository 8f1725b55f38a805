"""`tpdeclare state pull`: print the state JSON, from its file or its bucket (no API call)."""

from __future__ import annotations

from tpdeclare.command_options import StateOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.state_locator import find_state, read_existing
from tpdeclare.state.codec import dump_state


def run(ctx: Context, opts: StateOptions) -> int:
    store = find_state(ctx, opts.specs)
    ctx.console.print(dump_state(read_existing(store)).decode("utf-8"), end="")
    return 0
