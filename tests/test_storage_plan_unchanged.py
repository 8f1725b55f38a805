"""The storage planner's fast path for unchanged volumes gives exactly the general path's plan.

Random stacks of volumes and clusters and states drawn near them (most volumes recorded as wanted, some off by a
value or a type, a status or a missing key; attachments as listed or not), with random options (--replace of a
volume, --target, destroy, a refresh with the engine near the state): the plan made with the fast path and the one
made with it switched off are equal, their reprs too (types, dict key order), and so are their text and JSON.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tpdeclare.api.storage_models import VolumeInfo
from tpdeclare.plan import storage_planner
from tpdeclare.plan.model import Action
from tpdeclare.plan.planner import make_plan
from tpdeclare.spec.model import VolumeSpec
from tpdeclare.state.model import RecordStatus
from tpdeclare.state.volumes import VolumeRecord

from plan_helpers import assert_same_plans, cluster, plans_both_ways, record, stack, state

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
VOLUMES = ["v0", "v1", "v2", "v3"]
CLUSTERS = ["c0", "c1", "c2"]
# Recorded values equal to the wanted ones (==) but of another type, or simply different.
ODD = {"size_gb": [True, 100.0, "100", None, 50, 200], "name": [None, "other", 1],
       "deletion_protection": [0, 1, None, "false", True, False]}
VOLUME_STATUSES = [s for s in RecordStatus if s is not RecordStatus.EXPIRED]


@st.composite
def stacks_and_states(draw):
    volumes = [VolumeSpec(a, draw(st.sampled_from([100, 100, 300])), f"demo-{a}",
                          deletion_protection=draw(st.booleans()), prevent_destroy=draw(st.booleans()),
                          ignore_changes=draw(st.sampled_from([frozenset(), frozenset({"name"})])))
               for a in draw(st.lists(st.sampled_from(VOLUMES), unique=True, max_size=4))]
    wanted = [v.address for v in volumes]
    clusters = [cluster(a, storage=tuple(draw(st.lists(st.sampled_from(wanted), unique=True, max_size=2)))
                        if wanted else ())
                for a in draw(st.lists(st.sampled_from(CLUSTERS), unique=True, max_size=3))]
    records = [record(c, cluster_id=f"c-{c.address}") for c in clusters if draw(st.integers(0, 5))]
    recorded = {r.address for r in records}
    vrecords = []
    for i, v in enumerate([*volumes, *(VolumeSpec(a, 100, f"demo-{a}") for a in
                                       draw(st.lists(st.sampled_from(VOLUMES), unique=True, max_size=1))
                                       if a not in wanted)]):
        if not draw(st.integers(0, 6)):
            continue  # not recorded: a create
        spec = {**v.fields(), "prevent_destroy": draw(st.sampled_from([v.prevent_destroy] * 4 + [True, False]))}
        for field in draw(st.lists(st.sampled_from(sorted(ODD)), unique=True, max_size=2)) * draw(st.booleans()):
            spec[field] = draw(st.sampled_from(ODD[field]))
        if not draw(st.integers(0, 9)):
            spec.pop(draw(st.sampled_from(sorted(ODD))))
        attached = {c: f"c-{c}" for c in draw(st.lists(st.sampled_from(sorted(recorded)), unique=True, max_size=2))
                    } if recorded else {}
        status = draw(st.sampled_from([RecordStatus.READY] * 6 + VOLUME_STATUSES))
        vrecords.append(VolumeRecord(v.address, status, v.name, spec,
                                     storage_id=None if status is RecordStatus.PENDING else f"s-{i}",
                                     attached=attached, created_at="2026-11-26T10:00:00Z"))
    current = dataclasses.replace(state(*records), volumes={r.address: r for r in vrecords})
    return stack(*clusters, volumes={v.address: v for v in volumes}), current


@st.composite
def options(draw, current):
    kw = {}
    if draw(st.booleans()):  # mostly a volume that is recorded
        kw["replace"] = [f"storage.{a}" for a in draw(st.lists(st.sampled_from(
            sorted(current.volumes) * 3 + VOLUMES), min_size=1, max_size=2))]
    if not draw(st.integers(0, 4)):
        kw["targets"] = draw(st.lists(st.sampled_from([*CLUSTERS, *(f"storage.{a}" for a in VOLUMES)]),
                                      max_size=2))
    kw["destroy_all"] = not draw(st.integers(0, 9))
    if not draw(st.integers(0, 3)):  # a refresh: the engine shows most volumes as recorded
        seen = {}
        for r in current.volumes.values():
            if r.storage_id and draw(st.integers(0, 4)):
                size = r.spec.get("size_gb")
                seen[r.storage_id] = VolumeInfo(
                    r.storage_id, r.spec.get("name") if draw(st.integers(0, 3)) else None,
                    size if isinstance(size, int) else 100, bool(r.spec.get("deletion_protection")),
                    draw(st.sampled_from(["READY", "READY", "DESTROYED"])), tuple(r.attached.values()))
        kw["observed_volumes"] = seen
        kw["observed"] = {r.cluster_id: {**r.spec, "status": "RUNNING"} for r in current.resources.values()}
    return kw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_fast_path_plans_exactly_what_the_general_path_plans(monkeypatch, data):
    spec, current = data.draw(stacks_and_states())
    assert_same_plans(*plans_both_ways(monkeypatch, (storage_planner._StoragePlanner, "_unchanged"), spec, current,
                                       now=NOW, **data.draw(options(current))))


def test_volumes_recorded_as_wanted_take_the_fast_path_and_plan_no_change(monkeypatch):
    volumes = [VolumeSpec(f"v{i}", 100 * (i + 1), f"demo-v{i}", deletion_protection=i % 2 == 0) for i in range(4)]
    records = {v.address: VolumeRecord(v.address, RecordStatus.READY, v.name, {**v.fields(), "prevent_destroy": False},
                                       storage_id=f"s-{v.address}") for v in volumes}
    spec, current = stack(volumes={v.address: v for v in volumes}), dataclasses.replace(state(), volumes=records)
    general = []
    real = storage_planner._StoragePlanner._volume
    monkeypatch.setattr(storage_planner._StoragePlanner, "_current",
                        lambda self, rec: general.append(rec.address) or pytest.fail("took the general path"))
    plan = make_plan(spec, current, now=NOW)
    assert not general and real is storage_planner._StoragePlanner._volume
    assert [v.action for v in plan.storage.volumes] == [Action.NOOP] * 4 and not plan.has_changes
    assert plan.storage.volumes[1].before == {"size_gb": 200, "name": "demo-v1", "deletion_protection": False}
