"""`tpdeclare show`: a saved plan, or the recorded state, for people or as JSON."""

from __future__ import annotations

import json

from tpdeclare import errors
from tpdeclare.commands.common import Context, find_state
from tpdeclare.plan import render


def run(ctx: Context, args) -> int:
    from tpdeclare.planfile import is_plan_file, load_plan

    if len(args.spec) == 1 and is_plan_file(args.spec[0]):
        saved = load_plan(args.spec[0])
        plan = render.plan_from_json(saved.plan)
        if args.json:
            ctx.console.print(json.dumps(saved.plan, indent=2), end="\n")
        elif args.markdown:
            ctx.console.print(render.render_markdown(plan), end="")
        else:
            ctx.console.print(render.render_text(plan, ctx.console.palette), end="")
        return 0
    if args.markdown:
        raise errors.TpdeclareError("--markdown shows a saved plan; the state has no Markdown form",
                                    hint="use `tpdeclare show PLANFILE --markdown`, or `tpdeclare show --json`")
    store, _ = find_state(ctx, args.spec)
    state = store.read()
    if state is None:
        raise errors.StateError(f"no state at {store.path}", hint="nothing has been applied for this stack yet")
    if args.json:
        ctx.console.print(json.dumps(state.to_json(), indent=2, sort_keys=True))
        return 0
    ctx.console.print(f"# stack {state.stack} (lineage {state.lineage}, serial {state.serial})")
    for address, rec in sorted(state.resources.items()):
        ctx.console.print(format_record(rec))
    return 0


def format_record(rec) -> str:
    lines = [f'cluster "{rec.address}" {{']
    rows = [("id", rec.cluster_id), ("status", rec.status), ("name", rec.name)]
    rows += [(k, v) for k, v in rec.spec.items() if k != "name"]
    rows += [("instance_ids", rec.instance_ids), ("request_id", rec.request_id), ("created_at", rec.created_at)]
    if rec.message:
        rows.append(("message", rec.message))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        lines.append(f"    {k:<{width}} = {json.dumps(v)}")
    lines.append("}")
    return "\n".join(lines)
