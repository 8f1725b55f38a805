"""Frozen option values of every command but `plan`, made once from the parsed command line (cli.py) and passed down."""

from __future__ import annotations

from dataclasses import field
from typing import Literal

from tpdeclare.frozen_values import frozen
from tpdeclare.options import OutputFormat, PlanningOptions

ValueFormat = Literal["text", "json", "raw"]


@frozen
class ExecutionOptions:
    """How to carry a plan out: the options shared by apply and destroy."""

    auto_approve: bool = False
    parallelism: int = 10
    timeout: float = 1800.0  # seconds for the whole apply


@frozen
class ValidateOptions:
    specs: tuple[str, ...]
    stacks_of: bool = False  # --stacks-of: the specs are changed files; validate their directories' stacks


@frozen
class SchemaOptions:
    out: str | None = None  # --out FILE: write the schema there instead of printing it


@frozen
class ApplyOptions:
    specs: tuple[str, ...]  # spec files, or one saved plan file
    planning: PlanningOptions = field(default_factory=PlanningOptions)
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)
    planning_given: tuple[str, ...] = ()  # planning flags given explicitly (refused with a saved plan)
    json: bool = False  # the run's report as one JSON document on stdout


@frozen
class DestroyOptions:
    specs: tuple[str, ...]  # spec files, or none (destroy from the state alone), or a stack name
    targets: tuple[str, ...] = ()
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)
    json: bool = False  # the run's report as one JSON document on stdout


@frozen
class ExpireOptions:
    """`expire`: destroy the stack's expired clusters (or, with warn_only, only say what ends soon)."""

    specs: tuple[str, ...]
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)
    json: bool = False
    warn_only: bool = False


@frozen
class ShowOptions:
    specs: tuple[str, ...]
    output: OutputFormat = "text"


@frozen
class RefreshOptions:
    specs: tuple[str, ...]
    auto_approve: bool = False


@frozen
class ImportOptions:
    address: str
    cluster_id: str
    specs: tuple[str, ...]


@frozen
class OrphansOptions:
    specs: tuple[str, ...]


@frozen
class DoctorOptions:
    json: bool = False


@frozen
class ForceUnlockOptions:
    lock_id: str  # the lock to break: its ID, as the "state is locked" error names it
    specs: tuple[str, ...] = ()


@frozen
class StateOptions:
    """`state list|show|rm|mv`: which stack's state, and the addresses named."""

    specs: tuple[str, ...] = ()  # --spec, to find the stack's state
    addresses: tuple[str, ...] = ()  # show: one; rm: one or more; mv: FROM and TO


@frozen
class StatePushOptions:
    """`state push FILE`: the state file to upload, and whether to replace a state of another lineage or a newer one."""

    file: str
    force: bool = False
    specs: tuple[str, ...] = ()


@frozen
class StateMigrateOptions:
    """`state migrate --to s3://BUCKET/KEY SPEC`: where the stack's local state moves to."""

    to: str  # s3://BUCKET/KEY
    specs: tuple[str, ...] = ()


@frozen
class OutputOptions:
    """`output`: the words (spec arguments, then at most one name, address or reference) and the format."""

    words: tuple[str, ...] = ()
    output: ValueFormat = "text"
