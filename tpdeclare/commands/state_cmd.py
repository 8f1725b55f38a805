"""`tpdeclare state list|show|rm|mv`: read and surgically edit the recorded state (no API calls)."""

from __future__ import annotations

import re
from dataclasses import replace

from tpdeclare import errors
from tpdeclare.commands.common import Context, find_state
from tpdeclare.commands.show import format_record


ADDRESS = re.compile(r"[a-z][a-z0-9-]{0,62}")


def _read(store):
    state = store.read()
    if state is None:
        raise errors.StateError(f"no state at {store.path}", hint="nothing has been applied for this stack yet")
    return state


def _need(state, address: str, store):
    if address not in state.resources:
        raise errors.TpdeclareError(
            f"no cluster at address '{address}' in {store.path}",
            hint="see `tpdeclare state list` for the recorded addresses",
        )
    return state.resources[address]


def run(ctx: Context, args) -> int:
    store, _ = find_state(ctx, getattr(args, "spec_opt", None))
    if args.state_command == "list":
        state = _read(store)
        for address, rec in sorted(state.resources.items()):
            ctx.console.print(f"{address}\t{rec.cluster_id or '-'}\t{rec.status}\t{rec.name}")
        return 0
    if args.state_command == "show":
        ctx.console.print(format_record(_need(_read(store), args.address, store)))
        return 0
    with ctx.lock(store, f"tpdeclare state {args.state_command}"):
        state = _read(store)
        resources = dict(state.resources)
        if args.state_command == "rm":
            for address in args.address:
                rec = _need(state, address, store)
                del resources[address]
                ctx.console.print(
                    f"Removed {address} ({rec.cluster_id or 'no id'}) from state. The cluster itself is untouched "
                    f"and still bills; `tpdeclare orphans` lists it."
                )
        else:
            rec = _need(state, args.source, store)
            if not ADDRESS.fullmatch(args.destination):
                raise errors.TpdeclareError(
                    f"'{args.destination}' is not a valid address",
                    hint="an address is lowercase letters, digits and hyphens, starting with a letter (at most 63)",
                )
            if args.destination in state.resources:
                raise errors.TpdeclareError(
                    f"address '{args.destination}' is already in state",
                    hint="remove it first with `tpdeclare state rm`, or pick another address",
                )
            del resources[args.source]
            resources[args.destination] = replace(rec, address=args.destination)
            ctx.console.print(f"Moved {args.source} to {args.destination} ({rec.cluster_id or 'no id'}).")
        store.write(state.with_resources(resources))
    return 0
