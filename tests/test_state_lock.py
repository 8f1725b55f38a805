"""Tests for tpdeclare.state.lock: exclusion across threads and processes, messages, force-unlock."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tpdeclare.errors import LockError
from tpdeclare.state.local import LocalStateStore
from tpdeclare.state.lock import LockInfo, StateLock, force_unlock, read_lock_info

HOLDER = """
import sys
from tpdeclare.state.lock import StateLock
lock = StateLock(sys.argv[1])
info = lock.acquire("tpdeclare apply")
print(info.id, flush=True)
sys.stdin.readline()
lock.release()
"""


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "research.json.lock"


@pytest.fixture
def holder(lock_path):
    """A separate process holding the lock until its stdin closes."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    lock_id = proc.stdout.readline().strip()
    assert lock_id, "the holder process did not take the lock"
    yield proc, lock_id
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_acquire_records_and_release_clears(lock_path):
    lock = StateLock(lock_path)
    info = lock.acquire("tpdeclare apply")
    assert lock.held
    on_disk = json.loads(lock_path.read_bytes())
    assert on_disk == {"id": info.id, "host": socket.gethostname(), "pid": os.getpid(),
                       "command": "tpdeclare apply", "since": info.since}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info.since)
    assert os.stat(lock_path).st_mode & 0o777 == 0o600
    lock.release()
    assert not lock.held and lock_path.read_bytes() == b""
    lock.release()  # idempotent


def test_second_acquirer_is_told_who_holds_it(lock_path):
    first = StateLock(lock_path)
    info = first.acquire("tpdeclare apply")
    with pytest.raises(LockError) as err:
        StateLock(lock_path).acquire("tpdeclare plan")
    state = str(lock_path)[: -len(".lock")]
    assert err.value.message == (
        f"state {state} is locked by pid {os.getpid()} on host {socket.gethostname()} running "
        f"'tpdeclare apply' since {info.since}; lock ID {info.id}")
    assert err.value.hint == (
        "wait for it to finish, or pass --lock-timeout 60 to wait; if that process is gone, run "
        f"`tpdeclare force-unlock {info.id}`")
    first.release()
    again = StateLock(lock_path)
    again.acquire("tpdeclare plan")  # free again
    again.release()


def test_timeout_waits_then_succeeds_when_released(lock_path):
    first = StateLock(lock_path)
    first.acquire("tpdeclare apply")
    timer = threading.Timer(0.3, first.release)
    timer.start()
    started = time.monotonic()
    second = StateLock(lock_path)
    info = second.acquire("tpdeclare plan", timeout=10)
    waited = time.monotonic() - started
    timer.join()
    assert 0.2 <= waited < 5
    assert read_lock_info(lock_path) == info
    second.release()


def test_timeout_expires_with_the_holder_named(lock_path):
    first = StateLock(lock_path)
    first.acquire("tpdeclare apply")
    started = time.monotonic()
    with pytest.raises(LockError, match=r"running 'tpdeclare apply' since .* \(waited 0.3s\)$"):
        StateLock(lock_path).acquire("tpdeclare plan", timeout=0.3)
    assert time.monotonic() - started >= 0.3
    first.release()


def test_injected_clock_and_sleep(lock_path):
    first = StateLock(lock_path)
    first.acquire("a")
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    with pytest.raises(LockError):
        StateLock(lock_path, sleep=sleep, clock=lambda: now[0], poll_interval=0.25).acquire("b", timeout=1)
    assert sleeps == [0.25, 0.25, 0.25, 0.25]
    first.release()


def test_threads_with_separate_locks_exclude_each_other(lock_path):
    inside = 0
    most = 0
    guard = threading.Lock()
    errors: list[BaseException] = []

    def worker():
        nonlocal inside, most
        lock = StateLock(lock_path, poll_interval=0.005)
        try:
            lock.acquire("worker", timeout=30)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            return
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.01)
        with guard:
            inside -= 1
        lock.release()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and most == 1


def test_cross_process_exclusion(lock_path, holder):
    proc, lock_id = holder
    with pytest.raises(LockError) as err:
        StateLock(lock_path).acquire("tpdeclare apply")
    assert f"pid {proc.pid} on host {socket.gethostname()}" in err.value.message
    assert f"lock ID {lock_id}" in err.value.message
    proc.stdin.close()
    proc.wait(timeout=10)
    lock = StateLock(lock_path)
    lock.acquire("tpdeclare apply")
    lock.release()


def test_a_killed_holder_leaves_info_but_no_lock(lock_path, holder):
    proc, lock_id = holder
    proc.kill()
    proc.wait(timeout=10)
    assert read_lock_info(lock_path).id == lock_id  # stale info remains...
    lock = StateLock(lock_path)
    info = lock.acquire("tpdeclare apply")  # ...and does not block
    assert info.id != lock_id
    lock.release()


def test_store_lock_waits_for_lock_timeout(tmp_path):
    store = LocalStateStore(tmp_path / "s.json")
    with store.lock("tpdeclare apply"):
        with pytest.raises(LockError, match="running 'tpdeclare apply'"):
            with store.lock("tpdeclare plan"):
                pass
    with store.lock("tpdeclare plan"):
        pass


def test_holder_not_recorded(lock_path):
    import fcntl

    lock_path.parent.mkdir(parents=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(LockError) as err:
            StateLock(lock_path).acquire("x")
        assert "its holder is not recorded" in err.value.message
        assert "force-unlock <ID>" in err.value.hint
    finally:
        os.close(fd)


# -- force-unlock --------------------------------------------------------------------------------


def write_stale_info(lock_path: Path, lock_id: str = "stale-id", pid: int = 999999) -> LockInfo:
    info = LockInfo(id=lock_id, host=socket.gethostname(), pid=pid, command="tpdeclare apply",
                    since="2026-01-01T00:00:00Z")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path.write_text(json.dumps(info.to_json()))
    return info


def test_force_unlock_clears_stale_info(lock_path):
    info = write_stale_info(lock_path)
    assert force_unlock(lock_path, "stale-id") == info
    assert lock_path.read_bytes() == b""
    assert read_lock_info(lock_path) is None


def test_force_unlock_with_the_wrong_id_shows_the_real_one(lock_path):
    write_stale_info(lock_path)
    with pytest.raises(LockError) as err:
        force_unlock(lock_path, "nope")
    state = str(lock_path)[: -len(".lock")]
    assert err.value.message.startswith(
        f"lock ID nope does not match the lock on state {state}: its ID is stale-id (pid 999999")
    assert "`tpdeclare force-unlock stale-id`" in err.value.hint
    assert read_lock_info(lock_path).id == "stale-id"


def test_force_unlock_with_nothing_recorded(lock_path):
    with pytest.raises(LockError, match="has no recorded lock; nothing to unlock"):
        force_unlock(lock_path, "x")


def test_force_unlock_refuses_a_live_holder_in_another_process(lock_path, holder):
    proc, lock_id = holder
    with pytest.raises(LockError) as err:
        force_unlock(lock_path, lock_id)
    assert f"lock {lock_id} is actually held — pid {proc.pid} is still running on this host" in err.value.message
    assert read_lock_info(lock_path).id == lock_id
    proc.kill()  # dies without clearing its record
    proc.wait(timeout=10)
    assert force_unlock(lock_path, lock_id).pid == proc.pid  # now the info is stale: cleared
    assert read_lock_info(lock_path) is None


def test_force_unlock_refuses_a_live_holder_in_this_process(lock_path):
    lock = StateLock(lock_path)
    info = lock.acquire("tpdeclare apply")
    with pytest.raises(LockError, match="refusing to force-unlock"):
        LocalStateStore(str(lock_path)[: -len(".lock")]).force_unlock(info.id)
    assert lock.held and read_lock_info(lock_path) == info
    lock.release()


# -- telling a waiting run at once ---------------------------------------------------------------


def clocked(lock_path: Path, events: list):
    """A StateLock whose clock and sleep are the test's own: each sleep is recorded as an event."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        events.append(("sleep", seconds))
        now[0] += seconds

    return StateLock(lock_path, sleep=sleep, clock=lambda: now[0], poll_interval=0.5)


def test_a_waiting_run_is_told_before_it_first_sleeps(lock_path, holder):
    proc, lock_id = holder
    events: list = []
    with pytest.raises(LockError) as err:
        clocked(lock_path, events).acquire("tpdeclare plan", timeout=2, on_wait=lambda w: events.append(w))
    wait, *sleeps = events
    assert sleeps == [("sleep", 0.5)] * 4  # the words came first, once
    assert wait.holder.id == lock_id and wait.holder.pid == proc.pid and wait.timeout == 2
    assert wait.message == (f"waiting for the state lock held by pid {proc.pid} on {socket.gethostname()} "
                            f"running 'tpdeclare apply' since {wait.holder.since}, up to 2s")
    assert err.value.message.endswith("(waited 2s)")  # the words at the end of the wait are unchanged


def test_a_wait_that_ends_well_was_told_too(lock_path):
    first = StateLock(lock_path)
    first.acquire("tpdeclare apply")
    events: list = []
    lock = clocked(lock_path, events)
    real_sleep = lock._sleep

    def sleep_then_release(seconds: float) -> None:
        real_sleep(seconds)
        first.release()  # the holder finishes during the first sleep

    lock._sleep = sleep_then_release
    lock.acquire("tpdeclare plan", timeout=60, on_wait=events.append)
    assert [type(e).__name__ for e in events] == ["LockWait", "tuple"]
    assert events[0].message.endswith(", up to 60s")
    lock.release()


def test_the_holder_not_recorded_is_said_so_while_waiting(lock_path):
    import fcntl

    lock_path.parent.mkdir(parents=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    events: list = []
    try:
        with pytest.raises(LockError):
            clocked(lock_path, events).acquire("x", timeout=1.5, on_wait=events.append)
    finally:
        os.close(fd)
    assert events[0].message == (f"waiting for the state lock on {str(lock_path)[:-5]} (its holder is not "
                                 f"recorded), up to 1.5s")


@pytest.mark.parametrize("timeout", [0, 0.0, -1])
def test_no_wait_means_no_waiting_words(lock_path, timeout):
    first = StateLock(lock_path)
    first.acquire("tpdeclare apply")
    events: list = []
    with pytest.raises(LockError, match="locked by"):
        clocked(lock_path, events).acquire("b", timeout=timeout, on_wait=events.append)
    assert events == []
    first.release()
    clocked(lock_path, events).acquire("b", timeout=30, on_wait=events.append)  # free: nothing to say
    assert events == []


def test_the_store_names_the_state_as_given_while_waiting(tmp_path):
    real = tmp_path / "real" / "s.json"
    real.parent.mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(real)
    real.write_bytes(b"")
    waits: list = []
    with LocalStateStore(real).lock("tpdeclare apply"):
        with pytest.raises(LockError) as err:
            with LocalStateStore(link).lock("tpdeclare plan", timeout=0.01, on_wait=waits.append):
                pass
    assert waits[0].state == str(link) and err.value.message.startswith(f"state {link} is locked by pid")
