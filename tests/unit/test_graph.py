"""Front end: loading, normalisation passes, cutting, errors (mcuforge.frontend, graph_onnx, npz)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from tests.support.onnx_builders import (F, edge_ops_model, init, keras_like_model, make_model, many_ops_model, run_ort, skl_classifier,
                           torch_like_cnn)
from mcuforge.core.ir import Activation
from mcuforge.core.errors import McufError
from mcuforge.frontend.optable import OPS
from mcuforge.frontend.pipeline import PASSES, load_model, run_passes, verify
from mcuforge.frontend.to_onnx import to_onnx
from mcuforge.frontend.samples import load_samples

RNG = np.random.default_rng(42)


def _same_as_original(model: onnx.ModelProto, graph, n: int = 4, atol: float = 1e-5) -> None:
    for _ in range(n):
        feeds = {t.name: RNG.normal(size=t.shape).astype(np.float32) for t in graph.inputs}
        ref = run_ort(model, feeds)
        got = run_ort(to_onnx(graph), feeds)
        for r, g in zip(ref, got):
            np.testing.assert_allclose(g, r, atol=atol, rtol=1e-5)


def test_torch_like_cnn_normalised_and_equivalent():
    model = torch_like_cnn()
    g = load_model(model)
    ops = [n.op for n in g.nodes]
    # BN folded, Identity/Dropout removed, Shape chain folded into a static Reshape, activations fused
    assert ops == ["Conv", "Conv", "Add", "Conv", "MaxPool", "Reshape", "Gemm"]
    assert g.inputs[0].shape == (1, 3, 8, 8) and g.outputs[0].shape == (1, 10)
    conv1, dw = g.nodes[0], g.nodes[1]
    assert conv1.attrs["activation"] == Activation("Relu")
    assert dw.attrs["activation"] == Activation("Clip", lo=0.0, hi=6.0) and dw.attrs["group"] == 8
    assert dw.attrs["pads"] == (1, 1, 1, 1) and dw.attrs["dilations"] == (1, 1)
    assert len(dw.inputs) == 3 and dw.inputs[2] in g.constants  # bias materialised
    assert g.nodes[5].attrs["shape"] == (1, 64) and g.nodes[5].inputs == ("p",)
    gemm = g.nodes[6]
    assert gemm.attrs == {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 1}
    assert g.constants[gemm.inputs[1]].shape == (10, 64) and g.constants[gemm.inputs[2]].shape == (10,)
    _same_as_original(model, g)


def test_many_ops_equivalent_and_normalised():
    model = many_ops_model()
    g = load_model(model)
    by_name = {n.name: n for n in g.nodes}
    conv = by_name["conv"]
    # SAME_UPPER on 6x6, k3 s2: out 3, total pad 1 -> (0 before, 1 after) per axis
    assert conv.attrs["pads"] == (0, 0, 1, 1) and "auto_pad" not in conv.attrs
    assert conv.attrs["activation"] == Activation("HardSwish")
    assert by_name["concat"].attrs["axis"] == 1 and by_name["softmax"].attrs["axis"] == 1
    assert by_name["pad"].attrs == {"mode": "constant", "pads": (0, 0, 1, 1, 0, 0, 1, 1), "value": 0.0}
    # MatMul by a constant + Add of a constant vector became one Gemm with that bias
    lin = by_name["linear_matmul"]
    assert lin.op == "Gemm" and "linear_add" not in by_name
    np.testing.assert_array_equal(g.constants[lin.inputs[2]], onnx.numpy_helper.to_array(model.graph.initializer[4]))
    _same_as_original(model, g)


def test_unnamed_nodes_get_stable_names():
    g1 = load_model(torch_like_cnn(unnamed=True))
    g2 = load_model(torch_like_cnn(unnamed=True))
    names = [n.name for n in g1.nodes]
    assert names == [n.name for n in g2.nodes]
    assert names[0] == "Conv_0" and "Gemm_20" in names and len(set(names)) == len(names)


def test_standalone_batchnorm_becomes_mul_add():
    rng = np.random.default_rng(0)
    c = 3
    inits = [init(n, v.astype(np.float32)) for n, v in
             (("g", rng.uniform(0.5, 2, c)), ("b", rng.normal(size=c)), ("m", rng.normal(size=c)), ("v", rng.uniform(0.5, 2, c)))]
    nodes = [helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], name="bn")]
    model = make_model(nodes, inits, [helper.make_tensor_value_info("x", F, [1, c, 4, 4])],
                       [helper.make_tensor_value_info("y", F, [1, c, 4, 4])])
    g = load_model(model)
    assert [n.op for n in g.nodes] == ["Mul", "Add"]
    _same_as_original(model, g)


def test_batchnorm_after_gemm_is_folded():
    rng = np.random.default_rng(1)
    # B is [K, N] = [5, 4] (transB = 0); bias C is per output column
    inits = [init("w", rng.normal(size=(5, 4)).astype(np.float32)), init("c", rng.normal(size=4).astype(np.float32))]
    inits += [init(n, v.astype(np.float32)) for n, v in
              (("g", rng.uniform(0.5, 2, 4)), ("b", rng.normal(size=4)), ("m", rng.normal(size=4)), ("v", rng.uniform(0.5, 2, 4)))]
    nodes = [helper.make_node("Gemm", ["x", "w", "c"], ["h"], name="fc", alpha=0.5, beta=2.0),
             helper.make_node("BatchNormalization", ["h", "g", "b", "m", "v"], ["y"], name="bn1d")]
    model = make_model(nodes, inits, [helper.make_tensor_value_info("x", F, [1, 5])],
                       [helper.make_tensor_value_info("y", F, [1, 4])])
    g = load_model(model)
    assert [n.op for n in g.nodes] == ["Gemm"] and not any(n.op == "BatchNormalization" for n in g.nodes)
    _same_as_original(model, g)


def test_unknown_attribute_names_node_and_attribute():
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="my_conv", kernel_shape=[1, 1], fancy=3)]
    model = make_model(nodes, [init("w", rng.normal(size=(2, 2, 1, 1)).astype(np.float32))],
                       [helper.make_tensor_value_info("x", F, [1, 2, 3, 3])], [helper.make_tensor_value_info("y", F, None)])
    with pytest.raises(McufError, match=r"my_conv.*unknown attribute 'fancy'"):
        load_model(model)


def test_bad_attribute_value_names_node_and_attribute():
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="dilated", dilations=[2, 2])]
    model = make_model(nodes, [init("w", rng.normal(size=(2, 2, 3, 3)).astype(np.float32))],
                       [helper.make_tensor_value_info("x", F, [1, 2, 7, 7])], [helper.make_tensor_value_info("y", F, None)])
    with pytest.raises(McufError, match=r"dilated.*'dilations'"):
        load_model(model)


def test_all_unsupported_nodes_in_one_error():
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="r"),
        helper.make_node("Erf", ["a"], ["b"], name="my_erf"),
        helper.make_node("LRN", ["b"], ["c"], name="my_lrn", size=3),
        helper.make_node("FancyOp", ["c"], ["y"], name="custom", domain="com.example"),
    ]
    model = make_model(nodes, [], [helper.make_tensor_value_info("x", F, [1, 2, 3, 3])],
                       [helper.make_tensor_value_info("y", F, None)],
                       extra_opsets=[helper.make_opsetid("com.example", 1)])
    with pytest.raises(McufError) as e:
        load_model(model)
    msg = str(e.value)
    for name, op, domain in (("my_erf", "Erf", "ai.onnx"), ("my_lrn", "LRN", "ai.onnx"), ("custom", "FancyOp", "com.example")):
        assert f"{name}: {op} (domain '{domain}')" in msg
    assert "3 unsupported node(s)" in msg
    assert "--outputs a" in msg  # the unsupported tail starts right after Relu's output


def test_skl_classifier_error_suggests_outputs_and_cut_works():
    model = skl_classifier()
    with pytest.raises(McufError) as e:
        load_model(model)
    msg = str(e.value)
    assert "ArgMax" in msg and "ZipMap" in msg and "ArrayFeatureExtractor" in msg
    assert "--outputs probabilities" in msg
    g = load_model(model, outputs=["probabilities"])
    assert [t.name for t in g.outputs] == ["probabilities"]
    assert all(n.domain == "" for n in g.nodes) and "ArgMax" not in [n.op for n in g.nodes]
    # reference: the MLP in numpy on the original initializers
    w = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    x = RNG.normal(size=(1, 4)).astype(np.float32)
    h = np.maximum(x @ w["coef0"] + w["int0"], 0) @ w["coef1"] + w["int1"]
    ref = np.exp(h - h.max()) / np.exp(h - h.max()).sum()
    got = run_ort(to_onnx(g), {"X": x})[0]
    np.testing.assert_allclose(got, ref, atol=1e-5)
    # and the label path agrees with onnxruntime on the full model
    label = run_ort(model, {"X": x}, ["array_feature_extractor_result"])[0]
    assert int(np.ravel(label)[0]) == int(got.argmax())


def test_outputs_cut_unknown_tensor():
    with pytest.raises(McufError, match="no tensor named 'nope'"):
        load_model(torch_like_cnn(), outputs=["nope"])


def test_outputs_cut_inside_cnn():
    model = torch_like_cnn()
    g = load_model(model, outputs=["a"])
    assert [n.op for n in g.nodes] == ["Conv", "Conv", "Add"]
    x = RNG.normal(size=(1, 3, 8, 8)).astype(np.float32)
    full = model.SerializeToString()
    m2 = onnx.load_from_string(full)
    m2.graph.output.append(helper.make_tensor_value_info("a", F, None))
    ref = run_ort(m2, {"x": x}, ["a"])[0]
    np.testing.assert_allclose(run_ort(to_onnx(g), {"x": x})[0], ref, atol=1e-5)


def test_qdq_model_from_elsewhere():
    """A QDQ model: DQ of int8 weights folds to float constants, activation Q/DQ are recorded."""
    rng = np.random.default_rng(3)
    wq = rng.integers(-127, 128, size=(4, 3, 1, 1)).astype(np.int8)
    inits = [init("wq", wq), init("ws", np.full(4, 0.01, np.float32)), init("wz", np.zeros(4, np.int8)),
             init("xs", np.array(0.05, np.float32)), init("xz", np.array(3, np.int8))]
    N = helper.make_node
    nodes = [N("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="q_x"),
             N("DequantizeLinear", ["xq", "xs", "xz"], ["xd"], name="dq_x"),
             N("DequantizeLinear", ["wq", "ws", "wz"], ["w"], name="dq_w", axis=0),
             N("Conv", ["xd", "w"], ["y"], name="conv")]
    model = make_model(nodes, inits, [helper.make_tensor_value_info("x", F, [1, 3, 2, 2])],
                       [helper.make_tensor_value_info("y", F, None)])
    g = load_model(model)
    assert [n.op for n in g.nodes] == ["Conv"] and g.nodes[0].inputs[0] == "x"
    np.testing.assert_allclose(g.constants[g.nodes[0].inputs[1]], wq.astype(np.float32) * 0.01, rtol=1e-6)
    qp = g.source_qparams["x"]
    assert float(qp.scale) == pytest.approx(0.05) and int(qp.zero_point) == 3 and qp.bits == 8 and qp.signed


def test_old_opset_attribute_forms():
    """Opset 10: Clip min/max and Pad pads as attributes."""
    N = helper.make_node
    nodes = [N("Pad", ["x"], ["p"], name="pad", pads=[0, 0, 1, 0, 0, 0, 0, 2], value=0.5),
             N("Clip", ["p"], ["y"], name="clip", min=-0.25, max=0.75)]
    model = make_model(nodes, [], [helper.make_tensor_value_info("x", F, [1, 2, 3, 3])],
                       [helper.make_tensor_value_info("y", F, None)], opset=10)
    g = load_model(model)
    assert g.node("clip").attrs == {"min": -0.25, "max": 0.75}
    assert g.node("pad").attrs["pads"] == (0, 0, 1, 0, 0, 0, 0, 2)
    _same_as_original(model, g)


def test_passes_are_a_named_table_and_verifier_catches_bugs():
    names = [n for n, _ in PASSES]
    assert names[0] == "check_ops" and "fold_batchnorm" in names and "fuse_activations" in names
    assert set(OPS) >= {"Conv", "Gemm", "MatMul", "Add", "Mul", "Softmax", "Pad", "QuantizeLinear"}
    g = load_model(torch_like_cnn())

    def broken(graph):  # drops the first node: its output is then read before being produced
        return graph.__class__(graph.name, graph.nodes[1:], graph.inputs, graph.outputs, graph.tensors, graph.constants)

    with pytest.raises(RuntimeError, match="after pass 'broken'"):
        run_passes(g, [("broken", broken)])
    verify(g)


def test_dynamic_non_batch_dim_is_rejected():
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    model = make_model(nodes, [], [helper.make_tensor_value_info("x", F, ["N", "C"])],
                       [helper.make_tensor_value_info("y", F, None)])
    with pytest.raises(McufError, match=r"input 'x' has a dynamic dimension 1"):
        load_model(model)


# ---------------------------------------------------------------------------------------------- npz


def test_load_samples_shapes(tmp_path):
    g = load_model(torch_like_cnn())
    x = RNG.normal(size=(5, 1, 3, 8, 8)).astype(np.float32)
    cases = {"one": (x[0], 1), "n_full": (x, 5), "n_batch1": (x[:, 0], 5)}
    for tag, (arr, n) in cases.items():
        p = tmp_path / f"{tag}.npz"
        np.savez(p, x=arr, labels=np.arange(n))
        samples, labels = load_samples(p, g)
        assert len(samples) == n and all(s["x"].shape == (1, 3, 8, 8) for s in samples), tag
        np.testing.assert_array_equal(labels, np.arange(n))
        np.testing.assert_array_equal(samples[-1]["x"].reshape(-1), arr.reshape(n, -1)[-1])
    np.savez(tmp_path / "nolabels.npz", x=x[0])
    assert load_samples(tmp_path / "nolabels.npz", g)[1] is None


def test_load_samples_errors(tmp_path):
    g = load_model(torch_like_cnn())
    np.savez(tmp_path / "missing.npz", y=np.zeros((1, 3, 8, 8), np.float32))
    with pytest.raises(McufError, match=r"no array named 'x'"):
        load_samples(tmp_path / "missing.npz", g)
    np.savez(tmp_path / "bad.npz", x=np.zeros((2, 3, 7, 8), np.float32))
    with pytest.raises(McufError, match=r"shape \[2, 3, 7, 8\]; expected \[1, 3, 8, 8\]"):
        load_samples(tmp_path / "bad.npz", g)


def test_keras_tf2onnx_like_model():
    model = keras_like_model()
    g = load_model(model)
    assert g.inputs[0].shape == (1, 9, 9, 3)
    assert [n.op for n in g.nodes] == ["Transpose", "Conv", "Conv", "GlobalAveragePool", "Reshape", "Gemm", "Softmax"]
    conv = g.nodes[1]
    # SAME_UPPER, 9 -> ceil(9 / 2) = 5: total pad (5 - 1) * 2 + 3 - 9 = 2 -> 1 before, 1 after
    assert conv.attrs["pads"] == (1, 1, 1, 1) and conv.attrs["activation"] == Activation("Clip", lo=0.0, hi=6.0)
    _same_as_original(model, g)


def test_model_quantized_by_onnxruntime(tmp_path):
    """A QDQ model written by onnxruntime's quantize_static loads as a float graph (weights
    dequantized, activation Q/DQ pairs recorded in source_qparams) close to the original."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    model = torch_like_cnn()
    src, dst = tmp_path / "float.onnx", tmp_path / "qdq.onnx"
    onnx.save(to_onnx(load_model(model)), str(src))
    xs = [RNG.normal(size=(1, 3, 8, 8)).astype(np.float32) for _ in range(8)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter({"x": x} for x in xs)

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    g = load_model(dst)
    assert not any(n.op in ("QuantizeLinear", "DequantizeLinear") for n in g.nodes)
    assert {"Conv", "Add", "MaxPool", "Gemm"} <= {n.op for n in g.nodes}
    assert "x" in g.source_qparams and g.source_qparams["x"].bits == 8
    assert len(g.source_qparams) >= 5
    for x in xs[:3]:
        ref = run_ort(model, {"x": x})[0]
        got = run_ort(to_onnx(g), {"x": x})[0]
        assert np.abs(got - ref).max() <= 0.05 * np.abs(ref).max()


def test_edge_ops_equivalent():
    model = edge_ops_model()
    g = load_model(model)
    ops = {n.name: n for n in g.nodes}
    assert [n.op for n in g.nodes] == ["Mul", "Add", "Pad", "MaxPool", "AveragePool", "Add", "Concat", "Transpose", "MatMul"]
    assert ops["add"].attrs["activation"] == Activation("Sigmoid") and ops["matmul"].attrs["activation"].kind == "LeakyRelu"
    assert ops["maxpool"].attrs["ceil_mode"] == 1 and ops["avgpool"].attrs["count_include_pad"] == 1
    _same_as_original(model, g)
