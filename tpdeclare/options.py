"""Frozen option values of the plan path (every command's globals, planning, `plan`), made once from the parsed
command line (cli.py); the other commands' options are in command_options.py, which `plan` never imports."""

from __future__ import annotations

from typing import Literal

from tpdeclare.frozen_values import field, frozen

OutputFormat = Literal["text", "json", "markdown", "summary"]


@frozen
class GlobalOptions:
    """Options every command takes."""

    engine: str | None = None  # --engine, else TENSORPOOL_ENGINE (resolved where the engine is needed)
    state: str | None = None  # --state PATH
    lock_timeout: float = 0.0
    no_color: bool = False
    verbose: int = 0


@frozen
class PlanningOptions:
    """What to plan: the options shared by plan and apply."""

    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    refresh: bool = False
    max_hourly_cost: float | None = None
    prices_file: str | None = None
    destroy_all: bool = False
    expire_only: bool = False  # `expire`: only the destroys of clusters whose lifetime has ended


@frozen
class PlanOptions:
    specs: tuple[str, ...]
    planning: PlanningOptions = field(default_factory=PlanningOptions)
    output: OutputFormat = "text"
    out: str | None = None
    detailed_exitcode: bool = False
    digest: bool = False  # --digest: print the plan digest too (what a CI job compares before applying)
