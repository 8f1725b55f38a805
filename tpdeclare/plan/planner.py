"""The planner: desired spec + recorded state (+ observed clusters) -> Plan. Pure: no I/O."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping
from dataclasses import replace as replace_fields

from tpdeclare.catalog import PRICES_AS_OF, hourly_cost
from tpdeclare.fields import FIELDS, MANAGED_FIELDS, OBSERVABLE_FIELDS, OnChange
from tpdeclare.plan.model import Action, Change, Cost, FieldChange, Plan
from tpdeclare.spec.model import ClusterSpec, StackSpec
from tpdeclare.state.model import DELETING, PENDING, TAINTED, Record, State

# Terraform's action_reason vocabulary, plus our own where Terraform has none.
REASON_CANNOT_UPDATE = "replace_because_cannot_update"
REASON_TAINTED = "replace_because_tainted"
REASON_REQUESTED = "replace_by_request"
REASON_NO_CONFIG = "delete_because_no_resource_config"
REASON_DELETED_OUTSIDE = "create_because_deleted_outside"
REASON_RETRY_CREATE = "create_because_interrupted"
REASON_INTERRUPTED_REPLACE = "replace_because_interrupted"


def recorded_spec(cluster: ClusterSpec) -> dict:
    """What the executor records as a cluster's `spec` in state: the managed fields plus prevent_destroy."""
    return {**cluster.fields(), "prevent_destroy": cluster.prevent_destroy}


def current_fields(record: Record, observed: Mapping | None) -> dict:
    """The cluster's current field values: recorded, overlaid with what the engine reports (refresh)."""
    fields = dict(zip(MANAGED_FIELDS, map(record.spec.get, MANAGED_FIELDS)))
    if observed is not None:
        for f in OBSERVABLE_FIELDS:
            if f in observed:
                fields[f] = observed[f]
    return fields


def _same(a: object, b: object) -> bool:
    """Equal with the same type at every level (2 vs 2.0 and True vs 1 differ, inside lists too):
    where this holds, DeepDiff reports no change either."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(map(_same, a, b))  # type: ignore[arg-type]
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())  # type: ignore[attr-defined,index]
    return a == b


def _unchanged(before: dict, after: dict) -> bool:
    """The fast test that nothing differs: the same keys, each value `_same`."""
    return before.keys() == after.keys() and all(_same(v, after[k]) for k, v in before.items())


def _container_detail(before: object, after: object) -> str | None:
    """How a list (or mapping) value changed, by DeepDiff with the order of list items ignored; None if
    it did not (reordered or repeated items: the same set of keys)."""
    from deepdiff import DeepDiff  # only when a list field differs: its import costs ~0.1-0.3 s

    diff = DeepDiff(before, after, ignore_order=True)
    if not diff:
        return None
    counts = (
        (len(diff.get("iterable_item_added", {})), "added"),
        (len(diff.get("iterable_item_removed", {})), "removed"),
        (len(diff.get("values_changed", {})) + len(diff.get("type_changes", {})), "replaced"),
    )
    return ", ".join(f"{n} {what}" for n, what in counts if n) or "changed"


def _field_changes(before: dict, after: dict, ignore: frozenset[str]) -> tuple[FieldChange, ...]:
    """Field-level differences, in the field table's order.

    The rule is DeepDiff's with the order of list items ignored (tests/test_planner.py checks the two
    agree on arbitrary values). Values that are `_same` never differ, and scalars that are not always
    do: a changed cluster at 10,000-cluster scale cannot afford a DeepDiff call per field. Lists and
    mappings that are not `_same` go to DeepDiff, so reordering public_keys is no change and a change
    says how many keys came and went.
    """
    if _unchanged(before, after):
        return ()
    out = []
    for name in MANAGED_FIELDS:  # table order, stable output
        a, b = before.get(name), after.get(name)
        detail = None
        if _same(a, b):
            continue
        if isinstance(a, (list, dict)) and isinstance(b, (list, dict)):
            detail = _container_detail(a, b)
            if detail is None:
                continue
        effect = "ignored" if name in ignore else FIELDS[name][0].value
        out.append(FieldChange(name, a, b, effect, detail))
    return tuple(out)


class _Costs:
    """hourly_cost for one price table, memoised by (instance type, nodes): a stack repeats a few types."""

    def __init__(self, prices: Mapping[str, float]):
        self.prices = dict(prices)
        self._memo: dict[tuple, float | None] = {}  # by the raw (instance_type, num_nodes) values

    def __call__(self, fields: dict | None) -> float | None:
        if not fields:
            return None
        raw = (fields.get("instance_type"), fields.get("num_nodes"))
        try:
            return self._memo[raw]
        except KeyError:
            pass
        except TypeError:  # an unhashable value (a damaged state): no memo
            return hourly_cost(str(raw[0]), int(raw[1] or 1), dict(self.prices))
        value = self._memo[raw] = hourly_cost(str(raw[0]), int(raw[1] or 1), dict(self.prices))
        return value


def make_plan(
    spec: StackSpec,
    state: State | None,
    *,
    observed: Mapping[str, Mapping] | None = None,
    targets: Iterable[str] = (),
    replace: Iterable[str] = (),
    destroy_all: bool = False,
    max_hourly_cost: float | None = None,
    prices: Mapping[str, float] | None = None,
) -> Plan:
    """Plan the changes that make the engine match `spec`.

    observed: cluster_id -> observed fields (from one list call) when refreshing; None otherwise.
    targets: limit the plan to these addresses. replace: force a replace of these addresses.
    destroy_all: plan the destruction of every recorded cluster (the `destroy` command).
    """
    # The cyclic GC is paused while planning: it builds a few acyclic objects per cluster (freed by
    # reference counting), and its scans of everything already loaded were up to half the plan time.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _make_plan(spec, state, observed=observed, targets=targets, replace=replace,
                          destroy_all=destroy_all, max_hourly_cost=max_hourly_cost, prices=prices)
    finally:
        if paused:
            gc.enable()


def _make_plan(spec, state, *, observed, targets, replace, destroy_all, max_hourly_cost, prices) -> Plan:
    records: dict[str, Record] = dict(state.resources) if state else {}
    price_table = {**spec.prices, **(prices or {})}
    costs = _Costs(price_table)
    budget = max_hourly_cost if max_hourly_cost is not None else spec.max_hourly_cost
    targets = set(targets)
    replace = set(replace)
    warnings: list[str] = []
    blocked: list[str] = []

    # moved: rename recorded addresses first, so the rest of the plan sees the new names.
    moved_from: dict[str, str] = {}
    for move in spec.moves:
        if move.from_address in records:
            if move.to_address in records:
                blocked.append(
                    f"moved: cannot move '{move.from_address}' to '{move.to_address}': both are recorded in state "
                    f"(remove one with `tpdeclare state rm`)"
                )
                continue
            rec = records.pop(move.from_address)
            records[move.to_address] = rec
            moved_from[move.to_address] = move.from_address

    desired: dict[str, ClusterSpec] = {} if destroy_all else dict(spec.clusters)
    changes: list[Change] = []
    forget: list[str] = []
    state_sync: list[str] = []

    for address in sorted(set(desired) | set(records)):
        if targets and address not in targets and moved_from.get(address) not in targets:
            continue
        want = desired.get(address)
        rec = records.get(address)
        seen = None
        if rec is not None and observed is not None and rec.cluster_id:
            seen = observed.get(rec.cluster_id)
        gone_outside = (
            rec is not None and observed is not None and rec.status != PENDING and (not rec.cluster_id or seen is None)
        )
        change = _plan_one(address, want, rec, seen, gone_outside, address in replace, costs)
        if moved_from and moved_from.get(address):
            change = replace_fields(change, moved_from=moved_from[address])
        if want is None and rec is not None and rec.status == PENDING:
            # Recovery looked this name up and did not find it: there is nothing to destroy.
            forget.append(address)
            change = Change(address=address, action=Action.NOOP, before=None, after=None,
                            notes=("an interrupted create never reached the engine; its intent will be dropped",))
        elif gone_outside and want is None:
            forget.append(address)
            change = Change(
                address=address,
                action=Action.NOOP,
                before=None,
                after=None,
                notes=(f"{rec.cluster_id or 'the cluster'} no longer exists on the engine; it will be forgotten",),
                cluster_id=rec.cluster_id,
            )
        if (
            want is not None
            and rec is not None
            and change.action in (Action.NOOP, Action.UPDATE)
            and rec.status != PENDING
            and bool(rec.spec.get("prevent_destroy")) != want.prevent_destroy
        ):
            state_sync.append(address)
            change = replace_fields(change, notes=change.notes + (
                f"lifecycle.prevent_destroy: {str(bool(rec.spec.get('prevent_destroy'))).lower()} -> "
                f"{str(want.prevent_destroy).lower()} (recorded in state)",))
        changes.append(change)
        if change.action is Action.DELETE or change.action is Action.REPLACE:
            blocked.extend(_policy(change, spec.clusters.get(address), rec, destroy_all))

    before_total = sum(c.hourly_before or 0.0 for c in changes)
    after_total = sum(c.hourly_after or 0.0 for c in changes)
    # Untargeted clusters still cost money: count them on both sides.
    if targets:
        planned = {c.address for c in changes}
        for address, rec in records.items():
            if address not in planned and rec.status != PENDING:
                hourly = costs(rec.spec) or 0.0
                before_total += hourly
                after_total += hourly
    unpriced = tuple(
        c.address for c in changes if (c.after and c.hourly_after is None) or (c.before and c.hourly_before is None)
    )
    if unpriced:
        warnings.append(
            "no price known for the instance type of " + ", ".join(unpriced) + "; add it under `prices:` to cost it"
        )
    cost = Cost(round(before_total, 6), round(after_total, 6), unpriced)
    # Above the budget, a plan may still lower the cost (destroy, shrink): only a plan that would not is blocked.
    if budget is not None and cost.after_hourly > budget + 1e-9 and cost.after_hourly > cost.before_hourly + 1e-9:
        blocked.append(
            f"budget: the plan would run ${cost.after_hourly:,.2f}/hr, above max_hourly_cost ${budget:,.2f}/hr "
            f"(now ${cost.before_hourly:,.2f}/hr); remove or shrink clusters, or raise budget.max_hourly_cost"
        )

    return Plan(
        stack=spec.stack,
        changes=tuple(changes),
        cost=cost,
        blocked=tuple(blocked),
        warnings=tuple(warnings),
        state_lineage=state.lineage if state else None,
        state_serial=state.serial if state else None,
        max_hourly_cost=budget,
        prices_as_of=PRICES_AS_OF,
        refreshed=observed is not None,
        forget=tuple(forget),
        state_sync=tuple(state_sync),
    )


def _plan_one(
    address: str,
    want: ClusterSpec | None,
    rec: Record | None,
    seen: Mapping | None,
    gone_outside: bool,
    force_replace: bool,
    cost: _Costs,
) -> Change:
    after = want.fields() if want else None
    hourly_after = cost(after)

    if rec is None:
        return Change(address, Action.CREATE, None, after, hourly_after=hourly_after)

    before = current_fields(rec, seen)
    hourly_before = None if rec.status == PENDING or gone_outside else cost(before)
    common = dict(address=address, cluster_id=rec.cluster_id, hourly_before=hourly_before)

    if want is None:
        if rec.status == PENDING:
            # An interrupted create that recovery did not find: nothing exists to destroy.
            return Change(action=Action.DELETE, before=before, after=None, reason=REASON_NO_CONFIG,
                          notes=("an interrupted create never reached the engine; the intent is dropped",), **common)
        return Change(action=Action.DELETE, before=before, after=None, reason=REASON_NO_CONFIG, **common)

    if rec.status == PENDING:
        return Change(action=Action.CREATE, before=None, after=after, reason=REASON_RETRY_CREATE,
                      notes=("an interrupted create was not found on the engine; it will be created again",),
                      hourly_after=hourly_after, address=address, cluster_id=None, hourly_before=None)
    if gone_outside:
        return Change(action=Action.CREATE, before=before, after=after, reason=REASON_DELETED_OUTSIDE,
                      notes=(f"{rec.cluster_id} was deleted outside tpdeclare; it will be created again",),
                      hourly_after=hourly_after, address=address, cluster_id=rec.cluster_id, hourly_before=None)

    diffs = _field_changes(before, after, want.ignore_changes)
    if not diffs and not force_replace and rec.status != TAINTED and rec.status != DELETING:
        # The common case, and the one to keep cheap on a large stack: nothing to do.
        return Change(address, Action.NOOP, before, after, cluster_id=rec.cluster_id,
                      hourly_before=hourly_before, hourly_after=hourly_after)
    acted = [d for d in diffs if d.effect != "ignored"]
    replace_paths = tuple(d.field for d in acted if d.effect == OnChange.REPLACE.value)
    notes = []
    for d in diffs:
        if d.effect == "ignored":
            notes.append(f"{d.field} differs but is in lifecycle.ignore_changes; left as it is")
        elif d.effect == OnChange.CREATE_ONLY.value:
            notes.append(
                f"{d.field} can only be set when a cluster is created; it applies on the next replace "
                f"(force one with --replace {address})"
            )
    if rec.status == TAINTED:
        return Change(action=Action.REPLACE, before=before, after=after, field_changes=diffs,
                      replace_paths=replace_paths, reason=REASON_TAINTED,
                      notes=tuple(notes) + (f"provisioning failed earlier: {rec.message or 'no message'}",),
                      hourly_after=hourly_after, **common)
    if rec.status == DELETING:
        return Change(action=Action.REPLACE, before=before, after=after, field_changes=diffs,
                      replace_paths=replace_paths, reason=REASON_INTERRUPTED_REPLACE,
                      notes=tuple(notes) + ("an earlier destroy of this cluster was interrupted",),
                      hourly_after=hourly_after, **common)
    if force_replace or replace_paths:
        return Change(action=Action.REPLACE, before=before, after=after, field_changes=diffs,
                      replace_paths=replace_paths,
                      reason=REASON_CANNOT_UPDATE if replace_paths else REASON_REQUESTED,
                      notes=tuple(notes), hourly_after=hourly_after, **common)
    if any(d.effect == OnChange.IN_PLACE.value for d in acted):
        return Change(action=Action.UPDATE, before=before, after=after, field_changes=diffs,
                      notes=tuple(notes), hourly_after=hourly_after, **common)
    return Change(action=Action.NOOP, before=before, after=after, field_changes=diffs, notes=tuple(notes),
                  hourly_after=hourly_after, **common)


def _policy(change: Change, want: ClusterSpec | None, rec: Record | None, destroy_all: bool) -> list[str]:
    """Why this change may not go ahead: prevent_destroy or deletion protection."""
    if change.action not in (Action.DELETE, Action.REPLACE) or rec is None or rec.status == PENDING:
        return []
    verb = "destroy" if change.action is Action.DELETE else "replace"
    removed = want is None  # gone from the spec: only the recorded lifecycle speaks for it
    undo = (
        f"put '{change.address}' back in the spec with {{setting}} and apply, then remove it"
        if removed
        else "set {setting} in the spec and apply first"
        if destroy_all or change.action is Action.DELETE
        else "set {setting} in the spec"
    )
    out = []
    if (want is not None and want.prevent_destroy) or (removed and rec.spec.get("prevent_destroy")):
        out.append(
            f"{change.address}: lifecycle.prevent_destroy forbids this plan to {verb} it ({rec.cluster_id}); "
            f"if you really mean it, {undo.format(setting='prevent_destroy: false')}"
        )
    protected_now = bool((change.before or {}).get("deletion_protection"))
    turned_off = change.action is Action.REPLACE and not destroy_all and not (change.after or {}).get("deletion_protection")
    if protected_now and not turned_off:
        out.append(
            f"{change.address}: deletion protection is on for {rec.cluster_id}, so it cannot be {verb}d; "
            f"{undo.format(setting='deletion_protection: false')}"
            + (" (the plan then turns protection off before replacing it)" if change.action is Action.REPLACE
               and not removed and not destroy_all else "")
        )
    return out
