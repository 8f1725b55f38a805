"""gc_paused: the collector stays paused while any thread is inside a block, and comes back after the last."""

from __future__ import annotations

import gc
import threading

from tpdeclare.gc_pause import gc_paused


def test_a_block_in_another_thread_keeps_the_collector_paused_until_it_leaves():
    assert gc.isenabled()
    inside, leave = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other() -> None:
        with gc_paused():
            inside.set()
            leave.wait(30)
            seen.append(gc.isenabled())

    with gc_paused():
        worker = threading.Thread(target=other)
        worker.start()
        assert inside.wait(30)
    # this thread's block is over, the other's is not: the collector must still be paused for it
    assert not gc.isenabled()
    leave.set()
    worker.join(30)
    assert seen == [False] and gc.isenabled()


def test_nested_blocks_and_an_exception_restore_the_collector():
    try:
        with gc_paused():
            with gc_paused():
                raise ValueError("inside")
    except ValueError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # found disabled: left disabled
    finally:
        gc.enable()


def test_many_threads_at_once_leave_the_collector_enabled():
    def loop() -> None:
        for _ in range(2000):
            with gc_paused():
                pass

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert gc.isenabled()
