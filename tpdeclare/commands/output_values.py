"""What `tpdeclare output` knows of each cluster: the state's record, the engine's live view, the ready SSH command.

`gather` reads the state's records and, when asked to, the engine: one `GET /cluster/list` (or one
`GET /cluster/info/{id}` when a single cluster is asked for), then `GET /ssh/{instance_id}` for the login
instance of each RUNNING cluster whose SSH command is wanted. When the engine cannot be read (no answer,
no key, a state bound to another engine), everything the state records is still given, the live values
(status, addresses, SSH commands) are null, and `EngineRead.problem` says why. A failed SSH lookup of one
cluster is a note on that cluster, never a failure of the run. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tpdeclare import errors
from tpdeclare.api.models import login_instance_id
from tpdeclare.catalog import hourly_cost
from tpdeclare.frozen_values import frozen

if TYPE_CHECKING:
    from tpdeclare.api.models import ClusterInfo
    from tpdeclare.api.protocol import SshApi
    from tpdeclare.state.model import Record

JUMPHOST, NODE = "jumphost", "node"


@frozen
class InstanceOutput:
    """One instance as `output` shows it."""

    instance_id: str
    role: str  # JUMPHOST or NODE
    public_ip: str | None = None
    private_ip: str | None = None


@frozen
class ClusterOutputs:
    """Every output of one address. `record_status` is None for a cluster declared but never applied."""

    address: str
    declared: bool | None  # in the spec (None: no spec was given)
    name: str
    instance_type: str | None
    num_nodes: int | None
    cluster_id: str | None = None
    record_status: str | None = None
    status: str | None = None  # the engine's word; None when not read or not seen
    hourly_cost: float | None = None
    instances: tuple[InstanceOutput, ...] = ()
    login_instance_id: str | None = None
    ssh_command: str | None = None
    notes: tuple[str, ...] = ()  # why a value is missing, what the engine said

    @property
    def exists(self) -> bool:
        return self.record_status is not None

    @property
    def instance_ids(self) -> list[str]:
        return [i.instance_id for i in self.instances if i.role == NODE]

    @property
    def public_ip(self) -> str | None:
        return next((i.public_ip for i in self.instances if i.instance_id == self.login_instance_id), None)

    @property
    def private_ips(self) -> list[str]:
        return [i.private_ip for i in self.instances if i.role == NODE and i.private_ip is not None]

    def value(self, field: str) -> Any:
        """One output field's value by its name in `tpdeclare.cluster_outputs` (lists as lists)."""
        return getattr(self, field)


@frozen
class EngineRead:
    """Whether the engine was read for this run, and if not, why."""

    read: bool
    problem: str | None = None


NOT_ASKED = EngineRead(False, None)


def from_record(rec: Record, declared: bool | None, prices: dict[str, float]) -> ClusterOutputs:
    """A recorded cluster as the state alone knows it."""
    given_type, given_nodes = rec.spec.get("instance_type"), rec.spec.get("num_nodes")
    instance_type = given_type if isinstance(given_type, str) else None
    num_nodes = given_nodes if isinstance(given_nodes, int) and not isinstance(given_nodes, bool) else None
    cost = hourly_cost(instance_type, num_nodes, prices) if instance_type and num_nodes else None
    login = login_instance_id(rec.cluster_id, num_nodes, rec.instance_ids) if rec.cluster_id and num_nodes else None
    return ClusterOutputs(
        address=rec.address, declared=declared, name=rec.name, instance_type=instance_type, num_nodes=num_nodes,
        cluster_id=rec.cluster_id, record_status=rec.status.value, hourly_cost=cost,
        instances=tuple(InstanceOutput(i, NODE) for i in rec.instance_ids), login_instance_id=login,
    )


def with_live(out: ClusterOutputs, seen: ClusterInfo) -> ClusterOutputs:
    """The outputs with the engine's status, instances and addresses folded in."""
    instances = [InstanceOutput(i.instance_id, NODE, i.public_ip, i.private_ip) for i in seen.instances]
    if seen.jumphost is not None:
        j = seen.jumphost
        instances.insert(0, InstanceOutput(j.instance_id, JUMPHOST, j.public_ip, j.private_ip))
    if not instances:
        instances = list(out.instances)
    return replace(out, status=seen.status, instances=tuple(instances),
                   login_instance_id=seen.login_instance_id or out.login_instance_id)


def noted(out: ClusterOutputs, note: str) -> ClusterOutputs:
    return replace(out, notes=(*out.notes, note))


def _problem(exc: errors.TpdeclareError) -> str:
    return exc.message + (f"; {exc.hint}" if exc.hint else "")


def gather(outputs: list[ClusterOutputs], connect: Callable[[], SshApi], *, want_ssh: bool,
           system: str) -> tuple[list[ClusterOutputs], EngineRead]:
    """`outputs` with the engine's live values; the engine is reached through `connect()` (which may raise a
    TpdeclareError, as may every call: then the state's values stand and EngineRead says why)."""
    known = [o for o in outputs if o.cluster_id]
    if not known:
        return outputs, NOT_ASKED
    try:
        api = connect()
        seen = _seen(api, known)
    except errors.TpdeclareError as exc:
        return outputs, EngineRead(False, _problem(exc))
    result = []
    for out in outputs:
        if out.cluster_id:
            info = seen.get(out.cluster_id)
            if info is None:
                out = noted(out, "the engine does not show this cluster (destroyed outside tpdeclare? "
                                 "`tpdeclare plan --refresh` checks)")
            else:
                out = with_live(out, info)
                if want_ssh:
                    out = _with_ssh(api, out, info, system)
        result.append(out)
    return result, EngineRead(True)


def _seen(api: SshApi, known: Iterable[ClusterOutputs]) -> dict[str, ClusterInfo]:
    """The engine's view of the recorded clusters: one info call for one cluster, else one list call."""
    wanted = {o.cluster_id for o in known}
    if len(wanted) == 1:
        (cluster_id,) = wanted
        assert cluster_id is not None
        try:
            return {cluster_id: api.cluster_info(cluster_id)}
        except errors.NotFound:
            return {}
    return {c.cluster_id: c for c in api.list_clusters() if c.cluster_id in wanted}


def _with_ssh(api: SshApi, out: ClusterOutputs, info: ClusterInfo, system: str) -> ClusterOutputs:
    login = out.login_instance_id
    if login is None:
        return noted(out, "no instance to log in to is known")
    if not info.is_running:
        return noted(out, f"the cluster is {info.status}: its SSH command is known once it is RUNNING")
    try:
        answer = api.ssh_command(login, system=system)
    except errors.ApiStatusError as exc:
        return noted(out, f"the engine gave no SSH command for {login}: {exc.server_message}")
    except errors.TpdeclareError as exc:
        return noted(out, f"the engine gave no SSH command for {login}: {_problem(exc)}")
    return replace(out, ssh_command=answer.command)
