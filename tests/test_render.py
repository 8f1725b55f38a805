"""Golden tests of the plan renderers: human text, JSON shape, Markdown."""

from __future__ import annotations

import json

from tpdeclare.plan.codec import decode_plan, encode_plan
from tpdeclare.plan.planner import make_plan
from tpdeclare.plan.render_json import render_json
from tpdeclare.plan.render_markdown import render_markdown
from tpdeclare.plan.render_text import render_text

from plan_helpers import Move, cluster, record, stack, state


def mixed_plan():
    keep = cluster("keep")
    grow_old = cluster("trainer", "8xH200")
    grow_new = cluster("trainer", "8xH200", num_nodes=2)
    rename_old = cluster("notebook")
    rename_new = cluster("notebook", name="demo-nb")
    gone = cluster("old")
    fresh = cluster("fresh", "1xL40S", public_keys=("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabc alice@laptop",))
    moved_old = cluster("was-here")
    moved_new = cluster("here", name="demo-was-here")
    st = state(
        record(keep, cluster_id="c-00000001"),
        record(grow_old, cluster_id="c-00000002"),
        record(rename_old, cluster_id="c-00000003"),
        record(gone, cluster_id="c-00000004"),
        record(moved_old, cluster_id="c-00000005"),
    )
    return make_plan(stack(keep, grow_new, rename_new, fresh, moved_new, moves=[Move("was-here", "here")]), st)


def test_text_plan_golden(golden):
    golden("plan_mixed.txt", render_text(mixed_plan()))


def test_no_changes_text_golden(golden):
    keep = cluster("keep")
    golden("plan_no_changes.txt", render_text(make_plan(stack(keep), state(record(keep, cluster_id="c-00000001")))))


def test_markdown_golden_and_deterministic(golden):
    first = render_markdown(mixed_plan())
    assert first == render_markdown(mixed_plan())
    golden("plan_mixed.md", first)


def test_json_has_the_design_shape():
    doc = json.loads(render_json(mixed_plan()))
    assert doc["format_version"] == "1.0"
    assert set(doc["cost"]) >= {"before_hourly", "after_hourly", "diff_hourly"}
    by_addr = {rc["address"]: rc for rc in doc["resource_changes"]}
    assert by_addr["trainer"]["actions"] == ["delete", "create"]
    assert by_addr["trainer"]["replace_paths"] == [["num_nodes"]]
    assert by_addr["fresh"]["actions"] == ["create"]
    assert by_addr["old"]["actions"] == ["delete"]
    assert by_addr["notebook"]["actions"] == ["update"]
    assert by_addr["keep"]["actions"] == ["no-op"]
    for rc in doc["resource_changes"]:
        assert set(rc) >= {"address", "actions", "before", "after", "replace_paths", "action_reason"}
    assert doc["summary"] == {"add": 1, "change": 1, "replace": 1, "destroy": 1, "move": 1}


def test_saved_plan_codec_round_trips_exactly():
    plan = mixed_plan()
    again = decode_plan(json.loads(json.dumps(encode_plan(plan))))
    assert again == plan
    assert render_text(again) == render_text(plan)
