"""Encodes a Plan as plain JSON data and decodes it back exactly, refusing anything malformed (saved plans)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from tpdeclare.errors import PlanFileError
from tpdeclare.fields import FieldEffect
from tpdeclare.plan.model import Action, Change, Cost, Expiry, FieldChange, Plan, PlanRequest
from tpdeclare.spec.model import ClusterSpec, Lifetime, SourceRef
from tpdeclare.spec.time_values import parse_instant

CODEC_VERSION = 1
_ACTIONS = {a.name.lower(): a for a in Action}
T = TypeVar("T")


def encode_plan(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data; `decode_plan(encode_plan(p)) == p`."""
    o = plan.request
    return {
        "codec": CODEC_VERSION,
        "stack": plan.stack,
        "changes": [_encode_change(c) for c in plan.changes],
        "cost": {"before_hourly": plan.cost.before_hourly, "after_hourly": plan.cost.after_hourly,
                 "unpriced": list(plan.cost.unpriced), "until_expiry": plan.cost.until_expiry,
                 "last_expiry": plan.cost.last_expiry, "hourly_without_expiry": plan.cost.hourly_without_expiry},
        "blocked": list(plan.blocked),
        "conflicts": list(plan.conflicts),
        "warnings": list(plan.warnings),
        "state_lineage": plan.state_lineage,
        "state_serial": plan.state_serial,
        "max_hourly_cost": plan.max_hourly_cost,
        "prices_as_of": plan.prices_as_of,
        "refreshed": plan.refreshed,
        "forget": list(plan.forget),
        "drop_intents": list(plan.drop_intents),
        "state_sync": list(plan.state_sync),
        "waits": list(plan.waits),
        "spec_files": list(plan.spec_files),
        "request": {"refresh": o.refresh, "destroy_all": o.destroy_all, "targets": list(o.targets),
                    "replace": list(o.replace), "max_hourly_cost": o.max_hourly_cost,
                    "prices": [[k, v] for k, v in o.prices], "expire_only": o.expire_only},
        "now": plan.now,
        "prices": [[k, v] for k, v in plan.prices],
        "remember_expired": list(plan.remember_expired),
        "protected_expired": list(plan.protected_expired),
        **({} if plan.storage is None else {"storage": _storage_codec().encode_storage(plan.storage)}),
    }


def _storage_codec() -> Any:
    from tpdeclare.plan import storage_codec

    return storage_codec


def encode_decisions(c: Change) -> dict[str, Any]:
    """What a change decides, as JSON data: kept in a saved plan, and hashed by the plan digest (plan/digest.py),
    each adding its own form of the cluster wanted and of the lifetime."""
    return {
        "address": c.address,
        "action": c.action.name.lower(),
        "cluster_id": c.cluster_id,
        "before": c.before,
        "after": c.after,
        "field_changes": [[fc.field, fc.before, fc.after, fc.effect.value, fc.detail] for fc in c.field_changes],
        "replace_paths": list(c.replace_paths),
        "reason": c.reason,
        "moved_from": c.moved_from,
        "lift_protection": c.lift_protection,
        "hourly_before": c.hourly_before,
        "hourly_after": c.hourly_after,
    }


def _encode_change(c: Change) -> dict[str, Any]:
    return {
        **encode_decisions(c),
        "notes": list(c.notes),
        "desired": None if c.desired is None else _encode_cluster(c.desired),
        "expiry": None if c.expiry is None else asdict(c.expiry),
    }


def _encode_cluster(s: ClusterSpec) -> dict[str, Any]:
    return {
        "address": s.address, "instance_type": s.instance_type, "num_nodes": s.num_nodes, "name": s.name,
        "container": s.container, "deletion_protection": s.deletion_protection,
        "public_keys": list(s.public_keys), "prevent_destroy": s.prevent_destroy, "storage": list(s.storage),
        "ignore_changes": sorted(s.ignore_changes),
        "source": None if s.source is None else [s.source.file, s.source.line, s.source.col],
        "lifetime": None if s.lifetime is None else [s.lifetime.expires_after, s.lifetime.expires_at,
                                                     s.lifetime.warn_before],
    }


class _Doc:
    """Typed reads from decoded JSON; the first thing out of place is a PlanFileError naming its path."""

    def __init__(self, data: object, where: str, source: str):
        if not isinstance(data, dict):
            raise _bad(source, where, "an object")
        self.data: dict[str, Any] = data
        self.where = where
        self.source = source

    def child(self, key: str) -> _Doc:
        return _Doc(self.data.get(key), f"{self.where}.{key}", self.source)

    def _get(self, key: str, ok: Callable[[Any], bool], kind: str, nullable: bool = False) -> Any:
        value = self.data.get(key)
        if (value is None and nullable and key in self.data) or ok(value):
            return value
        raise _bad(self.source, f"{self.where}.{key}", kind + (" or null" if nullable else ""))

    def text(self, key: str, nullable: bool = False) -> Any:
        return self._get(key, lambda v: isinstance(v, str), "a string", nullable)

    def whole(self, key: str, nullable: bool = False) -> Any:
        return self._get(key, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer", nullable)

    def number(self, key: str, nullable: bool = False) -> Any:
        return self._get(key, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number", nullable)

    def flag(self, key: str) -> bool:
        value: bool = self._get(key, lambda v: isinstance(v, bool), "true or false")
        return value

    def fields(self, key: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self._get(key, lambda v: isinstance(v, dict), "an object", True)
        return value

    def strs(self, key: str) -> tuple[str, ...]:
        value = self._get(key, lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
                          "a list of strings")
        return tuple(value)

    def items(self, key: str, decode: Callable[[object, _Doc, str], T]) -> tuple[T, ...]:
        value = self._get(key, lambda v: isinstance(v, list), "a list")
        return tuple(decode(item, self, f"{self.where}.{key}[{i}]") for i, item in enumerate(value))

    def bad(self, where: str, kind: str) -> PlanFileError:
        return _bad(self.source, where, kind)

    def later(self, key: str, read: Callable[[str], T], default: T) -> T:
        """A key newer plans carry (lifetimes): read when present, `default` in a plan saved before it."""
        return read(key) if key in self.data else default


def _bad(source: str, where: str, kind: str) -> PlanFileError:
    return PlanFileError(f"the saved plan {source} is damaged: {where} should be {kind}",
                         hint="make the plan again with `tpdeclare plan --out FILE`")


def decode_plan(data: object, source: str = "file") -> Plan:
    """The Plan `encode_plan` made; PlanFileError naming `source` (the file) for anything malformed."""
    d = _Doc(data, "plan", source)
    if d.data.get("codec") != CODEC_VERSION:
        raise d.bad("plan.codec", f"{CODEC_VERSION}")
    cost = d.child("cost")
    o = d.child("request")
    prices = o.items("prices", _price)
    return Plan(
        stack=d.text("stack"),
        changes=d.items("changes", _decode_change),
        cost=Cost(cost.number("before_hourly"), cost.number("after_hourly"), cost.strs("unpriced"),
                  until_expiry=cost.later("until_expiry", lambda k: cost.number(k, nullable=True), None),
                  last_expiry=cost.later("last_expiry", lambda k: cost.text(k, nullable=True), None),
                  hourly_without_expiry=cost.later("hourly_without_expiry", cost.number, 0.0)),
        blocked=d.strs("blocked"),
        conflicts=d.strs("conflicts"),
        warnings=d.strs("warnings"),
        state_lineage=d.text("state_lineage", nullable=True),
        state_serial=d.whole("state_serial", nullable=True),
        max_hourly_cost=d.number("max_hourly_cost", nullable=True),
        prices_as_of=d.text("prices_as_of"),
        refreshed=d.flag("refreshed"),
        forget=d.strs("forget"),
        drop_intents=d.strs("drop_intents"),
        state_sync=d.strs("state_sync"),
        waits=d.strs("waits"),
        spec_files=d.strs("spec_files"),
        request=PlanRequest(refresh=o.flag("refresh"), destroy_all=o.flag("destroy_all"), targets=o.strs("targets"),
                            replace=o.strs("replace"), max_hourly_cost=o.number("max_hourly_cost", nullable=True),
                            prices=prices, expire_only=o.later("expire_only", o.flag, False)),
        now=d.later("now", d.text, ""),
        prices=d.later("prices", lambda k: d.items(k, _price), ()),
        remember_expired=d.later("remember_expired", d.strs, ()),
        protected_expired=d.later("protected_expired", d.strs, ()),
        storage=d.later("storage", lambda k: _storage_codec().decode_storage(
            d.data[k], lambda where, kind: _bad(source, where, kind)), None),
    )


def _price(item: object, parent: _Doc, where: str) -> tuple[str, float]:
    if (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
            and isinstance(item[1], (int, float)) and not isinstance(item[1], bool)):
        return item[0], float(item[1])
    raise parent.bad(where, "a [kind, price] pair")


def _decode_change(item: object, parent: _Doc, where: str) -> Change:
    c = _Doc(item, where, parent.source)
    action = _ACTIONS.get(c.text("action"))
    if action is None:
        raise c.bad(f"{where}.action", "one of " + ", ".join(sorted(_ACTIONS)))
    desired = c.data.get("desired")
    return Change(
        address=c.text("address"),
        action=action,
        before=c.fields("before"),
        after=c.fields("after"),
        field_changes=c.items("field_changes", _decode_field_change),
        replace_paths=c.strs("replace_paths"),
        reason=c.text("reason", nullable=True),
        notes=c.strs("notes"),
        cluster_id=c.text("cluster_id", nullable=True),
        hourly_before=c.number("hourly_before", nullable=True),
        hourly_after=c.number("hourly_after", nullable=True),
        moved_from=c.text("moved_from", nullable=True),
        desired=None if desired is None else _decode_cluster(desired, c, f"{where}.desired"),
        lift_protection=c.flag("lift_protection"),
        expiry=c.later("expiry", lambda k: _decode_expiry(c.data[k], c, f"{where}.expiry"), None),
    )


def _decode_expiry(item: object, parent: _Doc, where: str) -> Expiry | None:
    if item is None:
        return None
    e = _Doc(item, where, parent.source)
    return Expiry(lifetime=e.text("lifetime"), expires_at=e.text("expires_at", nullable=True),
                  seconds_left=e.number("seconds_left", nullable=True), spend=e.number("spend", nullable=True),
                  warn=e.flag("warn"), expired=e.flag("expired"), from_creation=e.flag("from_creation"),
                  protected=e.flag("protected"))


def _decode_field_change(item: object, parent: _Doc, where: str) -> FieldChange:
    effects = {e.value: e for e in FieldEffect}
    if (isinstance(item, list) and len(item) == 5 and isinstance(item[0], str) and item[3] in effects
            and (item[4] is None or isinstance(item[4], str))):
        return FieldChange(item[0], item[1], item[2], effects[item[3]], item[4])
    raise parent.bad(where, "a [field, before, after, effect, detail] list")


def _decode_cluster(item: object, parent: _Doc, where: str) -> ClusterSpec:
    s = _Doc(item, where, parent.source)
    num_nodes = s.whole("num_nodes")
    if num_nodes < 1:
        raise s.bad(f"{where}.num_nodes", "at least 1")
    source = s.data.get("source")
    if source is not None and not (isinstance(source, list) and len(source) == 3 and isinstance(source[0], str)
                                   and all(isinstance(n, int) for n in source[1:])):
        raise s.bad(f"{where}.source", "a [file, line, column] list or null")
    return ClusterSpec(
        address=s.text("address"),
        instance_type=s.text("instance_type"),
        num_nodes=num_nodes,
        name=s.text("name"),
        container=s.text("container", nullable=True),
        deletion_protection=s.flag("deletion_protection"),
        public_keys=s.strs("public_keys"),
        prevent_destroy=s.flag("prevent_destroy"),
        ignore_changes=frozenset(s.strs("ignore_changes")),
        source=None if source is None else SourceRef(source[0], source[1], source[2]),
        lifetime=s.later("lifetime", lambda k: _decode_lifetime(s.data[k], s, f"{where}.lifetime"), None),
        storage=s.later("storage", s.strs, ()),
    )


def _decode_lifetime(item: object, parent: _Doc, where: str) -> Lifetime | None:
    """[expires_after, expires_at, warn_before]: seconds, an RFC 3339 time, seconds; exactly one of the first two."""
    if item is None:
        return None
    if isinstance(item, list) and len(item) == 3:
        after, at, warn = item
        seconds_ok = all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in (after, warn))
        at_ok = at is None or (isinstance(at, str) and parse_instant(at) is not None)
        if seconds_ok and at_ok and (after is None) != (at is None):
            return Lifetime(expires_after=after, expires_at=at, warn_before=warn)
    raise parent.bad(where, "an [expires_after, expires_at, warn_before] list or null")
