"""The per-run collaborators every command shares: the options, the console, the spec, the state store, the engine."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tpdeclare import errors
from tpdeclare.commands.console import Console, colour_enabled
from tpdeclare.interrupt import interruptible_sleep
from tpdeclare.options import GlobalOptions

if TYPE_CHECKING:
    from tpdeclare.api.client import TensorPoolClient
    from tpdeclare.spec.model import S3Backend, StackSpec
    from tpdeclare.state.model import State
    from tpdeclare.state.store import StateStore


class Context:
    """Built once per run from the global options; `close()` releases what the run opened. A run's handle: no
    value to compare or show."""

    def __init__(self, options: GlobalOptions, console: Console, cwd: Path,
                 clients: list[TensorPoolClient] | None = None) -> None:
        self.options = options
        self.console = console
        self.cwd = cwd
        self.clients: list[TensorPoolClient] = [] if clients is None else clients

    @classmethod
    def from_options(cls, options: GlobalOptions) -> Context:
        return cls(options=options, console=Console(colour_enabled(options.no_color)), cwd=Path.cwd())

    # ---- spec --------------------------------------------------------------------------------------
    def load_spec(self, paths: tuple[str, ...] | list[str], preread: Mapping[str, bytes] | None = None) -> StackSpec:
        """Load and validate the stack; print warnings; raise SpecError with every diagnostic."""
        from tpdeclare.spec.loader import load_stack

        spec, diags = load_stack(list(paths), preread=preread)
        for d in sorted(diags, key=lambda d: d.sort_key()):
            if d.severity != "error":
                self.console.warn(d.format())
        errs = [d for d in diags if d.severity == "error"]
        if errs or spec is None:
            raise errors.SpecError(errs)
        return spec

    # ---- state -------------------------------------------------------------------------------------
    def state_path(self, stack: str) -> Path:
        if self.options.state:
            return Path(self.options.state)
        return self.cwd / "state" / f"{stack}.json"

    def store(self, stack: str, backend: S3Backend | None = None) -> StateStore:
        """The stack's state store: --state (a path or s3://BUCKET/KEY), else the spec's `backend`, else
        state/<stack>.json. An S3 store imports boto3 only here (tpdeclare.commands.s3_backend)."""
        from tpdeclare.state.s3_location import is_s3_url

        if is_s3_url(self.options.state) or (backend is not None and not self.options.state):
            from tpdeclare.commands.s3_backend import s3_store

            return s3_store(self, stack, backend)
        from tpdeclare.state.local import LocalStateStore

        return LocalStateStore(self.state_path(stack))

    def lock(self, store: StateStore, command: str) -> AbstractContextManager[object]:
        """Hold the state lock; a wait for another run's lock is said at once, naming the holder."""
        return store.lock(command, timeout=self.options.lock_timeout,
                          on_wait=lambda wait: self.console.warn(wait.message))

    def read_state(self, store: StateStore, stack: str) -> State | None:
        state = store.read()
        if state is not None and state.stack != stack:
            raise errors.StateError(
                f"{store.name} holds the state of stack '{state.stack}', not '{stack}'",
                hint="pass --state with the right file, or set `stack:` in the spec to match",
            )
        return state

    # ---- clock -------------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The time lifetimes are judged by: the system's, or TPDECLARE_NOW (tests, schedule dry runs)."""
        from tpdeclare.wall_clock import lifetime_now

        return lifetime_now(os.environ, self.console.warn)

    # ---- engine ------------------------------------------------------------------------------------
    def engine(self) -> str:
        """The engine this run talks to (--engine, TENSORPOOL_ENGINE, or the public API); checked before
        anything is written."""
        from tpdeclare.api.connect import SANDBOX, check_engine_url, resolve_engine

        engine = resolve_engine(self.options.engine)
        if engine != SANDBOX:
            check_engine_url(engine)
        return engine

    def client(self, stop: threading.Event | None = None, deadline: float | None = None) -> TensorPoolClient:
        """The API client: its sleeps end at a stop request, and nothing it does runs past `deadline`
        (time.monotonic; the --timeout of the whole run)."""
        from tpdeclare.api.connect import make_client

        kwargs: dict[str, object] = {"deadline": deadline, "warn": self.console.warn}
        if stop is not None:
            kwargs["sleep"] = interruptible_sleep(stop)
        client = make_client(self.options.engine, env=os.environ, cwd=str(self.cwd), discover=True, **kwargs)
        self.clients.append(client)
        return client

    def close(self) -> None:
        """Close every API client the run made (connections, the in-process sandbox's lock)."""
        while self.clients:
            self.clients.pop().close()


def iter_state_files(directory: Path) -> Iterator[Path]:
    """The stacks' state files in a state directory (the sandbox's own file left out)."""
    if directory.is_dir():
        yield from sorted(p for p in directory.glob("*.json") if not p.name.startswith("_"))
