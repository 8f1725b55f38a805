"""The `outputs` sections of a stack: names for cluster values (`trainer_ssh: clusters.trainer.ssh_command`), checked.

A reference is `clusters.<address>.<field>`: the address must be declared under `clusters` (in any file
of the stack) and the field must be one of `tpdeclare.cluster_outputs.FIELD_NAMES`. Each problem is a
diagnostic at the value's file:line:col with a did-you-mean where a near word exists: a misspelt root
(`cluster.trainer.…`), address or field. A name given in two files of a stack is an error naming both.
The schema has already checked the names and that each value is a string.
"""

from __future__ import annotations

from tpdeclare.cluster_outputs import FIELD_NAMES, REFERENCE_ROOT
from tpdeclare.spec.clusters import declared_addresses
from tpdeclare.spec.model import OutputRef, SourceRef
from tpdeclare.spec.parsed import ParsedFile
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.source_map import YamlPath
from tpdeclare.suggestions import did_you_mean

EXAMPLE = "clusters.trainer.ssh_command"


def load_outputs(files: list[ParsedFile], report: Reporter) -> dict[str, OutputRef]:
    """Every usable output, by name, in file then declaration order; problems go to `report`."""
    declared = declared_addresses(files)
    outputs: dict[str, OutputRef] = {}
    first: dict[str, SourceRef] = {}
    for f in files:
        for name, value in (f.section("outputs") or {}).items():
            ypath: YamlPath = ("outputs", name)
            where = f.smap.locate(ypath)
            if name in first:
                report.error(f"output '{name}' is set twice: also at {first[name]}", f.smap.key(ypath) or where,
                             path=ypath, hint="an output name is unique within a stack; rename or remove one")
                continue
            first[name] = where
            if not isinstance(value, str):
                continue  # the schema has reported it
            ref = _checked(name, value, declared, where, ypath, report)
            if ref is not None:
                outputs[name] = ref
    return outputs


def _checked(name: str, text: str, declared: set[str], where: SourceRef, ypath: YamlPath,
             report: Reporter) -> OutputRef | None:
    parts = text.strip().split(".")
    if len(parts) != 3 or not all(parts):
        report.error(f"`{text}` is not a reference to a cluster's output", where, path=ypath,
                     hint=f"write clusters.ADDRESS.FIELD, e.g. {EXAMPLE}")
        return None
    root, address, field = parts
    address_guess = None if address in declared else did_you_mean(address, declared)
    field_guess = None if field in FIELD_NAMES else did_you_mean(field, FIELD_NAMES)
    ok = True
    if root != REFERENCE_ROOT:
        meant = f"{REFERENCE_ROOT}.{address_guess or address}.{field_guess or field}"
        report.error(f"a reference starts with `{REFERENCE_ROOT}.`, not `{root}.`", where, path=ypath,
                     hint=f"did you mean `{meant}`?")
        ok = False
    if address not in declared:
        report.error(f"output '{name}' refers to cluster '{address}', which is not declared in `clusters`",
                     where, path=ypath,
                     hint=f"did you mean '{address_guess}'?" if address_guess else _addresses_hint(declared))
        ok = False
    if field not in FIELD_NAMES:
        report.error(f"a cluster has no output '{field}'", where, path=ypath,
                     hint=f"did you mean '{field_guess}'?" if field_guess
                     else "a cluster's outputs: " + ", ".join(FIELD_NAMES))
        ok = False
    return OutputRef(name, address, field, source=where) if ok else None


def _addresses_hint(declared: set[str]) -> str:
    if not declared:
        return "the stack declares no clusters; declare one under `clusters`, or remove this output"
    return "the declared clusters: " + ", ".join(sorted(declared))
