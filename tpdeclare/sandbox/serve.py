"""`tpdeclare sandbox serve`: its arguments, and running the sandbox engine over HTTP until a signal."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tpdeclare.errors import TpdeclareError
from tpdeclare.sandbox.dialects import DIALECT_HELP
from tpdeclare.sandbox.faults import GRAMMAR_HELP

if TYPE_CHECKING:
    from tpdeclare.sandbox.engine import Engine

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787

FAULTS_HELP = (
    "inject faults. " + GRAMMAR_HELP.replace("%", "%%") + ". '*' covers every endpoint but healthz and openapi; an "
    "endpoint's own section overrides '*' key by key. Errors (500/502/503/504/429) are decided before "
    "any state change (429 and 503 carry Retry-After); drop commits the request and then closes the "
    "connection with no answer."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `sandbox serve` to an argparse parser."""
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="port; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (the sandbox has no real authentication)")
    parser.add_argument("--key", default=None,
                        help="the only API key accepted (default: any non-empty bearer key)")
    parser.add_argument("--provision-seconds", type=float, default=60.0, metavar="S",
                        help="how long a create takes to reach COMPLETED (default: %(default)s)")
    parser.add_argument("--destroy-seconds", type=float, default=None, metavar="S",
                        help="how long a destroy takes (default: same as --provision-seconds)")
    parser.add_argument("--edit-seconds", type=float, default=None, metavar="S",
                        help="how long an edit takes in an async-edit dialect (default: same as --destroy-seconds)")
    parser.add_argument("--retry-after", type=float, default=None, metavar="S",
                        help="Retry-After sent with request polls, 429 and 503 (default: 1, or 0 when "
                             "--provision-seconds is 0)")
    parser.add_argument("--balance", type=float, default=10_000.0, metavar="USD",
                        help="starting account balance; a create needs one hour of its cost (default: %(default)s)")
    parser.add_argument("--faults", default=None, metavar="SPEC", help=FAULTS_HELP)
    parser.add_argument("--seed", default=None, help="seed for fault draws and IDs (reproducible runs)")
    parser.add_argument("--dialect", default="default", metavar="NAME", help=DIALECT_HELP.replace("%", "%%"))
    parser.add_argument("--data", default=None, metavar="FILE",
                        help="persist the world to this JSON file (default: in memory only)")


def _options(args: argparse.Namespace | dict[str, Any] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    defaults = vars(_parser().parse_args([]))
    given = vars(args) if isinstance(args, argparse.Namespace) else dict(args or {})
    return {**defaults, **given, **kwargs}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log_requests() -> None:
    """Send the server's per-request log lines to stderr (unless the CLI already set up a handler)."""
    import logging

    logger = logging.getLogger("tpdeclare.sandbox")
    logger.setLevel(logging.DEBUG)
    if not logging.getLogger("tpdeclare").handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)


def build_engine(opts: dict[str, Any], *, clock: Callable[[], float] = time.time) -> Engine:
    """The Engine (and its world store) that a set of serve options describes, on `clock` (epoch seconds)."""
    from tpdeclare.sandbox.dialects import parse_dialect
    from tpdeclare.sandbox.engine import Engine, coerce_seed
    from tpdeclare.sandbox.faults import FaultPlan
    from tpdeclare.sandbox.world import FileWorld, MemoryWorld

    faults = FaultPlan.parse(opts.get("faults"))  # TpdeclareError naming the bad part
    world = FileWorld(opts["data"]) if opts.get("data") else MemoryWorld()
    return Engine(
        world,
        api_key=opts.get("key"),
        provision_seconds=opts["provision_seconds"],
        destroy_seconds=opts.get("destroy_seconds"),
        edit_seconds=opts.get("edit_seconds"),
        retry_after=opts.get("retry_after"),
        balance=opts["balance"],
        faults=faults,
        seed=coerce_seed(opts.get("seed")),
        dialect=parse_dialect(opts.get("dialect")),
        clock=clock,
    )


def run_serve(args: argparse.Namespace | dict[str, Any] | None = None, *, stop_event: threading.Event | None = None,
              **kwargs: Any) -> int:
    """Serve until SIGINT/SIGTERM (or `stop_event` is set), then stop cleanly; returns 0.

    `args` is the namespace of a parser given `add_arguments` (or a dict / keyword arguments with the
    same names); a truthy `verbose` in it (the CLI's global -v) logs every request to stderr."""
    opts = _options(args, kwargs)
    host = opts["host"]
    if not _is_loopback(host) and not opts.get("allow_remote"):
        raise TpdeclareError(
            f"refusing to listen on {host}: the sandbox has no real authentication",
            hint="use --host 127.0.0.1, or add --allow-remote if you really mean it",
        )
    if not 0 <= opts["port"] <= 65535:
        raise TpdeclareError(f"--port {opts['port']} is not a valid port number")
    if opts.get("verbose"):
        _log_requests()
    engine = build_engine(opts)

    from tpdeclare.sandbox.server import make_server

    try:
        server = make_server(host, opts["port"], engine)
    except OSError as exc:
        raise TpdeclareError(f"cannot listen on {host}:{opts['port']}: {exc.strerror or exc}") from exc
    stop = stop_event or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        server.start()
        print(f"Sandbox engine listening on {server.base_url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        engine.world.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _parser(with_verbose: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tpdeclare sandbox serve",
                                     description="Run the local TensorPool API emulator over HTTP.")
    add_arguments(parser)
    if with_verbose:
        parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python -m tpdeclare.sandbox.serve [options]` (the CLI proper is `tpdeclare sandbox serve`)."""
    args = _parser(with_verbose=True).parse_args(argv)
    try:
        return run_serve(args)
    except TpdeclareError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"Hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
