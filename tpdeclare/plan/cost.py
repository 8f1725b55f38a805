"""What a plan costs: hourly prices per cluster from the dated table, stack totals, unpriced types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tpdeclare.catalog import hourly_cost


class PriceBook:
    """hourly_cost for one price table, memoised by (instance type, nodes): a stack repeats a few types."""

    def __init__(self, prices: Mapping[str, float]):
        self.prices = dict(prices)
        self._memo: dict[tuple[Any, Any], float | None] = {}

    def __call__(self, fields: Mapping[str, Any] | None) -> float | None:
        """USD/hour of a cluster with these fields; None when nothing is known of its price."""
        if not fields:
            return None
        return self.of(fields.get("instance_type"), fields.get("num_nodes"))

    def of(self, instance_type: Any, num_nodes: Any) -> float | None:
        """USD/hour of `num_nodes` x `instance_type`; None when nothing is known of its price."""
        raw = (instance_type, num_nodes)
        try:
            return self._memo[raw]
        except KeyError:
            pass
        except TypeError:  # an unhashable value: no memo
            return self._price(*raw)
        value = self._memo[raw] = self._price(*raw)
        return value

    def _price(self, instance_type: object, num_nodes: object) -> float | None:
        if not isinstance(instance_type, str) or isinstance(num_nodes, bool):
            return None
        nodes = num_nodes if isinstance(num_nodes, int) else 1 if num_nodes is None else None
        if nodes is None:
            return None
        return hourly_cost(instance_type, nodes, self.prices)


def budget_violation(before: float, after: float, budget: float | None) -> str | None:
    """Why a plan is over budget, or None. Above the budget, a plan may still lower the cost (destroy,
    shrink): only a plan that would not is blocked."""
    if budget is None or after <= budget + 1e-9 or after <= before + 1e-9:
        return None
    return (
        f"budget: the plan would run ${after:,.2f}/hr, above max_hourly_cost ${budget:,.2f}/hr "
        f"(now ${before:,.2f}/hr); remove or shrink clusters, or raise budget.max_hourly_cost"
    )
