"""Runs a plan's steps in dependency order: each step starts once all it waits for succeeded, up to N at once.

A step whose dependency failed (or never started) is not started, and is told which one it waited for.
Steps that depend on nothing run in parallel, as every change did before volumes had an order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait


def run_graph(tasks: Mapping[str, Callable[[], bool]], after: Mapping[str, Sequence[str]], parallelism: int,
              on_skipped: Callable[[str, str], None]) -> None:
    """Run every task (True: it succeeded); `after[key]` lists the keys it waits for (unknown keys are ignored:
    nothing to wait for). `on_skipped(key, blocker)` is called for each task not started because `blocker`
    did not succeed."""
    deps = {k: [d for d in after.get(k, ()) if d in tasks] for k in tasks}
    outcome: dict[str, bool] = {}
    running: dict[Future[bool], str] = {}
    pending = list(tasks)  # in the plan's order
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        while pending or running:
            progressed = True
            while progressed:
                progressed = False
                for key in list(pending):
                    blocker = next((d for d in deps[key] if outcome.get(d) is False), None)
                    if blocker is not None:
                        pending.remove(key)
                        outcome[key] = False
                        on_skipped(key, blocker)
                        progressed = True
                    elif all(outcome.get(d) for d in deps[key]) and len(running) < max(1, parallelism):
                        pending.remove(key)
                        running[pool.submit(tasks[key])] = key
            if not running:
                if pending:  # cannot happen: the plan's order has no cycle and every dependency is a task
                    for key in pending:
                        outcome[key] = False
                        on_skipped(key, "a step that never ran")
                    pending.clear()
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                outcome[running.pop(future)] = bool(future.result())
