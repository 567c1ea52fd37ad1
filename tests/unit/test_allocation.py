"""Per-layer precision from an allocation file (mcuforge.allocate.plan): reading, checking, planning
conversions, and the round trip through `compile --allocation` (no C compiler needed)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mcuforge.allocate.plan import plan_precisions, read_allocation
from mcuforge.core.errors import McufError
from mcuforge.core.precision import UNIFORM, Precision
from mcuforge.frontend.pipeline import load_model

MODELS = Path(__file__).resolve().parent.parent / "models"
MNIST = MODELS / "mnist_cnn.onnx"  # Conv, MaxPool, Conv, MaxPool, Reshape, Gemm


@pytest.fixture(scope="module")
def graph():
    return load_model(MNIST)


def _write(tmp_path, doc) -> Path:
    p = tmp_path / "alloc.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def test_named_layers_get_their_precision_the_rest_the_default(graph, tmp_path):
    path = _write(tmp_path, {"layers": [{"name": "node_conv2d", "weights": "fp32", "activations": "fp32", "cost": 5},
                                        {"name": "node_linear", "weights": "fp16"},
                                        {"name": "node_view", "activations": "fp32"}]})
    fixed = read_allocation(path, graph)
    assert fixed == {"node_conv2d": UNIFORM["fp32"], "node_linear": UNIFORM["fp16"], "node_view": UNIFORM["fp32"]}
    plan = plan_precisions(graph, UNIFORM["int8"], fixed)
    assert plan.of("node_conv2d_1") == UNIFORM["int8"] and plan.of("node_linear") == Precision("fp16", "fp16")
    # the input is read by an fp32 conv only: converted straight from the caller's floats
    assert plan.tensors["x"] == "fp32"
    conv = {(c.tensor, c.src, c.dst) for c in plan.conversions}
    # conv1 (fp32) -> maxpool (int8): quantize; reshape (fp32) -> linear (fp16): to FP16;
    # maxpool_1 (int8) -> reshape (fp32): dequantize
    relu = graph.node("node_conv2d").outputs[0]
    assert (relu, "fp32", "int8") in conv
    assert (graph.node("node_view").outputs[0], "fp32", "fp16") in conv
    assert (graph.node("node_max_pool2d_1").outputs[0], "int8", "fp32") in conv
    assert len(plan.conversions) == 3
    assert plan.reads("node_max_pool2d", relu) != relu and plan.reads("node_conv2d", "x") == "x"


def test_a_uniform_plan_has_no_conversions(graph):
    plan = plan_precisions(graph, UNIFORM["int8"])
    assert plan.conversions == () and plan.name == "int8" and set(plan.tensors.values()) == {"int8"}


@pytest.mark.parametrize("doc, words", [
    ('{"layers": [', "not valid JSON"),
    ({"layer": []}, '"layers" list'),
    ({"layers": [{"weights": "int8"}]}, '"name"'),
    ({"layers": [{"name": "conv1", "weights": "int8"}]}, "'conv1', which is not a layer"),
    ({"layers": [{"name": "node_conv2d", "weights": "int3"}]}, "weights 'int3' is not one of"),
    ({"layers": [{"name": "node_conv2d", "weights": "int4", "activations": "fp16"}]}, "not a supported combination"),
    ({"layers": [{"name": "node_conv2d", "weights": "int8", "activations": "fp16"}]}, "not a supported combination"),
    ({"layers": [{"name": "node_conv2d", "weights": "int8", "bits": 4}]}, "'bits' 4 contradicts"),
    ({"layers": [{"name": "node_conv2d", "weights": "fp32"}, {"name": "node_conv2d", "weights": "fp32"}]},
     "named twice"),
    ({"layers": [{"name": "node_view", "weights": "int8", "activations": "fp32"}]}, "has no weight format"),
])
def test_bad_allocation_files_are_refused_clearly(graph, tmp_path, doc, words):
    with pytest.raises(McufError) as e:
        read_allocation(_write(tmp_path, doc), graph)
    assert words in str(e.value) and "alloc.json" in str(e.value)


def test_unknown_name_lists_the_valid_layers(graph, tmp_path):
    with pytest.raises(McufError) as e:
        read_allocation(_write(tmp_path, {"layers": [{"name": "fc", "weights": "fp32"}]}), graph)
    for n in graph.nodes:
        assert f"'{n.name}'" in str(e.value)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcuforge.cli", *args], capture_output=True, text=True)


def test_allocation_json_round_trips_through_compile(tmp_path):
    """A compile's own allocation.json, edited and given back, fixes exactly the edited layers."""
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=np.random.default_rng(0).standard_normal((8, 1, 1, 28, 28)).astype(np.float32))
    first = _cli("compile", str(MNIST), "--calib", str(calib), "--target", "host", "--precision", "int8",
                 "--out", str(tmp_path / "a"), "--quiet")
    assert first.returncode == 0, first.stderr
    doc = json.loads((tmp_path / "a" / "allocation.json").read_text())
    assert {(r["weights"], r["activations"]) for r in doc["layers"] if r["op"] == "Conv"} == {("int8", "int8")}
    assert all(r["weights"] is None for r in doc["layers"] if r["op"] in ("MaxPool", "Reshape"))
    for r in doc["layers"]:
        if r["name"] == "node_linear":
            r["weights"], r["activations"], r["bits"] = "fp32", "fp32", 32
    edited = _write(tmp_path, doc)
    second = _cli("compile", str(MNIST), "--calib", str(calib), "--target", "host", "--precision", "int8",
                  "--allocation", str(edited), "--out", str(tmp_path / "b"), "--quiet")
    assert second.returncode == 0, second.stderr
    again = json.loads((tmp_path / "b" / "allocation.json").read_text())
    before = {r["name"]: (r["weights"], r["activations"]) for r in doc["layers"]}
    after = {r["name"]: (r["weights"], r["activations"]) for r in again["layers"]}
    assert after == before and again["precision"] == "mixed"
    assert [(c["name"], c["from"], c["to"]) for c in again["conversions"]] == [("convert view", "int8", "fp32")]
    # and the third compile from the mixed allocation.json as written changes nothing
    third = _cli("compile", str(MNIST), "--calib", str(calib), "--target", "host", "--precision", "int8",
                 "--allocation", str(tmp_path / "b" / "allocation.json"), "--out", str(tmp_path / "c"), "--quiet")
    assert third.returncode == 0, third.stderr
    assert json.loads((tmp_path / "c" / "allocation.json").read_text())["layers"] == again["layers"]


def test_cli_refuses_a_bad_allocation_with_exit_2(tmp_path):
    bad = _write(tmp_path, {"layers": [{"name": "nope", "weights": "int8"}]})
    proc = _cli("compile", str(MNIST), "--target", "host", "--precision", "fp32", "--allocation", str(bad),
                "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "'nope'" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_int8_layers_without_calibration_are_refused(tmp_path):
    alloc = _write(tmp_path, {"layers": [{"name": "node_linear", "weights": "int8", "activations": "int8"}]})
    proc = _cli("compile", str(MNIST), "--target", "host", "--precision", "fp32", "--allocation", str(alloc),
                "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--calib" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("flags, precision", [(("--bits", "4"), "int4"), (("--precision", "int2"), "int2"),
                                               (("--bits", "8"), "int8")])
def test_one_bit_width_compiles_every_layer_at_it(tmp_path, flags, precision):
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=np.random.default_rng(0).standard_normal((4, 1, 1, 28, 28)).astype(np.float32))
    proc = _cli("compile", str(MNIST), "--calib", str(calib), "--target", "host", *flags,
                "--out", str(tmp_path / "o"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "o" / "allocation.json").read_text())
    want = {"int8": 8, "int4": 4, "int2": 2}[precision]
    assert doc["precision"] == precision
    assert {r["bits"] for r in doc["layers"] if r["weights"]} == {want}
    assert {r["activations"] for r in doc["layers"]} == {"int8"}


@pytest.mark.parametrize("flags, words", [(("--precision", "fp32", "--bits", "4"), "--bits lists candidates"),
                                           (("--bits", "3"), "weight widths are 8, 4 or 2")])
def test_bits_that_cannot_be_honoured_are_refused(tmp_path, flags, words):
    proc = _cli("compile", str(MNIST), "--target", "host", *flags, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr
