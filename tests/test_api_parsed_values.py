"""A parsed cluster is exactly the value its constructor makes: the parser sets the frozen fields at once.

BodyReader builds ClusterInfo and InstanceInfo by their `__dict__` (a list of 10,000 clusters has ~23,000 of
them); these tests hold every such value to `ClusterInfo(...)` / `InstanceInfo(...)` of the same fields:
the same fields in the same order, equal, the same repr and hash, and still frozen.
"""

from __future__ import annotations

import dataclasses

import pytest
from tpdeclare.api.field_mapping import FieldMap
from tpdeclare.api.models import ClusterInfo, InstanceInfo
from tpdeclare.api.parsers import BodyReader
from tpdeclare.api.redaction import Secret
from tpdeclare.api.status_words import UnknownWords

KEY = "tp-parsed-key-0042"


def cluster_body(i: int, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "cluster_id": f"c-{i}", "tp_cluster_name": f"team-{i}", "instance_type": "8xH200", "num_nodes": 2,
        "container": "img:1" if i % 2 else None, "deletion_protection": bool(i % 3), "status": " running ",
        "created_at": "2026-11-27T09:00:00Z",
        "instances": [{"instance_id": f"i-{i}-a", "status": "running", "public_ip": "198.51.100.7",
                       "private_ip": "10.0.0.1"},
                      {"instance_id": f"i-{i}-b", "status": None, "public_ip": "::1"},
                      {"instance_id": f"c-{i}-jumphost", "status": "ready"}],
    }
    body.update(extra)
    return body


def constructed(info: ClusterInfo) -> ClusterInfo:
    def instance(n: InstanceInfo) -> InstanceInfo:
        return InstanceInfo(**{f.name: getattr(n, f.name) for f in dataclasses.fields(InstanceInfo)})

    fields = {f.name: getattr(info, f.name) for f in dataclasses.fields(ClusterInfo)}
    fields["instances"] = tuple(instance(n) for n in info.instances)
    fields["jumphost"] = None if info.jumphost is None else instance(info.jumphost)
    return ClusterInfo(**fields)


@pytest.mark.parametrize("body", [cluster_body(1), cluster_body(2, instances=[]), cluster_body(3, container=""),
                                  cluster_body(4, tp_cluster_name=None, created_at=None)])
def test_a_parsed_cluster_is_the_constructors_value(body):
    reader = BodyReader(FieldMap(), Secret(KEY), UnknownWords(lambda line: None))
    [info] = reader.cluster_list({"clusters": [body]})
    again = constructed(info)
    assert vars(info) == vars(again) and list(vars(info)) == [f.name for f in dataclasses.fields(ClusterInfo)]
    assert info == again and repr(info) == repr(again) and hash(info) == hash(again)
    for mine, theirs in zip(info.instances + (info.jumphost,) * (info.jumphost is not None),
                            again.instances + (again.jumphost,) * (again.jumphost is not None), strict=True):
        assert list(vars(mine)) == [f.name for f in dataclasses.fields(InstanceInfo)]
        assert mine == theirs and repr(mine) == repr(theirs) and hash(mine) == hash(theirs)
        with pytest.raises(dataclasses.FrozenInstanceError):
            mine.status = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "other"  # type: ignore[misc]
    assert info.status == "RUNNING" and info.instance_ids == tuple(n.instance_id for n in info.instances)


def test_an_unknown_cluster_status_is_still_warned_about_once():
    lines: list[str] = []
    reader = BodyReader(FieldMap(), Secret(KEY), UnknownWords(lines.append))
    reader.cluster_list({"clusters": [cluster_body(1, status="hibernating"), cluster_body(2, status="HIBERNATING"),
                                      cluster_body(3)]})
    assert len(lines) == 1 and "cluster c-1" in lines[0] and "'HIBERNATING'" in lines[0]
