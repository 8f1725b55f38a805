"""Loading good specs: examples, defaults, directory stacks, warnings, moves, source places, content hash."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest
import yaml.nodes
from hypothesis import given, settings
from hypothesis import strategies as st
from tpdeclare.diagnostics import Diagnostic
from tpdeclare.spec import yaml_compose
from tpdeclare.spec.loader import content_hash, load_stack
from tpdeclare.spec.model import ClusterSpec, Move, SourceRef
from tpdeclare.spec.ssh_keys import key_problem
from tpdeclare.spec.yamlsafe import load_yaml

from bad_spec_cases import KEY as KEY_A
from bad_spec_cases import KEY_B

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(root: Path, name: str, text: str) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return name


def load_ok(paths, **kwargs):
    spec, diagnostics = load_stack(paths, **kwargs)
    assert spec is not None, "\n".join(d.format() for d in diagnostics)
    return spec, diagnostics


# --- the examples ---------------------------------------------------------------------------------


def test_example_cluster(monkeypatch):
    monkeypatch.chdir(ROOT)
    spec, diagnostics = load_ok(["examples/cluster.yaml"])
    assert diagnostics == []
    assert spec.stack == "cluster"
    assert spec.files == ("examples/cluster.yaml",)
    assert list(spec.clusters) == ["notebook"]
    notebook = spec.clusters["notebook"]
    assert notebook.instance_type == "1xH100"
    assert notebook.num_nodes == 1
    assert notebook.name == "cluster-notebook"
    assert notebook.source == SourceRef("examples/cluster.yaml", 18, 3)
    assert (ROOT / "examples/cluster.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../specs/cluster.schema.json\n")


def test_example_multi_node(monkeypatch):
    monkeypatch.chdir(ROOT)
    spec, diagnostics = load_ok(["examples/multi-node.yaml"])
    assert diagnostics == []
    assert spec.stack == "research"
    assert spec.max_hourly_cost == 60.0
    assert spec.clusters["trainer"] == ClusterSpec(
        address="trainer", instance_type="8xH200", num_nodes=2, name="research-trainer",
        container="nvcr.io/nvidia/pytorch:25.01-py3", deletion_protection=True, public_keys=(),
        prevent_destroy=True, ignore_changes=frozenset({"container"}),
        source=SourceRef("examples/multi-node.yaml", 15, 3),
    )


@pytest.mark.parametrize("arg", ["examples/team", "examples/team/"])
def test_example_team_directory(monkeypatch, arg):
    monkeypatch.chdir(ROOT)
    spec, diagnostics = load_ok([arg])
    assert diagnostics == []
    assert spec.stack == "team"
    assert [Path(f).name for f in spec.files] == ["inference.yaml", "shared.yaml", "training.yaml"]
    assert list(spec.clusters) == ["serve", "notebook", "trainer"]  # files sorted, then declaration order
    serve, notebook, trainer = spec.clusters["serve"], spec.clusters["notebook"], spec.clusters["trainer"]
    assert serve.container == "vllm/vllm-openai:latest"  # own value wins
    assert trainer.container == "nvcr.io/nvidia/pytorch:25.01-py3"  # from defaults in another file
    assert notebook.deletion_protection is False and trainer.deletion_protection is True
    assert trainer.num_nodes == 2 and trainer.prevent_destroy
    assert {c.name for c in spec.clusters.values()} == {"team-serve", "team-notebook", "team-trainer"}
    assert spec.max_hourly_cost == 100.0
    assert spec.prices == {"H100": 1.89}


def test_the_examples_keys_are_real_keys():
    # Commented out in the examples; uncommented as they are, they load (users replace them with theirs).
    found = []
    for name in ("examples/cluster.yaml", "examples/team/shared.yaml"):
        for line in (ROOT / name).read_text().splitlines():
            if "ssh-ed25519" in line:
                found.append(line.split("- ", 1)[1].split("  #")[0].strip())
    assert len(found) == 2 and [key_problem(key) for key in found] == [None, None]


# --- defaults -------------------------------------------------------------------------------------


def test_defaults_merge_under_clusters_and_lists_replace(work):
    write(work, "s.yaml", f"""
stack: demo
defaults:
  instance_type: 8xH200
  container: base:1
  public_keys: ["{KEY_A}"]
  lifecycle:
    prevent_destroy: true
clusters:
  plain: {{}}
  own:
    instance_type: 1xH100
    container: null
    public_keys: ["{KEY_B}"]
    lifecycle:
      ignore_changes: [container]
  unprotected:
    lifecycle: {{prevent_destroy: false}}
""")
    spec, _ = load_ok(["s.yaml"])
    plain, own, unprotected = spec.clusters["plain"], spec.clusters["own"], spec.clusters["unprotected"]
    assert (plain.instance_type, plain.container, plain.public_keys) == ("8xH200", "base:1", (KEY_A,))
    assert plain.prevent_destroy and plain.ignore_changes == frozenset()
    assert (own.instance_type, own.container, own.public_keys) == ("1xH100", None, (KEY_B,))
    assert own.prevent_destroy and own.ignore_changes == frozenset({"container"})  # lifecycle merged key by key
    assert not unprotected.prevent_destroy


def test_defaults_may_live_in_another_file_of_the_stack(work):
    write(work, "d/a.yaml", "defaults:\n  num_nodes: 2\nbudget: {max_hourly_cost: 500}\nclusters: {}\n")
    write(work, "d/b.yaml", "clusters:\n  big:\n    instance_type: 8xB200\n")
    spec, _ = load_ok(["d"])
    assert spec.stack == "d"  # the directory's name
    assert spec.clusters["big"].num_nodes == 2
    assert spec.max_hourly_cost == 500.0


# --- stacks ---------------------------------------------------------------------------------------


def test_stack_defaults_to_the_file_stem(work):
    write(work, "gpu-box.yml", "clusters: {}\n")
    spec, _ = load_ok(["gpu-box.yml"])
    assert spec.stack == "gpu-box"
    assert spec.clusters == {}  # legal: the stack should have no clusters


def test_several_files_form_one_stack(work):
    write(work, "a.yaml", "stack: s\nclusters:\n  a: {instance_type: 1xH100}\n")
    write(work, "b.yaml", "stack: s\nclusters:\n  b: {instance_type: 1xH100}\n")
    spec, _ = load_ok(["a.yaml", "b.yaml"])
    assert spec.stack == "s"
    assert [c.name for c in spec.clusters.values()] == ["s-a", "s-b"]
    assert spec.files == ("a.yaml", "b.yaml")


def test_the_same_file_twice_counts_once(work):
    write(work, "a.yaml", "clusters:\n  a: {instance_type: 1xH100}\n")
    spec, _ = load_ok(["a.yaml", "./a.yaml"])
    assert list(spec.clusters) == ["a"]


def test_directory_ignores_other_files_and_subdirectories(work):
    write(work, "d/a.yaml", "clusters:\n  a: {instance_type: 1xH100}\n")
    write(work, "d/notes.txt", "not yaml: [")
    write(work, "d/.hidden.yaml", "not: [valid")
    write(work, "d/sub/b.yaml", "clusters:\n  a: {instance_type: 1xH100}\n")
    spec, _ = load_ok(["d"])
    assert list(spec.clusters) == ["a"]


# --- the catalogue --------------------------------------------------------------------------------


def test_unknown_but_well_formed_type_is_a_warning(work):
    write(work, "s.yaml", "clusters:\n  new:\n    instance_type: 8xMI300X\n    num_nodes: 2\n")
    spec, diagnostics = load_ok(["s.yaml"])
    assert spec.clusters["new"].instance_type == "8xMI300X"
    assert spec.clusters["new"].num_nodes == 2  # the multi-node rule is the server's to apply to a new type
    [warning] = diagnostics
    assert warning.severity == "warning"
    assert warning.format().startswith(
        "s.yaml:3:20: warning: clusters.new.instance_type: instance type '8xMI300X' is not in tpdeclare's catalogue")
    assert "the server will decide" in warning.summary


@pytest.mark.parametrize("instance_type,hint", [
    # A kind the catalogue lacks: text cannot tell a typo from a GPU tpdeclare has not heard of, so the
    # did-you-mean rule only adds a hint, and the server decides.
    ("8xA100", "did you mean '8xH100'? if it is new, carry on (the plan cannot estimate its cost)"),
    ("8xH10", "did you mean '8xH100'? if it is new, carry on"),
    ("8xRTX6000", "if it is new, carry on (the plan cannot estimate its cost); if not, check the spelling"),
    # A kind it has, in a size it does not list.
    ("16xH100", "the catalogue has H100 as 1xH100, 2xH100, 4xH100, 8xH100; if 16xH100 is new, carry on"),
    ("999xCPU", "the catalogue has CPU as 32xCPU, 64xCPU; if 999xCPU is new, carry on; if not, use one of those"),
])
def test_types_outside_the_catalogue_are_warnings_with_a_hint(work, instance_type, hint):
    write(work, "s.yaml", f"clusters:\n  new:\n    instance_type: {instance_type}\n")
    spec, [warning] = load_ok(["s.yaml"])
    assert spec.clusters["new"].instance_type == instance_type
    assert warning.severity == "warning" and warning.hint.startswith(hint), warning.hint
    assert warning.format().startswith(f"s.yaml:3:20: warning: clusters.new.instance_type: instance type"
                                       f" '{instance_type}' is not in tpdeclare's catalogue")


def test_a_default_type_outside_the_catalogue_is_said_once(work):
    write(work, "s.yaml", "defaults:\n  instance_type: 8xA100\nclusters:\n  a: {}\n  b: {}\n")
    spec, diagnostics = load_ok(["s.yaml"])
    assert [d.format().splitlines()[0] for d in diagnostics] == [
        "s.yaml:2:18: warning: defaults.instance_type: instance type '8xA100' is not in tpdeclare's catalogue of"
        " 2026-11; the server will decide"]


@pytest.mark.parametrize("instance_type", ["8xH200", "8xB200"])
def test_multi_node_types_take_several_nodes(work, instance_type):
    write(work, "s.yaml", f"clusters:\n  t:\n    instance_type: {instance_type}\n    num_nodes: 4\n")
    spec, diagnostics = load_ok(["s.yaml"])
    assert spec.clusters["t"].num_nodes == 4 and diagnostics == []


# --- moves, names, keys ---------------------------------------------------------------------------


def test_moves(work):
    write(work, "s.yaml", "clusters:\n  new: {instance_type: 1xH100}\nmoved:\n  - {from: old, to: new}\n")
    spec, _ = load_ok(["s.yaml"])
    assert spec.moves == (Move("old", "new", source=SourceRef("s.yaml", 4, 5)),)


def test_explicit_names_and_yaml_1_1_keys(work):
    write(work, "s.yaml", "clusters:\n  on:\n    instance_type: 1xH100\n    name: '123'\n")
    spec, _ = load_ok(["s.yaml"])
    assert spec.clusters["on"].name == "123"  # `on:` is the key "on", not True


def test_anchors_and_merge_keys(work):
    write(work, "s.yaml", """
x-base: &base
  instance_type: 8xH200
  num_nodes: 2
clusters:
  a:
    <<: *base
  b:
    <<: *base
    num_nodes: 3
""")
    spec, diagnostics = load_stack(["s.yaml"])
    # `x-base` is not a spec key: anchors must live inside known keys (here: defaults would be the way).
    assert spec is None
    assert diagnostics[0].format().startswith("s.yaml:2:1: error: x-base: unknown key 'x-base'")
    write(work, "t.yaml", """
clusters:
  a: &base
    instance_type: 8xH200
    num_nodes: 2
  b:
    <<: *base
    num_nodes: 3
""")
    spec, _ = load_ok(["t.yaml"])
    assert (spec.clusters["b"].instance_type, spec.clusters["b"].num_nodes) == ("8xH200", 3)


# --- content hash ---------------------------------------------------------------------------------


def test_content_hash_is_stable_and_follows_content(work):
    write(work, "one/s.yaml", "clusters:\n  a: {instance_type: 1xH100}\n")
    write(work, "two/s.yaml", "clusters:\n  a: {instance_type: 1xH100}\n")
    first, _ = load_ok(["one/s.yaml"])
    again, _ = load_ok(["one/s.yaml"])
    elsewhere, _ = load_ok(["two/s.yaml"])
    assert first.content_hash == again.content_hash == elsewhere.content_hash
    assert len(first.content_hash) == 64
    write(work, "one/s.yaml", "clusters:\n  a: {instance_type: 2xH100}\n")
    changed, _ = load_ok(["one/s.yaml"])
    assert changed.content_hash != first.content_hash


def test_content_hash_covers_names_and_order():
    assert content_hash([("a.yaml", b"x"), ("b.yaml", b"y")]) == content_hash([("b.yaml", b"y"), ("a.yaml", b"x")])
    assert content_hash([("a.yaml", b"x")]) != content_hash([("b.yaml", b"x")])
    assert content_hash([("a.yaml", b"xy")]) != content_hash([("a.yaml", b"x"), ("y", b"")])


# --- the source map -------------------------------------------------------------------------------


def test_source_map_points_at_keys_and_values():
    doc = load_yaml(b"clusters:\n  t:\n    num_nodes: 2\n    public_keys:\n      - k\n    empty:\n", "f.yaml")
    smap = doc.source_map
    assert smap.key(("clusters", "t", "num_nodes")) == SourceRef("f.yaml", 3, 5)
    assert smap.value(("clusters", "t", "num_nodes")) == SourceRef("f.yaml", 3, 16)
    assert smap.value(("clusters", "t", "public_keys", 0)) == SourceRef("f.yaml", 5, 9)
    assert smap.key(("clusters", "t", "public_keys", 0)) is None
    assert smap.value(("clusters", "t", "empty")) == SourceRef("f.yaml", 6, 5)  # an empty value: its key
    assert smap.locate(("clusters", "t", "missing", "deeper")) == SourceRef("f.yaml", 2, 3)
    assert smap.value(()) == SourceRef("f.yaml", 1, 1)


@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pure-python"])
def test_the_source_map_keeps_places_not_the_node_tree(libyaml, monkeypatch):
    """A big stack's node trees are most of its loading memory: each is freed once its file is built."""
    if not libyaml:
        monkeypatch.setattr(yaml_compose, "_CParser", None)

    def nodes() -> int:
        gc.collect()
        return sum(isinstance(o, yaml.nodes.Node) for o in gc.get_objects())

    before = nodes()
    doc = load_yaml(b"base: &b\n  kept:\n  size: 2\nclusters:\n  t:\n    <<: *b\n    size: 3\n    list: [1, {a: }]\n",
                    "f.yaml")
    assert doc.diagnostics == [] and nodes() <= before
    smap = doc.source_map
    assert smap.value(("clusters", "t", "kept")) == SourceRef("f.yaml", 2, 3)  # merged and empty: its key
    assert smap.value(("clusters", "t", "size")) == SourceRef("f.yaml", 7, 11)  # the mapping's own key wins
    assert smap.value(("clusters", "t", "list", 1, "a")) == SourceRef("f.yaml", 8, 16)
    assert ("clusters", "t", "list", 0) in smap and ("clusters", "t", "nope") not in smap


@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pure-python"])
def test_a_repeated_key_names_its_first_place_and_each_mapping_is_indexed_once(libyaml, monkeypatch):
    """Every repeat of a key names the key's first place; a mapping's first places are found in one pass, once,
    however many of its keys repeat (a hostile file of n keys each given twice costs n, not n squared)."""
    from tpdeclare.spec import yaml_values

    if not libyaml:
        monkeypatch.setattr(yaml_compose, "_CParser", None)
    passes = []
    real = yaml_values._first_places
    monkeypatch.setattr(yaml_values, "_first_places", lambda node: passes.append(node) or real(node))
    n = 300
    keys = "".join(f"    k{i}: {i}\n" for i in range(n))
    raw = f"clusters:\n  t:\n{keys}{keys}    k0: again\n    1: one\n    '1': quoted\n    ok: x\n".encode()
    doc = load_yaml(raw, "f.yaml")
    said = [(d.line, d.summary) for d in doc.diagnostics]
    want = [(3 + n + i, f"duplicate key 'k{i}': first defined at line {3 + i}, column 5") for i in range(n)]
    want += [(3 + 2 * n, "duplicate key 'k0': first defined at line 3, column 5"),
             (5 + 2 * n, f"duplicate key '1': first defined at line {4 + 2 * n}, column 5")]
    assert said == want
    assert len(passes) == 1  # the one mapping with repeats, indexed once
    assert load_yaml(b"a:\n  b: 1\n  c: 2\n", "f.yaml").diagnostics == [] and len(passes) == 1  # no repeats


def test_scalars_are_plain_json_values():
    doc = load_yaml(b"a: 1\nb: 2.5\nc: true\nd: ~\ne: 2024-01-01\nf: '7'\ng: 0x10\n", "f.yaml")
    assert doc.data == {"a": 1, "b": 2.5, "c": True, "d": None, "e": "2024-01-01", "f": "7", "g": 16}


def test_pure_python_yaml_gives_the_same_answers(work, monkeypatch):
    write(work, "s.yaml", "clusters:\n  t:\n    instance_type: 8xh100\n")
    with_c = load_stack(["s.yaml"])
    monkeypatch.setattr(yaml_compose, "_CParser", None)
    assert load_stack(["s.yaml"]) == with_c
    monkeypatch.chdir(ROOT)
    assert load_stack(["examples/team"])[0] is not None


def test_loading_valid_specs_does_not_import_jsonschema():
    code = (
        "import sys; from tpdeclare.spec.loader import load_stack; "
        "spec, d = load_stack(['examples/team']); "
        "assert spec is not None and d == [], d; "
        "assert 'jsonschema' not in sys.modules, 'jsonschema imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_a_large_stack_loads(work):
    lines = ["clusters:"]
    for i in range(2_000):
        lines += [f"  c{i}:", "    instance_type: 8xH200", "    num_nodes: 2"]
    write(work, "big.yaml", "\n".join(lines) + "\n")
    spec, _ = load_ok(["big.yaml"])
    assert len(spec.clusters) == 2_000
    assert spec.clusters["c1999"].source == SourceRef("big.yaml", 1 + 3 * 1999 + 1, 3)


# --- what reaches the terminal ------------------------------------------------------------------------


def test_control_characters_of_a_value_are_shown_escaped():
    d = Diagnostic("'a\nb\x1b[2J\u202e' is not valid", file="f\r.yaml", line=1, col=2, path="x\ty",
                   hint="ta\x07b")
    assert d.format() == "f\\r.yaml:1:2: error: x\\ty: 'a\\nb\\x1b[2J\\u202e' is not valid\n  hint: ta\\x07b"
    assert Diagnostic("plain … text", hint="é").format() == "<input>: error: plain … text\n  hint: é"


def test_clusters_and_places_built_without_their_init_are_what_their_init_builds(tmp_path):
    """spec/clusters.py and spec/source_map.py set a ClusterSpec's and a SourceRef's fields directly (no frozen
    __init__): exactly the dataclass's fields, in its order, equal (and alike in repr and hash) to the same values
    given to the constructor."""
    import dataclasses

    path = tmp_path / "s.yaml"
    path.write_text("stack: lab\nclusters:\n  a:\n    instance_type: 8xH200\n    num_nodes: 2\n"
                    f"    public_keys: [\"{KEY_A}\"]\n"
                    "    lifecycle: {prevent_destroy: true, ignore_changes: [name]}\n"
                    "    lifetime: {expires_after: 8h}\n  b:\n    instance_type: 1xH100\n    container: img:1\n")
    spec, problems = load_stack([str(path)])
    assert spec is not None and not problems
    for cluster in spec.clusters.values():
        for value in (cluster, cluster.source):
            names = [f.name for f in dataclasses.fields(value)]
            assert list(vars(value)) == names
            rebuilt = type(value)(**{n: getattr(value, n) for n in names})
            assert rebuilt == value and repr(rebuilt) == repr(value) and hash(rebuilt) == hash(value)
            with pytest.raises(dataclasses.FrozenInstanceError):
                value.address = "x" if isinstance(value, ClusterSpec) else None  # type: ignore[misc]


def _nesting_bound_by_lines(raw: bytes) -> int:
    """The nesting bound written plainly: every line break YAML reads, then the longest indentation prefix."""
    flow = raw.count(b"[") + raw.count(b"{")
    for brk in (b"\r", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9"):
        raw = raw.replace(brk, b"\n")
    prefix = max(len(line) - len(line.lstrip(b" \t?:-")) for line in raw.split(b"\n"))
    if prefix >= yaml_compose._DEEP_PREFIX_COLUMNS:
        return flow + 2 * max(map(len, raw.split(b"\n"))) + 2
    return flow + 2 * yaml_compose._DEEP_PREFIX_COLUMNS + 2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b" ", b" " * 16, b"- ", b"? ", b": ", b"\t", b"a" * 20, b"[", b"{", b"\n", b"\r",
                                 b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9", "é".encode()]), max_size=80))
def test_the_nesting_bound_sees_every_deep_prefix(parts):
    raw = b"".join(parts)
    assert yaml_compose._nesting_bound(raw) == _nesting_bound_by_lines(raw)


@pytest.mark.parametrize("raw", [b"- " * 32 + b"a" * 9, b"x\n" + b" " * 64 + b"a" * 9, b"x\r" + b"-" * 64 + b"a" * 9,
                                 b"x\xe2\x80\xa8" + b"?" * 70, b" " * 63 + b"a" * 20 + b"\n" + b" " * 63 + b"a"])
def test_the_nesting_bound_at_the_edges(raw):
    assert yaml_compose._nesting_bound(raw) == _nesting_bound_by_lines(raw)


# --- the shallow source map: a valid stack reads each file once -----------------------------------

_EVERY_SECTION = f"""\
stack: fleet
defaults:
  instance_type: 1xH100
  public_keys: ["{KEY_A}"]
  lifetime: {{expires_after: 8h}}
budget: {{max_hourly_cost: 500}}
prices: {{H100: 2.5}}
storage:
  data: {{size_gb: 100, name: fleet-data-vol}}
  scratch:
    size_gb: 200
    lifecycle: {{prevent_destroy: true, ignore_changes: [size_gb]}}
clusters:
  trainer:
    instance_type: 8xH200
    num_nodes: 2
    storage: [data, scratch]
    lifecycle: {{prevent_destroy: true, ignore_changes: [container]}}
    lifetime: null
  probe: {{name: fleet-probe-1, public_keys: ["{KEY_B}"], lifetime: {{expires_at: "2030-01-01T00:00:00Z"}}}}
moved:
  - {{from: old-trainer, to: trainer}}
outputs:
  trainer_ssh: clusters.trainer.ssh_command
"""


def _counting_completions(monkeypatch) -> list[str]:
    from tpdeclare.spec import yamlsafe

    completed: list[str] = []
    every_place = yamlsafe._every_place

    def counted(raw, file, *args):
        completed.append(file)
        return every_place(raw, file, *args)

    monkeypatch.setattr(yamlsafe, "_every_place", counted)
    return completed


def test_a_valid_stack_reads_each_file_once(work, monkeypatch):
    """Loading a valid stack asks only for the places of sections and their entries: no file is read again to
    find a deeper one (each is a second parse of the file; a 10,000-cluster stack's would cost 11 MB)."""
    completed = _counting_completions(monkeypatch)
    write(work, "stack/every.yaml", _EVERY_SECTION)
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        write(work, f"examples/{example.name}", example.read_text())
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from gen import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    generate(300, work / "generated", changed=0.1, volumes=0.2)
    for args in (["stack"], *(["examples/" + e.name] for e in sorted((ROOT / "examples").glob("*.yaml"))),
                 ["generated/spec"]):
        spec, diagnostics = load_stack(args)
        assert spec is not None and not [d for d in diagnostics if d.severity == "error"], (args, diagnostics)
    assert completed == []
    assert load_stack(["stack"])[0].clusters["trainer"].source == SourceRef("stack/every.yaml", 14, 3)


def test_a_message_about_a_deep_place_completes_the_map_once(work, monkeypatch):
    completed = _counting_completions(monkeypatch)
    doc = load_yaml(b"clusters:\n  t:\n    num_nodes: 2\n    list: [a, b]\n", "f.yaml")
    smap = doc.source_map
    assert smap.key(("clusters", "t")) == SourceRef("f.yaml", 2, 3) and completed == []
    assert smap.value(("clusters", "t", "list", 1)) == SourceRef("f.yaml", 4, 15)
    assert smap.key(("clusters", "t", "num_nodes")) == SourceRef("f.yaml", 3, 5)
    assert ("clusters", "t", "list", 0) in smap and completed == ["f.yaml"]


def test_every_bad_spec_is_placed_the_same_with_a_shallow_map(tmp_path, monkeypatch):
    """The places every message names are the same whether the map held every place from the start or was
    completed when a message first asked for a deep one."""
    from tpdeclare.spec import source_map, yaml_values, yamlsafe

    from bad_spec_cases import ALL_CASES
    from test_bad_specs import run_case

    completed = _counting_completions(monkeypatch)
    said = {}
    for case in ALL_CASES:
        root = tmp_path / case.id
        root.mkdir()
        monkeypatch.chdir(root)
        said[case.id] = [d.format() for d in run_case(case, root)[1]]
    assert len(completed) > 20  # many messages name deep places
    monkeypatch.setattr(yamlsafe, "SHALLOW", yaml_values.RECORD_ALL)
    monkeypatch.setattr(source_map, "SHALLOW", yaml_values.RECORD_ALL)
    for case in ALL_CASES:
        root = tmp_path / "again" / case.id
        root.mkdir(parents=True)
        monkeypatch.chdir(root)
        assert [d.format() for d in run_case(case, root)[1]] == said[case.id], case.id
