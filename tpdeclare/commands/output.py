"""`tpdeclare output [SPEC...] [NAME|ADDR|clusters.ADDR.FIELD] [--json|--raw]`: how to reach what apply made.

The words: those naming a file or directory (or ending in .yaml/.yml) are the stack's spec; one other
word may follow, and is looked up as, in order, an output of the spec's `outputs:`, a reference
`clusters.ADDR.FIELD`, or a cluster address (in the spec or the state). Without a spec the state is found
as `tpdeclare show` finds it (--state, else the only one under ./state), and only addresses and
references can be asked for.

It reads the state, then the engine once for live values (one list call, or one info call when one
cluster is asked for; none when only state-known values are asked for), then `GET /ssh/{id}` for each
RUNNING cluster's login instance. When the engine cannot be read, the state's values are printed, the
live ones are null/unknown, a warning says why, and the exit code is still 0 (a `--raw` value that is
unknown exits 1). An asked name, address or reference that does not exist exits 1, with a did-you-mean;
so does one naming a cluster that has not been created yet.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tpdeclare import errors
from tpdeclare.cluster_outputs import FIELD_NAMES, LIVE_FIELDS, REFERENCE_ROOT, reference
from tpdeclare.command_options import OutputOptions
from tpdeclare.commands import output_render as render
from tpdeclare.commands.context import Context
from tpdeclare.commands.output_values import ClusterOutputs, EngineRead, from_record, gather
from tpdeclare.commands.read_once import read_once
from tpdeclare.commands.state_locator import find_state
from tpdeclare.diagnostics import printable
from tpdeclare.frozen_values import frozen
from tpdeclare.spec.model import OutputRef, StackSpec
from tpdeclare.suggestions import did_you_mean

if TYPE_CHECKING:
    from tpdeclare.api.protocol import SshApi
    from tpdeclare.state.model import State

ENGINE_WAIT = 30.0  # seconds `output` waits for the engine in all (retries included) before it gives up on it
SPEC_SUFFIXES = (".yaml", ".yml")


@frozen
class Selection:
    """What was asked for: everything, one cluster, or one value (an output or a reference)."""

    address: str | None = None
    field: str | None = None
    output: OutputRef | None = None

    @property
    def one_value(self) -> bool:
        return self.field is not None


def split_words(words: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """(spec arguments, the one asked name or None)."""
    specs = tuple(w for w in words if _is_spec(w))
    names = [w for w in words if not _is_spec(w)]
    if len(names) > 1:
        raise errors.TpdeclareError(
            f"`output` takes one name, address or reference, not {len(names)}: {', '.join(map(printable, names))}",
            hint="a spec argument is a file or directory that exists (or ends in .yaml); ask for one thing a run",
        )
    return specs, names[0] if names else None


def _is_spec(word: str) -> bool:
    return word.endswith(SPEC_SUFFIXES) or "/" in word or Path(word).exists()


def run(ctx: Context, opts: OutputOptions) -> int:
    specs, asked = split_words(opts.words)
    spec, state = _read(ctx, specs)
    clusters = _initial(spec, state)
    selection = _select(asked, spec, clusters)
    if opts.output == "raw" and not selection.one_value:
        raise errors.TpdeclareError(
            "--raw prints one value: name an output of the spec, or a reference such as "
            f"{reference(selection.address or 'trainer', 'ssh_command')}",
            hint="`tpdeclare output SPEC NAME --raw`; `--json` prints a whole cluster or everything",
        )
    shown = [c for c in clusters if selection.address in (None, c.address)]
    engine = EngineRead(False)
    if selection.field is None or selection.field in LIVE_FIELDS:
        want_ssh = selection.field in (None, "ssh_command")
        shown, engine = gather(shown, lambda: _connect(ctx, state), want_ssh=want_ssh, system=platform.system())
    if engine.problem is not None:
        ctx.console.warn(f"the engine was not read: {printable(engine.problem)}. Shown from the state alone: "
                         "status, IP addresses and SSH commands are unknown.")
    by_address = {c.address: c for c in shown}
    if selection.one_value:
        return _print_value(ctx, by_address[selection.address or ""], selection, engine, opts.output)
    if selection.address is not None:
        return _print_cluster(ctx, by_address[selection.address], engine, opts.output)
    outputs = [(ref, by_address[ref.address].value(ref.field)) for ref in (spec.outputs.values() if spec else ())]
    if opts.output == "json":
        ctx.console.print(render.as_json(render.document(_stack(spec, state), shown, engine, outputs)))
        return 0
    blocks = [render.cluster_text(c, engine) for c in shown] or [["No clusters: nothing is declared or recorded."]]
    lines = [line for block in blocks for line in [*block, ""]]
    not_created = {c.address for c in shown if not c.exists}
    ctx.console.print("\n".join(lines + render.outputs_text(outputs, not_created)).rstrip("\n"))
    return 0


def _read(ctx: Context, specs: tuple[str, ...]) -> tuple[StackSpec | None, State | None]:
    if not specs:
        store = find_state(ctx, ())
        state = store.read()
        if state is None:
            raise errors.StateError(f"no state at {store.name}", hint="nothing has been applied for this stack yet")
        return None, state
    spec = ctx.load_spec(specs, read_once(specs))
    return spec, ctx.read_state(ctx.store(spec.stack, spec.backend), spec.stack)


def _stack(spec: StackSpec | None, state: State | None) -> str:
    return spec.stack if spec is not None else state.stack if state is not None else ""


def _initial(spec: StackSpec | None, state: State | None) -> list[ClusterOutputs]:
    """Every address the spec declares (its order), then those only the state records (sorted)."""
    records = state.resources if state is not None else {}
    prices = spec.prices if spec is not None else {}
    out: list[ClusterOutputs] = []
    for address, want in (spec.clusters.items() if spec is not None else ()):
        rec = records.get(address)
        out.append(from_record(rec, True, prices) if rec is not None else ClusterOutputs(
            address, True, want.name, want.instance_type, want.num_nodes))
    declared: bool | None = False if spec is not None else None
    undeclared = sorted(a for a in records if spec is None or a not in spec.clusters)
    out += [from_record(records[a], declared, prices) for a in undeclared]
    return out


def _select(asked: str | None, spec: StackSpec | None, clusters: list[ClusterOutputs]) -> Selection:
    if asked is None:
        return Selection()
    known = {c.address: c for c in clusters}
    outputs = spec.outputs if spec is not None else {}
    if asked in outputs:
        ref = outputs[asked]
        selection = Selection(ref.address, ref.field, ref)
    elif asked.startswith(REFERENCE_ROOT + "."):
        selection = _reference(asked, known)
    elif asked in known:
        selection = Selection(asked)
    else:
        guess = did_you_mean(asked, [*outputs, *known])
        names = ", ".join([*outputs, *sorted(known)]) or "none"
        raise errors.TpdeclareError(
            f"no output or cluster '{printable(asked)}' in stack '{_stack(spec, None) or 'this stack'}'"
            + (f"; did you mean '{guess}'?" if guess else ""),
            hint=f"outputs and addresses: {names}" + ("" if spec else "; the spec's `outputs:` need the spec argument"),
        )
    address = selection.address or ""
    if not known[address].exists:
        raise errors.TpdeclareError(
            f"cluster '{address}' has not been created yet: its outputs are known after apply",
            hint="run `tpdeclare apply` with this spec first",
        )
    return selection


def _reference(asked: str, known: dict[str, ClusterOutputs]) -> Selection:
    parts = asked.split(".")
    if len(parts) != 3:
        raise errors.TpdeclareError(f"`{printable(asked)}` is not a reference",
                                    hint="write clusters.ADDRESS.FIELD, e.g. clusters.trainer.ssh_command")
    _, address, field = parts
    if address not in known:
        guess = did_you_mean(address, known)
        raise errors.TpdeclareError(
            f"no cluster '{printable(address)}' in this stack" + (f"; did you mean '{guess}'?" if guess else ""),
            hint="the addresses: " + (", ".join(sorted(known)) or "none"))
    if field not in FIELD_NAMES:
        guess = did_you_mean(field, FIELD_NAMES)
        raise errors.TpdeclareError(
            f"a cluster has no output '{printable(field)}'" + (f"; did you mean '{guess}'?" if guess else ""),
            hint="a cluster's outputs: " + ", ".join(FIELD_NAMES))
    return Selection(address, field)


def _connect(ctx: Context, state: State | None) -> SshApi:
    """The engine's client, unless the state's clusters live on another engine than this run's."""
    engine = ctx.engine()
    if state is not None and state.engine is not None and state.engine != engine:
        raise errors.StateError(f"the state records clusters on engine {state.engine}, but this run uses {engine}",
                                hint=f"pass --engine {state.engine} (or set TENSORPOOL_ENGINE)")
    return ctx.client(deadline=time.monotonic() + ENGINE_WAIT)


def _print_cluster(ctx: Context, out: ClusterOutputs, engine: EngineRead, fmt: str) -> int:
    if fmt == "json":
        ctx.console.print(render.as_json(render.cluster_json(out)))
    else:
        ctx.console.print("\n".join(render.cluster_text(out, engine)))
    return 0


def _print_value(ctx: Context, out: ClusterOutputs, selection: Selection, engine: EngineRead, fmt: str) -> int:
    field = selection.field or ""
    value: Any = out.value(field)
    if fmt == "json":
        ctx.console.print(render.as_json(value))
        return 0
    if fmt == "raw":
        if value is None or value == []:
            if field not in LIVE_FIELDS:
                why = f"the state records none (its record is {out.record_status})"
            else:
                why = engine.problem or "; ".join(out.notes) or "the engine gives none"
            raise errors.TpdeclareError(
                f"{reference(out.address, field)} has no value: {why}",
                hint="`tpdeclare output SPEC " + out.address + "` shows what is known of the cluster")
        ctx.console.print(render.raw(value), end="")
        return 0
    name = selection.output.name if selection.output is not None else reference(out.address, field)
    ctx.console.print(f"{name} = {printable(render.as_json(value))}")
    return 0
