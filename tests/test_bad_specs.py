"""Every bad spec in the table is refused with the words users must read: place, YAML path, summary, hint."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tpdeclare.diagnostics import Diagnostic
from tpdeclare.spec.loader import load_stack

from bad_spec_cases import ALL_CASES, CASES, CORPORA, MANY_ERRORS, SSH_KEY_CASES, BadSpec


def run_case(case: BadSpec, root) -> tuple[object, list[Diagnostic], str]:
    args = case.write(root)
    kwargs = {} if case.max_bytes is None else {"max_bytes": case.max_bytes}
    with case.feeding(root):
        spec, diagnostics = load_stack(args, **kwargs)
    return spec, diagnostics, "\n".join(d.format() for d in diagnostics)


def test_the_table_is_big_enough():
    assert len(CASES) >= 30
    assert {name: len(corpus) >= 10 for name, corpus in CORPORA.items()} == dict.fromkeys(CORPORA, True)
    assert len({c.id for c in ALL_CASES}) == len(ALL_CASES)


def test_every_ssh_key_refusal_says_one_key_per_entry(tmp_path, monkeypatch):
    for case in SSH_KEY_CASES:
        root = tmp_path / case.id
        root.mkdir()
        monkeypatch.chdir(root)
        _, diagnostics, _ = run_case(case, root)
        assert all("one key per entry" in (d.hint or "") for d in diagnostics), case.id


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_bad_spec_is_refused_with_place_and_words(case: BadSpec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec, diagnostics, text = run_case(case, tmp_path)
    assert spec is None, text
    errors = [d for d in diagnostics if d.severity == "error"]
    assert errors, text
    for expected in case.expect:
        assert expected in text, f"{expected!r} not in:\n{text}"
    if case.errors is not None:
        assert len(errors) == case.errors, text
    assert diagnostics == sorted(diagnostics, key=Diagnostic.sort_key)
    for d in errors:
        assert d.file, text  # every error names a file (or directory)
        assert "Traceback" not in d.format()


def test_a_pasted_private_key_is_never_echoed(tmp_path, monkeypatch):
    [case] = [c for c in SSH_KEY_CASES if c.id == "ssh-key-private-key"]
    monkeypatch.chdir(tmp_path)
    _, _, text = run_case(case, tmp_path)
    assert "PRIVATE KEY" not in text and "b3BlbnNzaC1rZXkt" not in text


def test_every_error_of_a_run_is_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec, diagnostics, text = run_case(MANY_ERRORS, tmp_path)
    assert spec is None
    lines = [line for line in text.splitlines() if not line.startswith("  hint:")]
    assert lines == list(MANY_ERRORS.expect)


def test_paths_are_reported_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "x.yaml").write_text("clusters:\n  t:\n    instance_type: 8xh100\n")
    for arg, shown in (("specs", "specs/x.yaml"), ("./specs/", "./specs/x.yaml"), ("specs/x.yaml", "specs/x.yaml")):
        _, diagnostics = load_stack([arg])
        assert diagnostics[0].file == shown


# --- fuzzing: whatever the bytes, load_stack answers with diagnostics and never raises ---------------

_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_YAMLISH = st.lists(
    st.sampled_from([
        "clusters:", "  t:", "    instance_type: 1xH100", "    num_nodes: 2", "  - a", "- ", ": ", "&a ", "*a",
        "<<: *a", "!!python/object:os.system", "!!str", "{", "}", "[", "]", "\t", "'", '"', "#", "---", "? ",
        "stack: x", "defaults: {}", "moved:", "  - {from: a, to: t}", "\u00e9", "\x00", "\ufeff", "~", ".inf",
    ]) | st.text(max_size=8),
    max_size=30,
).map("\n".join)


@_FUZZ
@given(data=st.binary(max_size=2_000))
def test_arbitrary_bytes_never_raise(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "spec.yaml"
    path.write_bytes(data)
    spec, diagnostics = load_stack([str(path)])
    assert spec is not None or any(d.severity == "error" for d in diagnostics)
    for d in diagnostics:
        d.format()


@_FUZZ
@given(text=st.text(max_size=500) | _YAMLISH)
def test_arbitrary_text_never_raises(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "spec.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    spec, diagnostics = load_stack([str(path)])
    assert spec is not None or any(d.severity == "error" for d in diagnostics)
    for d in diagnostics:
        assert d.file
        d.format()


_KEYS = st.sampled_from([
    "stack", "defaults", "budget", "prices", "clusters", "moved", "instance_type", "num_nodes", "name",
    "container", "deletion_protection", "public_keys", "lifecycle", "prevent_destroy", "ignore_changes",
    "max_hourly_cost", "from", "to", "H100", "trainer", "a", "Bad_Key", "num_node",
])
_LEAVES = st.none() | st.booleans() | st.integers(-3, 100) | st.floats(allow_nan=False, allow_infinity=False) \
    | st.sampled_from(["1xH100", "8xH200", "8xh100", "H100x8", "8xMI300X", "demo", "x", "", "container",
                       "ssh-ed25519 AAAA k", "a", "t", "Upper"]) | st.text(max_size=5)
_VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
                       max_leaves=25)


@settings(_FUZZ, max_examples=150)
@given(doc=st.dictionaries(_KEYS, _VALUES, max_size=6), extra=st.dictionaries(_KEYS, _VALUES, max_size=3))
def test_arbitrary_documents_never_raise(doc, extra, tmp_path_factory):
    import yaml

    root = tmp_path_factory.mktemp("fuzz")
    (root / "a.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    (root / "b.yaml").write_text(yaml.safe_dump({"clusters": extra}), encoding="utf-8")
    spec, diagnostics = load_stack([str(root)])
    assert spec is not None or any(d.severity == "error" for d in diagnostics)
    for d in diagnostics:
        assert d.file and d.summary
        d.format()
