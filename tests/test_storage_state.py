"""Volume records in the state (issue 15): the document, the strict rules, the journal and the group commit."""

from __future__ import annotations

import json

import pytest
from tpdeclare.errors import StateError
from tpdeclare.state.codec import dump_state, parse_state
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import READY, State
from tpdeclare.state.recorder import Recorder
from tpdeclare.state.volumes import VolumeRecord

from state_records import record, spec_of

TS = "2026-12-01T10:00:00Z"


def volume(address="data", status=READY, storage_id="s-1", **kw) -> VolumeRecord:
    spec = {"size_gb": 500, "name": f"st-{address}", "deletion_protection": False, "prevent_destroy": False}
    return VolumeRecord(address=address, status=status, name=f"st-{address}", spec=spec, storage_id=storage_id,
                        created_at=TS, updated_at=TS, **kw)


def stack_state(**kw) -> State:
    cluster = record("trainer", "ready", name="st-trainer", spec=spec_of(instance_type="8xH200", num_nodes=2))
    return State(stack="st", lineage="l-1", serial=3, resources={"trainer": cluster}, engine="sandbox", **kw)


def test_a_state_without_volumes_is_written_as_before_and_read_by_the_fast_path():
    doc = json.loads(dump_state(stack_state()))
    assert "volumes" not in doc
    assert parse_state(dump_state(stack_state()), source="s.json").volumes == {}


def test_volume_records_round_trip_with_their_attachments():
    state = stack_state(volumes={"data": volume(attached={"trainer": "c-1"})})
    back = parse_state(dump_state(state), source="s.json")
    assert back.volumes == state.volumes and back.resources == state.resources
    assert back.volumes["data"].attached == {"trainer": "c-1"}


@pytest.mark.parametrize(("change", "words"), [
    (lambda v: v.update(spec={**v["spec"], "size_gb": "500"}), "volumes.data.spec.size_gb: expected an integer"),
    (lambda v: v.update(storage_id=None), "volumes.data.storage_id: a 'ready' record needs its storage_id"),
    (lambda v: v.update(attached={"trainer": "has space"}), "volumes.data.attached.trainer: expected an engine ID"),
    (lambda v: v.update(status="expired"), "volumes.data.status: unknown status 'expired'"),
    (lambda v: v.update(extra=1), "volumes.data: unknown key 'extra'"),
])
def test_a_damaged_volume_record_is_refused_naming_it_and_the_fix(change, words):
    doc = json.loads(dump_state(stack_state(volumes={"data": volume()})))
    change(doc["volumes"]["data"])
    with pytest.raises(StateError) as info:
        parse_state(json.dumps(doc).encode(), source="s.json")
    assert words in info.value.message
    assert "[fix: `tpdeclare state rm storage.data`]" in info.value.message
    # and `state rm storage.data` can read past it
    assert parse_state(json.dumps(doc).encode(), source="s.json", dropping=["storage.data"]).volumes == {}


def test_two_volume_records_cannot_hold_one_storage_id():
    doc = json.loads(dump_state(stack_state(volumes={"a": volume("a"), "b": volume("b")})))
    with pytest.raises(StateError, match="s-1 is also the storage_id of volumes.a"):
        parse_state(json.dumps(doc).encode(), source="s.json")


def test_the_recorder_journals_volume_records_and_a_reader_replays_them(tmp_path):
    store = LocalStateStore(tmp_path / "st.json")
    store.write(stack_state())
    recorder = Recorder(store, store.read())
    recorder.put_volume(volume(attached={"trainer": "c-1"}))
    recorder.put_volume(volume("scratch", storage_id="s-2"))
    recorder.remove_volume("scratch")
    assert (tmp_path / "st.json").read_bytes() == dump_state(stack_state())  # only the journal grew
    read = LocalStateStore(tmp_path / "st.json").read()
    assert read is not None and read.volumes == {"data": volume(attached={"trainer": "c-1"})}
    assert read.serial == 6 and "trainer" in read.resources


def test_the_recorder_refuses_a_volume_record_that_would_not_read_back(tmp_path):
    store = LocalStateStore(tmp_path / "st.json")
    store.write(stack_state())
    recorder = Recorder(store, store.read())
    with pytest.raises(StateError, match="refusing to store the volume record at 'data'"):
        recorder.put_volume(volume(storage_id=None))
    assert recorder.volumes() == {}


def test_refresh_records_volume_drift_and_attachments_changed_outside():
    from tpdeclare.api.storage_models import VolumeInfo
    from tpdeclare.plan.storage_refresh import refresh_volumes

    state = stack_state(volumes={"data": volume(attached={"trainer": "c-1"}), "gone": volume("gone", storage_id="s-9")})
    cid = state.resources["trainer"].cluster_id
    state = State(stack="st", lineage="l-1", serial=3, resources=state.resources,
                  volumes={"data": volume(attached={"trainer": cid}), "gone": volume("gone", storage_id="s-9")})
    seen = {"s-1": VolumeInfo("s-1", "st-data", 800, False, "READY", ())}
    volumes, lines = refresh_volumes(state, seen, TS)
    assert lines == ["  ~ storage.data: size_gb 500 -> 800", "  ~ storage.data: detached from cluster trainer outside "
                     "tpdeclare", "  - storage.gone: s-9 no longer exists on the engine; it will be forgotten"]
    assert set(volumes) == {"data"} and volumes["data"].attached == {} and volumes["data"].spec["size_gb"] == 800


def test_the_fast_reader_reads_volumes_and_a_duplicate_key_among_them_goes_to_the_careful_path():
    from tpdeclare.state.fast_read import read_fast

    raw = dump_state(stack_state(volumes={"data": volume(attached={"trainer": "c-1"})}))
    fast = read_fast(json.loads(raw), raw)
    assert fast is not None and fast.volumes == parse_state(raw, source="s.json").volumes
    doubled = raw.replace(b'"storage_id": "s-1"', b'"storage_id": "s-1", "storage_id": "s-2"')
    assert read_fast(json.loads(doubled), doubled) is None
    with pytest.raises(StateError, match="duplicate key 'storage_id'"):
        parse_state(doubled, source="s.json")


def test_a_volume_status_that_is_no_word_is_named_not_a_traceback():
    for status, words in (([], "expected a string, got array"), ({}, "expected a string, got object"),
                          (7, "expected a string, got integer 7"), ("expired", "unknown status 'expired'")):
        doc = {"format_version": 1, "tool_version": "0.1.0", "stack": "st", "engine": None, "lineage": "l-1",
               "serial": 1, "resources": {}, "volumes": {"a": {**volume().to_json(), "status": status}}}
        raw = json.dumps(doc).encode()
        try:
            parse_state(raw, source="s.json")
        except StateError as exc:
            assert f"volumes.a.status: {words}" in str(exc)
        else:
            raise AssertionError(f"status {status!r} was accepted")
