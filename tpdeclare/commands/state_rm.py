"""`tpdeclare state rm ADDR...`: forget clusters; they keep running (and billing) untouched."""

from __future__ import annotations

from tpdeclare import errors
from tpdeclare.command_options import StateOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.state_locator import find_state, read_existing, recorded

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
        volumes = [a for a in opts.addresses if a.startswith("storage.")]
        if volumes:
            from tpdeclare.commands import state_volumes

            said: list[str] = []
            damaged_volumes = [a for a in volumes if damaged and a[len("storage."):] not in state.volumes]
            state = state_volumes.removed(state, [a for a in volumes if a not in damaged_volumes], store.name,
                                          said)
            said += [f"Removed {a} (its damaged record) from state. Any volume it named is "
                     f"{state_volumes.UNTOUCHED}" for a in damaged_volumes]
            for line in said:
                ctx.console.print(line)
        resources = dict(state.resources)
        for address in [a for a in opts.addresses if not a.startswith("storage.")]:
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
