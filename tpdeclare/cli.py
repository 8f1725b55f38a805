"""The command line: parse once into frozen options, then dispatch to the command's module from one table."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from tpdeclare import __version__

if TYPE_CHECKING:
    import argparse

    from tpdeclare import command_options as co
    from tpdeclare import options as o

    # command -> (module with `run(ctx, opts) -> int`, the options it takes from the parsed command line)
    Converter = Callable[[argparse.Namespace], Any]
else:

    class _Options:
        """An options module, imported at its first use: `tpdeclare --version` needs none of its dataclasses,
        and `plan` none of command_options'."""

        def __init__(self, module: str) -> None:
            self._module = module

        def __getattr__(self, name: str) -> Any:
            return getattr(importlib.import_module(self._module), name)

    o = _Options("tpdeclare.options")
    co = _Options("tpdeclare.command_options")


def _specs(a: argparse.Namespace) -> tuple[str, ...]:
    return tuple(a.spec)


def _planning(a: argparse.Namespace, *, refresh: bool) -> o.PlanningOptions:
    return o.PlanningOptions(
        targets=tuple(a.target), replace=tuple(a.replace), refresh=refresh, max_hourly_cost=a.max_hourly_cost,
        prices_file=a.prices, destroy_all=bool(getattr(a, "destroy", False)),
    )


def _execution(a: argparse.Namespace) -> co.ExecutionOptions:
    return co.ExecutionOptions(auto_approve=a.auto_approve, parallelism=a.parallelism, timeout=a.timeout)


def _output(a: argparse.Namespace) -> o.OutputFormat:
    return "json" if a.json else "markdown" if a.markdown else "summary" if getattr(a, "summary", False) else "text"


def _apply(a: argparse.Namespace) -> co.ApplyOptions:
    given = tuple(flag for flag, value in (
        ("--target", a.target), ("--replace", a.replace), ("--max-hourly-cost", a.max_hourly_cost is not None),
        ("--prices", a.prices), ("--no-refresh", not a.refresh)) if value)
    return co.ApplyOptions(specs=_specs(a), planning=_planning(a, refresh=a.refresh), execution=_execution(a),
                          planning_given=given, json=a.json)


def _state(a: argparse.Namespace) -> co.StateOptions:
    return co.StateOptions(specs=tuple(a.spec_opt or ()), addresses=tuple(getattr(a, "address", ()) or ()))


COMMANDS: dict[str, tuple[str, Converter]] = {
    "validate": ("validate", lambda a: co.ValidateOptions(specs=_specs(a), stacks_of=a.stacks_of)),
    "schema": ("schema", lambda a: co.SchemaOptions(out=a.out)),
    "plan": ("plan", lambda a: o.PlanOptions(specs=_specs(a), planning=_planning(a, refresh=a.refresh),
                                             output=_output(a), out=a.out, detailed_exitcode=a.detailed_exitcode,
                                             digest=a.digest)),
    "apply": ("apply", _apply),
    "destroy": ("destroy", lambda a: co.DestroyOptions(specs=_specs(a), targets=tuple(a.target),
                                                      execution=_execution(a), json=a.json)),
    "expire": ("expire", lambda a: co.ExpireOptions(specs=_specs(a), execution=_execution(a), json=a.json,
                                                   warn_only=a.warn_only)),
    "show": ("show", lambda a: co.ShowOptions(specs=_specs(a), output=_output(a))),
    "refresh": ("refresh", lambda a: co.RefreshOptions(specs=_specs(a), auto_approve=a.auto_approve)),
    "import": ("import_cluster", lambda a: co.ImportOptions(address=a.address, cluster_id=a.cluster_id,
                                                           specs=_specs(a))),
    "orphans": ("orphans", lambda a: co.OrphansOptions(specs=_specs(a))),
    "output": ("output", lambda a: co.OutputOptions(words=tuple(a.words),
                                                   output="json" if a.json else "raw" if a.raw else "text")),
    "doctor": ("doctor", lambda a: co.DoctorOptions(json=a.json)),
    "force-unlock": ("force_unlock", lambda a: co.ForceUnlockOptions(lock_id=a.lock_id, specs=_specs(a))),
    "state list": ("state_list", _state),
    "state show": ("state_show", _state),
    "state rm": ("state_rm", _state),
    "state mv": ("state_mv", _state),
    "state pull": ("state_pull", _state),
    "state push": ("state_push", lambda a: co.StatePushOptions(file=a.file, force=a.force,
                                                              specs=tuple(a.spec_opt or ()))),
    "state migrate": ("state_migrate", lambda a: co.StateMigrateOptions(to=a.to, specs=tuple(a.spec))),
}


def _global(a: argparse.Namespace) -> o.GlobalOptions:
    return o.GlobalOptions(engine=a.engine, state=a.state, lock_timeout=a.lock_timeout, no_color=a.no_color,
                           verbose=a.verbose)


@contextmanager
def _logging(verbosity: int) -> Iterator[None]:
    """-v: API calls to stderr, through the redacting filter; removed again when the run ends."""
    if not verbosity:
        yield
        return
    import logging  # not at module level: `tpdeclare --version` and most runs never need it

    from tpdeclare.error_handler import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tpdeclare")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _dispatch(args: argparse.Namespace) -> int:
    from tpdeclare.commands.context import Context

    if args.command == "sandbox":
        from tpdeclare.sandbox.serve import run_serve

        return run_serve(args)
    key = f"state {args.state_command}" if args.command == "state" else args.command
    module, convert = COMMANDS[key]
    run = importlib.import_module(f"tpdeclare.commands.{module}").run
    ctx = Context.from_options(_global(args))
    try:
        status: int = run(ctx, convert(args))
    finally:
        ctx.close()
    return status


def run() -> NoReturn:
    """The `tpdeclare` script and `python -m tpdeclare`: main(), then process_exit.exit_now."""
    from tpdeclare import process_exit

    process_exit.arm()
    process_exit.exit_now(main())


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else list(argv)) == ["--version"]:
        # Start-up fast path: what argparse's version action prints, without building every
        # subcommand's parser (which imports the sandbox's option module) first.
        sys.stdout.write(f"tpdeclare {__version__}\n")
        sys.stdout.flush()
        return 0
    from tpdeclare.cli_parser import UsageError, parse, print_usage_error
    from tpdeclare.error_handler import error_handler

    result = [1]
    with error_handler(result):
        words = sys.argv[1:] if argv is None else list(argv)
        try:
            args, parser = parse(words)
        except UsageError as exc:
            print_usage_error(exc)
            return 1
        if not args.command:
            parser.print_help(sys.stderr)
            return 1
        with _logging(args.verbose):
            result[0] = _dispatch(args)
    return result[0]
