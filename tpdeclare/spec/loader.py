"""Loads spec files into one validated StackSpec, reporting every problem as a Diagnostic (never raising).

The order of work, one module each:
  sources     which files the arguments name; their bytes, each read once and bounded (pipes too)
  yamlsafe    each file's bytes to plain data and a source map (file:line:col of every value)
  schema      each document against specs/cluster.schema.json
  stack_name  the one stack the arguments name (different stacks given together are refused)
  settings    stack-wide `defaults`, `budget`, `prices`, each set once
  clusters    each cluster with defaults merged, checked (catalogue, multi-node, SSH keys, names)
  moves       `moved` entries against the declared clusters
  outputs     `outputs` references against the declared clusters and the outputs a cluster has
  storage     `storage` volumes, and each cluster's `storage` list against them
  backend     `backend`: where the state lives (an S3 bucket), set once
Every file is checked even after another failed, and the diagnostics come back sorted by place.

Adding a top-level section (say `storage:`): describe it in the schema, write `spec/<section>.py` with
`load_<section>(files, report, ...) -> typed values` in the shape of `moves.py`, call it from
`_assemble` below, and give `StackSpec` a field for what it returns.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from tpdeclare.diagnostics import Diagnostic
from tpdeclare.gc_pause import gc_paused
from tpdeclare.spec.backend import load_backend
from tpdeclare.spec.clusters import load_clusters
from tpdeclare.spec.model import StackSpec
from tpdeclare.spec.moves import load_moves
from tpdeclare.spec.outputs import load_outputs
from tpdeclare.spec.parsed import ParsedFile
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.schema import validate_document
from tpdeclare.spec.settings import load_settings
from tpdeclare.spec.sources import gather
from tpdeclare.spec.stack_name import stack_name
from tpdeclare.spec.storage import check_attachments, load_volumes
from tpdeclare.spec.yamlsafe import DEFAULT_MAX_BYTES, load_yaml

PIPE_NAME = "<pipe>"  # a pipe's stand-in name in the content hash: descriptor numbers vary from run to run


def load_stack(paths: list[str], *, max_bytes: int = DEFAULT_MAX_BYTES,
               preread: Mapping[str, bytes] | None = None) -> tuple[StackSpec | None, list[Diagnostic]]:
    """Load, validate and model one stack. Never raises for bad input: every problem is a Diagnostic.

    Returns (None, diags) when any diagnostic is an error; warnings may accompany a StackSpec.
    `preread` maps a path, as given in `paths` (or `<directory>/<name>`), to bytes the caller has
    already read from it: that file is not opened again (a pipe or FIFO can be read only once). The
    bytes are held to `max_bytes` like a file's.
    """
    report = Reporter()
    if not paths:
        report.error("no spec files given", hint="pass a .yaml file or a directory of them")
        return report.result(None)
    # ~10 acyclic objects per YAML value: the collector's scans were half the load time. They are all
    # freed inside `_load`, before the collector is back on, so its first collection finds little.
    with gc_paused():
        return report.result(_load(list(paths), report, max_bytes, preread))


def _load(paths: list[str], report: Reporter, max_bytes: int,
          preread: Mapping[str, bytes] | None) -> StackSpec | None:
    files = _parse(paths, report, max_bytes, preread)
    if not files:  # nothing could be read: what was said about each file is all there is to say
        return None
    return _assemble(files, report)


def _parse(paths: list[str], report: Reporter, max_bytes: int,
           preread: Mapping[str, bytes] | None) -> list[ParsedFile]:
    files: list[ParsedFile] = []
    for source in gather(paths, report, max_bytes=max_bytes, preread=preread):
        doc = load_yaml(source.raw, source.path, max_bytes=max_bytes)
        report.extend(doc.diagnostics)
        if doc.data is None:
            continue
        report.extend(validate_document(doc.data, doc.source_map))
        files.append(ParsedFile(source.path, doc.data, doc.source_map, source.raw, source.named, source.argument))
    return files


def _assemble(files: list[ParsedFile], report: Reporter) -> StackSpec | None:
    """Every section's checks across the files of the stack; the StackSpec, unless the name is unknown."""
    stack = stack_name(files, report)
    settings = load_settings(files, report)
    clusters = load_clusters(files, stack, settings, report)
    moves = load_moves(files, report)
    outputs = load_outputs(files, report)
    volumes = load_volumes(files, stack, report)
    check_attachments(files, clusters, report)
    backend = load_backend(files, report)
    if stack is None:
        return None
    return StackSpec(
        stack=stack,
        clusters=clusters,
        moves=tuple(moves),
        max_hourly_cost=float(settings.budget.value) if settings.budget is not None else None,
        prices={kind: float(s.value) for kind, s in settings.prices.items()},
        files=tuple(f.path for f in files),
        sources=tuple((_hash_name(f), f.raw) for f in files),
        outputs=outputs,
        volumes=volumes,
        backend=backend,
    )


def _hash_name(f: ParsedFile) -> str:
    return os.path.basename(f.path) if f.named else PIPE_NAME


def content_hash(named_bytes: Iterable[tuple[str, bytes]]) -> str:
    """sha256 over (file name, bytes) pairs in sorted order: the same specs hash the same from any directory."""
    import hashlib  # not at start-up: OpenSSL's set-up, for a hash only saved plans need

    digest = hashlib.sha256()
    for name, raw in sorted(named_bytes):
        encoded = name.encode("utf-8", "surrogateescape")
        digest.update(len(encoded).to_bytes(8, "big") + encoded + len(raw).to_bytes(8, "big"))
        digest.update(raw)
    return digest.hexdigest()
