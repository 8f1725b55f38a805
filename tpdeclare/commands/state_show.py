"""`tpdeclare state show ADDR`: one record in full (no API call)."""

from __future__ import annotations

from tpdeclare.command_options import StateOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.show import format_record
from tpdeclare.commands.state_locator import find_state, read_existing, recorded


def run(ctx: Context, opts: StateOptions) -> int:
    store = find_state(ctx, opts.specs)
    if opts.addresses[0].startswith("storage."):
        from tpdeclare.commands.state_volumes import format_volume, recorded_volume

        ctx.console.print(format_volume(recorded_volume(read_existing(store), opts.addresses[0], store.name)))
        return 0
    ctx.console.print(format_record(recorded(read_existing(store), opts.addresses[0], store)))
    return 0
