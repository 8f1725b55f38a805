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

    def prices(self) -> dict | None:
        """The `--prices FILE` overrides (USD per GPU-hour by kind), validated; None without the flag."""
        path = getattr(self.args, "prices", None)
        return load_prices_file(path) if path else None

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


def ask_yes(ctx: Context, args, question: str, *, doing: str = "apply") -> None:
    """Ask for a typed `yes` unless --auto-approve; refuse (never hang) without a terminal."""
    if getattr(args, "auto_approve", False):
        return
    if not sys.stdin or not sys.stdin.isatty():
        raise errors.TpdeclareError(
            f"refusing to {doing} without confirmation: standard input is not a terminal",
            hint="review the output above, then run again with --auto-approve"
            + (" (or apply a saved plan file)" if doing == "apply" else ""),
        )
    ctx.console.print(f"\n{question}\n  Only 'yes' will be accepted to approve.\n")
    ctx.console.print("  Enter a value: ", end="")
    try:
        answer = sys.stdin.readline().strip()
    except KeyboardInterrupt:
        raise errors.Interrupted("interrupted at the prompt; nothing was changed") from None
    if answer != "yes":
        raise errors.TpdeclareError(f"{doing} cancelled; nothing was changed")


def load_prices_file(path: str) -> dict:
    """Read a prices file: a YAML/JSON mapping of GPU kind (H100, CPU, …) to USD per unit-hour."""
    import yaml

    try:
        with open(path, "rb") as fh:
            raw = fh.read(1_000_000)
        doc = yaml.safe_load(raw)
    except OSError as exc:
        raise errors.TpdeclareError(f"cannot read the prices file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise errors.TpdeclareError(f"{where}: the prices file is not valid YAML",
                                    hint="write it as `H100: 2.49` lines, one GPU kind per line") from exc
    if not isinstance(doc, dict) or not doc:
        raise errors.TpdeclareError(f"{path}: expected a mapping of GPU kind to USD per hour, e.g. `H100: 2.49`")
    bad = [k for k, v in doc.items() if not isinstance(k, str) or isinstance(v, bool)
           or not isinstance(v, (int, float)) or v < 0 or v != v]
    if bad:
        raise errors.TpdeclareError(
            f"{path}: {', '.join(repr(k) for k in bad)}: a price must be a number of USD per hour, 0 or more",
            hint="write it as `H100: 2.49`",
        )
    return {k: float(v) for k, v in doc.items()}


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
        hint="name the stack's spec (`tpdeclare show examples/cluster.yaml`, "
        "`tpdeclare state list --spec examples/cluster.yaml`) or pass --state PATH",
    )
