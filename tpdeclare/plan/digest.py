"""The plan digest: a stable hash of what apply would do, so a CI job can check it applies the reviewed plan.

`plan_digest(plan)` hashes the plan's decisions and nothing else:
- the stack, and the state it was made against (lineage and serial): another apply in between changes it;
- every change: address, action, cluster ID, the fields before and after, each field change and its effect,
  replace paths, the reason, moves, protection lifted, the hourly costs, and the cluster to create or keep;
- the state-only steps (forget, intents dropped, state syncs, waits, expiries remembered);
- the cost (before, after, unpriced addresses, the price overrides, the price list's date);
- with storage, every volume change, attach and detach, their order, the volumes waited for and the monthly
  storage cost (a stack without storage hashes exactly as before storage existed).

Left out, because they change with the clock or the machine and not with what apply does: the plan's clock
(`now`), a lifetime's seconds left, spend and estimated end, warnings (they name times), the spec files'
paths as given, and where in a file a cluster was declared. Blocked plans and conflicts are refused by
apply whatever their digest. The hash is SHA-256 over canonical JSON (sorted keys, no spaces, ASCII),
written `sha256:<64 hex digits>`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import TYPE_CHECKING, Any

from tpdeclare.plan.codec import encode_decisions
from tpdeclare.plan.model import Change, Plan
from tpdeclare.spec.model import ClusterSpec

if TYPE_CHECKING:
    from tpdeclare.plan.storage_model import StoragePlan

DIGEST_VERSION = 1  # bump when what is hashed changes: a digest of another version never matches
PREFIX = "sha256:"


def plan_digest(plan: Plan) -> str:
    """`sha256:<hex>` of the plan's decisions; the same plan from the same spec and state has the same digest."""
    text = json.dumps(digest_document(plan), sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)
    return PREFIX + hashlib.sha256(text.encode("ascii")).hexdigest()


def digest_document(plan: Plan) -> dict[str, Any]:
    """What the digest hashes, as JSON data (for tests, and for anyone asking why two digests differ)."""
    return {
        "digest_version": DIGEST_VERSION,
        "stack": plan.stack,
        "state": {"lineage": plan.state_lineage, "serial": plan.state_serial},
        "changes": [_change(c) for c in plan.changes],
        "forget": sorted(plan.forget),
        "drop_intents": sorted(plan.drop_intents),
        "state_sync": sorted(plan.state_sync),
        "waits": sorted(plan.waits),
        "remember_expired": sorted(plan.remember_expired),
        "cost": {"before_hourly": plan.cost.before_hourly, "after_hourly": plan.cost.after_hourly,
                 "unpriced": sorted(plan.cost.unpriced), "prices_as_of": plan.prices_as_of,
                 "prices": [[kind, price] for kind, price in sorted(plan.prices)],
                 "max_hourly_cost": plan.max_hourly_cost},
        "expire_only": plan.request.expire_only,
        "destroy_all": plan.request.destroy_all,
        **({} if plan.storage is None else {"storage": _storage(plan.storage)}),
    }


def _storage(storage: StoragePlan) -> dict[str, Any]:
    from tpdeclare.plan.storage_codec import storage_decisions

    return storage_decisions(storage)


def _change(c: Change) -> dict[str, Any]:
    return {
        **encode_decisions(c),
        "desired": None if c.desired is None else _cluster(c.desired),
        # The lifetime as written, and whether it has ended (that decides a destroy); not the time left.
        "expiry": None if c.expiry is None else [c.expiry.lifetime, c.expiry.expired, c.expiry.protected],
    }


def _cluster(s: ClusterSpec) -> dict[str, Any]:
    """Every field of the cluster spec but where it was declared (fields added later are hashed too)."""
    return {f.name: _plain(getattr(s, f.name)) for f in dataclasses.fields(s) if f.name not in _NOT_HASHED}


_NOT_HASHED = frozenset({"source"})


def _plain(value: Any) -> Any:
    """A spec value as JSON data: sets sorted, tuples as lists, nested dataclasses as objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
