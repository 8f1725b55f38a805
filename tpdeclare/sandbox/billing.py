"""The account's money: whether the balance covers a new cluster's first hour, with an O(1) upper bound."""

from __future__ import annotations

from tpdeclare.sandbox.world import JsonDict
from tpdeclare.sandbox.world_queries import spent


class SpendBound:
    """An upper bound on the spend, kept in step with this engine's own creates.

    Summing every cluster's spend on every create made a create O(clusters) and an apply of N clusters
    O(N^2) (3 s of engine time for 2,000). The bound assumes every cluster's hourly cost accrued since
    the earliest creation; it is rebuilt whenever the world was changed behind its back (another world,
    a cluster forgotten, another process's creates)."""

    def __init__(self) -> None:
        # (world, number of clusters, their total hourly cost, earliest created_at)
        self._bound: tuple[JsonDict, int, float, float] | None = None

    def invalidate(self) -> None:
        self._bound = None

    def affordable(self, world: JsonDict, now: float, hourly: float, balance: float) -> bool:
        """True when `balance` covers `hourly` more: certainly by the bound, else by the exact spend."""
        clusters = world["clusters"]
        bound = self._bound
        if bound is None or bound[0] is not world or bound[1] != len(clusters):
            total, first = 0.0, now
            for c in clusters.values():
                total += max(0.0, c["hourly_cost"])
                first = min(first, c["created_at"])
            bound = self._bound = (world, len(clusters), total, first)
        from tpdeclare.sandbox.storage_world import spent_on_volumes

        most = world["spent"] + bound[2] * max(0.0, now - bound[3]) / 3600.0 + spent_on_volumes(world, now)
        margin = 1e-9 * (abs(balance) + abs(most) + abs(hourly) + 1.0)  # float rounding, generously
        if balance - most - margin >= hourly:
            return True
        return balance - spent(world, now) >= hourly

    def note_create(self, world: JsonDict, hourly: float, now: float) -> None:
        """A cluster was just added to `world` by this engine."""
        bound = self._bound
        if bound is not None and bound[0] is world and bound[1] == len(world["clusters"]) - 1:
            self._bound = (world, bound[1] + 1, bound[2] + max(0.0, hourly), min(bound[3], now))
