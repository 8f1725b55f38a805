"""The sandbox's instance addresses (public for single nodes and jumphosts, private for workers) and its
`GET /ssh/{instance_id}`, as the official CLI's `tp ssh` calls it; on a fake clock."""

from __future__ import annotations

import ipaddress
import shlex

import pytest
from tpdeclare.sandbox.world import FileWorld

from sandbox_fixtures import Caller, make_engine

PROVISION = 100.0
DOCUMENTATION_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


@pytest.fixture
def eng():
    engine, clock = make_engine(provision_seconds=PROVISION, destroy_seconds=20)
    return engine, clock, Caller(engine)


def _create(call, instance_type="1xH100", num_nodes=1, name="c"):
    return call.ok("POST", "/cluster/create", {"instance_type": instance_type, "num_nodes": num_nodes,
                                               "tp_cluster_name": name}, status=202)


def _instances(call, cluster_id):
    return call.ok("GET", f"/cluster/info/{cluster_id}")["cluster_info"]["instances"]


def _is_public(ip):
    return any(ipaddress.ip_address(ip) in net for net in DOCUMENTATION_NETS)


def _is_private(ip):
    return ipaddress.ip_address(ip) in ipaddress.ip_network("10.0.0.0/8")


def _ssh(call, instance_id, query="?system=Linux"):
    r = call("GET", f"/ssh/{instance_id}{query}")
    return r.status, r.json()


def test_a_single_node_has_a_public_and_a_private_address_once_running(eng):
    _, clock, call = eng
    created = _create(call)
    (node,) = _instances(call, created["cluster_id"])
    assert node == {"instance_id": created["instance_ids"][0], "status": "provisioning", "public_ip": None,
                    "private_ip": None}
    clock.advance(PROVISION)
    (node,) = _instances(call, created["cluster_id"])
    assert node["status"] == "running" and _is_public(node["public_ip"]) and _is_private(node["private_ip"])
    status, body = _ssh(call, node["instance_id"])
    assert status == 200 and set(body) == {"command", "message"}
    assert body["command"] == f"ssh ubuntu@{node['public_ip']}"
    assert body["message"] == f"Connecting to {node['instance_id']}, the node of cluster {created['cluster_id']} (c)"


def test_a_multi_node_cluster_is_reached_through_its_jumphost(eng):
    _, clock, call = eng
    created = _create(call, "8xH200", 3, "big")
    clock.advance(PROVISION)
    jump, *workers = _instances(call, created["cluster_id"])
    assert jump["instance_id"] == f"{created['cluster_id']}-jumphost"
    assert [w["instance_id"] for w in workers] == created["instance_ids"]
    assert _is_public(jump["public_ip"]) and _is_private(jump["private_ip"])
    assert all(w["public_ip"] is None and _is_private(w["private_ip"]) for w in workers)
    subnets = {ipaddress.ip_network(f"{i['private_ip']}/24", strict=False) for i in [jump, *workers]}
    assert len(subnets) == 1  # one cluster network
    assert len({i["private_ip"] for i in [jump, *workers]}) == 4

    status, body = _ssh(call, jump["instance_id"])
    assert (status, body["command"]) == (200, f"ssh ubuntu@{jump['public_ip']}")
    assert "the jumphost of cluster" in body["message"]
    for worker in workers:
        status, body = _ssh(call, worker["instance_id"], query="")  # `system` is optional
        assert status == 200
        assert shlex.split(body["command"]) == ["ssh", "-J", f"ubuntu@{jump['public_ip']}",
                                                f"ubuntu@{worker['private_ip']}"]
        assert "a worker (reached through its jumphost)" in body["message"]


@pytest.mark.parametrize("system", ["Linux", "Darwin", "Windows", "Java", ""])
def test_any_system_word_gets_the_command(eng, system):
    _, clock, call = eng
    created = _create(call)
    clock.advance(PROVISION)
    status, body = _ssh(call, created["instance_ids"][0], query=f"?system={system}")
    assert status == 200 and body["command"].startswith("ssh ubuntu@")


def test_an_instance_is_unreachable_until_running_and_after_a_destroy_starts(eng):
    _, clock, call = eng
    created = _create(call, "8xB200", 2, "x")
    cid = created["cluster_id"]
    for instance in (f"{cid}-jumphost", *created["instance_ids"]):
        status, body = _ssh(call, instance)
        assert status == 409
        assert body == {"message": f"Instance {instance} cannot be reached: cluster {cid} is PROVISIONING, "
                                   "not RUNNING"}
    clock.advance(PROVISION)
    assert _ssh(call, f"{cid}-jumphost")[0] == 200
    call.ok("DELETE", f"/cluster/{cid}", status=202)
    status, body = _ssh(call, f"{cid}-jumphost")
    assert status == 409 and "is DESTROYING" in body["message"]
    assert all(i["public_ip"] for i in _instances(call, cid)[:1])  # addresses stay while it is being destroyed
    clock.advance(20)
    for instance in (f"{cid}-jumphost", *created["instance_ids"]):
        assert _ssh(call, instance) == (404, {"message": f"Instance {instance} not found"})


def test_a_failed_cluster_is_unreachable_and_has_no_addresses():
    engine, clock = make_engine(provision_seconds=10, faults="provision:failed=1")
    call = Caller(engine)
    created = _create(call)
    clock.advance(10)
    (node,) = _instances(call, created["cluster_id"])
    assert (node["status"], node["public_ip"], node["private_ip"]) == ("failed", None, None)
    status, body = _ssh(call, node["instance_id"])
    assert status == 409 and "is FAILED" in body["message"]


@pytest.mark.parametrize("instance", ["i-00000000", "c-00000000-jumphost", "jumphost", "-jumphost"])
def test_unknown_instances_are_404(eng, instance):
    _, clock, call = eng
    _create(call)
    clock.advance(PROVISION)
    assert _ssh(call, instance) == (404, {"message": f"Instance {instance} not found"})


def test_a_single_node_has_no_jumphost(eng):
    _, clock, call = eng
    created = _create(call)
    clock.advance(PROVISION)
    jumphost = f"{created['cluster_id']}-jumphost"
    assert _ssh(call, jumphost) == (404, {"message": f"Instance {jumphost} not found"})


def test_ssh_needs_the_key_and_can_be_faulted(eng):
    engine, clock, call = eng
    created = _create(call)
    clock.advance(PROVISION)
    assert call("GET", f"/ssh/{created['instance_ids'][0]}", key=None).status == 401
    engine.set_faults("ssh:503=1")
    assert call("GET", f"/ssh/{created['instance_ids'][0]}").status == 503
    stats = engine.stats()
    assert stats["requests"]["ssh"] == {"401": 1, "503": 1}


def test_addresses_are_the_same_after_a_restart(tmp_path):
    path = tmp_path / "world.json"
    engine, clock = make_engine(FileWorld(path), provision_seconds=0)
    created = _create(Caller(engine), "8xH200", 2)
    before = _instances(Caller(engine), created["cluster_id"])
    again, _ = make_engine(FileWorld(path), clock=clock, provision_seconds=0)
    assert _instances(Caller(again), created["cluster_id"]) == before
    assert all(i["private_ip"] for i in before)


def test_info_table_shows_the_addresses(eng):
    _, clock, call = eng
    created = _create(call, "8xH200", 2, "t")
    clock.advance(PROVISION)
    info = call.ok("GET", f"/cluster/info/{created['cluster_id']}")
    jump = info["cluster_info"]["instances"][0]
    assert "PUBLIC IP" in info["message"] and jump["public_ip"] in info["message"]
    assert f"{created['cluster_id']}-jumphost" in info["message"]
