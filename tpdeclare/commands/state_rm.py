"""`tpdeclare state rm ADDR...`: forget clusters; they keep running (and billing) untouched."""

from __future__ import annotations

from tpdeclare import errors
from tpdeclare.commands.context import Context
from tpdeclare.commands.state_locator import find_state, read_existing, recorded
from tpdeclare.options import StateOptions

UNTOUCHED = "untouched and still bills; `tpdeclare orphans` lists it."


def run(ctx: Context, opts: StateOptions) -> int:
    store = find_state(ctx, opts.specs)
    with ctx.lock(store, "tpdeclare state rm"):
        try:
            state, damaged = read_existing(store), False
        except errors.StateError:
            # The fix a damaged record's error names: read the state without those records (it is refused
            # again if the damage is anywhere else), and write it back without them.
            state, damaged = read_existing(store, dropping=opts.addresses), True
        resources = dict(state.resources)
        for address in opts.addresses:
            if damaged and address not in resources:
                ctx.console.print(f"Removed {address} (its damaged record) from state. Any cluster it named is "
                                  f"{UNTOUCHED}")
                continue
            rec = recorded(state, address, store)
            del resources[address]
            ctx.console.print(f"Removed {address} ({rec.cluster_id or 'no id'}) from state. The cluster itself is "
                              f"{UNTOUCHED}")
        store.write(state.with_resources(resources))
    return 0
