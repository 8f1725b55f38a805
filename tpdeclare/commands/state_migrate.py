"""`tpdeclare state migrate --to s3://BUCKET/KEY SPEC`: move the stack's local state to S3, under both locks."""

from __future__ import annotations

import dataclasses
import os

from tpdeclare import errors
from tpdeclare.command_options import StateMigrateOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.s3_backend import s3_store
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.s3_location import is_s3_url, parse_s3_url


def run(ctx: Context, opts: StateMigrateOptions) -> int:
    parse_s3_url(opts.to, flag="--to")
    if not is_s3_url(opts.to):
        raise errors.TpdeclareError(f"--to {opts.to}: not an s3:// URL", hint="write --to s3://BUCKET/KEY")
    spec = ctx.load_spec(opts.specs)
    local = LocalStateStore(ctx.state_path(spec.stack) if not is_s3_url(ctx.options.state)
                            else ctx.cwd / "state" / f"{spec.stack}.json")
    target_ctx = Context(options=dataclasses.replace(ctx.options, state=opts.to), console=ctx.console, cwd=ctx.cwd)
    target = s3_store(target_ctx, spec.stack, spec.backend)
    with ctx.lock(local, "tpdeclare state migrate"), ctx.lock(target, "tpdeclare state migrate"):
        state = local.read()
        if state is None:
            raise errors.StateError(f"no state at {local.name} to migrate",
                                    hint="nothing has been applied for this stack locally")
        existing = target.read()
        if existing is not None and existing.lineage != state.lineage:
            raise errors.StateError(
                f"refusing to migrate to {target.name}: it holds a state of lineage {existing.lineage}, not "
                f"{state.lineage} (another state altogether)",
                hint="choose another key, or delete that object if it is really unused; nothing was changed")
        target.write(state)
        local.write(state)  # fold the journal, so the renamed file is the whole state
        moved = local.paths.target.with_name(local.paths.target.name + ".migrated")
        os.replace(local.paths.target, moved)
    ctx.console.print(f"Migrated {local.name} (lineage {state.lineage}, serial {state.serial}) to {target.name}; "
                      f"the local file is now {moved}.")
    return 0
