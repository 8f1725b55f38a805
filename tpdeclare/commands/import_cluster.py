"""`tpdeclare import`: adopt a cluster made outside tpdeclare at an address of the spec."""

from __future__ import annotations

from tpdeclare import errors
from tpdeclare.apply.ownership import iso_time, status_of, utcnow_iso
from tpdeclare.command_options import ImportOptions
from tpdeclare.commands.context import Context, iter_state_files
from tpdeclare.commands.engine_binding import bind_engine
from tpdeclare.diagnostics import printable
from tpdeclare.identifiers import is_engine_id
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import EXPIRED, PENDING, Record, State
from tpdeclare.state.store import StateStore


def run(ctx: Context, opts: ImportOptions) -> int:
    """Record an existing engine cluster at an address declared in the spec."""
    spec = ctx.load_spec(opts.specs)
    if opts.address.startswith("storage."):  # a volume (issue 15)
        from tpdeclare.commands.import_volume import run_volume

        return run_volume(ctx, opts, spec)
    want = spec.clusters.get(opts.address)
    if want is None:
        raise errors.TpdeclareError(
            f"address '{opts.address}' is not declared in the spec",
            hint="declare the cluster under `clusters:` first, then import it",
        )
    if not is_engine_id(opts.cluster_id):
        raise errors.TpdeclareError(
            f"'{printable(opts.cluster_id)}' is not a cluster ID: an ID is letters, digits, '-' and '_'",
            hint="copy the ID from `tp cluster list` (e.g. c-3f9a1b2c)",
        )
    engine = ctx.engine()
    store = ctx.store(spec.stack, spec.backend)
    with ctx.lock(store, "tpdeclare import"):
        state = bind_engine(ctx.read_state(store, spec.stack), engine, store) or State(stack=spec.stack, engine=engine)
        if opts.address in state.resources and state.resources[opts.address].status != EXPIRED:
            rec = state.resources[opts.address]  # (an `expired` record is only a memory: an import replaces it)
            if rec.status == PENDING:
                raise errors.TpdeclareError(
                    f"address '{opts.address}' has an interrupted create of '{rec.name}' in flight",
                    hint="run `tpdeclare apply` first: it adopts the cluster if the create reached the engine",
                )
            raise errors.TpdeclareError(
                f"address '{opts.address}' already manages {rec.cluster_id}",
                hint="`tpdeclare state rm` it first if you mean to swap clusters",
            )
        for rec in state.resources.values():
            if rec.cluster_id == opts.cluster_id:
                raise errors.TpdeclareError(
                    f"{opts.cluster_id} is already managed at address '{rec.address}'",
                    hint=f"use `tpdeclare state mv {rec.address} {opts.address}` to rename the address",
                )
        client = ctx.client()
        client.lookup_by_name()  # the list must read as clusters with an ID and a name first
        try:
            info = client.cluster_info(opts.cluster_id)
        except errors.NotFound:
            raise errors.TpdeclareError(
                f"the engine has no cluster {opts.cluster_id}", hint="check the ID with `tp cluster list`"
            ) from None
        if info.is_destroying or info.is_destroyed:
            raise errors.TpdeclareError(f"{info.cluster_id} is being destroyed ({info.status}); it cannot be imported")
        other = managed_elsewhere(store, info.cluster_id)
        if other:
            raise errors.TpdeclareError(
                f"{info.cluster_id} is already managed by {other}",
                hint="one cluster belongs to one stack; `tpdeclare state rm` it there first if it should move",
            )
        now = utcnow_iso()
        resources = dict(state.resources)
        resources[opts.address] = Record(
            address=opts.address,
            status=status_of(info),
            name=info.name or "",
            spec={
                "instance_type": info.instance_type,
                "num_nodes": info.num_nodes,
                "name": info.name,
                "container": info.container or None,
                "deletion_protection": info.deletion_protection,
                "public_keys": list(want.public_keys),
                "prevent_destroy": want.prevent_destroy,
            },
            cluster_id=info.cluster_id,
            instance_ids=tuple(info.instance_ids),
            created_at=iso_time(info.created_at) or now,
            updated_at=now,
        )
        store.write(state.with_resources(resources))
    ctx.console.print(
        f"Imported {info.cluster_id} ({info.name}) as '{opts.address}'. Run `tpdeclare plan` to see how it differs "
        f"from the spec."
    )
    return 0


def managed_elsewhere(store: StateStore, cluster_id: str) -> str | None:
    """`state/<stack>.json, address 'x'` if another stack's state beside this one records the cluster
    (local states only: an S3 state has no directory of neighbours)."""

    if not isinstance(store, LocalStateStore):
        return None
    for path in iter_state_files(store.path.parent):
        if path == store.path:
            continue
        try:
            other = LocalStateStore(path).read()
        except errors.StateError:
            continue
        for rec in (other.resources.values() if other else ()):
            if rec.cluster_id == cluster_id:
                return f"{path}, address '{rec.address}'"
    return None
