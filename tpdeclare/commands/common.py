"""What the commands share: the console, loading the spec, opening the state, connecting to the engine."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from tpdeclare import errors
from tpdeclare.plan.render import Palette


class Console:
    """The only writer to the terminal: stdout for results, stderr for warnings; thread-safe lines."""

    def __init__(self, colour: bool, out=None, err=None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.palette = Palette(colour)
        self._lock = threading.Lock()

    def print(self, text: str = "", end: str = "\n") -> None:
        with self._lock:
            self.out.write(text + end)
            self.out.flush()

    def warn(self, text: str) -> None:
        with self._lock:
            self.err.write(self.palette.paint("33", "Warning: ") + text + "\n")
            self.err.flush()


def colour_enabled(args) -> bool:
    if getattr(args, "no_color", False) or "NO_COLOR" in os.environ:
        return False
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


@dataclass
class Context:
    """Per-run collaborators built once from the global options."""

    args: object
    console: Console
    cwd: Path

    @classmethod
    def from_args(cls, args) -> "Context":
        return cls(args=args, console=Console(colour_enabled(args)), cwd=Path.cwd())

    # ---- spec ------------------------------------------------------------------------------------------
    def load_spec(self, paths: list[str]):
        """Load and validate the stack; print warnings; raise SpecError with every diagnostic."""
        from tpdeclare.spec.loader import load_stack

        spec, diags = load_stack(paths)
        for d in sorted(diags, key=lambda d: d.sort_key()):
            if d.severity != "error":
                self.console.warn(d.format())
        errs = [d for d in diags if d.severity == "error"]
        if errs or spec is None:
            raise errors.SpecError(errs)
        return spec

    # ---- state -----------------------------------------------------------------------------------------
    def state_path(self, stack: str) -> Path:
        explicit = getattr(self.args, "state", None)
        if explicit:
            return Path(explicit)
        return self.cwd / "state" / f"{stack}.json"

    def store(self, stack: str):
        from tpdeclare.state.local import LocalStateStore

        return LocalStateStore(self.state_path(stack))

    def lock(self, store, command: str):
        return store.lock(command, timeout=float(getattr(self.args, "lock_timeout", 0) or 0))

    def read_state(self, store, stack: str):
        state = store.read()
        if state is not None and state.stack != stack:
            raise errors.StateError(
                f"{store.path} holds the state of stack '{state.stack}', not '{stack}'",
                hint="pass --state with the right file, or set `stack:` in the spec to match",
            )
        return state

    # ---- engine ----------------------------------------------------------------------------------------
    def client(self, stop: threading.Event | None = None):
        from tpdeclare.api.connect import make_client

        kwargs = {}
        if stop is not None:
            def sleep(seconds: float) -> None:
                if stop.wait(seconds):
                    from tpdeclare.apply.executor import _Stopped

                    raise _Stopped()

            kwargs["sleep"] = sleep
        return make_client(getattr(self.args, "engine", None), env=os.environ, cwd=str(self.cwd), **kwargs)


def find_state(ctx: Context, spec_arg: list[str] | None):
    """The state store a state-only command means: --state, else a spec's stack, else the only state file."""
    if getattr(ctx.args, "state", None):
        from tpdeclare.state.local import LocalStateStore

        return LocalStateStore(Path(ctx.args.state)), None
    if spec_arg:
        spec = ctx.load_spec(spec_arg)
        return ctx.store(spec.stack), spec.stack
    candidates = sorted(
        p for p in (ctx.cwd / "state").glob("*.json") if not p.name.startswith("_")
    ) if (ctx.cwd / "state").is_dir() else []
    if len(candidates) == 1:
        from tpdeclare.state.local import LocalStateStore

        return LocalStateStore(candidates[0]), candidates[0].stem
    listing = ", ".join(str(c.relative_to(ctx.cwd)) for c in candidates) or "none under ./state"
    raise errors.TpdeclareError(
        f"which state? found {listing}",
        hint="name the spec (e.g. `tpdeclare state list examples/cluster.yaml`) or pass --state PATH",
    )
