"""The verified-state stamp (tpdeclare.state.verified): trusted only for the exact bytes tpdeclare checked and wrote."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from tpdeclare import __version__
from tpdeclare.errors import StateError
from tpdeclare.state import codec, fast_read, verified
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import READY, State

from state_records import record, spec_of
from test_state_damaged import CASES

STAMPED = {"rules.py", "volume_rules.py", "strict_json.py"}
# sha256 of the rule modules' sources, in name order. When a rule changes, this test fails: bump
# verified.STAMP_REVISION (stamps written under the old rules are then not trusted) and update this digest.
RULES_DIGEST = "062c488ec1f868f62b77f485a343f5f4977c4cfc2b58624f289adb3965c59c7a"


def _state() -> State:
    """Two clusters as an apply of test_state_damaged's SPEC records them (the corpus damages their fields)."""
    trainer = record("trainer", spec=spec_of(instance_type="8xH200", num_nodes=2, name="lab-trainer"),
                     name="lab-trainer", instance_ids=("i-1", "i-2"), request_id="r-1",
                     created_at="2026-01-01T10:00:00Z", updated_at="2026-01-01T10:05:00Z")
    notebook = record("notebook", spec=spec_of(name="lab-notebook"), name="lab-notebook", instance_ids=("i-3",),
                      created_at="2026-01-01T10:00:00Z", updated_at="2026-01-01T10:05:00Z")
    return State(stack="lab", lineage="6f1c2b9e-0000-4000-8000-000000000001", serial=3,
                 resources={"trainer": trainer, "notebook": notebook}, engine="sandbox", tool_version=__version__)


def _read(path: Path) -> State | str:
    """The state read from `path`, or the words of the error (the directory left out)."""
    try:
        state = LocalStateStore(path).read()
        assert state is not None
        return state
    except StateError as exc:
        return f"{exc.message} | {exc.hint}".replace(str(path.parent), "DIR")


@pytest.fixture
def stamped(tmp_path: Path) -> Path:
    path = tmp_path / "good" / "lab.json"
    LocalStateStore(path).write(_state())
    return path


def test_the_store_stamps_what_it_writes_and_trusts_it_on_reading(stamped, monkeypatch):
    raw = stamped.read_bytes()
    assert os.getxattr(stamped, verified.ATTRIBUTE) == verified.stamp(raw)
    careful = codec.parse_state(raw, source="x")
    monkeypatch.setattr(codec, "read_fast", lambda *a: pytest.fail("a stamped snapshot was checked again"))
    monkeypatch.setattr(codec, "_parse_carefully", lambda *a: pytest.fail("a stamped snapshot was checked again"))
    assert LocalStateStore(stamped).read() == careful == _state()


def test_a_copy_without_the_stamp_is_checked(stamped, tmp_path, monkeypatch):
    copy = tmp_path / "copy" / "lab.json"
    copy.parent.mkdir()
    shutil.copyfile(stamped, copy)  # the bytes only: no extended attributes
    calls = []
    real = codec.read_fast
    monkeypatch.setattr(codec, "read_fast", lambda *a: calls.append(1) or real(*a))
    assert LocalStateStore(copy).read() == LocalStateStore(stamped).read()
    assert calls == [1]


@pytest.mark.parametrize("case", list(CASES))
def test_a_stamped_file_edited_in_place_gets_every_error_of_an_unstamped_one(case, stamped, tmp_path):
    """The corpus of damaged states of test_state_damaged, written into a stamped file in place (so it keeps the
    stamp of the good bytes): the stamp no longer matches, and the read names the same problem, in the same words,
    as for the same bytes in a file that never had a stamp."""
    damage, words = CASES[case]
    damaged = damage(stamped.read_bytes())
    plain = tmp_path / "plain" / "lab.json"
    plain.parent.mkdir()
    plain.write_bytes(damaged)
    edited = tmp_path / "edited" / "lab.json"
    edited.parent.mkdir()
    shutil.copy2(stamped, edited)  # extended attributes too
    assert os.getxattr(edited, verified.ATTRIBUTE) == verified.stamp(stamped.read_bytes())
    with open(edited, "r+b") as f:  # in place: the same file, the stamp kept
        f.write(damaged)
        f.truncate()
    assert os.getxattr(edited, verified.ATTRIBUTE) != verified.stamp(edited.read_bytes())
    refused = _read(plain)
    assert isinstance(refused, str) and _read(edited) == refused


def test_a_stamp_of_other_bytes_or_another_tool_is_not_trusted(stamped, monkeypatch):
    raw = stamped.read_bytes()
    with open(stamped, "rb") as f:
        assert verified.is_stamped(f.fileno(), raw)
        assert not verified.is_stamped(f.fileno(), raw.replace(b'"serial": 3', b'"serial": 4'))
        assert not verified.is_stamped(f.fileno(), raw + b" ")
        monkeypatch.setattr("tpdeclare.__version__", "9.9.9")
        assert not verified.is_stamped(f.fileno(), raw)
        monkeypatch.setattr(verified, "STAMP_REVISION", verified.STAMP_REVISION + 1)
        assert not verified.is_stamped(f.fileno(), raw)


def test_trusted_and_careful_reads_build_the_same_state(tmp_path):
    """Every kind of record the careful path builds (messages, expiries, pending ones, volumes) comes out of the
    trusted path the same."""
    from tpdeclare.state.volumes import VolumeRecord

    expired = record("gone", "expired", spec=spec_of(name="s-gone"), cluster_id=None,
                     expired_at="2026-01-01T18:00:00Z", lifetime="expires_after 8h", message="destroyed")
    pending = record("new", "pending", intent_id="i-9")
    noted = record("noted", "tainted", message="FAILED: out of capacity")
    volume = VolumeRecord(address="data", status=READY, name="lab-data", storage_id="s-1",
                          spec={"size_gb": 100, "name": "lab-data", "deletion_protection": False,
                                "prevent_destroy": False}, attached={"noted": "c-1"},
                          intent_id="00000000-0000-4000-9000-000000000001", created_at="2026-11-20T10:00:00Z",
                          updated_at="2026-11-20T10:05:00Z")
    for resources in ({"gone": expired, "new": pending}, {"noted": noted, **_state().resources}, {}):
        state = State(stack="lab", lineage="6f1c2b9e-0000-4000-8000-000000000001", serial=1,
                      resources=resources, engine=None, volumes={"data": volume}, tool_version=__version__)
        path = tmp_path / f"s{len(resources)}" / "lab.json"
        LocalStateStore(path).write(state)
        raw = path.read_bytes()
        trusted = fast_read.read_trusted(codec.decode(raw, source="x", what="state file", hint=""))
        careful = codec.parse_state(raw, source="x")
        assert trusted == careful == state
        assert repr(trusted) == repr(careful)


def test_the_stamp_revision_moves_with_the_rules():
    src = Path(codec.__file__).parent
    digest = hashlib.sha256(b"".join((src / name).read_bytes() for name in sorted(STAMPED))).hexdigest()
    assert digest == RULES_DIGEST, (
        "a state rule changed: bump tpdeclare.state.verified.STAMP_REVISION, then set RULES_DIGEST to " + digest)
