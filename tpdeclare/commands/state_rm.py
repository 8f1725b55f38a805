"""`tpdeclare state rm ADDR...`: forget clusters; they keep running (and billing) untouched."""

from __future__ import annotations

from tpdeclare.commands.context import Context
from tpdeclare.commands.state_locator import find_state, read_existing, recorded
from tpdeclare.options import StateOptions


def run(ctx: Context, opts: StateOptions) -> int:
    store = find_state(ctx, opts.specs)
    with ctx.lock(store, "tpdeclare state rm"):
        state = read_existing(store)
        resources = dict(state.resources)
        for address in opts.addresses:
            rec = recorded(state, address, store)
            del resources[address]
            ctx.console.print(
                f"Removed {address} ({rec.cluster_id or 'no id'}) from state. The cluster itself is untouched "
                f"and still bills; `tpdeclare orphans` lists it."
            )
        store.write(state.with_resources(resources))
    return 0
