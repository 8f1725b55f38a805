"""Golden plans with lifetimes (issue 14): text, JSON, Markdown and `plan --summary`, on a fixed clock."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from tpdeclare.plan.planner import make_plan
from tpdeclare.plan.render_json import render_json
from tpdeclare.plan.render_markdown import render_markdown
from tpdeclare.plan.render_summary import render_summary
from tpdeclare.plan.render_text import Palette, render_text
from tpdeclare.spec.model import Lifetime

from plan_helpers import cluster, record, stack, state
from test_render import mixed_plan

NOW = datetime(2026, 11, 26, 20, 0, 0, tzinfo=UTC)  # plan_helpers' records were created at 10:00
H = 3600


def lifetimes_plan(**kw):
    """Every lifetime case at once: expired, ending within warn_before, running, created, born expired,
    remembered, and one cluster with no lifetime beside them."""
    expired = cluster("expired", lifetime=Lifetime(expires_after=8 * H))
    soon = cluster("soon", "8xH200", lifetime=Lifetime(expires_after=10 * H + 1800, warn_before=H))
    running = cluster("running", lifetime=Lifetime(expires_at="2026-11-27T08:00:00Z", warn_before=H))
    fresh = cluster("fresh", "1xL40S", lifetime=Lifetime(expires_after=4 * H))
    late = cluster("late", lifetime=Lifetime(expires_at="2026-11-26T12:00:00Z"))
    gone = cluster("gone", lifetime=Lifetime(expires_after=8 * H))
    plain = cluster("plain")
    memory = replace(record(gone, cluster_id="c-0000000e"), expired_at="2026-11-26T18:00:00Z",
                     lifetime="expires_after 8h").after_destroy("2026-11-26T18:05:00Z")
    records = state(record(expired, cluster_id="c-00000001"), record(soon, cluster_id="c-00000002"),
                    record(running, cluster_id="c-00000003"), record(plain, cluster_id="c-00000004"), memory)
    return make_plan(stack(expired, soon, running, fresh, late, gone, plain), records, now=NOW, **kw)


def protected_plan():
    kept = cluster("kept", lifetime=Lifetime(expires_after=8 * H), prevent_destroy=True)
    return make_plan(stack(kept), state(record(kept, cluster_id="c-00000001")), now=NOW)


def test_text_plan_with_lifetimes_golden(golden):
    golden("plan_lifetimes.txt", render_text(lifetimes_plan()))


def test_markdown_with_lifetimes_is_deterministic_golden(golden):
    first = render_markdown(lifetimes_plan())
    assert first == render_markdown(lifetimes_plan())  # the same clock, the same bytes
    golden("plan_lifetimes.md", first)


def test_json_with_lifetimes_golden(golden):
    text = render_json(lifetimes_plan())
    golden("plan_lifetimes.json", text)
    doc = json.loads(text)
    by = {rc["address"]: rc for rc in doc["resource_changes"]}
    assert by["expired"]["action_reason"] == "delete_because_expired" and by["expired"]["actions"] == ["delete"]
    assert by["soon"]["expires_at"] == "2026-11-26T20:30:00Z" and by["soon"]["expiry"]["warning"] is True
    assert by["plain"]["expires_at"] is None and by["plain"]["expiry"] is None
    assert doc["cost"]["until_expiry"] == round(11.96 + 12 * 1.99 + 4 * 1.49, 6)
    assert doc["cost"]["last_expiry"] == "2026-11-27T08:00:00Z"


def test_protected_expired_text_golden(golden):
    plan = protected_plan()
    golden("plan_lifetime_protected.txt", render_text(plan) + "".join(f"blocked: {b}\n" for b in plan.blocked))


def test_summary_goldens(golden):
    golden("plan_lifetimes_summary.txt", render_summary(lifetimes_plan()))
    golden("plan_mixed_summary.txt", render_summary(mixed_plan()))


def test_summary_puts_destroys_and_replaces_first():
    lines = render_summary(mixed_plan()).splitlines()
    actions = [line.split()[0] for line in lines if line[:3].strip() in ("-", "-/+", "~", "+")]
    assert actions == ["-", "-/+", "~", "+"]


def test_expire_plan_text_golden(golden):
    golden("plan_lifetimes_expire.txt", render_text(lifetimes_plan(expire_only=True)))


def test_colour_only_paints_the_words():
    plain, painted = render_summary(lifetimes_plan()), render_summary(lifetimes_plan(), Palette(True))
    assert "\033[" in painted and plain == painted.replace("\033[0m", "").replace("\033[1m", "").replace(
        "\033[31m", "").replace("\033[32m", "").replace("\033[33m", "").replace("\033[35m", "")
