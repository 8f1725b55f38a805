"""Field aliases and the FieldMap: a proposed name is checked against the real answer, which wins only when it
maps unambiguously; anything else is refused with the names looked for and the names found."""

from __future__ import annotations

import pytest
from tpdeclare.api.field_aliases import GROUPS, LIST_WRAPPER, Alias, fits, json_type, kinds_of, pick
from tpdeclare.api.field_mapping import CONTRACT, DOCUMENT, RESPONSE, FieldMap, ShapeError, TextOnly
from tpdeclare.api.vocabulary import BUILTIN_FIELDS, ResponseFields

CANON = {"cluster_id": "c-1", "tp_cluster_name": "lab", "instance_type": "1xH100", "num_nodes": 1,
         "container": None, "deletion_protection": False, "status": "RUNNING",
         "instances": [{"instance_id": "i-1", "status": "running"}], "created_at": "2026-11-26T10:00:00Z"}
ALIAS_OF = {a.attr: a for aliases in GROUPS.values() for a in aliases}


def renamed(obj: dict, **names: str) -> dict:
    """`obj` with fields renamed: renamed(CANON, cluster_id="id")."""
    return {names.get(k, k): v for k, v in obj.items()}


def fresh(warnings: list | None = None) -> FieldMap:
    return FieldMap(warn=(warnings.append if warnings is not None else lambda line: None))


# ------------------------------------------------------------------------------------------ pick
PICKS = [
    # (alias attr, present {name: kind}, current, expected name, candidates)
    ("cluster_id", {"cluster_id": "string"}, "cluster_id", "cluster_id", ("cluster_id",)),
    ("cluster_id", {"id": "string"}, "cluster_id", "id", ("id",)),
    ("cluster_id", {"id": "string", "cluster_id": "string"}, "id", "id", ("id",)),  # the name in use wins
    ("cluster_id", {"id": "string", "cluster_id": "string"}, None, "cluster_id", ("cluster_id", "id")),
    ("cluster_id", {"id": "integer"}, "cluster_id", None, ()),  # wrong kind: not a candidate
    ("cluster_name", {"cluster_name": "string", "name": "string"}, "tp_cluster_name", None,
     ("cluster_name", "name")),  # two aliases, the contract's name among neither: ambiguous
    ("cluster_name", {"name": "null"}, "tp_cluster_name", "name", ("name",)),  # nullable
    ("num_nodes", {"nodes": "integer"}, "num_nodes", "nodes", ("nodes",)),
    ("instances", {"nodes": "integer"}, "instances", None, ()),  # the node count is no instance list
    ("instances", {"nodes": "array"}, "instances", "nodes", ("nodes",)),
    ("deletion_protection", {"protected": "boolean", "deletion_protected": "boolean"}, "deletion_protection",
     None, ("protected", "deletion_protected")),
    ("status", {"state": "string", "status": "string"}, "state", "state", ("state",)),
    ("status", {}, "status", None, ()),
]


@pytest.mark.parametrize("attr,present,current,expected,candidates", PICKS)
def test_pick(attr, present, current, expected, candidates):
    got = pick(ALIAS_OF[attr], {k: frozenset({v}) for k, v in present.items()}, current)
    assert (got.name, got.candidates) == (expected, candidates)
    assert got.ambiguous == (expected is None and len(candidates) > 1)


def test_a_schema_that_says_nothing_of_a_type_fits_any_field():
    assert fits(ALIAS_OF["num_nodes"], frozenset({"any"}))
    assert not fits(ALIAS_OF["num_nodes"], frozenset({"null"}))
    assert fits(ALIAS_OF["container"], frozenset({"null"}))


def test_every_alias_lists_the_contract_name_first_and_each_attr_exists():
    for aliases in GROUPS.values():
        for alias in aliases:
            assert hasattr(BUILTIN_FIELDS, alias.attr), alias
            assert getattr(BUILTIN_FIELDS, alias.attr) == alias.contract_name, alias
            assert len(set(alias.names)) == len(alias.names), alias
    assert BUILTIN_FIELDS.clusters == LIST_WRAPPER.contract_name


def test_json_type_and_kinds():
    assert [json_type(v) for v in (None, True, 3, 2.5, "x", [], {})] == [
        "null", "a boolean", "a number", "a number", "a string", "an array", "an object"]
    assert kinds_of({"a": 1, "b": None, 3: "x"}) == {"a": frozenset({"integer"}), "b": frozenset({"null"})}


# ------------------------------------------------------------------------------------------ settle
def test_the_contract_names_are_kept_when_the_answer_has_them():
    said: list[str] = []
    fm = fresh(said)
    assert fm.settle("cluster", CANON, "clusters[0]") == BUILTIN_FIELDS
    assert said == [] and fm.mapped("cluster_id").confirmed and fm.mapped("cluster_id").origin == CONTRACT


@pytest.mark.parametrize("names", [
    {"cluster_id": "id", "tp_cluster_name": "name", "num_nodes": "node_count", "status": "state"},  # aliased
    {"cluster_id": "id", "tp_cluster_name": "cluster_name", "num_nodes": "nodes"},  # aliased-bare
    {"cluster_id": "clusterId", "instance_type": "instanceType", "deletion_protection": "deletionProtection",
     "created_at": "createdAt"},
    {"container": "image", "deletion_protection": "protected", "instances": "instance_list"},
])
def test_an_answer_with_other_names_wins_when_each_maps_unambiguously(names):
    said: list[str] = []
    fm = fresh(said)
    fields = fm.settle("cluster", renamed(CANON, **names), "clusters[0]")
    by_wire = {getattr(BUILTIN_FIELDS, a.attr): a.attr for a in GROUPS["cluster"]}
    for contract, wire in names.items():
        assert getattr(fields, by_wire[contract]) == wire
        assert fm.mapped(by_wire[contract]).origin == RESPONSE
    assert len(said) == 1  # one warning for the answer, naming every field
    for contract, wire in names.items():
        assert f"{wire!r} (not {contract!r})" in said[0]
    assert "the built-in contract says" in said[0]
    fm.settle("cluster", renamed(CANON, **names), "clusters[1]")
    assert len(said) == 1  # settled: no second warning


def test_the_document_proposal_is_read_and_a_disagreeing_answer_names_the_document():
    said: list[str] = []
    fm = fresh(said)
    fm.propose({"cluster_id": "id"})
    assert fm.mapped("cluster_id").origin == DOCUMENT and not fm.mapped("cluster_id").confirmed
    assert fm.settle("cluster", renamed(CANON, cluster_id="id"), "").cluster_id == "id"
    assert said == []
    fm2 = fresh(said)
    fm2.propose({"cluster_id": "id"})
    assert fm2.settle("cluster", renamed(CANON, cluster_id="clusterId"), "").cluster_id == "clusterId"
    assert "the engine's OpenAPI document says" in said[0]


def test_two_candidates_for_one_field_are_refused_naming_both():
    fm = fresh()
    obj = {**renamed(CANON, tp_cluster_name="cluster_name"), "name": "other"}
    with pytest.raises(ShapeError) as info:
        fm.settle("cluster", obj, "clusters[0]")
    assert str(info.value) == ("cannot tell which field in clusters[0] is the cluster's name: 'cluster_name', 'name' "
                               "all could be, and the built-in contract names 'tp_cluster_name'")


def test_a_required_field_under_no_known_name_is_refused_with_what_was_looked_for():
    fm = fresh()
    obj = {k: v for k, v in CANON.items() if k != "num_nodes"} | {"size": 2}
    with pytest.raises(ShapeError) as info:
        fm.settle("cluster", obj, "clusters[0]")
    message = str(info.value)
    assert message.startswith("no field in clusters[0] can be read as the node count (looked for 'num_nodes', "
                              "'node_count', 'nodes', 'numNodes', 'nodeCount' as integer; it has ")
    assert "'size'" in message


def test_a_mistyped_field_is_no_candidate():
    fm = fresh()
    with pytest.raises(ShapeError, match="can be read as the node count"):
        fm.settle("cluster", {**CANON, "num_nodes": "two"}, "")


def test_an_optional_field_absent_from_the_first_object_is_settled_by_a_later_one():
    fm = fresh()
    first = {k: v for k, v in CANON.items() if k != "tp_cluster_name"}
    fm.settle("cluster", first, "clusters[0]")
    assert not fm.mapped("cluster_name").confirmed
    assert fm.settle("cluster", renamed(CANON, tp_cluster_name="name"), "clusters[1]").cluster_name == "name"
    assert fm.mapped("cluster_name").confirmed
    assert fm.seen_fields("cluster") == tuple(first)


def test_a_strict_map_reads_exactly_the_names_it_was_given():
    strict = FieldMap(ResponseFields(cluster_id="id"), strict=True)
    assert strict.settle("cluster", CANON, "").cluster_id == "id"  # no reconciliation: the parser refuses
    with pytest.raises(ShapeError, match="field 'clusters' is missing"):
        strict.list_items({"items": []})
    with pytest.raises(ShapeError, match="field 'clusters' should be an array, not an object"):
        strict.list_items({"clusters": {}})


# ------------------------------------------------------------------------------------------ wrappers
@pytest.mark.parametrize("body,where", [
    ({"clusters": [], "message": "t"}, "clusters"),
    ({"items": [], "message": "t"}, "items"),
    ({"data": []}, "data"),
])
def test_the_list_wrapper(body, where):
    assert fresh().list_items(body) == ([], where)


def test_a_bare_array_list_is_read():
    assert fresh().list_items([CANON]) == ([CANON], "")


@pytest.mark.parametrize("body,seen", [
    ({"message": "ID NAME\n1 cluster"}, "only a text message ('message')"),
    ({"message": "x", "detail": "y"}, "only a text message ('message', 'detail')"),
    ({}, "no fields at all"),
    ({"message": "x", "count": 3}, "the fields 'message', 'count'"),
    ({"clusters": None, "message": "x"}, "the fields 'clusters', 'message'"),
])
def test_a_list_with_no_array_of_clusters_is_text_only(body, seen):
    with pytest.raises(TextOnly) as info:
        fresh().list_items(body)
    assert info.value.seen == seen
    assert "holds no list of clusters tpdeclare can read" in str(info.value)


def test_two_arrays_that_could_be_the_clusters_are_ambiguous():
    with pytest.raises(ShapeError, match="cannot tell which field is the list of clusters: 'items', 'data'"):
        fresh().list_items({"items": [], "data": []})


@pytest.mark.parametrize("body,expected", [
    ({"cluster_info": CANON, "message": "t"}, (CANON, "cluster_info")),
    ({"cluster": CANON, "message": "t"}, (CANON, "cluster")),
    ({**CANON, "message": "t"}, ({**CANON, "message": "t"}, "")),
    ({**renamed(CANON, cluster_id="id"), "message": "t"}, ({**renamed(CANON, cluster_id="id"), "message": "t"}, "")),
])
def test_the_info_wrapper_or_the_object_itself(body, expected):
    assert fresh().info_object(body) == expected


def test_an_info_with_only_text_is_text_only():
    with pytest.raises(TextOnly, match="holds no cluster tpdeclare can read"):
        fresh().info_object({"message": "Cluster c-1 ..."})


def test_the_report_covers_every_answer_and_field():
    report = fresh().report()
    assert set(report) == {"list", "info", "cluster", "instance", "request", "edit"}
    assert set(report["cluster"]) == {a.attr for a in GROUPS["cluster"]}
    assert report["list"]["clusters"].as_json() == {"wire": "clusters", "origin": "contract", "confirmed": False}


def test_an_alias_table_entry_is_plain_data():
    alias = Alias("x", "the x", ("x", "y"), "string")
    assert alias.contract_name == "x" and alias.required and not alias.nullable


@pytest.mark.parametrize("key", ["\x1b[2Jgotcha", "a\u202etxt.exe", "x" * 5000, "line\nbreak"])
def test_field_names_an_engine_sent_are_escaped_and_cut_in_messages(key):
    with pytest.raises(TextOnly) as info:
        fresh().list_items({key: "text"})
    for text in (str(info.value), info.value.seen):
        assert "\x1b" not in text and "\u202e" not in text and "\n" not in text and len(text) < 600
    many = {f"k{i}": 1 for i in range(40)}
    with pytest.raises(ShapeError) as shape:
        fresh().settle("cluster", many, "")
    assert str(shape.value).endswith("'k10', 'k11' …)")
