"""`refresh`, `import`, `orphans` and `force-unlock`: state upkeep that reads the engine or the lock."""

from __future__ import annotations

from dataclasses import replace

from tpdeclare import errors
from tpdeclare.commands.common import Context, find_state


def run(ctx: Context, args) -> int:
    return {
        "refresh": refresh,
        "import": import_cluster,
        "orphans": orphans,
        "force-unlock": force_unlock,
    }[args.command](ctx, args)


def refresh(ctx: Context, args) -> int:
    """Fold the engine's view into state: forget what is gone, record renames and protection toggles."""
    import json

    from tpdeclare.api.connect import resolve_engine
    from tpdeclare.apply.protocol import utcnow_iso
    from tpdeclare.commands.common import ask_yes
    from tpdeclare.commands.workflow import check_engine, confirm_missing, observed_fields
    from tpdeclare.fields import OBSERVABLE_FIELDS

    spec = ctx.load_spec(args.spec)
    store = ctx.store(spec.stack)
    with ctx.lock(store, "tpdeclare refresh"):
        state = ctx.read_state(store, spec.stack)
        if state is None:
            ctx.console.print("No state yet: nothing to refresh.")
            return 0
        state = check_engine(state, resolve_engine(getattr(args, "engine", None)), store)
        client = ctx.client()
        clusters = client.list_clusters()
        observed = observed_fields(clusters + confirm_missing(client, state, clusters))
        resources = dict(state.resources)
        lines = []
        for address, rec in sorted(state.resources.items()):
            seen = observed.get(rec.cluster_id) if rec.cluster_id else None
            if seen is None:
                if rec.status != "pending":
                    lines.append(f"  - {address}: {rec.cluster_id} no longer exists on the engine; it will be forgotten")
                    del resources[address]
                continue
            spec = dict(rec.spec)
            for f in OBSERVABLE_FIELDS:
                if rec.spec.get(f) != seen[f]:
                    lines.append(
                        f"  ~ {address}: {f} {json.dumps(rec.spec.get(f))} -> {json.dumps(seen[f])} "
                        f"(changed outside tpdeclare)"
                    )
                    spec[f] = seen[f]
            if spec != rec.spec:
                resources[address] = replace(rec, spec=spec, name=spec.get("name", rec.name), updated_at=utcnow_iso())
        if not lines:
            ctx.console.print("The state matches the engine: nothing to refresh.")
            return 0
        ctx.console.print("Refreshing the state will record these changes made outside tpdeclare:")
        ctx.console.print("\n".join(lines))
        ask_yes(ctx, args, "Do you want to update the state?", doing="update the state")
        new = state.with_resources(resources)
        store.write(new)
        ctx.console.print(f"State updated (serial {new.serial}). Run `tpdeclare plan` to see what apply would undo.")
    return 0


def import_cluster(ctx: Context, args) -> int:
    """Record an existing engine cluster at an address declared in the spec."""
    from tpdeclare.apply.protocol import status_of, utcnow_iso
    from tpdeclare.state.model import Record, State

    spec = ctx.load_spec(args.spec)
    want = spec.clusters.get(args.address)
    if want is None:
        raise errors.TpdeclareError(
            f"address '{args.address}' is not declared in the spec",
            hint="declare the cluster under `clusters:` first, then import it",
        )
    store = ctx.store(spec.stack)
    with ctx.lock(store, "tpdeclare import"):
        state = ctx.read_state(store, spec.stack) or State(stack=spec.stack)
        if args.address in state.resources:
            rec = state.resources[args.address]
            if rec.status == "pending":
                raise errors.TpdeclareError(
                    f"address '{args.address}' has an interrupted create of '{rec.name}' in flight",
                    hint="run `tpdeclare apply` first: it adopts the cluster if the create reached the engine",
                )
            raise errors.TpdeclareError(
                f"address '{args.address}' already manages {rec.cluster_id}",
                hint="`tpdeclare state rm` it first if you mean to swap clusters",
            )
        for rec in state.resources.values():
            if rec.cluster_id == args.cluster_id:
                raise errors.TpdeclareError(
                    f"{args.cluster_id} is already managed at address '{rec.address}'",
                    hint=f"use `tpdeclare state mv {rec.address} {args.address}` to rename the address",
                )
        try:
            info = ctx.client().cluster_info(args.cluster_id)
        except errors.NotFound:
            raise errors.TpdeclareError(
                f"the engine has no cluster {args.cluster_id}", hint="check the ID with `tp cluster list`"
            ) from None
        if info.is_destroying or info.is_destroyed:
            raise errors.TpdeclareError(f"{info.cluster_id} is being destroyed ({info.status}); it cannot be imported")
        other = managed_elsewhere(ctx, store, info.cluster_id)
        if other:
            raise errors.TpdeclareError(
                f"{info.cluster_id} is already managed by {other}",
                hint="one cluster belongs to one stack; `tpdeclare state rm` it there first if it should move",
            )
        now = utcnow_iso()
        resources = dict(state.resources)
        resources[args.address] = Record(
            address=args.address,
            status=status_of(info),
            name=info.name,
            spec={
                "instance_type": info.instance_type,
                "num_nodes": info.num_nodes,
                "name": info.name,
                "container": info.container,
                "deletion_protection": info.deletion_protection,
                "public_keys": list(want.public_keys),
                "prevent_destroy": want.prevent_destroy,
            },
            cluster_id=info.cluster_id,
            instance_ids=tuple(info.instance_ids),
            created_at=info.created_at or now,
            updated_at=now,
        )
        store.write(state.with_resources(resources))
    ctx.console.print(
        f"Imported {info.cluster_id} ({info.name}) as '{args.address}'. Run `tpdeclare plan` to see how it differs "
        f"from the spec."
    )
    return 0


def managed_elsewhere(ctx: Context, store, cluster_id: str) -> str | None:
    """`state/<stack>.json, address 'x'` if another stack's state beside this one records the cluster."""
    from tpdeclare.state.local import LocalStateStore

    for path in sorted(store.path.parent.glob("*.json")):
        if path == store.path or path.name.startswith("_"):
            continue
        try:
            other = LocalStateStore(path).read()
        except errors.StateError:
            continue
        for rec in (other.resources.values() if other else ()):
            if rec.cluster_id == cluster_id:
                return f"{path}, address '{rec.address}'"
    return None


def orphans(ctx: Context, args) -> int:
    """Engine clusters that look like this stack's (name prefix or a declared name) but are not in its state."""
    from tpdeclare.apply.protocol import is_gone
    from tpdeclare.catalog import hourly_cost
    from tpdeclare.plan.render import money

    spec = ctx.load_spec(args.spec)
    store = ctx.store(spec.stack)
    state = ctx.read_state(store, spec.stack)
    managed = {r.cluster_id for r in state.resources.values()} if state else set()
    # A name under a pending intent is ours-to-be: the next apply adopts it, so it is no orphan.
    intended = {r.name for r in state.resources.values() if r.status == "pending"} if state else set()
    declared = {c.name for c in spec.clusters.values()}
    prefix = f"{spec.stack}-"
    found = [
        c
        for c in ctx.client().list_clusters()
        if not is_gone(c)
        and c.cluster_id not in managed
        and c.name not in intended
        and ((c.name or "").startswith(prefix) or c.name in declared)
    ]
    if not found:
        ctx.console.print(f"No orphans: every cluster named like stack '{spec.stack}' is in its state.")
        return 0
    total = 0.0
    ctx.console.print(f"{len(found)} cluster{'s' if len(found) != 1 else ''} named like stack '{spec.stack}' but not in its state:")
    for c in sorted(found, key=lambda c: c.name or ""):
        hourly = hourly_cost(c.instance_type, c.num_nodes, spec.prices)
        total += hourly or 0.0
        ctx.console.print(f"  {c.cluster_id}  {c.name or '(unnamed)':<32} {c.num_nodes} × {c.instance_type:<8} {c.status:<12} {money(hourly)}")
    ctx.console.print(f"Together they cost {money(total)}. Adopt one with `tpdeclare import ADDR CLUSTER_ID SPEC`.")
    return 2


def force_unlock(ctx: Context, args) -> int:
    from tpdeclare.state.lock import force_unlock as release

    store, _ = find_state(ctx, args.spec or None)
    release(store.lock_path, args.lock_id)
    ctx.console.print(f"Lock {args.lock_id} on {store.path} released.")
    return 0
