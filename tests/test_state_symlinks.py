"""A symlinked state stays a link: writes go through it, its files live by the target; links to nothing are refused."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from tpdeclare.errors import LockError, StateError
from tpdeclare.state.journal import Change
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.model import State

from state_records import record

LINEAGE = "00000000-0000-4000-8000-00000000feed"


def first_state(**records) -> State:
    return State(stack="lab", lineage=LINEAGE, serial=1, resources={a: record(a) for a in records or ["a"]})


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def real(tmp_path: Path) -> Path:
    """A state written by a plain path, in its own directory."""
    path = tmp_path / "shared" / "lab.json"
    LocalStateStore(path).write(first_state())
    return path


def link(at: Path, to: Path | str) -> Path:
    at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(to)
    return at


@pytest.mark.parametrize("how", ["absolute", "relative", "chain", "relative chain", "linked directory"])
def test_writes_go_through_a_link_which_stays_one(real, tmp_path, how):
    here = tmp_path / "work" / "state"
    if how == "absolute":
        named = link(here / "lab.json", real)
    elif how == "relative":
        named = link(here / "lab.json", os.path.relpath(real, here))
    elif how == "chain":
        named = link(here / "lab.json", link(tmp_path / "hop" / "one.json", link(tmp_path / "hop" / "two.json", real)))
    elif how == "relative chain":
        link(tmp_path / "hop" / "two.json", os.path.relpath(real, tmp_path / "hop"))
        named = link(here / "lab.json", os.path.relpath(tmp_path / "hop" / "two.json", here))
    else:
        named = link(tmp_path / "work" / "state-link", real.parent) / "lab.json"
    pointed = os.readlink(named) if named.is_symlink() else None
    store = LocalStateStore(named)
    state = store.read()
    store.append([Change.put(2, record("b"))])
    assert files(real.parent) == ["lab.json", "lab.json.journal"]
    store.write(dataclasses.replace(store.read(), serial=3))
    store.write(dataclasses.replace(store.read(), serial=4))
    assert files(real.parent) == ["lab.json", "lab.json.1", "lab.json.2"]  # backups beside the target
    if pointed is not None:
        assert named.is_symlink() and os.readlink(named) == pointed  # never replaced
        assert files(named.parent) == ["lab.json"]  # nothing beside the link
    with store.lock("tpdeclare apply"):
        assert (real.parent / "lab.json.lock").exists()
    assert LocalStateStore(real).read().serial == 4 and state.lineage == LINEAGE
    assert set(LocalStateStore(real).read().resources) == {"a", "b"}
    assert not [p for p in real.parent.iterdir() if p.name.endswith(".tmp")]


def test_two_links_to_one_state_share_one_lock(real, tmp_path):
    one, two = link(tmp_path / "a" / "lab.json", real), link(tmp_path / "b" / "lab.json", real)
    with LocalStateStore(one).lock("tpdeclare apply") as held:
        for other in (two, real):
            with pytest.raises(LockError) as info:
                with LocalStateStore(other).lock("tpdeclare plan"):
                    pass
            assert info.value.message.startswith(f"state {other} is locked by pid {held.info.pid}")
        with pytest.raises(LockError, match="actually held"):
            LocalStateStore(two).force_unlock(held.info.id)


def test_two_links_see_one_history(real, tmp_path):
    one, two = link(tmp_path / "a" / "lab.json", real), link(tmp_path / "b" / "lab.json", real)
    first = LocalStateStore(one)
    first.read()
    second = LocalStateStore(two)
    second.write(dataclasses.replace(second.read(), serial=2))
    with pytest.raises(StateError, match="changed on disk since this run read it"):
        first.write(first_state())  # a stale writer through another link is still stale


def assert_refused(named: Path, words: str) -> None:
    before = {p: (p.is_symlink(), os.readlink(p) if p.is_symlink() else None) for p in named.parent.iterdir()}
    store = LocalStateStore(named)
    for attempt in (store.read, lambda: store.write(first_state()), lambda: store.lock("x").__enter__(),
                    lambda: store.append([Change.put(2, record("a"))], stack="lab", lineage=LINEAGE),
                    store.content_hash):
        with pytest.raises(StateError) as info:
            attempt()
        assert info.value.message.startswith(f"state path {named} {words}"), info.value.message
    after = {p: (p.is_symlink(), os.readlink(p) if p.is_symlink() else None) for p in named.parent.iterdir()}
    assert after == before  # nothing created, no link replaced


def test_a_link_to_nothing_is_refused_not_read_as_no_state(tmp_path):
    gone = tmp_path / "mnt" / "shared" / "lab.json"  # a disk not mounted: its directory is absent too
    named = link(tmp_path / "state" / "lab.json", gone)
    assert_refused(named, f"is a symbolic link to {gone}, which does not exist")
    with pytest.raises(StateError) as info:
        LocalStateStore(named).read()
    assert "every cluster would be created again" in info.value.hint and f"--state {gone}" in info.value.hint
    assert not gone.parent.exists()


def test_a_link_to_a_missing_file_in_a_present_directory_is_refused_too(tmp_path):
    (tmp_path / "shared").mkdir()
    named = link(tmp_path / "state" / "lab.json", tmp_path / "shared" / "lab.json")
    assert_refused(named, "is a symbolic link to")
    assert files(tmp_path / "shared") == []


def test_a_link_to_a_journal_only_state_is_read(tmp_path):
    """A first apply that died before its first snapshot left only the journal: that is a state."""
    target = tmp_path / "shared" / "lab.json"
    LocalStateStore(target).append([Change.put(1, record("a", "pending"))], stack="lab", lineage=LINEAGE)
    named = link(tmp_path / "state" / "lab.json", target)
    assert set(LocalStateStore(named).read().resources) == {"a"}


def test_a_link_to_a_directory_is_refused(tmp_path):
    (tmp_path / "shared").mkdir()
    named = link(tmp_path / "state" / "lab.json", tmp_path / "shared")
    assert_refused(named, f"is a symbolic link to a directory ({tmp_path / 'shared'}), not to a state file")


def test_a_loop_of_links_is_refused(tmp_path):
    a = tmp_path / "state" / "a.json"
    link(tmp_path / "state" / "b.json", a)
    link(a, tmp_path / "state" / "b.json")
    assert_refused(a, "is a loop of symbolic links")


def test_a_link_to_a_link_to_nothing_is_refused(tmp_path):
    named = link(tmp_path / "state" / "lab.json", link(tmp_path / "hop" / "x.json", tmp_path / "nowhere.json"))
    assert_refused(named, f"is a symbolic link to {tmp_path / 'nowhere.json'}, which does not exist")


def test_a_directory_is_not_a_state_file(tmp_path):
    (tmp_path / "state" / "lab.json").mkdir(parents=True)
    named = tmp_path / "state" / "lab.json"
    with pytest.raises(StateError) as info:
        LocalStateStore(named).read()
    assert info.value.message == f"state path {named} is a directory, not a state file"


def test_a_pipe_is_not_a_state_file(tmp_path):
    (tmp_path / "state").mkdir()
    named = tmp_path / "state" / "lab.json"
    os.mkfifo(named)
    assert_refused(named, "is not a regular file")


def test_a_link_to_a_pipe_is_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    named = link(tmp_path / "state" / "lab.json", tmp_path / "fifo")
    assert_refused(named, f"is a symbolic link to {tmp_path / 'fifo'}, which is not a regular file")


def test_a_damaged_state_through_a_link_names_the_link_and_the_real_backups(real, tmp_path):
    named = link(tmp_path / "state" / "lab.json", real)
    LocalStateStore(named).write(dataclasses.replace(first_state(), serial=2))  # real.1 is serial 1
    real.write_bytes(real.read_bytes().replace(b'"ready"', b'"zombie"'))
    with pytest.raises(StateError) as info:
        LocalStateStore(named).read()
    assert info.value.message.startswith(f"state file {named} is invalid: resources.a.status: unknown status")
    assert f"the newest backup that reads cleanly is {real}.1 (serial 1)" in info.value.hint
    assert named.is_symlink()
