"""Judging an instance type written in a spec: in the catalogue, a respelling of an entry, new, or impossible.

The catalogue changes, so a well-formed type it does not list is a warning and the server decides: text
alone cannot tell a typo from a GPU tpdeclare has not heard of (`8xA100`, `8xMI300X`), so the
did-you-mean rule only adds a hint there. A respelling of a catalogue entry (`8xh100`, `H100x8`) is
certainly that entry, and an error; so is a count no node has (`100000000000000000000xH100`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tpdeclare.catalog import (
    INSTANCE_TYPES,
    MAX_UNITS_PER_NODE,
    MULTI_NODE_TYPES,
    PRICES_AS_OF,
    parse_instance_type,
    respelling_of,
    sizes_of,
    suggest_instance_type,
)
from tpdeclare.frozen_values import frozen
from tpdeclare.spec.model import SourceRef
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.schema import rules
from tpdeclare.spec.source_map import YamlPath

_COUNT = re.compile(r"\s*([0-9]+)\s*[xX]\s*(\S*)")


@frozen
class Verdict:
    """What to say about one instance type: `severity` None means it is in the catalogue."""

    severity: str | None  # None | "warning" | "error"
    summary: str = ""
    hint: str | None = None


KNOWN = Verdict(None)


def judge_instance_type(value: str, fallback_hint: str | None) -> Verdict:
    """The verdict on `value`; the caller places it. `fallback_hint` is said when nothing better is known."""
    if value in INSTANCE_TYPES:
        return KNOWN
    unknown = f"unknown instance type {_quoted(value)}"
    counted = _COUNT.fullmatch(value)
    if counted and int(counted.group(1)) > MAX_UNITS_PER_NODE:
        return Verdict("error",
                       f"{_quoted(value)} asks for {_short(counted.group(1), 24)} units per node;"
                       f" a node has at most {MAX_UNITS_PER_NODE}",
                       "the number before the x is the GPUs (or vCPUs) of one node, e.g. 8xH100; for more,"
                       " add nodes with num_nodes (multi-node types: " + ", ".join(MULTI_NODE_TYPES) + ")")
    respelled = respelling_of(value)
    if respelled:
        return Verdict("error", unknown, f"did you mean '{respelled}'?")
    guess = suggest_instance_type(value)
    parsed = parse_instance_type(value)
    if parsed is None:  # not <count>x<KIND>: never a type the server knows
        return Verdict("error", unknown, f"did you mean '{guess}'?" if guess else fallback_hint)
    summary = f"instance type '{value}' is not in tpdeclare's catalogue of {PRICES_AS_OF}; the server will decide"
    kind = parsed[1]
    sizes = sizes_of(kind)
    if sizes:  # a kind the catalogue has, in a size it does not list
        return Verdict("warning", summary, f"the catalogue has {kind} as {', '.join(sizes)}; if {value} is new,"
                                           " carry on; if not, use one of those")
    hint = "if it is new, carry on (the plan cannot estimate its cost); if not, check the spelling"
    return Verdict("warning", summary, f"did you mean '{guess}'? {hint}" if guess else hint)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(value: str) -> str:
    return f"'{_short(value, 60)}'"


def check_instance_type(value: str, where: Callable[[], tuple[SourceRef, YamlPath]], report: Reporter, *,
                        say: bool = True) -> bool:
    """True when the type is usable: in the catalogue, or new but well-formed (a warning: the server decides).

    `where` gives (SourceRef, YAML path) for a message and is called only when one is needed; with
    `say=False` nothing is reported (a default's problem is reported once, where the default is set).
    A value the schema's pattern refuses is not reported again here.
    """
    verdict = judge_instance_type(value, "known types: " + ", ".join(INSTANCE_TYPES))
    if verdict.severity is None:
        return True
    if rules().instance_type.search(value) is None:
        return False
    if say:
        ref, ypath = where()
        if verdict.severity == "warning":
            report.warning(verdict.summary, ref, path=ypath, hint=verdict.hint)
        else:
            report.error(verdict.summary, ref, path=ypath, hint=verdict.hint)
    return verdict.severity == "warning"
