"""`tpdeclare import storage.ADDR STORAGE_ID`: adopt a volume made outside tpdeclare at a `storage:` address."""

from __future__ import annotations

import dataclasses
from typing import Any

from tpdeclare import errors
from tpdeclare.apply.ownership import utcnow_iso
from tpdeclare.command_options import ImportOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.engine_binding import bind_engine
from tpdeclare.commands.storage_session import list_volumes
from tpdeclare.diagnostics import printable
from tpdeclare.identifiers import is_engine_id
from tpdeclare.spec.model import StackSpec
from tpdeclare.state.model import PENDING, READY, State
from tpdeclare.state.volumes import VolumeRecord, split_volume_address


def run_volume(ctx: Context, opts: ImportOptions, spec: StackSpec) -> int:
    address = split_volume_address(opts.address) or ""
    want = spec.volumes.get(address)
    if want is None:
        raise errors.TpdeclareError(f"volume '{opts.address}' is not declared in the spec",
                                    hint="declare it under `storage:` first, then import it")
    if not is_engine_id(opts.cluster_id):
        raise errors.TpdeclareError(
            f"'{printable(opts.cluster_id)}' is not a storage ID: an ID is letters, digits, '-' and '_'",
            hint="copy the ID from `tp storage list` (e.g. s-3f9a1b2c)")
    engine = ctx.engine()
    store = ctx.store(spec.stack)
    with ctx.lock(store, "tpdeclare import"):
        state = bind_engine(ctx.read_state(store, spec.stack), engine, store) or State(stack=spec.stack, engine=engine)
        held = state.volumes.get(address)
        if held is not None:
            raise errors.TpdeclareError(
                f"address '{opts.address}' " + ("has an interrupted create in flight" if held.status == PENDING
                                                 else f"already manages {held.storage_id}"),
                hint="run `tpdeclare apply` first" if held.status == PENDING
                else "`tpdeclare state rm` it first if you mean to swap volumes")
        for rec in state.volumes.values():
            if rec.storage_id == opts.cluster_id:
                raise errors.TpdeclareError(f"{opts.cluster_id} is already managed at 'storage.{rec.address}'",
                                            hint=f"use `tpdeclare state mv storage.{rec.address} {opts.address}`")
        client: Any = ctx.client()
        list_volumes(client)  # the engine must serve volumes at all before one is looked at
        try:
            info = client.storage_info(opts.cluster_id)
        except errors.NotFound:
            raise errors.TpdeclareError(f"the engine has no volume {opts.cluster_id}",
                                        hint="check the ID with `tp storage list`") from None
        if info.is_destroyed:
            raise errors.TpdeclareError(f"{info.storage_id} is destroyed; it cannot be imported")
        by_cluster = {r.cluster_id: a for a, r in state.resources.items() if r.cluster_id}
        attached = {by_cluster[c]: c for c in info.cluster_ids if c in by_cluster}
        now = utcnow_iso()
        rec = VolumeRecord(address, READY, info.name or want.name,
                           {"size_gb": info.size_gb, "name": info.name or want.name,
                            "deletion_protection": info.deletion_protection, "prevent_destroy": want.prevent_destroy},
                           storage_id=info.storage_id, attached=attached, created_at=info.created_at or now,
                           updated_at=now)
        store.write(dataclasses.replace(state, volumes={**state.volumes, address: rec}, serial=state.serial + 1))
    unknown = [c for c in info.cluster_ids if c not in by_cluster]
    ctx.console.print(f"Imported {info.storage_id} ({info.name}) as '{opts.address}'."
                      + (f" It is also attached to {', '.join(unknown)}, which this stack does not manage."
                         if unknown else "")
                      + " Run `tpdeclare plan` to see how it differs from the spec.")
    return 0
