"""`tpdeclare schema`: print or write the spec format's JSON Schema, as this version reads specs."""

from __future__ import annotations

import os
from pathlib import Path

from tpdeclare import __version__, errors
from tpdeclare.command_options import SchemaOptions
from tpdeclare.commands.context import Context
from tpdeclare.spec.schema_copies import schema_text


def run(ctx: Context, opts: SchemaOptions) -> int:
    text = schema_text()
    if opts.out is None:
        ctx.console.print(text, end="")
        return 0
    from tpdeclare.atomic_files import atomic_write

    target = Path(opts.out)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, text.encode("utf-8"), mode=0o644)  # editors and other users read it
    except OSError as exc:
        raise errors.TpdeclareError(
            f"cannot write the schema to {opts.out}: {exc.strerror or exc}",
            hint="choose a file in a directory you can write to",
        ) from None
    shown = os.path.normpath(opts.out)
    ctx.console.print(f"Wrote the spec schema of tpdeclare {__version__} to {shown}.")
    return 0
