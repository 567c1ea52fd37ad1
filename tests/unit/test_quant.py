"""Calibration and int8 quantization (mcuforge.quantize.calibrate, mcuforge.quantize.quantizer)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from onnx import TensorProto, helper

from tests.support.onnx_builders import (F, edge_ops_model, init, make_model, many_ops_model, run_ort,
                                     torch_like_cnn)
from mcuforge.core.ir import Activation
from mcuforge.quantize.calibrate import activation_tensors, calibrate
from mcuforge.core.errors import McufError
from mcuforge.export.qdq import export_qdq, ort_session
from mcuforge.frontend.pipeline import load_model
from mcuforge.frontend.to_onnx import preact_name, to_onnx
from mcuforge.quantize.reference import run_int
from mcuforge.quantize.quantizer import (activation_lut, activation_qparams, quantize_graph, requant_of,
                             quantize_weight, requantize)

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def cnn():
    g = load_model(torch_like_cnn())
    samples = [{"x": RNG.normal(size=(1, 3, 8, 8)).astype(np.float32)} for _ in range(24)]
    return g, samples, calibrate(g, samples, quiet=True)


# ------------------------------------------------------------------------------------ arithmetic


def test_quantize_multiplier_reproduces_ratio():
    ratios = np.concatenate([10.0 ** RNG.uniform(-9, 3, 500), [1.0, 0.5, 2.0**-20, 1 - 2**-40, 3.0]])
    rq = requant_of(ratios)
    m = rq.multiplier.astype(np.int64)
    assert np.all((m >= 2**30) & (m < 2**31))
    assert np.all(31 - rq.shift.astype(np.int64) <= 62)
    rel = np.abs(rq.ratio() - ratios) / ratios
    assert rel.max() <= 2.0**-31
    zero = requant_of(0.0)
    assert int(zero.multiplier) == 0


def test_requantize_rounds_half_to_even_exactly():
    ratios = 10.0 ** RNG.uniform(-6, 1, 50)
    rq = requant_of(ratios)
    acc = RNG.integers(-(2**24), 2**24, size=(200, 50))
    acc[:5] = [[0], [1], [-1], [2**24 - 1], [-(2**24)]]
    got = requantize(acc, rq.multiplier, rq.shift)
    for i in range(0, 200, 7):
        for j in range(50):
            exact = Fraction(int(acc[i, j]) * int(rq.multiplier[j]), 2 ** (31 - int(rq.shift[j])))
            assert got[i, j] == round(exact)  # Fraction rounds half to even
    # ties go to even: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2
    half = requant_of(0.5)
    np.testing.assert_array_equal(requantize(np.array([5, 7, -5, 3]), half.multiplier, half.shift), [2, 4, -2, 2])


def test_activation_qparams_match_onnxruntime():
    from onnxruntime.quantization.quant_utils import compute_scale_zp

    for lo, hi in [(-1.3, 2.7), (0.0, 6.0), (0.5, 3.0), (-4.0, -1.0), (-0.001, 1e4), (0.0, 0.0)]:
        qp = activation_qparams(lo, hi)
        zp, scale = compute_scale_zp(np.array(lo, np.float32), np.array(hi, np.float32), np.int8(-128), np.int8(127))
        assert float(qp.scale) == float(scale) and int(qp.zero_point) == int(zp), (lo, hi)
        if hi > lo:  # 0 is exactly representable and the range is covered
            assert -128 <= int(qp.zero_point) <= 127


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_quantize_weight_per_channel(bits):
    w = RNG.normal(size=(6, 3, 3, 3)).astype(np.float32) * np.arange(1, 7, dtype=np.float32)[:, None, None, None]
    q, qp = quantize_weight(w, bits, axis=0)
    qmax = 2 ** (bits - 1) - 1
    assert q.dtype == np.int8 and np.abs(q).max() <= qmax and qp.axis == 0 and qp.bits == bits
    np.testing.assert_allclose(qp.scale, np.abs(w).reshape(6, -1).max(1) / qmax, rtol=1e-6)
    assert np.all(np.abs(q).reshape(6, -1).max(1) == qmax)  # each channel uses its full range
    err = np.abs(q * qp.scale[:, None, None, None] - w)
    assert np.all(err <= qp.scale[:, None, None, None] / 2 + 1e-7)
    np.testing.assert_array_equal(qp.zero_point, 0)


def test_activation_lut_matches_onnxruntime():
    """lut[q + 128] must be what onnxruntime's DQ -> act -> Q computes."""
    qin, qout = activation_qparams(-6.0, 5.0), activation_qparams(0.0, 1.0)
    for act, node_attrs in [(Activation("Sigmoid"), {}),
                            (Activation("HardSigmoid", alpha=0.25, beta=0.4), {"alpha": 0.25, "beta": 0.4})]:
        qo = qout if act.kind != "HardSwish" else activation_qparams(-0.5, 5.0)
        inits = [init("si", qin.scale), init("zi", qin.zero_point.astype(np.int8)),
                 init("so", qo.scale), init("zo", qo.zero_point.astype(np.int8))]
        nodes = [helper.make_node("DequantizeLinear", ["q", "si", "zi"], ["f"]),
                 helper.make_node(act.kind, ["f"], ["a"], **node_attrs),
                 helper.make_node("QuantizeLinear", ["a", "so", "zo"], ["y"])]
        m = make_model(nodes, inits, [helper.make_tensor_value_info("q", TensorProto.INT8, [256])],
                       [helper.make_tensor_value_info("y", TensorProto.INT8, [256])])
        ref = run_ort(m, {"q": np.arange(-128, 128).astype(np.int8)})[0]
        np.testing.assert_array_equal(activation_lut(act, qin, qo), ref)


# ------------------------------------------------------------------------------------ calibration


def test_minmax_calibration_matches_intermediate_tensors(cnn):
    g, samples, ranges = cnn
    assert set(ranges) == set(activation_tensors(g))
    model = to_onnx(g)
    names = [n for n in ranges]
    del model.graph.output[:]
    model.graph.output.extend(helper.make_tensor_value_info(n, F, None) for n in names)
    outs = [run_ort(model, s) for s in samples]
    for i, n in enumerate(names):
        lo = min(float(o[i].min()) for o in outs)
        hi = max(float(o[i].max()) for o in outs)
        assert ranges[n] == pytest.approx((lo, hi), rel=1e-6, abs=1e-7), n
    # the pre-activation of a fused Relu has negative values, its output none
    assert ranges[preact_name("r1")][0] < 0 and ranges["r1"][0] >= 0


def test_percentile_and_entropy_ranges(cnn):
    g, samples, mm = cnn
    for method in ("percentile", "entropy"):
        r = calibrate(g, samples, method=method, quiet=True)
        assert set(r) == set(mm)
        for n, (lo, hi) in r.items():
            assert lo <= hi and lo >= mm[n][0] - 1e-3 * abs(mm[n][0]) - 1e-6, (method, n)
            assert hi <= mm[n][1] + 1e-3 * abs(mm[n][1]) + 1e-6, (method, n)
    with pytest.raises(McufError, match="unknown"):
        calibrate(g, samples, method="magic", quiet=True)


# ------------------------------------------------------------------------------------ quantize_graph


def test_quantize_graph_parameters(cnn):
    g, _, ranges = cnn
    qm = quantize_graph(g, ranges)
    qp = qm.tensor_qparams
    for t in activation_tensors(g):
        if t != preact_name("r1") and t in ranges and not t.endswith("_preact"):
            assert t in qp, t
    # data movement shares parameters
    assert qp["p"] is qp["r3"] and qp["flat"] is qp["p"]
    for n in g.nodes:
        if n.op not in ("Conv", "Gemm"):
            continue
        lq = qm.layers[n.name]
        w, b = n.inputs[1], n.inputs[2]
        s_in, s_out = float(qp[n.inputs[0]].scale), float(qp[n.outputs[0]].scale)
        s_w = qp[w].scale.astype(np.float64)
        np.testing.assert_allclose(qp[b].scale, (np.float32(s_in) * qp[w].scale).astype(np.float32), rtol=0)
        exact = s_in * s_w / s_out
        rel = np.abs(lq.requant["out"].ratio() - exact) / exact
        assert rel.max() <= 2.0**-31, n.name
        assert qm.qconstants[b].dtype == np.int32 and qm.qconstants[w].dtype == np.int8
        deq = qm.qconstants[b] * qp[b].scale.astype(np.float64)
        assert np.abs(deq - g.constants[b]).max() <= qp[b].scale.max()
    # fused Relu: the output clamp starts at the output's zero point
    conv1 = qm.layers["/conv1/Conv"]
    assert conv1.clamp == (int(qp["r1"].zero_point), 127)
    # Clip(0, 6) fused on the depthwise conv: the upper clamp is 6 in r2's quantized domain
    s2, z2 = float(qp["r2"].scale), int(qp["r2"].zero_point)
    assert qm.layers["/dw/Conv"].clamp[1] == min(127, round(6.0 / s2) + z2)


def test_mixed_weight_bits(cnn):
    g, _, ranges = cnn
    qm = quantize_graph(g, ranges, weight_bits={"/dw/Conv": 2, "/fc/Gemm": 4})
    assert dict(qm.weight_bits) == {"/conv1/Conv": 8, "/dw/Conv": 2, "/pw/Conv": 8, "/fc/Gemm": 4}
    dw_w = g.node("/dw/Conv").inputs[1]
    fc_w = g.node("/fc/Gemm").inputs[1]
    assert set(np.unique(qm.qconstants[dw_w])) <= {-1, 0, 1}
    assert np.abs(qm.qconstants[fc_w]).max() == 7
    with pytest.raises(McufError, match="not weight layers"):
        quantize_graph(g, ranges, weight_bits={"/Add": 4})
    with pytest.raises(McufError, match="width 3"):
        quantize_graph(g, ranges, weight_bits=3)


# ------------------------------------------------------------------------------------ integer reference


@pytest.mark.parametrize("builder", [torch_like_cnn, many_ops_model, edge_ops_model])
def test_integer_reference_reproduces_qdq_model(builder):
    """mcuforge.quantize.reference (integer-only: int accumulators, fixed-point requant, clamps, Add's shared
    shift, tables) agrees with onnxruntime on the exported QDQ model: every activation within one
    step, nearly all exactly."""
    g = load_model(builder())
    samples = [{"x": RNG.normal(size=g.inputs[0].shape).astype(np.float32)} for _ in range(12)]
    qm = quantize_graph(g, calibrate(g, samples, quiet=True))
    qdq = export_qdq(qm)
    watched = [t for t in g.tensors if t in qm.tensor_qparams and t not in g.constants]
    qdq.graph.output.extend(helper.make_tensor_value_info(f"{t}_quantized", TensorProto.INT8, None) for t in watched)
    sess = ort_session(qdq)
    names = [o.name for o in sess.get_outputs()]
    diffs = []
    for s in samples:
        ref = dict(zip(names, sess.run(None, s)))
        got = run_int(qm, s)
        for t in watched:
            d = np.abs(got[t].astype(np.int64) - ref[f"{t}_quantized"].astype(np.int64))
            assert d.max() <= 1, t
            diffs.append(d.reshape(-1))
    assert np.mean(np.concatenate(diffs) == 0) > 0.99
    assert len(watched) >= 8


def test_source_qparams_used_when_no_range():
    """A model quantized elsewhere: tensors without a calibrated range keep the source scales."""
    from onnx import helper as h

    inits = [init("w", RNG.normal(size=(4, 3, 1, 1)).astype(np.float32)),
             init("s", np.array(0.02, np.float32)), init("z", np.array(140, np.uint8))]
    nodes = [h.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]), h.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
             h.make_node("Conv", ["xd", "w"], ["y"])]
    g = load_model(make_model(nodes, inits, [h.make_tensor_value_info("x", F, [1, 3, 2, 2])], [h.make_tensor_value_info("y", F, None)]))
    qm = quantize_graph(g, {"y": (-1.0, 1.0)})
    assert float(qm.tensor_qparams["x"].scale) == pytest.approx(0.02) and int(qm.tensor_qparams["x"].zero_point) == 12
    with pytest.raises(McufError, match="no calibrated range for tensor 'y'"):
        quantize_graph(g, {})
