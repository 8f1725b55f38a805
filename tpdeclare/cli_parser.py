"""The command line's grammar: every command, option and help text, as argparse parsers."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Collection
from typing import NoReturn

from tpdeclare import __version__

EPILOG = """\
exit codes: 0 success/no changes · 1 error · 2 changes present (plan --detailed-exitcode)
            · 3 blocked by policy (budget, prevent_destroy, protected cluster) · 130 interrupted
engine: --engine URL, or env TENSORPOOL_ENGINE; `--engine sandbox` runs the built-in local engine.
Terraform's single-dash spellings work too: -auto-approve, -out=FILE, -target=ADDR, -refresh=false, -json.
"""


class UsageError(Exception):
    """A command line tpdeclare cannot run: printed with the command's usage and a hint, exit 1."""

    def __init__(self, message: str, hint: str, parser: argparse.ArgumentParser):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors like every other tpdeclare error (exit 1, with a hint)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, f"run `{self.prog} --help` for the options", self)


def parse(words: list[str]) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    """The parsed command line, and the parser that read it: built for the commands named in `words` alone,
    and built whole whenever that one does not parse cleanly (help, a usage error, no command), so every
    message and help text is the whole parser's. Raises UsageError."""
    from tpdeclare.cli_spellings import normalise

    if not any(w.startswith(("-h", "--h")) for w in words):
        named = COMMAND_NAMES.intersection(words)
        if named:
            parser = build_parser(words, only=named)
            try:
                args = parser.parse_args(normalise(words, parser))
            except UsageError:
                pass
            else:
                if args.command:
                    return args, parser
    parser = build_parser(words)
    return parser.parse_args(normalise(words, parser)), parser


def print_usage_error(exc: UsageError) -> None:
    exc.parser.print_usage(sys.stderr)
    sys.stderr.write(f"Error: {exc.message}\n  hint: {exc.hint}\n")


_DURATION = re.compile(r"(?P<n>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>s|m|h)?")
_UNIT = {None: 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(text: str) -> float:
    """A non-negative number of seconds, with an optional unit as Terraform writes them: 90, 1.5, 30s, 10m, 1h."""
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"expected a number of seconds (e.g. 30, 30s, 10m), got {text!r}")
    return float(m.group("n")) * _UNIT[m.group("unit")]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text}")
    return value


COMMAND_NAMES = frozenset({"validate", "schema", "plan", "apply", "destroy", "expire", "show", "refresh", "import",
                           "orphans", "output", "doctor", "force-unlock", "state", "sandbox"})
_JSON_REPORT = ("the run's report as one JSON document on stdout: each change's result, what runs now and its "
                "hourly cost, the plan (everything else goes to stderr)")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    def d(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    g = parser.add_argument_group("global options")
    g.add_argument("--engine", default=d(None), metavar="URL",
                   help="TensorPool API base URL, or `sandbox` for the built-in local engine (env TENSORPOOL_ENGINE)")
    g.add_argument("--state", default=d(None), metavar="PATH", help="state file (default: state/<stack>.json)")
    g.add_argument("--lock-timeout", type=seconds, default=d(0.0), metavar="SECONDS",
                   help="wait this long for another run's state lock (default 0: fail at once)")
    g.add_argument("--no-color", action="store_true", default=d(False), help="no colour (also: env NO_COLOR)")
    g.add_argument("-v", "--verbose", action="count", default=d(0), help="log API calls to stderr (key redacted)")


def _planning(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", action="append", default=[], metavar="ADDR", help="only plan this address")
    p.add_argument("--replace", action="append", default=[], metavar="ADDR", help="force a replace of this address")
    p.add_argument("--max-hourly-cost", type=usd, metavar="USD",
                   help="block a plan whose total cost is above this (overrides budget.max_hourly_cost)")
    p.add_argument("--prices", metavar="FILE",
                   help="USD per GPU-hour by kind (YAML, e.g. `H100: 2.49`), over the built-in dated table")


def _executing(p: argparse.ArgumentParser) -> None:
    p.add_argument("--auto-approve", action="store_true", help="do not ask for a typed `yes`")
    p.add_argument("--parallelism", type=positive_int, default=10, metavar="N",
                   help="changes in flight at once (default 10)")
    p.add_argument("--timeout", type=seconds, default=1800.0, metavar="SECONDS",
                   help="the most this whole run may take, waits for clusters included; what is left is picked up "
                   "by the next run (default 1800; 30m and 1h work too)")


def build_parser(argv: list[str] | None = None, *, only: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser. Given the arguments about to be parsed, it leaves out the options of
    `sandbox serve` (and the import of their module) when they cannot be needed: a start-up saving.

    `only`: build just these commands (those named on the command line): building all of them costs a
    plan ~20 ms. The parser then parses what the whole one would, but its usage and help name fewer
    commands: `parse` falls back to the whole parser for anything but a clean parse."""

    def wanted(name: str) -> bool:
        return only is None or name in only

    parser = _Parser(
        prog="tpdeclare",
        description="Declarative TensorPool GPU clusters: validate, plan and apply YAML specs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tpdeclare {__version__}")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str, *specs: Callable[[argparse.ArgumentParser], None]) -> _Parser:
        p: _Parser = sub.add_parser(name, help=help_text, description=help_text)
        _global_options(p, suppress=True)
        for add in specs:
            add(p)
        return p

    if wanted("validate"):
        p = command("validate", "Check spec files offline (no key, no state, no network).")
        p.add_argument("spec", nargs="+", metavar="SPEC", help="a YAML file, or a directory of them (one stack)")
        p.add_argument("--stacks-of", action="store_true",
                       help="the SPECs are changed files (as pre-commit passes them): validate the stack of each one's "
                       "directory, skipping directories with no tpdeclare spec; a directory given is a stack as given")

    if wanted("schema"):
        p = command("schema", "Print the JSON Schema of spec files, as this version reads them (for editors, CI).")
        p.add_argument("--out", metavar="FILE",
                       help="write it to FILE instead, e.g. .tpdeclare/cluster.schema.json (directories are made)")

    if wanted("plan"):
        p = command("plan", "Show what apply would change and what it would cost.", _planning)
        p.add_argument("spec", nargs="+", metavar="SPEC")
        p.add_argument("--refresh", action="store_true", help="read the engine (one list call) and plan drift too")
        fmt = p.add_mutually_exclusive_group()
        fmt.add_argument("--json", action="store_true", help="machine-readable plan, in Terraform's plan JSON shape")
        fmt.add_argument("--markdown", action="store_true", help="a pull-request comment")
        fmt.add_argument("--summary", action="store_true",
                         help="one line per change (destroys and replaces first), then the cost lines")
        p.add_argument("--out", metavar="FILE", help="save the plan, to apply exactly it later")
        p.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when there are changes")
        p.add_argument("--digest", action="store_true",
                       help="print the plan digest too (a last line `Plan digest: sha256:...`; `digest` in --json): "
                       "a hash of the changes, the cost and the state serial, to check that apply runs the reviewed "
                       "plan")
        p.add_argument("--destroy", action="store_true", help="plan the destruction of every cluster of the stack")

    if wanted("apply"):
        p = command("apply", "Plan, confirm and make the changes (or apply a saved plan file).", _planning, _executing)
        p.add_argument("spec", nargs="+", metavar="SPEC|PLANFILE")
        p.add_argument("--no-refresh", dest="refresh", action="store_false",
                       help="plan from the state alone (apply reads the engine first by default, as Terraform does)")
        p.add_argument("--refresh", dest="refresh", action="store_true", help="read the engine first (the default)")
        p.set_defaults(refresh=True)
        p.add_argument("--json", action="store_true", help=_JSON_REPORT)

    if wanted("destroy"):
        p = command("destroy", "Destroy every cluster of the stack (from its spec, its stack name, or --state alone).",
                    _executing)
        p.add_argument("spec", nargs="*", metavar="SPEC|STACK")
        p.add_argument("--target", action="append", default=[], metavar="ADDR", help="only destroy this address")
        p.add_argument("--json", action="store_true", help=_JSON_REPORT)

    if wanted("expire"):
        p = command("expire",
                    "Destroy the stack's clusters whose lifetime has ended, and nothing else (for schedules).",
                    _executing)
        p.add_argument("spec", nargs="+", metavar="SPEC")
        p.add_argument("--json", action="store_true", help=_JSON_REPORT)
        p.add_argument("--warn-only", action="store_true",
                       help="change nothing; exit 2 when a lifetime has ended or ends within its warn_before")

    if wanted("show"):
        p = command("show", "Show a saved plan, or the recorded state.")
        p.add_argument("spec", nargs="*", metavar="SPEC|PLANFILE")
        fmt = p.add_mutually_exclusive_group()
        fmt.add_argument("--json", action="store_true")
        fmt.add_argument("--markdown", action="store_true")

    if wanted("refresh"):
        p = command("refresh", "Update the state from the engine (one list call), after showing what changes.")
        p.add_argument("spec", nargs="+", metavar="SPEC")
        p.add_argument("--auto-approve", action="store_true")

    if wanted("import"):
        p = command("import", "Adopt a cluster made outside tpdeclare at an address of the spec.")
        p.add_argument("address", metavar="ADDR")
        p.add_argument("cluster_id", metavar="CLUSTER_ID")
        p.add_argument("spec", nargs="+", metavar="SPEC")

    if wanted("orphans"):
        p = command("orphans", "List engine clusters named like this stack's but not in its state (exit 2 if any).")
        p.add_argument("spec", nargs="+", metavar="SPEC")

    if wanted("output"):
        p = command("output", "Show how to reach the applied clusters (IDs, IP addresses, ready SSH commands) and the "
                    "spec's outputs.")
        p.add_argument("words", nargs="*", metavar="SPEC|NAME",
                       help="the stack's spec (optional: without it, the state alone), then optionally one output "
                       "name, cluster address or reference clusters.ADDR.FIELD")
        fmt = p.add_mutually_exclusive_group()
        fmt.add_argument("--json", action="store_true", help="machine-readable (a documented, stable shape)")
        fmt.add_argument("--raw", action="store_true", help="one value, as is, for scripts: an output or a reference")

    if wanted("doctor"):
        p = command("doctor", "Check that tpdeclare can work safely with the engine (reads only; exit 1 if not).")
        p.add_argument("--json", action="store_true", help="the report as JSON (format documented in the README)")

    if wanted("force-unlock"):
        p = command("force-unlock", "Release a state lock whose holder is gone.")
        p.add_argument("lock_id", metavar="ID")
        p.add_argument("spec", nargs="*", metavar="SPEC")

    if wanted("state"):
        p = command("state", "Read or edit the recorded state.")
        ssub = p.add_subparsers(dest="state_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True)
        state_parsers = {
            "list": ssub.add_parser("list", help="recorded addresses, IDs and statuses"),
            "show": ssub.add_parser("show", help="one record in full"),
            "rm": ssub.add_parser("rm", help="forget clusters (they keep running)"),
            "mv": ssub.add_parser("mv", help="rename an address"),
            "pull": ssub.add_parser("pull", help="print the state JSON (from its file or its bucket)"),
            "push": ssub.add_parser("push",
                                    help="replace the state with a state file (same lineage, no older serial)"),
        }
        state_parsers["show"].add_argument("address", nargs=1, metavar="ADDR")
        state_parsers["rm"].add_argument("address", nargs="+", metavar="ADDR")
        state_parsers["mv"].add_argument("address", nargs=2, metavar=("FROM", "TO"))
        state_parsers["push"].add_argument("file", metavar="FILE")
        state_parsers["push"].add_argument("--force", action="store_true",
                                           help="replace a state of another lineage or a newer serial")
        for s in state_parsers.values():
            _global_options(s, suppress=True)
            s.add_argument("--spec", dest="spec_opt", action="append", metavar="SPEC",
                           help="the stack's spec, to find its state")
        migrate = ssub.add_parser("migrate", help="move the stack's local state to S3, under both locks")
        _global_options(migrate, suppress=True)
        migrate.add_argument("--to", required=True, metavar="s3://BUCKET/KEY", help="where the state moves")
        migrate.add_argument("spec", nargs="+", metavar="SPEC")

    if wanted("sandbox"):
        p = command("sandbox", "The local TensorPool engine.")
        ssub = p.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True)
        serve = ssub.add_parser("serve", help="serve the sandbox engine over HTTP on 127.0.0.1")
        if argv is None or "sandbox" in argv:
            from tpdeclare.sandbox.serve import add_arguments

            add_arguments(serve)
    return parser
