"""The command line: argument parsing and dispatch; the only place that touches argparse."""

from __future__ import annotations

import argparse
import sys

from tpdeclare import __version__

EPILOG = """\
exit codes: 0 success/no changes · 1 error · 2 changes present (plan --detailed-exitcode)
            · 3 blocked by policy (budget, prevent_destroy, protected cluster) · 130 interrupted
engine: --engine URL, or env TENSORPOOL_ENGINE; `--engine sandbox` runs the built-in local engine.
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors like every other tpdeclare error (exit 1, with a hint)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"Error: {message}\n  hint: run `{self.prog} --help` for the options\n")
        raise SystemExit(1)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text}")
    return value


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    g = parser.add_argument_group("global options")
    g.add_argument("--engine", default=d(None), metavar="URL",
                   help="TensorPool API base URL, or `sandbox` for the built-in local engine (env TENSORPOOL_ENGINE)")
    g.add_argument("--state", default=d(None), metavar="PATH", help="state file (default: state/<stack>.json)")
    g.add_argument("--lock-timeout", type=_non_negative_float, default=d(0.0), metavar="SECONDS",
                   help="wait this long for another run's state lock (default 0: fail at once)")
    g.add_argument("--no-color", action="store_true", default=d(False), help="no colour (also: env NO_COLOR)")
    g.add_argument("-v", "--verbose", action="count", default=d(0), help="log API calls to stderr")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser. Given the arguments about to be parsed, it leaves out the options of
    `sandbox serve` (and the import of their module) when they cannot be needed: a start-up saving."""
    parser = _Parser(
        prog="tpdeclare",
        description="Declarative TensorPool GPU clusters: validate, plan and apply YAML specs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tpdeclare {__version__}")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _global_options(p, suppress=True)
        return p

    def planning(p: argparse.ArgumentParser) -> None:
        p.add_argument("--target", action="append", default=[], metavar="ADDR", help="only plan this address")
        p.add_argument("--replace", action="append", default=[], metavar="ADDR", help="force a replace of this address")
        p.add_argument("--refresh", action="store_true", help="read the engine (one list call) and plan drift too")
        p.add_argument("--max-hourly-cost", type=_non_negative_float, metavar="USD",
                       help="block a plan whose total cost is above this (overrides budget.max_hourly_cost)")
        p.add_argument("--prices", metavar="FILE",
                       help="USD per GPU-hour by kind (YAML, e.g. `H100: 2.49`), over the built-in dated table")

    def executing(p: argparse.ArgumentParser) -> None:
        p.add_argument("--auto-approve", action="store_true", help="do not ask for a typed `yes`")
        p.add_argument("--parallelism", type=_positive_int, default=10, metavar="N",
                       help="changes in flight at once (default 10)")
        p.add_argument("--timeout", type=_non_negative_float, default=1800.0, metavar="SECONDS",
                       help="how long to wait for one cluster to be created or destroyed (default 1800)")

    p = command("validate", "Check spec files offline (no key, no state, no network).")
    p.add_argument("spec", nargs="+", metavar="SPEC", help="a YAML file, or a directory of them (one stack)")

    p = command("plan", "Show what apply would change and what it would cost.")
    p.add_argument("spec", nargs="+", metavar="SPEC")
    planning(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable plan (Terraform's actions vocabulary)")
    fmt.add_argument("--markdown", action="store_true", help="a pull-request comment")
    p.add_argument("--out", metavar="FILE", help="save the plan, to apply exactly it later")
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when there are changes")
    p.add_argument("--destroy", action="store_true", help="plan the destruction of every cluster of the stack")

    p = command("apply", "Plan, confirm and make the changes (or apply a saved plan file).")
    p.add_argument("spec", nargs="+", metavar="SPEC|PLANFILE")
    planning(p)
    p.add_argument("--no-refresh", dest="refresh", action="store_false",
                   help="plan from the state alone (apply reads the engine first by default, as Terraform does)")
    p.set_defaults(refresh=True)
    executing(p)

    p = command("destroy", "Destroy every cluster of the stack.")
    p.add_argument("spec", nargs="+", metavar="SPEC")
    p.add_argument("--target", action="append", default=[], metavar="ADDR", help="only destroy this address")
    executing(p)

    p = command("show", "Show a saved plan, or the recorded state.")
    p.add_argument("spec", nargs="*", metavar="SPEC|PLANFILE")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true")

    p = command("refresh", "Update the state from the engine (one list call), after showing what changes.")
    p.add_argument("spec", nargs="+", metavar="SPEC")
    p.add_argument("--auto-approve", action="store_true")

    p = command("import", "Adopt a cluster made outside tpdeclare at an address of the spec.")
    p.add_argument("address", metavar="ADDR")
    p.add_argument("cluster_id", metavar="CLUSTER_ID")
    p.add_argument("spec", nargs="+", metavar="SPEC")

    p = command("orphans", "List engine clusters named like this stack's but not in its state (exit 2 if any).")
    p.add_argument("spec", nargs="+", metavar="SPEC")

    p = command("force-unlock", "Release a state lock whose holder is gone.")
    p.add_argument("lock_id", metavar="ID")
    p.add_argument("spec", nargs="*", metavar="SPEC")

    p = command("state", "Read or edit the recorded state.")
    ssub = p.add_subparsers(dest="state_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True)
    sp = ssub.add_parser("list", help="recorded addresses, IDs and statuses")
    sp = [sp, ssub.add_parser("show", help="one record in full"), ssub.add_parser("rm", help="forget clusters (they keep running)"),
          ssub.add_parser("mv", help="rename an address")]
    sp[1].add_argument("address", metavar="ADDR")
    sp[2].add_argument("address", nargs="+", metavar="ADDR")
    sp[3].add_argument("source", metavar="FROM")
    sp[3].add_argument("destination", metavar="TO")
    for s in sp:
        _global_options(s, suppress=True)
        s.add_argument("--spec", dest="spec_opt", action="append", metavar="SPEC", help="the stack's spec, to find its state")

    p = command("sandbox", "The local TensorPool engine.")
    ssub = p.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True)
    serve = ssub.add_parser("serve", help="serve the sandbox engine over HTTP on 127.0.0.1")
    if argv is None or "sandbox" in argv:
        from tpdeclare.sandbox.serve import add_arguments

        add_arguments(serve)
    return parser


def _setup_logging(verbosity: int) -> None:
    if verbosity:
        import logging  # not at module level: `tpdeclare --version` and most runs never need it

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        logging.getLogger("tpdeclare").addHandler(handler)
        logging.getLogger("tpdeclare").setLevel(logging.DEBUG)


def _dispatch(args) -> int:
    from tpdeclare.commands.common import Context

    ctx = Context.from_args(args)
    name = args.command
    if name == "validate":
        from tpdeclare.commands import validate

        return validate.run(ctx, args)
    if name == "plan":
        from tpdeclare.commands import plan

        return plan.run(ctx, args)
    if name in ("apply", "destroy"):
        from tpdeclare.commands import apply

        return apply.run(ctx, args, destroy=name == "destroy")
    if name == "show":
        from tpdeclare.commands import show

        return show.run(ctx, args)
    if name == "state":
        from tpdeclare.commands import state_cmd

        return state_cmd.run(ctx, args)
    if name in ("refresh", "import", "orphans", "force-unlock"):
        from tpdeclare.commands import engine_cmds

        return engine_cmds.run(ctx, args)
    if name == "sandbox":
        from tpdeclare.sandbox.serve import run_serve

        return run_serve(args)
    raise AssertionError(f"unhandled command {name}")


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else list(argv)) == ["--version"]:
        # Start-up fast path: what argparse's version action prints, without building every
        # subcommand's parser (which imports the sandbox's option module) first.
        sys.stdout.write(f"tpdeclare {__version__}\n")
        sys.stdout.flush()
        return 0
    from tpdeclare.error_handler import error_handler

    result = [1]
    with error_handler(result):
        argv = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help(sys.stderr)
            return 1
        _setup_logging(args.verbose)
        result[0] = _dispatch(args)
    return result[0]
