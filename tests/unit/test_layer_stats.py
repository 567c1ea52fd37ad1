"""Streaming layer-input statistics (mcuforge.quantize.layer_inputs) and SmoothQuant
(mcuforge.quantize.smoothquant) on small float models run by onnxruntime."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import helper

from mcuforge.core.paths import EXAMPLES
from mcuforge.frontend.pipeline import load_model
from mcuforge.frontend.to_onnx import preact_name, to_onnx
from mcuforge.quantize.layer_inputs import (collect_layer_stats, layer_columns, probe_model, weight_from_matrix,
                                            weight_layers, weight_matrix)
from mcuforge.quantize.smoothquant import foldable_producer, input_channel_absmax, smooth_graph
from tests.support.onnx_builders import F, he, init, make_model


def conv_chain_model(seed: int = 0):
    """Conv 3->4 3x3 s2 + Relu -> depthwise 3x3 (asymmetric pads) -> 1x1 conv 4->6 + LeakyRelu ->
    Flatten -> Gemm 150->10 + Relu -> Gemm 10->5 (B not transposed)."""
    rng = np.random.default_rng(seed)
    N = helper.make_node
    inits = [init("wa", he(rng, 4, 3, 3, 3)), init("ba", rng.normal(0, 0.1, 4).astype(np.float32)),
             init("wb", he(rng, 4, 1, 3, 3)), init("bb", rng.normal(0, 0.1, 4).astype(np.float32)),
             init("wc", he(rng, 6, 4, 1, 1)), init("bc", rng.normal(0, 0.1, 6).astype(np.float32)),
             init("wd", he(rng, 10, 150)), init("bd", rng.normal(0, 0.1, 10).astype(np.float32)),
             init("we", he(rng, 10, 5).astype(np.float32)), init("be", rng.normal(0, 0.1, 5).astype(np.float32))]
    nodes = [N("Conv", ["x", "wa", "ba"], ["a"], name="conv_a", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
             N("Relu", ["a"], ["ar"], name="relu_a"),
             N("Conv", ["ar", "wb", "bb"], ["b"], name="dw_b", kernel_shape=[3, 3], pads=[1, 0, 1, 2], group=4),
             N("Conv", ["b", "wc", "bc"], ["c"], name="pw_c", kernel_shape=[1, 1]),
             N("LeakyRelu", ["c"], ["cr"], name="lrelu_c", alpha=0.1),
             N("Flatten", ["cr"], ["f"], name="flat"),
             N("Gemm", ["f", "wd", "bd"], ["d"], name="fc_d", transB=1),
             N("Relu", ["d"], ["dr"], name="relu_d"),
             N("Gemm", ["dr", "we", "be"], ["y"], name="fc_e")]
    return make_model(nodes, inits, [helper.make_tensor_value_info("x", F, [1, 3, 9, 9])],
                      [helper.make_tensor_value_info("y", F, [1, 5])], opset=17)


@pytest.fixture(scope="module")
def chain():
    g = load_model(conv_chain_model())
    rng = np.random.default_rng(1)
    samples = [{"x": rng.normal(size=(1, 3, 9, 9)).astype(np.float32)} for _ in range(7)]
    return g, samples


def _session(graph, extra=()):
    return ort.InferenceSession(probe_model(graph, extra).SerializeToString(), providers=["CPUExecutionProvider"])


def test_columns_times_weight_matrix_is_the_layer_output(chain):
    """im2col columns (strides, asymmetric pads, groups) are ordered as the weight matrix's columns:
    W [N, K] @ X [K, P] per group is the layer's pre-activation output (without bias)."""
    g, samples = chain
    layers = weight_layers(g)
    assert [n.op for n in layers] == ["Conv", "Conv", "Conv", "Gemm", "Gemm"]
    pre = {n.name: preact_name(n.outputs[0]) if "activation" in n.attrs else n.outputs[0] for n in layers}
    ins = [n.inputs[0] for n in layers if n.inputs[0] != "x"]
    sess = _session(g, [*ins, *pre.values()])
    names = [o.name for o in sess.get_outputs()]
    for s in samples[:3]:
        v = dict(zip(names, sess.run(None, s)))
        v["x"] = s["x"]
        for n in layers:
            cols = layer_columns(n, g, v[n.inputs[0]])
            w = weight_matrix(n, g).astype(np.float64)
            groups = cols.shape[0]
            og = w.shape[0] // groups
            out = np.concatenate([w[i * og:(i + 1) * og] @ cols[i] for i in range(groups)], axis=0)
            bias = g.constants[n.inputs[2]].astype(np.float64)
            want = v[pre[n.name]].astype(np.float64)
            if n.op == "Conv":
                want = want[0].reshape(w.shape[0], -1)
                out = out + bias[:, None]
            else:
                want = want.T
                out = out + bias[:, None]
            np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5, err_msg=n.name)


def test_streaming_gram_equals_the_gram_of_the_stacked_inputs(chain):
    g, samples = chain
    stats = collect_layer_stats(g, samples)
    layers = weight_layers(g)
    assert set(stats) == {n.name for n in layers}
    sess = _session(g, [n.inputs[0] for n in layers if n.inputs[0] != "x"])
    names = [o.name for o in sess.get_outputs()]
    outs = [dict(zip(names, sess.run(None, s)), x=s["x"]) for s in samples]
    for n in layers:
        stacked = np.concatenate([layer_columns(n, g, o[n.inputs[0]]) for o in outs], axis=2)  # [G, K, P total]
        st = stats[n.name]
        assert st.gram.dtype == np.float64 and st.samples == len(samples) and st.columns == stacked.shape[2]
        np.testing.assert_allclose(st.gram, np.einsum("gkp,glp->gkl", stacked, stacked), rtol=1e-10, atol=1e-10)
        xs = np.stack([np.abs(o[n.inputs[0]]) for o in outs])
        want = xs.max(axis=(0, 1, 3, 4)) if n.op == "Conv" else xs.max(axis=(0, 1))
        np.testing.assert_allclose(st.absmax, want)
    assert stats["dw_b"].gram.shape == (4, 9, 9)  # depthwise: one Gram matrix per channel
    assert stats["conv_a"].gram.shape == (1, 27, 27)
    only = collect_layer_stats(g, samples, layers=["fc_e"])
    assert list(only) == ["fc_e"]
    np.testing.assert_array_equal(only["fc_e"].gram, stats["fc_e"].gram)


def test_weight_matrix_round_trips(chain):
    g, _ = chain
    for n in weight_layers(g):
        np.testing.assert_array_equal(weight_from_matrix(n, g, weight_matrix(n, g)), g.constants[n.inputs[1]])


def _max_output_difference(g1, g2, samples) -> tuple[float, float]:
    s1 = _session(g1)
    s2 = _session(g2)
    diff, scale = 0.0, 0.0
    for s in samples:
        a = s1.run(None, s)[0]
        b = s2.run(None, s)[0]
        diff = max(diff, float(np.abs(a - b).max()))
        scale = max(scale, float(np.abs(a).max()))
    return diff, scale


def test_smoothquant_keeps_the_float_model(chain):
    g, samples = chain
    stats = collect_layer_stats(g, samples)
    expected = {"dw_b": "conv_a", "pw_c": "dw_b", "fc_e": "fc_d"}  # fc_d reads a Flatten: not foldable
    found = {n.name: p.name for n in weight_layers(g) if (p := foldable_producer(g, n)) is not None}
    assert found == expected
    for alpha in (0.5, 0.8):
        sg, factors = smooth_graph(g, stats, alpha=alpha)
        assert set(factors) == set(expected)
        assert max(float(np.abs(np.log(f)).max()) for f in factors.values()) > 0.1  # a real rescaling
        for n in ("dw_b", "pw_c", "fc_e", "conv_a", "fc_d"):
            assert not np.array_equal(sg.constants[g.node(n).inputs[1]], g.constants[g.node(n).inputs[1]]), n
        diff, scale = _max_output_difference(g, sg, samples)
        assert diff <= 1e-5 * scale, (diff, scale)
        # the smoothed layer's inputs are the old ones divided by s
        new_stats = collect_layer_stats(sg, samples)
        for name, s in factors.items():
            np.testing.assert_allclose(new_stats[name].absmax, stats[name].absmax / s, rtol=1e-4)


def test_smoothquant_on_the_digits_cnn_moves_outliers():
    from mcuforge.demo import digits_split

    g = load_model(EXAMPLES / "digits" / "digits_cnn.onnx")
    x = digits_split()[0][:48]
    samples = [{"input": xi[None]} for xi in x]
    stats = collect_layer_stats(g, samples)
    sg, factors = smooth_graph(g, stats, alpha=0.5)
    assert len(factors) == 2  # the two convs after a conv (one through MaxPool); not the first, not the Gemm
    diff, scale = _max_output_difference(g, sg, samples)
    assert diff <= 1e-5 * scale
    producers = {foldable_producer(g, g.node(name)).name for name in factors}
    last = [name for name in factors if name not in producers]  # weights not rescaled again as a producer
    assert last
    for name in last:
        # alpha = 0.5 equalises the per-channel ranges of activation and weight: max|X_j / s_j| = max|W_j s_j|
        s = factors[name]
        act = stats[name].absmax / s
        w = input_channel_absmax(sg.node(name), sg)
        live = stats[name].absmax > 0
        np.testing.assert_allclose(act[live], w[live], rtol=1e-4)


def test_smoothquant_leaves_layers_without_a_foldable_producer():
    """Clip(0, 6) does not commute with scaling; a tensor with two readers cannot be rescaled for one."""
    rng = np.random.default_rng(2)
    N = helper.make_node
    inits = [init("w1", he(rng, 8, 4)), init("b1", np.zeros(8, np.float32)), init("w2", he(rng, 6, 8)),
             init("b2", np.zeros(6, np.float32)), init("w3", he(rng, 6, 8)), init("b3", np.zeros(6, np.float32)),
             init("lo", np.array(0, np.float32)), init("hi", np.array(6, np.float32)),
             init("w4", he(rng, 3, 6)), init("b4", np.zeros(3, np.float32))]
    nodes = [N("Gemm", ["x", "w1", "b1"], ["h"], transB=1, name="fc1"),
             N("Clip", ["h", "lo", "hi"], ["hc"], name="clip"),
             N("Gemm", ["hc", "w2", "b2"], ["y2"], transB=1, name="fc2"),
             N("Gemm", ["hc", "w3", "b3"], ["y3"], transB=1, name="fc3"),
             N("Add", ["y2", "y3"], ["s"], name="add"),
             N("Gemm", ["s", "w4", "b4"], ["y"], transB=1, name="fc4")]
    m = make_model(nodes, inits, [helper.make_tensor_value_info("x", F, [1, 4])],
                   [helper.make_tensor_value_info("y", F, [1, 3])])
    g = load_model(m)
    stats = collect_layer_stats(g, [{"x": rng.normal(size=(1, 4)).astype(np.float32)} for _ in range(4)])
    sg, factors = smooth_graph(g, stats)
    assert factors == {}
    for k, v in g.constants.items():
        np.testing.assert_array_equal(sg.constants[k], v)
