"""The `moved` sections of a stack: address renames, each checked against the stack's declared clusters.

A move is usable when its old address is gone from `clusters`, its new one is declared, and no other
move takes the same old address, leads to the same new one, or chains through it.
"""

from __future__ import annotations

from tpdeclare.spec.clusters import declared_addresses
from tpdeclare.spec.model import Move, SourceRef
from tpdeclare.spec.parsed import ParsedFile
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.source_map import YamlPath
from tpdeclare.suggestions import did_you_mean


def load_moves(files: list[ParsedFile], report: Reporter) -> list[Move]:
    declared = declared_addresses(files)
    entries: list[tuple[str, str, ParsedFile, int]] = []
    for f in files:
        section = f.data.get("moved")
        if not isinstance(section, list):
            continue
        for index, entry in enumerate(section):
            if isinstance(entry, dict) and isinstance(entry.get("from"), str) and isinstance(entry.get("to"), str):
                entries.append((entry["from"], entry["to"], f, index))
    froms: dict[str, tuple[ParsedFile, YamlPath]] = {}  # each first place, looked up only for a message
    tos: dict[str, tuple[ParsedFile, YamlPath]] = {}
    next_of: dict[str, str] = {}
    for old, new, _f, _i in entries:
        next_of.setdefault(old, new)
    moves: list[Move] = []
    for old, new, f, index in entries:
        base: YamlPath = ("moved", index)
        from_path, to_path = base + ("from",), base + ("to",)
        if old == new:
            report.error(f"moves '{old}' to itself", f.smap.locate(from_path), path=base,
                         hint="remove this entry")
            continue
        ok = True
        if old in froms:
            report.error(f"'{old}' is moved twice: also at {_place(froms[old])}", f.smap.locate(from_path),
                         path=from_path,
                         hint="an address can move only once; keep one entry")
            ok = False
        if new in tos:
            report.error(f"two moves lead to '{new}': also at {_place(tos[new])}", f.smap.locate(to_path), path=to_path,
                         hint="only one old address can become a new one; keep one entry")
            ok = False
        if new in next_of:
            report.error(f"moves chain through '{new}' (moved here, then moved on)", f.smap.locate(to_path),
                         path=to_path,
                         hint=f"write the final move directly, `- {{from: {old}, to: {_final(new, next_of)}}}`,"
                              " and drop the middle step")
            ok = False
        elif new not in declared:
            guess = did_you_mean(new, declared)
            report.error(
                f"moved to '{new}', which is not declared in `clusters`", f.smap.locate(to_path), path=to_path,
                hint=f"did you mean '{guess}'?" if guess
                else "declare the cluster under its new address, or remove this move",
            )
            ok = False
        if old in declared:
            report.error(
                f"moved from '{old}', which is still declared in `clusters`", f.smap.locate(from_path),
                path=from_path,
                hint="after a move the old address must be gone; remove it from `clusters` or remove this move",
            )
            ok = False
        froms.setdefault(old, (f, from_path))
        tos.setdefault(new, (f, to_path))
        if ok:
            moves.append(Move(old, new, source=f.smap.locate(base)))
    return moves


def _place(where: tuple[ParsedFile, YamlPath]) -> SourceRef:
    return where[0].smap.locate(where[1])


def _final(address: str, next_of: dict[str, str]) -> str:
    """Where a chain of moves starting at `address` ends (bounded, so a cycle ends too)."""
    final, hops = address, 0
    while final in next_of and hops <= len(next_of):
        final, hops = next_of[final], hops + 1
    return final
