"""`tpdeclare validate`: check spec files offline (no key, no state, no network)."""

from __future__ import annotations

from tpdeclare.commands.context import Context
from tpdeclare.options import ValidateOptions


def run(ctx: Context, opts: ValidateOptions) -> int:
    spec = ctx.load_spec(opts.specs)
    n = len(spec.clusters)
    ctx.console.print(
        ctx.console.palette.paint("32", "Success!")
        + f" The spec is valid: stack '{spec.stack}', {n} cluster{'s' if n != 1 else ''}."
    )
    return 0
