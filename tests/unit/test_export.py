"""QDQ export (mcuforge.export.qdq): structure, and onnxruntime runs it close to the float model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, numpy_helper

from tests.support.onnx_builders import many_ops_model, run_ort, torch_like_cnn
from mcuforge.quantize.calibrate import calibrate
from mcuforge.export.qdq import QDQ_OPSET, export_qdq, ort_session
from mcuforge.frontend.pipeline import load_model
from mcuforge.quantize.quantizer import quantize_graph

RNG = np.random.default_rng(11)
MODELS = Path(__file__).resolve().parent.parent / "models"


def _setup(model: onnx.ModelProto, n: int = 32):
    g = load_model(model)
    samples = [{t.name: RNG.normal(size=t.shape).astype(np.float32) for t in g.inputs} for _ in range(n)]
    return model, g, samples, calibrate(g, samples, quiet=True)


@pytest.fixture(scope="module")
def cnn():
    return _setup(torch_like_cnn())


@pytest.fixture(scope="module")
def many():
    return _setup(many_ops_model())


def _margin(v: np.ndarray) -> float:
    top = np.sort(v.reshape(-1))
    return float(top[-1] - top[-2])


def _compare(model, qdq, samples, out_scale, clear_margin_steps: float = 8.0):
    """(max error in output steps, argmax agreement). Argmax must agree on every sample whose float
    top-2 margin is clear (> clear_margin_steps output steps): random untrained nets have near-ties."""
    sess = ort_session(qdq)
    errs, agree = [], []
    for s in samples:
        ref = run_ort(model, s)[0]
        got = sess.run(None, s)[0]
        errs.append(np.abs(got - ref).max() / out_scale)
        agree.append(int(got.argmax()) == int(ref.argmax()))
        if out_scale < 1.0 and _margin(ref) > clear_margin_steps * out_scale:
            assert agree[-1], (ref, got)
    return max(errs), float(np.mean(agree))


def test_qdq_structure(cnn):
    _, g, _, ranges = cnn
    qm = quantize_graph(g, ranges, weight_bits={"/dw/Conv": 4})
    m = export_qdq(qm)
    onnx.checker.check_model(m, full_check=True)
    assert m.opset_import[0].version == QDQ_OPSET == 25
    inits = {t.name: t for t in m.graph.initializer}
    dq = {n.output[0]: n for n in m.graph.node if n.op_type == "DequantizeLinear"}
    for n in g.nodes:
        if n.op not in ("Conv", "Gemm"):
            continue
        w, b = n.inputs[1], n.inputs[2]
        expected = TensorProto.INT4 if n.name == "/dw/Conv" else TensorProto.INT8
        assert inits[f"{w}_quantized"].data_type == expected, n.name
        assert inits[f"{b}_quantized"].data_type == TensorProto.INT32
        for t in (w, b):  # per output channel DequantizeLinear on axis 0
            attrs = {a.name: a.i for a in dq[t].attribute}
            assert attrs.get("axis") == 0 and numpy_helper.to_array(inits[f"{t}_scale"]).shape == (g.constants[w].shape[0],)
        np.testing.assert_array_equal(numpy_helper.to_array(inits[f"{w}_quantized"]).astype(np.int8), qm.qconstants[w])
        np.testing.assert_array_equal(numpy_helper.to_array(inits[f"{b}_quantized"]), qm.qconstants[b])
    # every activation goes through Q/DQ with its parameters
    qnodes = {n.output[0] for n in m.graph.node if n.op_type == "QuantizeLinear"}
    for t in ("x", "r1", "r2", "a", "r3", "p", "flat", "logits"):
        assert f"{t}_quantized" in qnodes, t
        assert float(numpy_helper.to_array(inits[f"{t}_scale"])) == float(qm.tensor_qparams[t].scale)
    assert [o.name for o in m.graph.output] == ["logits"]


def test_qdq_int8_close_to_float(cnn, tmp_path):
    model, g, samples, ranges = cnn
    qm = quantize_graph(g, ranges)
    path = tmp_path / "quantized.onnx"
    export_qdq(qm, path)
    qdq = onnx.load(str(path))
    # a default onnxruntime session runs it
    ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, samples[0])
    steps, agree = _compare(model, qdq, samples, float(qm.tensor_qparams["logits"].scale))
    assert agree >= 0.9
    assert steps <= 4, steps  # error of a few output quantization steps after 4 quantized layers


def test_qdq_many_ops_close_to_float(many):
    model, g, samples, ranges = many
    qm = quantize_graph(g, ranges)
    steps, agree = _compare(model, export_qdq(qm), samples, float(qm.tensor_qparams["prob"].scale))
    assert agree >= 0.95 and steps <= 4, (agree, steps)
    # table-driven activations got a quantized pre-activation tensor
    assert qm.layers["conv"].lut is not None and qm.layers["conv"].preact == "hs_preact"


def test_int4_weights_run_and_degrade_gracefully(cnn):
    model, g, samples, ranges = cnn
    s8, a8 = _compare(model, export_qdq(quantize_graph(g, ranges, 8)), samples, 1.0)
    s4, a4 = _compare(model, export_qdq(quantize_graph(g, ranges, 4)), samples, 1.0)
    assert s4 > s8 and a4 >= 0.6


def test_int2_native_and_int8_storage_agree(cnn):
    model, g, samples, ranges = cnn
    qm = quantize_graph(g, ranges, weight_bits={"/pw/Conv": 2})
    as_int8 = export_qdq(qm)
    native = export_qdq(qm, int2_storage="native")
    w = g.node("/pw/Conv").inputs[1]
    t8 = {t.name: t.data_type for t in as_int8.graph.initializer}[f"{w}_quantized"]
    t2 = {t.name: t.data_type for t in native.graph.initializer}[f"{w}_quantized"]
    assert t8 == TensorProto.INT8 and t2 == TensorProto.INT2
    assert "2-bit weights are stored as INT8" in as_int8.doc_string
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    s8 = ort.InferenceSession(as_int8.SerializeToString(), so, providers=["CPUExecutionProvider"])
    s2 = ort_session(native)
    for s in samples[:4]:
        np.testing.assert_array_equal(s2.run(None, s)[0], s8.run(None, s)[0])
    ort_session(as_int8).run(None, samples[0])  # and the default-storage model runs in a default session


@pytest.mark.parametrize("name", ["resblock", "mnist_cnn"])
def test_pytorch_exported_model_end_to_end(name):
    """A model as PyTorch exports it (tests/models: TorchScript with BatchNorm and a residual Add, and
    dynamo): the exported QDQ model stays within a few output steps of the FP32 original in
    onnxruntime, and keeps its argmax wherever the top two logits are clearly apart."""
    model = onnx.load(str(MODELS / f"{name}.onnx"))
    model, g, samples, ranges = _setup(model, n=24)
    qm = quantize_graph(g, ranges)
    sess = ort_session(export_qdq(qm))
    out = g.outputs[0].name
    scale = float(qm.tensor_qparams[out].scale)
    for s in samples:
        ref = run_ort(model, s)[0]
        got = sess.run(None, s)[0]
        assert np.abs(got - ref).max() <= 6 * scale
        if _margin(ref) > 12 * scale:
            assert int(got.argmax()) == int(ref.argmax())
