"""Planning volumes and attachments (issue 15): actions, refusals, and the dependency order of every step."""

from __future__ import annotations

import dataclasses
import json

from tpdeclare.api.storage_models import VolumeInfo
from tpdeclare.plan.codec import decode_plan, encode_plan
from tpdeclare.plan.model import Action
from tpdeclare.plan.planner import make_plan
from tpdeclare.plan.render_json import plan_to_json
from tpdeclare.plan.render_markdown import render_markdown
from tpdeclare.plan.render_text import render_text
from tpdeclare.spec.model import VolumeSpec
from tpdeclare.state.model import CREATING, READY
from tpdeclare.state.volumes import VolumeRecord

from plan_helpers import cluster, record, stack, state

TRAINER = cluster("trainer", "8xH200", num_nodes=2, storage=("data",))
DATA = VolumeSpec("data", 500, "demo-data")


def vrecord(spec: VolumeSpec = DATA, storage_id="s-1", attached=None, status=READY) -> VolumeRecord:
    return VolumeRecord(spec.address, status, spec.name, {**spec.fields(), "prevent_destroy": spec.prevent_destroy},
                        storage_id=storage_id, attached=attached or {}, created_at="2026-11-26T10:00:00Z")


def with_volumes(st, *volumes):
    return dataclasses.replace(st, volumes={v.address: v for v in volumes})


def keys(plan):
    return [(s.key, s.after) for s in plan.storage.order]


def applied():
    """The trainer and its volume, applied and attached."""
    rec = record(TRAINER, "c-1")
    return rec, with_volumes(state(rec), vrecord(attached={"trainer": "c-1"}))


def test_a_stack_without_storage_plans_exactly_as_before():
    plan = make_plan(stack(cluster("a")), None)
    assert plan.storage is None


def test_first_apply_creates_volume_and_cluster_in_parallel_then_attaches():
    plan = make_plan(stack(TRAINER, volumes={"data": DATA}), None)
    assert [v.action for v in plan.storage.volumes] == [Action.CREATE]
    assert keys(plan) == [("cluster:trainer", ()), ("volume:data", ()),
                          ("attach:data:trainer", ("cluster:trainer", "volume:data"))]
    assert plan.storage.monthly_after == 50.0


def test_an_applied_stack_has_no_changes():
    _, st = applied()
    plan = make_plan(stack(TRAINER, volumes={"data": DATA}), st)
    assert not plan.has_changes
    assert "No changes." in render_text(plan)


def test_a_num_nodes_change_detaches_replaces_and_reattaches_the_same_volume():
    _, st = applied()
    plan = make_plan(stack(dataclasses.replace(TRAINER, num_nodes=3), volumes={"data": DATA}), st)
    assert plan.change("trainer").action is Action.REPLACE
    assert [v.action for v in plan.storage.volumes] == [Action.NOOP]
    assert keys(plan) == [("detach:data:trainer", ()), ("cluster:trainer", ("detach:data:trainer",)),
                          ("attach:data:trainer", ("cluster:trainer", "detach:data:trainer"))]
    reattach = plan.storage.attachments[1]
    assert reattach.storage_id == "s-1" and reattach.cluster_id is None  # same volume; the new cluster's ID later
    text = render_text(plan)
    assert "detach storage.data from cluster trainer (cluster trainer is replaced): restarts all nodes of cluster " \
           "trainer" in text
    assert "attach storage.data to cluster trainer (re-attached after cluster trainer is replaced): restarts all " \
           "nodes of cluster trainer" in text


def test_growing_is_an_edit_in_place_and_shrinking_is_refused_with_the_reason():
    _, st = applied()
    grow = make_plan(stack(TRAINER, volumes={"data": dataclasses.replace(DATA, size_gb=800)}), st)
    assert grow.storage.volumes[0].action is Action.UPDATE and not grow.storage.attachments
    assert not grow.conflicts and not grow.blocked
    shrink = make_plan(stack(TRAINER, volumes={"data": dataclasses.replace(DATA, size_gb=100)}), st)
    assert shrink.conflicts == ("storage.data: size_gb 500 -> 100: a volume can grow but never shrink; keep size_gb: "
                                "500 or more, or replace it with a new, empty volume: --replace storage.data (its "
                                "data is lost)",)
    assert shrink.storage.volumes[0].action is Action.NOOP


def test_a_shrink_with_prevent_destroy_is_blocked_and_replace_must_be_asked_for():
    guarded = dataclasses.replace(DATA, prevent_destroy=True)
    rec = record(TRAINER, "c-1")
    st = with_volumes(state(rec), vrecord(guarded, attached={"trainer": "c-1"}))
    small = dataclasses.replace(guarded, size_gb=100)
    plan = make_plan(stack(TRAINER, volumes={"data": small}), st)
    assert plan.blocked and "prevent_destroy" in plan.blocked[0] and not plan.conflicts
    _, st2 = applied()
    replaced = make_plan(stack(TRAINER, volumes={"data": dataclasses.replace(DATA, size_gb=100)}), st2,
                         replace=["storage.data"])
    assert replaced.storage.volumes[0].action is Action.REPLACE and not replaced.conflicts
    assert keys(replaced) == [("detach:data:trainer", ()), ("volume:data", ("detach:data:trainer",)),
                              ("attach:data:trainer", ("detach:data:trainer", "volume:data"))]


def test_destroy_detaches_first_then_destroys_both():
    _, st = applied()
    plan = make_plan(stack(TRAINER, volumes={"data": DATA}), st, destroy_all=True)
    assert keys(plan) == [("detach:data:trainer", ()), ("cluster:trainer", ("detach:data:trainer",)),
                          ("volume:data", ("detach:data:trainer",))]


def test_a_protected_volume_blocks_its_destroy():
    rec = record(TRAINER, "c-1")
    st = with_volumes(state(rec), vrecord(dataclasses.replace(DATA, deletion_protection=True)))
    plan = make_plan(stack(TRAINER), st)
    assert any("storage.data: the volume has deletion protection" in b for b in plan.blocked)


def test_drift_a_detach_behind_our_back_is_planned_for_reattachment():
    _, st = applied()
    seen = {"s-1": VolumeInfo("s-1", "demo-data", 500, False, "READY", ())}
    plan = make_plan(stack(TRAINER, volumes={"data": DATA}), st,
                     observed={"c-1": {**TRAINER.fields(), "status": "RUNNING"}}, observed_volumes=seen)
    assert [(a.link.value, a.volume, a.cluster, a.reason) for a in plan.storage.attachments] == [
        ("attach", "data", "trainer", "drift: detached outside tpdeclare")]
    assert plan.has_changes


def test_a_volume_deleted_outside_is_created_again_and_said_so():
    _, st = applied()
    plan = make_plan(stack(TRAINER, volumes={"data": DATA}), st,
                     observed={"c-1": {**TRAINER.fields(), "status": "RUNNING"}}, observed_volumes={})
    v = plan.storage.volumes[0]
    assert v.action is Action.CREATE and "deleted outside tpdeclare" in v.notes[0]
    assert keys(plan) == [("volume:data", ()), ("attach:data:trainer", ("volume:data",))]


def test_a_volume_shared_by_two_clusters_and_a_cluster_that_drops_it():
    cpu = cluster("cpu", "32xCPU", storage=("data",))
    st = with_volumes(state(record(TRAINER, "c-1"), record(cpu, "c-2")),
                      vrecord(attached={"trainer": "c-1", "cpu": "c-2"}))
    plan = make_plan(stack(TRAINER, dataclasses.replace(cpu, storage=()), volumes={"data": DATA}), st)
    assert [(a.link.value, a.cluster, a.cluster_id) for a in plan.storage.attachments] == [("detach", "cpu", "c-2")]


def test_json_and_markdown_mark_every_attachment_and_carry_the_storage_cost():
    _, st = applied()
    plan = make_plan(stack(dataclasses.replace(TRAINER, num_nodes=3), volumes={"data": DATA}), st)
    doc = plan_to_json(plan)
    volume = [r for r in doc["resource_changes"] if r["type"] == "tensorpool_storage"][0]
    assert volume["address"] == "storage.data" and volume["change"]["actions"] == ["no-op"]
    assert [a["restarts"] for a in doc["storage"]["attachments"]] == ["restarts all nodes of cluster trainer"] * 2
    assert [s["step"] for s in doc["storage"]["order"]] == ["detach:data:trainer", "cluster:trainer",
                                                            "attach:data:trainer"]
    assert doc["storage"]["cost"]["after_monthly"] == 50.0
    md = render_markdown(plan)
    assert [line for line in md.splitlines() if line.startswith("> - ") and "storage.data" in line] == [
        "> - detach storage.data from cluster trainer (cluster trainer is replaced): restarts all nodes of cluster "
        "trainer",
        "> - attach storage.data to cluster trainer (re-attached after cluster trainer is replaced): restarts all "
        "nodes of cluster trainer"]
    assert "**Storage:** $50.00/month → $50.00/month" in md
    assert "Storage: $50.00/month → $50.00/month (+$0.00/month; $0.0685/hr → $0.0685/hr)" in render_text(plan)


def test_a_saved_plan_keeps_its_storage_part_exactly():
    _, st = applied()
    plan = make_plan(stack(dataclasses.replace(TRAINER, num_nodes=3), volumes={"data": DATA}), st)
    assert decode_plan(json.loads(json.dumps(encode_plan(plan)))) == plan


def test_an_attachment_to_a_cluster_no_longer_recorded_is_not_detached():
    st = with_volumes(state(), vrecord(attached={"trainer": "c-gone"}))  # the cluster went (expired, state rm)
    plan = make_plan(stack(volumes={"data": DATA}), st)
    assert plan.storage.attachments == ()


def test_targeting_a_cluster_takes_its_volumes_along():
    _, st = applied()
    plan = make_plan(stack(dataclasses.replace(TRAINER, num_nodes=3), volumes={"data": DATA}), st,
                     targets=["trainer"])
    assert [s.key for s in plan.storage.order] == ["detach:data:trainer", "cluster:trainer", "attach:data:trainer"]
    other = make_plan(stack(TRAINER, cluster("box"), volumes={"data": DATA}), st, targets=["box"])
    assert other.storage.volumes == ()


def test_a_volume_an_earlier_run_left_creating_is_waited_for_and_its_attaches_follow():
    rec = record(TRAINER, "c-1")
    st = with_volumes(state(rec), vrecord(status=CREATING))
    plan = make_plan(stack(TRAINER, volumes={"data": DATA}), st)
    assert plan.storage.waits == ("data",) and [v.action for v in plan.storage.volumes] == [Action.NOOP]
    assert keys(plan) == [("volume:data", ()), ("attach:data:trainer", ("volume:data",))]
    grown = make_plan(stack(TRAINER, volumes={"data": dataclasses.replace(DATA, size_gb=600)}), st)
    assert grown.storage.waits == ("data",) and [v.action for v in grown.storage.volumes] == [Action.UPDATE]
    assert make_plan(stack(TRAINER, volumes={"data": DATA}), applied()[1]).storage.waits == ()
    assert decode_plan(json.loads(json.dumps(encode_plan(plan)))) == plan


def test_a_plan_saved_before_volume_waits_existed_still_decodes():
    _, st = applied()
    saved = encode_plan(make_plan(stack(dataclasses.replace(TRAINER, num_nodes=3), volumes={"data": DATA}), st))
    del saved["storage"]["waits"]
    assert decode_plan(json.loads(json.dumps(saved))).storage.waits == ()


def test_an_attach_to_a_cluster_an_earlier_run_left_creating_waits_for_it():
    rec = record(TRAINER, "c-1", status=CREATING)
    st = with_volumes(state(rec), vrecord(status=CREATING))
    plan = make_plan(stack(TRAINER, volumes={"data": DATA}), st)
    assert plan.waits == ("trainer",)
    assert ("attach:data:trainer", ("volume:data", "wait:trainer")) in keys(plan)
