"""Plans say, for a cluster to be created (a create, or the new cluster of a replace), that its outputs are
known after apply: in the text plan, the PR comment and the JSON plan (Terraform's `after_unknown`)."""

from __future__ import annotations

import json

from tpdeclare.plan.model import Action
from tpdeclare.plan.planner import make_plan
from tpdeclare.plan.render_json import render_json
from tpdeclare.plan.render_markdown import render_markdown
from tpdeclare.plan.render_text import Palette, render_text

from plan_helpers import cluster, record, stack, state


def _plan():
    keep = cluster("keep")
    grow_old, grow_new = cluster("grow", "8xH200"), cluster("grow", "8xH200", num_nodes=2)
    rename_old, rename_new = cluster("nb"), cluster("nb", name="demo-renamed")
    gone = cluster("gone")
    fresh = cluster("fresh", "1xL40S")
    st = state(record(keep, cluster_id="c-00000001"), record(grow_old, cluster_id="c-00000002"),
               record(rename_old, cluster_id="c-00000003"), record(gone, cluster_id="c-00000004"))
    return make_plan(stack(keep, grow_new, rename_new, fresh), st)


def _block(text: str, address: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith(f'cluster "{address}" {{'))
    end = next(i for i in range(start, len(lines)) if lines[i] == "    }")
    return lines[start:end + 1]


def test_a_create_shows_its_id_and_ssh_command_as_known_after_apply():
    block = _block(render_text(_plan()), "fresh")
    assert block[1] == "      + id                  = (known after apply)"
    assert block[-3] == "      + ssh_command         = (known after apply)"
    assert block[-2].startswith("        cost ")


def test_a_replace_shows_its_new_id_and_ssh_command_as_known_after_apply():
    block = _block(render_text(_plan()), "grow")
    assert block[1] == '      ~ id                  = "c-00000002" -> (known after apply)'
    assert "      ~ ssh_command         = (known after apply)" in block


def test_updates_and_destroys_know_their_outputs():
    text = render_text(_plan())
    for address in ("nb", "gone"):
        block = _block(text, address)
        assert not any("known after apply" in line for line in block), block
    assert "keep" not in text  # a no-op is not shown at all


def test_the_colours_keep_the_words():
    plain, coloured = render_text(_plan()), render_text(_plan(), Palette(True))
    assert "\033[32m      + id                  = (known after apply)\033[0m" in coloured
    assert plain.count("(known after apply)") == coloured.count("(known after apply)") == 4


def test_the_pr_comment_names_the_clusters_whose_outputs_come_after_apply():
    md = render_markdown(_plan())
    assert ("Outputs of `fresh`, `grow` (cluster ID, instances, IP addresses, SSH command) will be known after "
            "apply: `tpdeclare output` shows them.") in md
    assert md.index("will be known after apply") < md.index("<details>")


def test_a_pr_comment_without_creates_says_nothing_of_outputs():
    keep = cluster("keep")
    renamed = cluster("keep", name="demo-other")
    md = render_markdown(make_plan(stack(renamed), state(record(keep, cluster_id="c-1"))))
    assert "to change" in md
    assert "known after apply" not in md


def test_the_json_plan_has_terraforms_after_unknown():
    """A cluster to be created (or a replace's new one) has its ID known after apply, in Terraform's place."""
    plan = _plan()
    by_address = {c["address"]: c["change"] for c in json.loads(render_json(plan))["resource_changes"]}
    assert by_address["fresh"]["after_unknown"]["id"] is True
    assert by_address["grow"]["after_unknown"]["id"] is True
    for address in ("nb", "gone", "keep"):
        assert by_address[address]["after_unknown"] == {}
    actions = {c.address: c.action for c in plan.changes}
    assert (actions["fresh"], actions["grow"]) == (Action.CREATE, Action.REPLACE)
