"""Orders a plan's steps by their dependencies (create a volume before attaching it; detach before a replace
or a destroy; re-attach after), as a DAG whose steps name what they wait for. Pure.

Steps: `cluster:ADDR` (a cluster's create, replace or destroy), `volume:ADDR` (a volume's create, replace or
destroy, or the wait for one an earlier run left being created), `attach:V:C`, `detach:V:C` and `wait:ADDR` (a
cluster an earlier run left being created). Steps with no dependency either way are left out: they run as
before, in parallel. Edits in place depend on nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tpdeclare.plan.model import CREATE, DELETE, REPLACE, Change
from tpdeclare.plan.storage_model import AttachmentStep, Link, Step, VolumeChange

_STRUCTURAL = (CREATE, REPLACE, DELETE)


def cluster_step(address: str) -> str:
    return f"cluster:{address}"


def volume_step(address: str) -> str:
    return f"volume:{address}"


def wait_step(address: str) -> str:
    return f"wait:{address}"  # waiting for a cluster an earlier run left being created


def order_steps(clusters: Sequence[Change], volumes: Sequence[VolumeChange],
                attachments: Sequence[AttachmentStep], waits: Iterable[str] = (),
                cluster_waits: Iterable[str] = ()) -> tuple[Step, ...]:
    """Every step that waits for another or is waited for, each after all it depends on. `waits`: the volumes an
    earlier run left being created; their `volume:ADDR` step waits until each is ready, and attaches follow it.
    `cluster_waits`: the clusters an earlier run left being created; an attach to one follows its `wait:ADDR`
    (the engine attaches only to a running cluster)."""
    waited_clusters = set(cluster_waits)
    structural_clusters = {c.address for c in clusters if c.action in _STRUCTURAL}
    structural_volumes = {v.address for v in volumes if v.action in _STRUCTURAL}
    made_ready = structural_volumes | set(waits)
    deps: dict[str, set[str]] = {}
    detaches = {a.key for a in attachments if a.link is Link.DETACH}

    def need(step: str, first: str) -> None:
        deps.setdefault(step, set()).add(first)
        deps.setdefault(first, set())

    for a in attachments:
        if a.link is Link.DETACH:
            # a detach runs first: the cluster's replace or destroy and the volume's replace or destroy wait for it
            if a.cluster in structural_clusters:
                need(cluster_step(a.cluster), a.key)
            if a.volume in structural_volumes:
                need(volume_step(a.volume), a.key)
            deps.setdefault(a.key, set())
        else:
            # an attach waits for its volume and its cluster to exist, and for a detach of the same pair
            if a.volume in made_ready:
                need(a.key, volume_step(a.volume))
            if a.cluster in structural_clusters:
                need(a.key, cluster_step(a.cluster))
            elif a.cluster in waited_clusters:
                need(a.key, wait_step(a.cluster))
            detach = f"{Link.DETACH.value}:{a.volume}:{a.cluster}"
            if detach in detaches:
                need(a.key, detach)
            deps.setdefault(a.key, set())
    return tuple(Step(key, tuple(sorted(deps[key]))) for key in _topological(deps))


def _topological(deps: dict[str, set[str]]) -> Iterable[str]:
    """Kahn's order, ties broken by name so a plan always lists its steps the same way."""
    waiting = {k: set(v) for k, v in deps.items()}
    done: list[str] = []
    ready = sorted(k for k, v in waiting.items() if not v)
    while ready:
        key = ready.pop(0)
        done.append(key)
        del waiting[key]
        freed = [k for k, v in waiting.items() if key in v and not (v - {key})]
        for k in waiting:
            waiting[k].discard(key)
        ready = sorted(set(ready) | set(freed))
    if waiting:  # cannot happen with the rules above (every edge points from a detach or to an attach)
        raise ValueError(f"a dependency cycle among {sorted(waiting)}")
    return done
