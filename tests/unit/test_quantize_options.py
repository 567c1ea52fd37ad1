"""quantize_graph's weight-quantization options (method, granularity, stats, weight_only) and the int32
bias overflow fix, checked against onnxruntime on the QDQ export and the integer reference."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from mcuforge.core.errors import McufError
from mcuforge.export.qdq import export_qdq, ort_session
from mcuforge.frontend.pipeline import load_model
from mcuforge.quantize.calibrate import calibrate
from mcuforge.quantize.layer_inputs import collect_layer_stats, weight_layers, weight_matrix
from mcuforge.quantize.layerwise import quantize_layer
from mcuforge.quantize.quantizer import _weight_axis, quantize_graph, quantize_weight
from mcuforge.quantize.reference import run_int
from mcuforge.quantize.weights import layer_objective
from tests.support.onnx_builders import F, init, make_model, torch_like_cnn

RNG = np.random.default_rng(17)


@pytest.fixture(scope="module")
def cnn():
    g = load_model(torch_like_cnn())
    samples = [{"x": RNG.normal(size=(1, 3, 8, 8)).astype(np.float32)} for _ in range(24)]
    return g, samples, calibrate(g, samples, quiet=True), collect_layer_stats(g, samples)


def _agrees_with_onnxruntime(qm, samples, max_step: int = 1) -> None:
    """run_int and onnxruntime on the QDQ export: every activation within `max_step` steps."""
    g = qm.graph
    qdq = export_qdq(qm)
    watched = [t for t in g.tensors if t in qm.tensor_qparams and t not in g.constants]
    qdq.graph.output.extend(helper.make_tensor_value_info(f"{t}_quantized", TensorProto.INT8, None) for t in watched)
    sess = ort_session(qdq)
    names = [o.name for o in sess.get_outputs()]
    for s in samples:
        ref = dict(zip(names, sess.run(None, s)))
        got = run_int(qm, s)
        for t in watched:
            d = np.abs(got[t].astype(np.int64) - ref[f"{t}_quantized"].astype(np.int64))
            assert d.max() <= max_step, t


def test_defaults_are_todays_rtn_per_channel(cnn):
    g, _, ranges, stats = cnn
    qm = quantize_graph(g, ranges, 4)
    explicit = quantize_graph(g, ranges, 4, method="rtn", granularity="oc", scale_search="absmax", stats=stats)
    for n in g.nodes:
        if n.op in ("Conv", "Gemm"):
            w = n.inputs[1]
            q, qp = quantize_weight(g.constants[w], 4, _weight_axis(n, g))
            np.testing.assert_array_equal(qm.qconstants[w], q)
            np.testing.assert_array_equal(qm.tensor_qparams[w].scale, qp.scale)
            np.testing.assert_array_equal(explicit.qconstants[w], q)
    assert dict(qm.weight_only) == {}


@pytest.mark.parametrize("method", ["mse", "gptq", "quantease"])
def test_methods_on_int8_layers(cnn, method):
    """Other methods keep per-OC scales, so the int8 path (export, reference) works unchanged; GPTQ and
    QuantEase lower the layer objectives of the 4-bit model against RTN (not by much here: the random
    inputs are nearly uncorrelated, which leaves little error to compensate)."""
    g, samples, ranges, stats = cnn
    rtn = quantize_graph(g, ranges, 4)
    qm = quantize_graph(g, ranges, 4, method=method, stats=stats)
    total = {"rtn": 0.0, method: 0.0}
    for n in weight_layers(g):
        w = n.inputs[1]
        qp = qm.tensor_qparams[w]
        assert qp.axis == _weight_axis(n, g) and qp.block_size is None and qp.scale.shape == (g.constants[w].shape[0],)
        assert qm.qconstants[w].shape == g.constants[w].shape and np.abs(qm.qconstants[w]).max() <= 7
        for tag, m in (("rtn", rtn), (method, qm)):
            deq = m.qconstants[w].reshape(len(m.tensor_qparams[w].scale), -1) * m.tensor_qparams[w].scale[:, None]
            total[tag] += layer_objective(weight_matrix(n, g), deq, stats[n.name].gram)
    if method != "mse":
        assert total[method] < 0.95 * total["rtn"], total
    _agrees_with_onnxruntime(qm, samples[:6])


def test_option_errors(cnn):
    g, _, ranges, stats = cnn
    with pytest.raises(McufError, match="statistics"):
        quantize_graph(g, ranges, 4, method="gptq")
    with pytest.raises(McufError, match="one weight scale per output channel"):
        quantize_graph(g, ranges, 4, granularity="group", group_size=8, stats=stats)
    with pytest.raises(McufError, match="unknown"):
        quantize_graph(g, ranges, 4, method="awq")
    with pytest.raises(McufError, match="computed in int8"):
        quantize_graph(g, ranges, 4, weight_only=["/fc/Gemm"])
    with pytest.raises(McufError, match="not nodes"):
        quantize_graph(g, ranges, 4, layers=["/conv1/Conv"], weight_only=["nope"])


@pytest.mark.parametrize("granularity", ["oc", "ic", "group", "adadim"])
def test_weight_only_layers(cnn, granularity):
    """A float-activation layer's weights quantized weight-only: WeightOnlyQuant on the [N, K] view,
    per-IC / group-wise as blocked scales; nothing else of the model changes."""
    g, samples, ranges, stats = cnn
    int8 = {n.name for n in g.nodes} - {"/fc/Gemm", "/dw/Conv"}
    base = quantize_graph(g, ranges, 8, layers=int8, method="gptq", stats=stats)
    qm = quantize_graph(g, ranges, {"/fc/Gemm": 2, "/dw/Conv": 4}, layers=int8, method="gptq",
                        granularity={"/fc/Gemm": granularity, "/dw/Conv": "group"}, group_size=16, stats=stats,
                        weight_only=["/fc/Gemm", "/dw/Conv"])
    assert set(qm.weight_only) == {"/fc/Gemm", "/dw/Conv"}
    fc = qm.weight_only["/fc/Gemm"]
    w = weight_matrix(g.node("/fc/Gemm"), g)
    assert fc.values.shape == w.shape and fc.values.dtype == np.int8 and np.abs(fc.values).max() <= 1
    assert fc.qparams.bits == 2 and fc.method == "gptq"
    qp = fc.qparams
    if qp.block_size is None:
        assert fc.granularity == "oc" and qp.axis == 0
        deq = fc.values * qp.scale[:, None]
    else:  # group: 16 columns per scale; ic: 16 input channels (1 column each in a Gemm) per scale
        assert fc.granularity in ("ic", "group") and qp.axis == 1 and qp.scale.shape[0] == w.shape[0]
        assert qp.block_size == 16
        deq = fc.values * qp.scale[:, np.arange(w.shape[1]) // qp.block_size]
        if fc.granularity == "ic":  # one scale per input-channel block, shared by every output channel
            assert np.all(qp.scale == qp.scale[:1])
    if granularity == "adadim":
        assert fc.granularity in ("oc", "ic")
    else:
        assert fc.granularity == granularity
    ref = quantize_layer(g, g.node("/fc/Gemm"), 2, method="gptq", granularity=granularity, group_size=16,
                         stats=stats["/fc/Gemm"])
    np.testing.assert_array_equal(fc.values, ref.q)
    np.testing.assert_array_equal(deq, ref.dequantized())
    dw = qm.weight_only["/dw/Conv"]
    # groups of 16 > K = 9 columns: one scale per output channel, written as such
    assert dw.values.shape == (8, 9) and dw.qparams.axis == 0 and dw.qparams.block_size is None
    assert "/fc/Gemm" not in qm.layers and g.node("/fc/Gemm").inputs[1] not in qm.qconstants
    for name in base.qconstants:
        np.testing.assert_array_equal(qm.qconstants[name], base.qconstants[name])
    assert set(qm.layers) == set(base.layers)


def _bias_model(rows: dict[int, float]) -> tuple:
    """Gemm 8 -> 5 + Relu -> Gemm 5 -> 3, the first with output channels whose weights are all
    `rows[c]` times N(0, 1) (0: all zero) and a nonzero bias everywhere."""
    rng = np.random.default_rng(3)
    w1 = rng.normal(size=(5, 8)).astype(np.float32)
    for c, mag in rows.items():
        w1[c] = mag * rng.normal(size=8).astype(np.float32)
    b1 = np.array([0.3, -0.5, 0.8, 0.2, -0.1], np.float32)
    w2 = rng.normal(size=(3, 5)).astype(np.float32)
    b2 = np.array([0.1, 0.0, -0.2], np.float32)
    N = helper.make_node
    m = make_model([N("Gemm", ["x", "w1", "b1"], ["h"], transB=1, name="fc1"), N("Relu", ["h"], ["hr"], name="relu"),
                    N("Gemm", ["hr", "w2", "b2"], ["y"], transB=1, name="fc2")],
                   [init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2)],
                   [helper.make_tensor_value_info("x", F, [1, 8])], [helper.make_tensor_value_info("y", F, [1, 3])])
    g = load_model(m)
    samples = [{"x": rng.normal(size=(1, 8)).astype(np.float32) * 2} for _ in range(16)]
    return g, samples, calibrate(g, samples, quiet=True)


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_bias_of_a_near_zero_channel_fits_int32(bits):
    """Channel 2 has weights ~1e-9 and bias 0.8: max|w| / qmax as weight scale makes bias / (s_x s_w)
    far beyond int32 (this failed with an int32 overflow error). Its weight scale is raised until the
    bias fits; the all-zero channel 1 and the normal channels keep their scales."""
    g, samples, ranges = _bias_model({1: 0.0, 2: 1e-9})
    qm = quantize_graph(g, ranges, bits)
    fc1 = g.node(g.nodes[0].name)
    w, b = fc1.inputs[1], fc1.inputs[2]
    q_rtn, qp_rtn = quantize_weight(g.constants[w], bits, 0)
    scale = qm.tensor_qparams[w].scale
    s_x = float(qm.tensor_qparams[fc1.inputs[0]].scale)
    keep = [0, 1, 3, 4]
    np.testing.assert_array_equal(scale[keep], qp_rtn.scale[keep])
    np.testing.assert_array_equal(qm.qconstants[w][keep], q_rtn[keep])
    assert scale[2] > 10 * qp_rtn.scale[2]
    assert abs(0.8 / (s_x * float(scale[2])) - 2**30) < 2**10  # just enough: |bias| = 2^30 steps
    assert np.abs(qm.qconstants[b].astype(np.int64)).max() <= 2**30 + 1
    np.testing.assert_allclose(qm.qconstants[b][2] * float(qm.tensor_qparams[b].scale[2]), 0.8, rtol=1e-6)
    _agrees_with_onnxruntime(qm, samples)
