"""The client's side of reaching instances: `ssh_command()` (GET /ssh/{id}), the instances' addresses and the
jumphost in ClusterInfo, against scripted answers (hostile ones included) and the served sandbox."""

from __future__ import annotations

import pytest
from tpdeclare.api.models import ClusterInfo, InstanceInfo, login_instance_id
from tpdeclare.api.protocol import SshApi
from tpdeclare.errors import Conflict, MalformedResponse, NotFound, TpdeclareError

from api_transport_fakes import BASE, CLUSTER, KEY, Reply, make
from e2e_helpers import TEST_KEY, ThreadedSandbox


def _listed(*instances, **fields):
    return {"clusters": [dict(CLUSTER, instances=list(instances), **fields)], "message": "table"}


def test_ssh_command_asks_as_tp_ssh_does_and_reads_the_answer():
    client, adapter, _ = make([Reply(200, {"command": "ssh ubuntu@203.0.113.7", "message": "Connecting"})])
    answer = client.ssh_command("c-1-jumphost", system="Linux")
    assert adapter.sent[0][0].method == "GET"
    assert adapter.sent[0][0].url == BASE + "/ssh/c-1-jumphost?system=Linux"
    assert (answer.instance_id, answer.command, answer.message) == ("c-1-jumphost", "ssh ubuntu@203.0.113.7",
                                                                    "Connecting")
    assert isinstance(client, SshApi)


def test_ssh_command_without_a_message_is_fine():
    client, _, _ = make([Reply(200, {"command": "ssh -J ubuntu@198.51.100.1 ubuntu@10.0.0.5"})])
    assert client.ssh_command("i-1", system="Darwin").message == ""


@pytest.mark.parametrize("status, error", [(404, NotFound), (409, Conflict)])
def test_ssh_command_errors_are_typed(status, error):
    client, _, _ = make([Reply(status, {"message": "Instance i-1 cannot be reached"})])
    with pytest.raises(error) as caught:
        client.ssh_command("i-1", system="Linux")
    assert caught.value.server_message == "Instance i-1 cannot be reached"


def test_ssh_command_is_retried_like_every_idempotent_call():
    client, adapter, _ = make([Reply(503, {"message": "busy"}, headers={"Retry-After": "0"}),
                               Reply(200, {"command": "ssh ubuntu@192.0.2.9", "message": ""})])
    assert client.ssh_command("i-1", system="Linux").command == "ssh ubuntu@192.0.2.9"
    assert adapter.count == 2


@pytest.mark.parametrize("instance_id", ["../x", "i-1/../../c", "i 1", "i-1?x=y", "", "a" * 129, KEY])
def test_an_unsafe_instance_id_is_refused_before_anything_is_sent(instance_id):
    client, adapter, _ = make([Reply(200, {"command": "ssh x"})])
    with pytest.raises((TpdeclareError, ValueError)) as caught:
        client.ssh_command(instance_id, system="Linux")
    assert adapter.count == 0
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("body, words", [
    ({"message": "no command here"}, "field 'command' is missing"),
    ({"command": ""}, "field 'command' should be a non-empty string"),
    ({"command": 7}, "field 'command' should be a non-empty string, not a number"),
    ({"command": "   "}, "field 'command' is blank"),
    ({"command": "ssh 'ubuntu@1.2.3.4"}, "field 'command' is not a command line"),
    ({"command": "ssh ubuntu@1.2.3.4\nrm -rf ~"}, "control or invisible formatting characters"),
    ({"command": "ssh \x1b[31mubuntu@1.2.3.4"}, "control or invisible formatting characters"),
    ({"command": "ssh ubuntu@1.2.3.4 \u202e"}, "control or invisible formatting characters"),
    ({"command": "ssh -o 'IdentityFile=-----BEGIN OPENSSH PRIVATE KEY-----abc' ubuntu@1.2.3.4"},
     "holds a private key"),
    ({"command": "ssh -i x ubuntu@1.2.3.4 # begin rsa private key"}, "holds a private key"),
    ({"command": "ssh " + "x" * 1100}, "longer than 1024 characters"),
    ({"command": f"TOKEN={KEY} ssh ubuntu@1.2.3.4"}, "is a value containing the API key"),
    ([], "the body should be a JSON object"),
])
def test_an_unusable_or_secret_command_is_refused_without_showing_it(body, words):
    client, _, _ = make([Reply(200, body)])
    with pytest.raises(MalformedResponse) as caught:
        client.ssh_command("i-1", system="Linux")
    assert words in caught.value.message
    assert KEY not in caught.value.message and "PRIVATE KEY-----abc" not in caught.value.message
    assert "rm -rf" not in caught.value.message or "\\n" in caught.value.message


def test_the_servers_message_has_the_key_redacted():
    client, _, _ = make([Reply(200, {"command": "ssh ubuntu@1.2.3.4", "message": f"hello {KEY}"})])
    assert KEY not in client.ssh_command("i-1", system="Linux").message


def test_a_listed_jumphost_is_the_login_node_not_a_node():
    jump = {"instance_id": "c-3f9a1b2c-jumphost", "status": "running", "public_ip": "203.0.113.7",
            "private_ip": "10.1.2.2"}
    workers = [{"instance_id": f"i-{n}", "status": "running", "public_ip": None, "private_ip": f"10.1.2.1{n}"}
               for n in (1, 2)]
    client, _, _ = make([Reply(200, _listed(jump, *workers))])
    (cluster,) = client.list_clusters()
    assert cluster.instance_ids == ("i-1", "i-2")
    assert cluster.jumphost == InstanceInfo("c-3f9a1b2c-jumphost", "running", "203.0.113.7", "10.1.2.2")
    assert cluster.instances == (InstanceInfo("i-1", "running", None, "10.1.2.11"),
                                 InstanceInfo("i-2", "running", None, "10.1.2.12"))
    assert cluster.login_instance_id == "c-3f9a1b2c-jumphost"


@pytest.mark.parametrize("value", [
    12345, True, ["1.2.3.4"], {"ip": "1.2.3.4"}, "", "pending", "1.2.3", "256.1.1.1", "1.2.3.4\n", "1.2.3.4 ",
    "\u202e1.2.3.4", "x" * 100, KEY, f"{KEY}1.2.3.4", "example.com",
])
def test_an_unusable_address_reads_as_unknown_and_the_list_still_parses(value):
    inst = {"instance_id": "i-1", "status": "running", "public_ip": value, "private_ip": value}
    client, _, _ = make([Reply(200, _listed(inst, num_nodes=1))])
    (cluster,) = client.list_clusters()
    (node,) = cluster.instances
    if value == "1.2.3.4 ":  # surrounding blanks are not part of a word
        assert node.public_ip == "1.2.3.4"
        return
    assert (node.public_ip, node.private_ip) == (None, None)
    assert cluster.instance_ids == ("i-1",) and cluster.is_running


@pytest.mark.parametrize("value, expected", [("2001:db8::1", "2001:db8::1"), ("2001:DB8:0::1", "2001:db8::1"),
                                             ("192.0.2.1", "192.0.2.1")])
def test_ipv4_and_ipv6_addresses_are_read(value, expected):
    client, _, _ = make([Reply(200, _listed({"instance_id": "i-1", "public_ip": value}, num_nodes=1))])
    assert client.list_clusters()[0].instances[0] == InstanceInfo("i-1", None, expected, None)


@pytest.mark.parametrize("status", [None, 3, "", "x" * 65, "run\x00ning", KEY])
def test_an_unusable_instance_status_reads_as_unknown(status):
    client, _, _ = make([Reply(200, _listed({"instance_id": "i-1", "status": status}, num_nodes=1))])
    assert client.list_clusters()[0].instances[0].status is None


def test_a_bad_instance_id_still_fails_the_list():
    client, _, _ = make([Reply(200, _listed({"instance_id": "../x", "public_ip": "1.2.3.4"}))])
    with pytest.raises(MalformedResponse, match=r"clusters\[0\]\.instances\[0\]\.instance_id"):
        client.list_clusters()


@pytest.mark.parametrize("num_nodes, ids, listed, expected", [
    (1, ("i-1",), None, "i-1"),
    (1, (), None, None),
    (2, ("i-1", "i-2"), None, "c-9-jumphost"),  # the engine did not list it: the documented name
    (2, ("i-1", "i-2"), "c-9-jumphost", "c-9-jumphost"),
    (8, (), None, "c-9-jumphost"),
])
def test_the_login_instance(num_nodes, ids, listed, expected):
    assert login_instance_id("c-9", num_nodes, ids, listed) == expected
    info = ClusterInfo("c-9", "n", "8xH200", num_nodes, None, False, "RUNNING", ids, None,
                       jumphost=InstanceInfo(listed) if listed else None)
    assert info.login_instance_id == expected


@pytest.mark.parametrize("dialect", ["default", "lowercase", "async-edit"])
def test_against_the_served_sandbox_the_login_node_answers_ssh(dialect):
    from tpdeclare.api.client import TensorPoolClient

    sandbox = ThreadedSandbox("--dialect", dialect)
    try:
        client = TensorPoolClient(sandbox.url, TEST_KEY)
        created = client.create_cluster(instance_type="8xH200", num_nodes=2, tp_cluster_name="jump")
        single = client.create_cluster(instance_type="1xH100", num_nodes=1, tp_cluster_name="one")
        big = client.cluster_info(created.cluster_id)
        assert big.instance_ids == created.instance_ids and big.jumphost is not None
        assert big.login_instance_id == f"{created.cluster_id}-jumphost"
        assert client.ssh_command(big.login_instance_id, system="Linux").command == \
            f"ssh ubuntu@{big.jumphost.public_ip}"
        one = client.cluster_info(single.cluster_id)
        assert one.jumphost is None and one.login_instance_id == single.instance_ids[0]
        assert client.ssh_command(single.instance_ids[0], system="Linux").command == \
            f"ssh ubuntu@{one.instances[0].public_ip}"
        with pytest.raises(NotFound):
            client.ssh_command("i-00000000", system="Linux")
        client.close()
    finally:
        sandbox.stop()
