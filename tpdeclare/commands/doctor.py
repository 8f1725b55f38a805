"""`tpdeclare doctor`: can tpdeclare work safely with this engine? Reads only; exit 0 if so, 1 if not."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

from tpdeclare import errors
from tpdeclare.command_options import DoctorOptions
from tpdeclare.commands.context import Context

if TYPE_CHECKING:
    from tpdeclare.api.engine_checks import EngineReport

DOCTOR_SECONDS = 90.0  # the most the whole check may take
MARKS = {"pass": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}
LABELS = {"reachable": "reachable", "tls": "transport", "key": "API key", "openapi": "OpenAPI", "list": "list",
          "lookup_by_name": "lookup by name", "info": "info", "clock": "clock", "rate_limits": "rate limits",
          "status_words": "status words", "s3_state": "S3 state"}


def run(ctx: Context, opts: DoctorOptions) -> int:
    from tpdeclare.api.connect import SANDBOX, check_engine_url, is_loopback_host, make_client, resolve_engine
    from tpdeclare.api.engine_checks import FAIL, AnswerLog, EngineReport, examine
    from tpdeclare.apply.ownership import CLOCK_SKEW_SECONDS
    from tpdeclare.resources import load_spec_json

    engine = resolve_engine(ctx.options.engine)
    report = EngineReport(engine=engine)
    answers = AnswerLog()
    try:
        if engine != SANDBOX:
            check_engine_url(engine)
    except errors.TpdeclareError as exc:
        report.add("reachable", FAIL, exc.message)
        report.skip_rest("not checked: the engine URL is unusable")
        return _emit(ctx, report, opts)
    try:
        client = make_client(ctx.options.engine, env=os.environ, cwd=str(ctx.cwd), discover=True,
                             warn=report.warnings.append, observe=answers,
                             deadline=time.monotonic() + DOCTOR_SECONDS)
    except errors.TpdeclareError as exc:
        report.add("key", FAIL, exc.message)
        report.skip_rest("not checked: no usable API key")
        return _emit(ctx, report, opts)
    ctx.clients.append(client)
    if engine == SANDBOX:
        word = "the in-process sandbox (no network)"
    elif engine.lower().startswith("https://"):
        word = "https, certificate verified"
    else:
        from urllib.parse import urlsplit

        local = is_loopback_host(urlsplit(engine).hostname or "")
        word = "plain http to an engine on this machine" if local else "plain http"
    examine(client, report, answers, transport_word=word, max_skew=CLOCK_SKEW_SECONDS,
            contract=load_spec_json("tensorpool-api.json"))
    _check_s3_state(ctx, report)
    return _emit(ctx, report, opts)


def _check_s3_state(ctx: Context, report: EngineReport) -> None:
    """With --state s3://BUCKET/KEY: probe the bucket afresh for conditional writes (tpdeclare.state.s3_probe)."""
    from tpdeclare.api.engine_checks import FAIL, PASS
    from tpdeclare.state.s3_location import is_s3_url

    if not is_s3_url(ctx.options.state):
        return
    from tpdeclare.commands.s3_backend import s3_store
    from tpdeclare.state.s3_probe import probe

    try:
        store = s3_store(ctx, "", None)
        result = probe(store.client, store.location.prefix, fresh=True)
    except errors.TpdeclareError as exc:
        report.add("s3_state", FAIL, exc.message)
        return
    release = "conditional DELETE" if result.delete_if_match else "read, compare, then DELETE (no If-Match on DELETE)"
    report.add("s3_state", PASS, f"{store.name}: If-None-Match and If-Match honoured; lock release by {release}; "
                                 f"backups as {'object versions' if result.versioning else 'numbered objects'}")


def _emit(ctx: Context, report: EngineReport, opts: DoctorOptions) -> int:
    if opts.json:
        ctx.console.print(json.dumps(report.as_json(), indent=2))
        return 0 if report.ok else 1
    for line in report.warnings:
        ctx.console.warn(line)
    out = [f"Engine: {report.engine}"]
    out += [f"  {MARKS[c.status]}  {LABELS.get(c.name, c.name):<15} {c.detail}" for c in report.checks]
    if report.field_mapping:
        out.append("Field mapping (wire name, where it comes from; * = seen in a real answer):")
        for answer, fields in report.field_mapping.items():
            shown = ", ".join(f"{attr}={_wire(m['wire'])} ({m['origin']}{'*' if m['confirmed'] else ''})"
                              for attr, m in fields.items())
            out.append(f"  {answer:<9} {shown}")
    if report.assumed_fields:
        counts = {s: sum(1 for f in report.assumed_fields if f["status"] == s)
                  for s in ("confirmed", "renamed", "unconfirmed")}
        out.append(f"Assumed fields: {counts['confirmed']} confirmed, {counts['renamed']} under another name, "
                   f"{counts['unconfirmed']} not seen (of {len(report.assumed_fields)}; `doctor --json` lists them)")
    failed = [c for c in report.checks if c.status == "fail"]
    if failed:
        out.append(f"tpdeclare cannot work safely with this engine: {failed[0].detail}")
    else:
        out.append("tpdeclare can work safely with this engine.")
    ctx.console.print("\n".join(out))
    return 0 if report.ok else 1


def _wire(name: object) -> str:
    return "(the object itself)" if name is None else repr(name)
