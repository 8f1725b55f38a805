"""`tpdeclare state mv FROM TO`: re-address a record (no API call; the cluster is untouched)."""

from __future__ import annotations

from dataclasses import replace

from tpdeclare import errors
from tpdeclare.command_options import StateOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.state_locator import find_state, read_existing, recorded
from tpdeclare.identifiers import is_address


def run(ctx: Context, opts: StateOptions) -> int:
    source, destination = opts.addresses
    store = find_state(ctx, opts.specs)
    with ctx.lock(store, "tpdeclare state mv"):
        state = read_existing(store)
        if source.startswith("storage."):
            from tpdeclare.commands.state_volumes import moved

            state, said = moved(state, source, destination, store.name)
            ctx.console.print(said)
            store.write(state)
            return 0
        rec = recorded(state, source, store)
        if not is_address(destination):
            raise errors.TpdeclareError(
                f"'{destination}' is not a valid address",
                hint="an address is lowercase letters, digits and hyphens, starting with a letter (at most 63)",
            )
        if destination in state.resources:
            raise errors.TpdeclareError(
                f"address '{destination}' is already in state",
                hint="remove it first with `tpdeclare state rm`, or pick another address",
            )
        resources = dict(state.resources)
        del resources[source]
        resources[destination] = replace(rec, address=destination)
        ctx.console.print(f"Moved {source} to {destination} ({rec.cluster_id or 'no id'}).")
        store.write(state.with_resources(resources))
    return 0
