"""The spec's `storage:` section and each cluster's `storage:` list (issue 15): values and placed refusals."""

from __future__ import annotations

from tpdeclare.spec.loader import load_stack
from tpdeclare.spec.model import VolumeSpec
from tpdeclare.spec.storage import can_take_volumes

from e2e_helpers import write


def load(tmp_path, text):
    path = write(tmp_path / "st.yaml", text)
    spec, diagnostics = load_stack([str(path)])
    return spec, [d.format() for d in diagnostics], str(path)


def test_volumes_load_with_their_default_names_and_clusters_list_them(tmp_path):
    spec, diags, _ = load(tmp_path, """
        storage:
          data: {size_gb: 500}
          ckpt: {size_gb: 100, name: my-ckpt, deletion_protection: true, lifecycle: {prevent_destroy: true,
                 ignore_changes: [size_gb]}}
        clusters:
          trainer: {instance_type: 8xH200, num_nodes: 2, storage: [data, ckpt]}
          cpu: {instance_type: 32xCPU, storage: [data]}
        """)
    assert spec is not None, diags
    assert spec.volumes == {
        "data": VolumeSpec("data", 500, "st-data", source=spec.volumes["data"].source),
        "ckpt": VolumeSpec("ckpt", 100, "my-ckpt", True, True, frozenset({"size_gb"}),
                           source=spec.volumes["ckpt"].source),
    }
    assert spec.clusters["trainer"].storage == ("data", "ckpt")
    assert spec.clusters["cpu"].storage == ("data",)  # a volume may serve several clusters
    assert "storage" not in spec.clusters["trainer"].fields()  # attachments are planned apart from fields


def test_each_refusal_is_placed_and_says_the_fix(tmp_path):
    spec, diags, path = load(tmp_path, """
        storage:
          data: {size_gb: 500}
        clusters:
          box: {instance_type: 1xH100, storage: [dta, data, data]}
        """)
    assert spec is None
    assert diags == [
        f"{path}:4:41: error: clusters.box.storage: cluster 'box' (1xH100, 1 node) cannot take storage volumes\n"
        "  hint: TensorPool attaches volumes only to multi-node GPU clusters (num_nodes: 2 or more) and CPU "
        "instances (e.g. 32xCPU); remove `storage:` or change the cluster",
        f"{path}:4:42: error: clusters.box.storage[0]: cluster 'box' attaches volume 'dta', which is not declared"
        " in `storage`\n  hint: did you mean 'data'?",
        f"{path}:4:53: error: clusters.box.storage[2]: volume 'data' is attached twice to cluster 'box': first at "
        f"{path}:4:47\n  hint: list each volume once",
    ]


def test_schema_refusals_and_duplicate_names(tmp_path):
    spec, diags, path = load(tmp_path, """
        stack: s
        storage:
          a: {size_gb: 0}
          b: {size_gb: 10, name: s-c}
          c: {size_gb: 10}
        clusters: {}
        """)
    assert spec is None
    assert any(d.startswith(f"{path}:3:") and "size_gb" in d for d in diags), diags
    assert any(d.startswith(f"{path}:5:") and "storage name 's-c' is also the name of volume 'b'" in d
               for d in diags), diags


def test_an_unknown_volume_with_nothing_close_says_how_to_declare_it(tmp_path):
    _, diags, _ = load(tmp_path, """
        clusters:
          t: {instance_type: 8xB200, num_nodes: 2, storage: [zzz]}
        """)
    assert diags[0].endswith("hint: declare it under the top-level `storage:` (e.g. `storage: {zzz: {size_gb: 500}}`)"
                             ", or remove it from this list")


def test_which_clusters_can_take_volumes():
    assert can_take_volumes("8xH200", 2) and can_take_volumes("32xCPU", 1) and can_take_volumes("64xCPU", 1)
    assert not can_take_volumes("8xH200", 1) and not can_take_volumes("1xH100", 1)
    assert can_take_volumes("weird", 1)  # a type of unknown form is left to the server
