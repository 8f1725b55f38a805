"""Edits an engine takes in with a bare 202 and applies later: nothing that depends on one runs before the
cluster shows it (protection off before a replace's DELETE; a rename before a create that reuses the name)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tpdeclare.apply.edit import renames_freeing_names
from tpdeclare.plan.model import Action
from tpdeclare.plan.planner import make_plan
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.recorder import Recorder

from plan_helpers import cluster, record, stack, state
from test_executor import FakeClient, executor_for


class LateEdits(FakeClient):
    """Edits answer at once but take effect only after `lag` more `GET /cluster/info` calls of that cluster
    (no request ID to poll: the 202-then-CLUSTER_EDIT engine); `lag=None` never."""

    def __init__(self, lag: int | None):
        super().__init__()
        self.lag = lag
        self.pending: dict[str, tuple[int, dict]] = {}

    def edit_cluster(self, cluster_id, *, cluster_name=None, deletion_protection=None):
        self.calls.append(("edit", cluster_id))
        changes = {k: v for k, v in (("name", cluster_name), ("deletion_protection", deletion_protection))
                   if v is not None}
        self.pending[cluster_id] = (0, changes)
        return "accepted"

    def cluster_info(self, cluster_id):
        if cluster_id in self.pending:
            seen, changes = self.pending[cluster_id]
            if self.lag is not None and seen >= self.lag:
                self.clusters[cluster_id].update(changes)
                del self.pending[cluster_id]
            else:
                self.pending[cluster_id] = (seen + 1, changes)
        return super().cluster_info(cluster_id)


def recorded_state(tmp_path, client, *recs):
    store = LocalStateStore(tmp_path / "demo.json")
    store.write(state(*recs))
    return store, store.read()


def execute(store, st, client, spec, **kw):
    recorder = Recorder(store, st)
    lines: list[str] = []
    result = executor_for(client, recorder, report=lines.append, **kw).run(make_plan(spec, st))
    recorder.checkpoint()
    return result, lines


@pytest.mark.parametrize("lag", [0, 1, 3])
def test_a_replace_deletes_only_once_the_cluster_shows_protection_off(tmp_path, lag):
    client = LateEdits(lag)
    old = cluster("a", deletion_protection=True)
    cid = client.add_cluster(old.name, deletion_protection=True)
    store, st = recorded_state(tmp_path, client, record(old, cid))
    new = replace(old, instance_type="2xH100", deletion_protection=False)
    result, lines = execute(store, st, client, stack(new))
    assert result.replaced == 1 and not result.failures, result
    kinds = [c[0] for c in client.calls]
    assert kinds.index("delete") > kinds.index("edit")
    assert kinds[kinds.index("edit") + 1: kinds.index("delete")] == ["info"] * (lag + 1)
    assert (f"a: waiting for the engine to show the edit (deletion_protection False) [id={cid}]" in lines) == (lag > 0)


def test_an_edit_that_never_shows_times_out_and_nothing_is_deleted_or_recorded(tmp_path):
    client = LateEdits(None)
    old = cluster("a", deletion_protection=True)
    cid = client.add_cluster(old.name, deletion_protection=True)
    store, st = recorded_state(tmp_path, client, record(old, cid))
    clock = iter(range(0, 10_000)).__next__
    result, _ = execute(store, st, client, stack(replace(old, instance_type="2xH100", deletion_protection=False)),
                        clock=lambda: float(clock()), deadline_at=20.0)
    assert "waiting for the edit of" in result.failures["a"] and "to take effect" in result.failures["a"]
    assert "delete" not in [c[0] for c in client.calls]
    assert store.read().resources["a"].spec["deletion_protection"] is True


def test_a_rename_that_frees_a_name_runs_and_shows_before_the_create_that_takes_it(tmp_path):
    client = LateEdits(2)
    a = cluster("a", name="shared")
    cid = client.add_cluster("shared")
    store, st = recorded_state(tmp_path, client, record(a, cid))
    spec = stack(replace(a, name="moved"), cluster("b", name="shared"))
    plan = make_plan(spec, st)
    assert renames_freeing_names(plan) == {"a"}
    result, _ = execute(store, st, client, spec, parallelism=8)
    assert (result.changed, result.added, result.failures) == (1, 1, {})
    kinds = [c for c in client.calls if c[0] in ("edit", "info", "create")]
    assert kinds.index(("create", "shared")) > max(i for i, c in enumerate(kinds) if c == ("info", cid))
    assert sorted(c["name"] for c in client.alive()) == ["moved", "shared"]


def test_only_renames_away_from_a_name_the_plan_creates_go_first():
    a, b = cluster("a", name="one"), cluster("b", name="two")
    st = state(record(a, "c-00000001"), record(b, "c-00000002"))
    plan = make_plan(stack(replace(a, name="uno"), replace(b, name="dos"), cluster("c", name="one")), st)
    assert {c.address: c.action for c in plan.changes} == {"a": Action.UPDATE, "b": Action.UPDATE, "c": Action.CREATE}
    assert renames_freeing_names(plan) == {"a"}
    assert renames_freeing_names(make_plan(stack(replace(a, deletion_protection=True), b), st)) == frozenset()
