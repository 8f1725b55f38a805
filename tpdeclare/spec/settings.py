"""The stack-wide settings: `defaults`, `budget` and `prices`, each set in at most one file of the stack.

They may sit in any file of a directory stack and apply to the whole stack; the same setting
(e.g. `defaults.container`) in two files is an error naming both places. A default is checked once,
where it is set (its instance type, its SSH keys), not again in every cluster that takes it.
"""

from __future__ import annotations

from typing import Any

from tpdeclare.frozen_values import field, frozen
from tpdeclare.spec.instance_types import check_instance_type
from tpdeclare.spec.parsed import ParsedFile, Setting
from tpdeclare.spec.reporting import Reporter
from tpdeclare.spec.schema import spec_schema
from tpdeclare.spec.ssh_keys import check_public_keys


@frozen
class StackSettings:
    """What the files set for the whole stack, each with where it was set."""

    defaults: dict[str, Setting] = field(default_factory=dict)  # cluster field -> default
    budget: Setting | None = None  # budget.max_hourly_cost
    prices: dict[str, Setting] = field(default_factory=dict)  # GPU/CPU kind -> USD per unit-hour

    def default_values(self) -> dict[str, Any]:
        return {name: setting.value for name, setting in self.defaults.items()}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_settings(files: list[ParsedFile], report: Reporter) -> StackSettings:
    defaults: dict[str, Setting] = {}
    prices: dict[str, Setting] = {}
    budget: Setting | None = None
    default_fields = frozenset(spec_schema()["properties"]["defaults"]["properties"])
    for f in files:
        for key, value in (f.section("defaults") or {}).items():
            if key in default_fields:
                _set_once(defaults, key, Setting(value, f, ("defaults", key)), report)
        section = f.section("budget")
        if section is not None and is_number(section.get("max_hourly_cost")):
            setting = Setting(section["max_hourly_cost"], f, ("budget", "max_hourly_cost"))
            if budget is None:
                budget = setting
            else:
                _twice(setting, budget, report)
        for kind, value in (f.section("prices") or {}).items():
            if is_number(value):
                _set_once(prices, kind, Setting(value, f, ("prices", kind)), report)
    default_type = defaults.get("instance_type")
    if default_type is not None and isinstance(default_type.value, str):
        check_instance_type(default_type.value, lambda: (default_type.ref, default_type.ypath), report)
    default_keys = defaults.get("public_keys")
    if default_keys is not None:
        check_public_keys(default_keys.value, default_keys.file.smap, default_keys.ypath, report)
    return StackSettings(defaults, budget, prices)


def _set_once(table: dict[str, Setting], key: str, setting: Setting, report: Reporter) -> None:
    if key in table:
        _twice(setting, table[key], report)
    else:
        table[key] = setting


def _twice(setting: Setting, first: Setting, report: Reporter) -> None:
    label = ".".join(str(part) for part in setting.ypath)
    report.error(
        f"`{label}` is set twice: also at {first.ref}",
        setting.ref, path=setting.ypath,
        hint="a stack-wide setting belongs in one file of the stack; remove one of them",
    )
