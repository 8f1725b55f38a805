"""`tpdeclare refresh`: fold changes made outside tpdeclare into the state, after showing them."""

from __future__ import annotations

import dataclasses

from tpdeclare.apply.ownership import utcnow_iso
from tpdeclare.command_options import RefreshOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.engine_binding import bind_engine, read_engine
from tpdeclare.commands.prompt import ask_yes
from tpdeclare.plan.refresh import observed_fields, refresh_state


def run(ctx: Context, opts: RefreshOptions) -> int:
    spec = ctx.load_spec(opts.specs)
    engine = ctx.engine()
    store = ctx.store(spec.stack, spec.backend)
    with ctx.lock(store, "tpdeclare refresh"):
        state = ctx.read_state(store, spec.stack)
        if state is None:
            ctx.client().lookup_by_name()  # an engine tpdeclare cannot work with is said so at once
            ctx.console.print("No state yet: nothing to refresh.")
            return 0
        state = bind_engine(state, engine, store)
        assert state is not None
        client = ctx.client()
        clusters = read_engine(client, state)
        client.lookup_by_name()  # the list just read established it, or refused
        refreshed = refresh_state(state, observed_fields(clusters), utcnow_iso())
        volumes, volume_lines = dict(state.volumes), list[str]()
        if state.volumes:  # issue 15: one `GET /storage/list` for a stack with volumes
            from tpdeclare.commands.storage_session import list_volumes, observed_volumes
            from tpdeclare.plan.storage_refresh import refresh_volumes

            volumes, volume_lines = refresh_volumes(state, observed_volumes(list_volumes(client)), utcnow_iso())
        if not refreshed.changed and not volume_lines:
            ctx.console.print("The state matches the engine: nothing to refresh.")
            return 0
        ctx.console.print("Refreshing the state will record these changes made outside tpdeclare:")
        ctx.console.print("\n".join([*refreshed.lines, *volume_lines]))
        ask_yes(ctx.console, opts.auto_approve, "Do you want to update the state?", doing="update the state")
        new = dataclasses.replace(state.with_resources(refreshed.resources), volumes=volumes)
        store.write(new)
        ctx.console.print(f"State updated (serial {new.serial}). Run `tpdeclare plan` to see what apply would undo.")
    return 0
