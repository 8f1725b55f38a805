"""`tpdeclare validate`: check spec files offline (no key, no state, no network).

With `--stacks-of` (the pre-commit hook) the arguments are changed files: each stands for the stack of
its directory, and every such stack is validated; all their errors are reported, then it fails once.
Either way, a spec whose editor modeline names a schema copy that is missing or not this version's is
warned about (tpdeclare/spec/schema_copies.py).
"""

from __future__ import annotations

from tpdeclare import errors
from tpdeclare.command_options import ValidateOptions
from tpdeclare.commands.context import Context
from tpdeclare.diagnostics import Diagnostic


def run(ctx: Context, opts: ValidateOptions) -> int:
    if not opts.stacks_of:
        _validate(ctx, list(opts.specs), set())
        return 0
    from tpdeclare.spec.changed_stacks import stacks_of

    changed = stacks_of(opts.specs)
    problems: list[Diagnostic] = []
    warned: set[str] = set()
    for stack in changed.stacks:
        try:
            _validate(ctx, [stack], warned)
        except errors.SpecError as exc:
            problems.extend(exc.diagnostics)
    if changed.skipped:
        ctx.console.print("Skipped (no tpdeclare spec in the directory): " + ", ".join(changed.skipped))
    if problems:
        raise errors.SpecError(problems)
    return 0


def _validate(ctx: Context, paths: list[str], warned: set[str]) -> None:
    """Validate one stack and say so; its schema-copy warnings first. Raises SpecError."""
    from tpdeclare.spec.reporting import Reporter
    from tpdeclare.spec.sources import gather
    from tpdeclare.spec.yamlsafe import DEFAULT_MAX_BYTES

    # Each file is read once, here: its modeline is looked at, then the loader is handed the same bytes.
    sources = gather(paths, Reporter(), max_bytes=DEFAULT_MAX_BYTES)
    for warning in _schema_copy_warnings([(s.path, s.raw) for s in sources if s.named], warned):
        ctx.console.warn(warning.format())
    spec = ctx.load_spec(paths, preread={s.path: s.raw for s in sources})
    n = len(spec.clusters)
    ctx.console.print(
        ctx.console.palette.paint("32", "Success!")
        + f" The spec is valid: stack '{spec.stack}', {n} cluster{'s' if n != 1 else ''}."
    )


def _schema_copy_warnings(files: list[tuple[str, bytes]], warned: set[str]) -> list[Diagnostic]:
    """One warning per schema copy (missing or another version's) that the files' modelines name."""
    from tpdeclare.spec.schema_copies import check_copy, find_modeline, local_path

    found = []
    for path, raw in files:
        modeline = find_modeline(path, raw.decode("utf-8", "replace"))
        target = local_path(modeline) if modeline is not None else None
        if modeline is None or target is None or target in warned:
            continue
        warning = check_copy(modeline)
        if warning is not None:
            warned.add(target)
            found.append(warning)
    return found
