"""`tpdeclare show`: a saved plan, or the recorded state, for people or as JSON."""

from __future__ import annotations

import json

from tpdeclare import errors
from tpdeclare.command_options import ShowOptions
from tpdeclare.commands.context import Context
from tpdeclare.commands.plan_output import emit_plan
from tpdeclare.commands.read_once import read_once
from tpdeclare.commands.state_locator import find_state
from tpdeclare.state.model import Record


def run(ctx: Context, opts: ShowOptions) -> int:
    from tpdeclare.planfile import is_plan_bytes, load_plan

    preread = read_once(opts.specs) if len(opts.specs) == 1 else {}
    if opts.specs and opts.specs[0] in preread and is_plan_bytes(preread[opts.specs[0]]):
        emit_plan(ctx.console, load_plan(opts.specs[0], preread[opts.specs[0]]).plan, opts.output)
        return 0
    if opts.output == "markdown":
        raise errors.TpdeclareError("--markdown shows a saved plan; the state has no Markdown form",
                                    hint="use `tpdeclare show PLANFILE --markdown`, or `tpdeclare show --json`")
    store = find_state(ctx, opts.specs, preread=preread)
    state = store.read()
    if state is None:
        raise errors.StateError(f"no state at {store.name}", hint="nothing has been applied for this stack yet")
    if opts.output == "json":
        ctx.console.print(json.dumps(state.to_json(), indent=2, sort_keys=True))
        return 0
    ctx.console.print(f"# stack {state.stack} (lineage {state.lineage}, serial {state.serial})")
    for _address, rec in sorted(state.resources.items()):
        ctx.console.print(format_record(rec))
    return 0


def format_record(rec: Record) -> str:
    lines = [f'cluster "{rec.address}" {{']
    rows: list[tuple[str, object]] = [("id", rec.cluster_id), ("status", rec.status.value), ("name", rec.name)]
    rows += [(k, v) for k, v in rec.spec.items() if k != "name"]
    rows += [("instance_ids", list(rec.instance_ids)), ("request_id", rec.request_id), ("created_at", rec.created_at)]
    if rec.message:
        rows.append(("message", rec.message))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        lines.append(f"    {k:<{width}} = {json.dumps(v)}")
    lines.append("}")
    return "\n".join(lines)
