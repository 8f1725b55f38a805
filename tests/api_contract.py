"""The ClusterApi contract: what every implementation (the real client over any engine, every test fake)
must do, because the executor and recovery rely on it (DESIGN §5, tpdeclare/api/protocol.py).

Hold an implementation to it by subclassing `ClusterApiContract` in a test module and providing an `api`
fixture that returns a ready ClusterApi (it may share one engine between tests: every test uses its own
cluster names and looks only at its own clusters):

    class TestMyFakeContract(ClusterApiContract):
        @pytest.fixture
        def api(self):
            return MyFake()

`StorageApiContract` holds a StorageApi the same way to the storage endpoints' rules: volumes polled to
READY, unique names, NotFound for unknown volumes, grow-never-shrink, attach to multi-node GPU clusters and
CPU instances (several at once) but never a single-node GPU cluster, Conflict for an attached or protected
volume's delete, and a cluster's destroy detaching its volumes, which survive it.

The contract covers the shape of the results (typed, safe IDs, upper-case statuses), name uniqueness
(what exactly-once creation rests on), NotFound for unknown clusters and requests, renames, deletion
protection, destroy to the end, name reuse after a destroy, and polling with a deadline.
"""

from __future__ import annotations

import inspect
import itertools
import os

import pytest
from tpdeclare.api.models import ClusterInfo, CreateResult, DeleteResult, EditResult, RequestInfo
from tpdeclare.api.protocol import ClusterApi, StorageApi
from tpdeclare.api.storage_models import (
    AttachResult,
    DetachResult,
    StorageCreateResult,
    StorageDeleteResult,
    VolumeInfo,
)
from tpdeclare.errors import BadRequest, Conflict, NotFound, PollTimeout
from tpdeclare.identifiers import is_engine_id

DEADLINE = 60.0
_names = itertools.count()

# How the rest of tpdeclare calls each method: every call shape must bind to the implementation.
CALL_SHAPES: dict[str, list[tuple[tuple[object, ...], dict[str, object]]]] = {
    "health": [((), {})],
    "create_cluster": [
        ((), {"instance_type": "1xH100", "num_nodes": 1, "tp_cluster_name": "n"}),
        ((), {"instance_type": "1xH100", "num_nodes": 1, "tp_cluster_name": "n", "container": "img",
              "deletion_protection": True, "public_keys": ["k"], "save_keys": False}),
    ],
    "request_info": [(("r-1",), {})],
    "wait_for_request": [
        (("r-1",), {"deadline_seconds": 1.0, "what": "w"}),
        (("r-1",), {"deadline_seconds": 1.0, "what": "w", "on_poll": print}),
    ],
    "list_clusters": [((), {})],
    "cluster_info": [(("c-1",), {})],
    "edit_cluster": [(("c-1",), {"cluster_name": "n"}), (("c-1",), {"deletion_protection": False}),
                     (("c-1",), {"cluster_name": "n", "deletion_protection": True})],
    "delete_cluster": [(("c-1",), {})],
}


def fresh_name() -> str:
    """A cluster name no other test (or earlier run against a shared engine) uses."""
    return f"ct-{os.getpid() % 10_000}-{next(_names)}"


def mine(api: ClusterApi, name: str) -> list[ClusterInfo]:
    return [c for c in api.list_clusters() if c.name == name]


def live(api: ClusterApi, name: str) -> list[ClusterInfo]:
    return [c for c in mine(api, name) if not (c.is_destroyed or c.is_destroying)]


def created_and_ready(api: ClusterApi, name: str, instance_type: str = "1xH100", num_nodes: int = 1,
                      **fields) -> CreateResult:
    created = api.create_cluster(instance_type=instance_type, num_nodes=num_nodes, tp_cluster_name=name, **fields)
    if created.request_id is not None:
        info = api.wait_for_request(created.request_id, deadline_seconds=DEADLINE, what=f"cluster {name!r}")
        assert info.succeeded, info
    return created


def destroyed(api: ClusterApi, cluster_id: str) -> DeleteResult:
    deleted = api.delete_cluster(cluster_id)
    if deleted.request_id is not None:
        done = api.wait_for_request(deleted.request_id, deadline_seconds=DEADLINE, what="the destroy")
        assert done.succeeded, done
    return deleted


def gone(api: ClusterApi, cluster_id: str) -> bool:
    try:
        return api.cluster_info(cluster_id).is_destroyed
    except NotFound:
        return True


class ClusterApiContract:
    """The contract tests; a subclass provides the `api` fixture."""

    # ---------------------------------------------------------------------------------- shape
    def test_it_is_a_cluster_api_with_the_callable_shapes(self, api: ClusterApi) -> None:
        assert isinstance(api, ClusterApi), [m for m in CALL_SHAPES if not callable(getattr(api, m, None))]
        for method, shapes in CALL_SHAPES.items():
            signature = inspect.signature(getattr(api, method))
            for args, kwargs in shapes:
                signature.bind(*args, **kwargs)  # raises TypeError when a call shape does not fit

    def test_health_returns_the_servers_words(self, api: ClusterApi) -> None:
        assert isinstance(api.health(), str)

    def test_create_returns_safe_ids_and_polls_to_completed(self, api: ClusterApi) -> None:
        name = fresh_name()
        created = api.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name=name)
        assert isinstance(created, CreateResult) and is_engine_id(created.cluster_id)
        assert isinstance(created.instance_ids, tuple) and all(is_engine_id(i) for i in created.instance_ids)
        assert created.request_id is None or is_engine_id(created.request_id)
        assert isinstance(created.message, str)
        assert created.request_id is not None, "a create must give a request to poll"
        polls: list[RequestInfo] = []
        final = api.wait_for_request(created.request_id, deadline_seconds=DEADLINE, what=f"cluster {name!r}",
                                     on_poll=polls.append)
        assert isinstance(final, RequestInfo) and final.is_terminal and final.succeeded
        assert final.status == final.status.upper() and final.object_id in (None, created.cluster_id)
        assert polls and polls[-1] == final and all(p.status == p.status.upper() for p in polls)

    def test_a_created_cluster_is_listed_once_with_what_was_asked(self, api: ClusterApi) -> None:
        name = fresh_name()
        created = created_and_ready(api, name, instance_type="8xH200", num_nodes=2, container="img:1",
                                    deletion_protection=True)
        [listed] = mine(api, name)
        assert isinstance(listed, ClusterInfo) and listed.cluster_id == created.cluster_id
        assert (listed.instance_type, listed.num_nodes, listed.container, listed.deletion_protection) == (
            "8xH200", 2, "img:1", True)
        assert listed.status == listed.status.upper() and listed.is_running
        assert all(is_engine_id(i) for i in listed.instance_ids)
        info = api.cluster_info(created.cluster_id)
        assert (info.cluster_id, info.name, info.deletion_protection) == (created.cluster_id, name, True)
        api.edit_cluster(created.cluster_id, deletion_protection=False)

    # ---------------------------------------------------------------------------------- names
    def test_a_taken_name_is_refused_with_bad_request(self, api: ClusterApi) -> None:
        name = fresh_name()
        created_and_ready(api, name)
        with pytest.raises(BadRequest):
            api.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name=name)
        assert len(live(api, name)) == 1

    def test_a_rename_shows_in_info_and_list(self, api: ClusterApi) -> None:
        old, new = fresh_name(), fresh_name()
        created = created_and_ready(api, old)
        assert isinstance(api.edit_cluster(created.cluster_id, cluster_name=new), str)
        assert api.cluster_info(created.cluster_id).name == new
        assert [c.cluster_id for c in mine(api, new)] == [created.cluster_id] and mine(api, old) == []

    def test_a_name_is_free_again_once_its_cluster_is_destroyed(self, api: ClusterApi) -> None:
        name = fresh_name()
        first = created_and_ready(api, name)
        destroyed(api, first.cluster_id)
        second = created_and_ready(api, name)
        assert second.cluster_id != first.cluster_id and [c.cluster_id for c in live(api, name)] == [
            second.cluster_id]

    # ---------------------------------------------------------------------------------- unknowns
    def test_an_unknown_cluster_is_not_found_everywhere(self, api: ClusterApi) -> None:
        for call in (lambda: api.cluster_info("c-00000000"),
                     lambda: api.edit_cluster("c-00000000", cluster_name=fresh_name()),
                     lambda: api.edit_cluster("c-00000000", deletion_protection=False),
                     lambda: api.delete_cluster("c-00000000")):
            with pytest.raises(NotFound):
                call()

    def test_an_unknown_request_is_not_found(self, api: ClusterApi) -> None:
        with pytest.raises(NotFound):
            api.request_info("r-000000000000")

    # ---------------------------------------------------------------------------------- destroy
    def test_a_protected_cluster_refuses_delete_until_unprotected(self, api: ClusterApi) -> None:
        name = fresh_name()
        created = created_and_ready(api, name, deletion_protection=True)
        with pytest.raises(Conflict):
            api.delete_cluster(created.cluster_id)
        info = api.cluster_info(created.cluster_id)
        assert info.deletion_protection and not (info.is_destroying or info.is_destroyed)
        api.edit_cluster(created.cluster_id, deletion_protection=False)
        assert api.cluster_info(created.cluster_id).deletion_protection is False
        deleted = destroyed(api, created.cluster_id)
        assert isinstance(deleted, DeleteResult) and deleted.cluster_id == created.cluster_id
        assert deleted.request_id is None or is_engine_id(deleted.request_id)

    def test_a_destroyed_cluster_is_gone(self, api: ClusterApi) -> None:
        name = fresh_name()
        created = created_and_ready(api, name)
        destroyed(api, created.cluster_id)
        assert gone(api, created.cluster_id) and live(api, name) == []
        with pytest.raises(NotFound):
            api.delete_cluster(created.cluster_id)

    # ---------------------------------------------------------------------------------- polling
    def test_a_zero_deadline_polls_once_then_returns_or_times_out(self, api: ClusterApi) -> None:
        name = fresh_name()
        created = api.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name=name)
        assert created.request_id is not None
        polls: list[RequestInfo] = []
        try:
            info = api.wait_for_request(created.request_id, deadline_seconds=0, what="the zero wait",
                                        on_poll=polls.append)
        except PollTimeout as exc:
            assert "the zero wait" in str(exc) and len(polls) == 1 and not polls[0].is_terminal
        else:
            assert info.is_terminal and polls == [info]
        final = api.wait_for_request(created.request_id, deadline_seconds=DEADLINE, what="the rest")
        assert final.succeeded


# ============================================================================================ storage volumes
STORAGE_CALL_SHAPES: dict[str, list[tuple[tuple[object, ...], dict[str, object]]]] = {
    "create_storage": [((), {"size_gb": 10, "name": "v"}), ((), {"size_gb": 10, "name": "v",
                                                                 "deletion_protection": True})],
    "list_storage": [((), {})],
    "storage_info": [(("s-1",), {})],
    "edit_storage": [(("s-1",), {"name": "n"}), (("s-1",), {"deletion_protection": False}),
                     (("s-1",), {"size_gb": 20}), (("s-1",), {"name": "n", "deletion_protection": True,
                                                              "size_gb": 30})],
    "delete_storage": [(("s-1",), {})],
    "attach_storage": [(("s-1", ["c-1"]), {}), (("s-1", ("c-1", "c-2")), {})],
    "detach_storage": [(("s-1", "c-1"), {})],
}


def polled(api: StorageApi, request_id: str | None, what: str) -> None:
    if request_id is not None:
        info = api.wait_for_request(request_id, deadline_seconds=DEADLINE, what=what)
        assert info.succeeded, info


def volume_ready(api: StorageApi, name: str, size_gb: int = 10, **fields) -> StorageCreateResult:
    created = api.create_storage(size_gb=size_gb, name=name, **fields)
    polled(api, created.request_id, f"volume {name!r}")
    return created


def my_volumes(api: StorageApi, name: str) -> list[VolumeInfo]:
    return [v for v in api.list_storage() if v.name == name and not v.is_destroyed]


def attached(api: StorageApi, storage_id: str, cluster_ids) -> AttachResult:
    result = api.attach_storage(storage_id, list(cluster_ids))
    for request_id in result.request_ids:
        polled(api, request_id, "the attach")
    return result


def volume_gone(api: StorageApi, storage_id: str) -> bool:
    try:
        return api.storage_info(storage_id).is_destroyed
    except NotFound:
        return True


class StorageApiContract:
    """What every StorageApi must do (tpdeclare/api/protocol.py); a subclass provides the `api` fixture."""

    def test_it_is_a_storage_api_with_the_callable_shapes(self, api: StorageApi) -> None:
        assert isinstance(api, StorageApi)
        for method, shapes in STORAGE_CALL_SHAPES.items():
            signature = inspect.signature(getattr(api, method))
            for args, kwargs in shapes:
                signature.bind(*args, **kwargs)

    def test_a_created_volume_polls_to_completed_and_is_listed_once_as_asked(self, api: StorageApi) -> None:
        name = fresh_name()
        created = api.create_storage(size_gb=25, name=name, deletion_protection=True)
        assert isinstance(created, StorageCreateResult) and is_engine_id(created.storage_id)
        assert created.request_id is not None and is_engine_id(created.request_id)
        final = api.wait_for_request(created.request_id, deadline_seconds=DEADLINE, what=f"volume {name!r}")
        assert final.succeeded and final.object_id in (None, created.storage_id)
        [listed] = my_volumes(api, name)
        assert isinstance(listed, VolumeInfo) and listed.storage_id == created.storage_id
        assert (listed.size_gb, listed.deletion_protection, listed.cluster_ids) == (25, True, ())
        assert listed.status == listed.status.upper() and not listed.is_destroyed
        assert api.storage_info(created.storage_id) == listed
        api.edit_storage(created.storage_id, deletion_protection=False)

    def test_a_taken_volume_name_is_refused_with_bad_request(self, api: StorageApi) -> None:
        name = fresh_name()
        volume_ready(api, name)
        with pytest.raises(BadRequest):
            api.create_storage(size_gb=10, name=name)
        assert len(my_volumes(api, name)) == 1

    def test_an_unknown_volume_is_not_found_everywhere(self, api: StorageApi) -> None:
        cluster = created_and_ready(api, fresh_name(), "8xH200", 2)
        for call in (lambda: api.storage_info("s-00000000"),
                     lambda: api.edit_storage("s-00000000", size_gb=20),
                     lambda: api.delete_storage("s-00000000"),
                     lambda: api.attach_storage("s-00000000", [cluster.cluster_id]),
                     lambda: api.detach_storage("s-00000000", cluster.cluster_id)):
            with pytest.raises(NotFound):
                call()

    def test_size_grows_in_place_and_never_shrinks(self, api: StorageApi) -> None:
        name, new = fresh_name(), fresh_name()
        created = volume_ready(api, name, size_gb=50)
        with pytest.raises(BadRequest):
            api.edit_storage(created.storage_id, size_gb=49)
        assert api.storage_info(created.storage_id).size_gb == 50
        edited = api.edit_storage(created.storage_id, size_gb=80, name=new)
        assert isinstance(edited, EditResult)
        polled(api, edited.request_id, "the resize")
        info = api.storage_info(created.storage_id)
        assert (info.storage_id, info.size_gb, info.name) == (created.storage_id, 80, new)

    def test_attach_to_a_multi_node_cluster_and_a_cpu_instance_at_once(self, api: StorageApi) -> None:
        gpu = created_and_ready(api, fresh_name(), "8xH200", 2)
        cpu = created_and_ready(api, fresh_name(), "32xCPU", 1)
        volume = volume_ready(api, fresh_name())
        result = attached(api, volume.storage_id, [gpu.cluster_id, cpu.cluster_id])
        assert isinstance(result, AttachResult) and result.storage_id == volume.storage_id
        assert len(result.request_ids) == 2 and all(is_engine_id(r) for r in result.request_ids)
        assert set(api.storage_info(volume.storage_id).cluster_ids) == {gpu.cluster_id, cpu.cluster_id}
        assert api.cluster_info(gpu.cluster_id).is_running  # restarted, and running again
        detached = api.detach_storage(volume.storage_id, cpu.cluster_id)
        assert isinstance(detached, DetachResult) and detached.cluster_id == cpu.cluster_id
        polled(api, detached.request_id, "the detach")
        assert api.storage_info(volume.storage_id).cluster_ids == (gpu.cluster_id,)

    def test_a_single_node_gpu_cluster_refuses_a_volume(self, api: StorageApi) -> None:
        single = created_and_ready(api, fresh_name(), "1xH100", 1)
        volume = volume_ready(api, fresh_name())
        with pytest.raises(BadRequest):
            api.attach_storage(volume.storage_id, [single.cluster_id])
        assert api.storage_info(volume.storage_id).cluster_ids == ()

    def test_an_attached_or_protected_volume_refuses_delete(self, api: StorageApi) -> None:
        cluster = created_and_ready(api, fresh_name(), "8xH200", 2)
        volume = volume_ready(api, fresh_name(), deletion_protection=True)
        attached(api, volume.storage_id, [cluster.cluster_id])
        with pytest.raises(Conflict):
            api.delete_storage(volume.storage_id)
        api.edit_storage(volume.storage_id, deletion_protection=False)
        with pytest.raises(Conflict):  # still attached
            api.delete_storage(volume.storage_id)
        polled(api, api.detach_storage(volume.storage_id, cluster.cluster_id).request_id, "the detach")
        deleted = api.delete_storage(volume.storage_id)
        assert isinstance(deleted, StorageDeleteResult) and deleted.storage_id == volume.storage_id
        polled(api, deleted.request_id, "the volume's destroy")
        assert volume_gone(api, volume.storage_id)
        with pytest.raises(NotFound):
            api.delete_storage(volume.storage_id)

    def test_destroying_a_cluster_detaches_its_volumes_which_survive(self, api: StorageApi) -> None:
        cluster = created_and_ready(api, fresh_name(), "8xH200", 2)
        volume = volume_ready(api, fresh_name())
        attached(api, volume.storage_id, [cluster.cluster_id])
        destroyed(api, cluster.cluster_id)
        info = api.storage_info(volume.storage_id)
        assert info.cluster_ids == () and not info.is_destroyed
