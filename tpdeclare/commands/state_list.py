"""`tpdeclare state list`: the recorded addresses, cluster IDs, statuses and names (no API call)."""

from __future__ import annotations

from tpdeclare.command_options import StateOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.state_locator import find_state, read_existing


def run(ctx: Context, opts: StateOptions) -> int:
    store = find_state(ctx, opts.specs)
    state = read_existing(store)
    for address, rec in sorted(state.resources.items()):
        ctx.console.print(f"{address}\t{rec.cluster_id or '-'}\t{rec.status.value}\t{rec.name}")
    if state.volumes:
        from tpdeclare.commands.state_volumes import list_lines

        for line in list_lines(state):
            ctx.console.print(line)
    return 0
