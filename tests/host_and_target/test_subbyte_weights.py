"""4- and 2-bit weights with int8 activations (W4A8, W2A8) through the per-layer precision path, on the
PyTorch-exported test models, on the host and under QEMU: the C library equals the integer reference
evaluator bit for bit and matches onnxruntime on quantized.onnx (INT4 initializers; 2-bit values in INT8
ones, see mcuforge.export.qdq) within one step, and the packed weights shrink the flash."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from mcuforge.allocate.plan import plan_precisions, read_allocation
from mcuforge.compile import CompileConfig, compile_model
from mcuforge.core.precision import UNIFORM
from mcuforge.frontend.pipeline import load_model
from mcuforge.frontend.samples import load_samples
from mcuforge.quantize.quantizer import dequantize_values
from mcuforge.quantize.stage import QuantizeOptions, quantize_for_plan
from mcuforge.quantize.reference import run_int

from tests.support.pytorch_models import (TEST_MODELS, assert_int8_matches, model_path, output_scale, run_c, run_ort,
                                          sample_inputs, write_calib)

TARGETS = ["host", pytest.param("rv32-zfh", marks=pytest.mark.qemu)]
N_SAMPLES = {"host": 6, "rv32-zfh": 2}
QMAX = {"int4": 7, "int2": 1}


def _compile(name, precision, target, tmp_path, allocation=None):
    calib = write_calib(tmp_path / "calib.npz", name)
    out = tmp_path / f"out_{precision}"
    res = compile_model(CompileConfig(model=model_path(name), out=out, target=target, calib=calib, precision=precision,
                                      allocation=allocation, measure=False, quiet=True))
    return out, res, calib


def _reference(name, calib, precision, allocation=None):
    """The QuantizedModel compile builds for this precision (the stages of mcuforge.compile, in order)."""
    graph = load_model(model_path(name))
    fixed = read_allocation(allocation, graph) if allocation else {}
    plan = plan_precisions(graph, UNIFORM[precision], fixed)
    samples, _ = load_samples(calib, graph)
    return quantize_for_plan(graph, plan, samples, QuantizeOptions(quiet=True)).model


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("precision", ["int4", "int2"])
@pytest.mark.parametrize("name", TEST_MODELS)
def test_subbyte_library_equals_reference_and_onnxruntime(name, precision, target, tmp_path):
    out, res, calib = _compile(name, precision, target, tmp_path)
    assert res.precision == precision

    qm = _reference(name, calib, precision)
    assert set(qm.weight_bits.values()) == {{"int4": 4, "int2": 2}[precision]}
    for layer in qm.layers.values():
        if layer.weight is not None:
            assert np.abs(qm.qconstants[layer.weight]).max() <= QMAX[precision]

    x = sample_inputs(name, N_SAMPLES[target])
    got = run_c(out, x)
    (inp,), (outp,) = qm.graph.inputs, qm.graph.outputs
    want = dequantize_values(np.stack([run_int(qm, {inp.name: xi})[outp.name] for xi in x]),
                             qm.tensor_qparams[outp.name])
    np.testing.assert_array_equal(got, want, err_msg="C library differs from the integer reference")

    qdq = out / "quantized.onnx"
    assert_int8_matches(got, run_ort(qdq, x), output_scale(qdq))
    types = {onnx.TensorProto.DataType.Name(i.data_type) for i in onnx.load(str(qdq)).graph.initializer}
    assert ("INT4" in types) == (precision == "int4")


def test_packed_weights_shrink_the_flash(tmp_path):
    """mnist_cnn (no depthwise conv): only the weight arrays change size, by the documented layouts:
    int8 conv weights in blocks of 4 output channels, the int8 linear plain [Out, In]; 4- and 2-bit
    weights 2 and 4 to a byte in blocks of 4 outputs (mcuf_conv.h, mcuf_linear.h). Biases and
    requantization (int32 per channel) stay."""
    flash = {p: _compile("mnist_cnn", p, "host", tmp_path)[1].flash_bytes for p in ("int8", "int4", "int2")}
    graph = load_model(model_path("mnist_cnn"))
    shapes = [(n.op, graph.constants[n.inputs[1]].shape) for n in graph.nodes if n.op in ("Conv", "Gemm")]

    def weight_bytes(bits: int) -> int:
        total = 0
        for op, shape in shapes:
            oc, k = shape[0], int(np.prod(shape[1:]))
            blocks = -(-oc // 4)
            total += (oc * k if op == "Gemm" else 4 * blocks * k) if bits == 8 else 4 * blocks * k * bits // 8
        return total

    assert flash["int8"] - flash["int4"] == weight_bytes(8) - weight_bytes(4)
    assert flash["int8"] - flash["int2"] == weight_bytes(8) - weight_bytes(2)
    assert weight_bytes(4) < 0.6 * weight_bytes(8) and weight_bytes(2) < 0.3 * weight_bytes(8)


def test_allocation_mixes_weight_widths(tmp_path):
    alloc = tmp_path / "alloc.json"
    alloc.write_text(json.dumps({"layers": [{"name": "node_conv2d_1", "weights": "int4", "activations": "int8"},
                                            {"name": "node_linear", "weights": "int2"}]}))
    out, res, calib = _compile("mnist_cnn", "int8", "host", tmp_path, allocation=alloc)
    assert res.precision == "mixed"
    rows = {r["name"]: r for r in json.loads((out / "allocation.json").read_text())["layers"]}
    assert [(rows[n]["weights"], rows[n]["bits"]) for n in ("node_conv2d", "node_conv2d_1", "node_linear")] == \
        [("int8", 8), ("int4", 4), ("int2", 2)]
    qm = _reference("mnist_cnn", calib, "int8", alloc)
    assert dict(qm.weight_bits) == {"node_conv2d": 8, "node_conv2d_1": 4, "node_linear": 2}
    x = sample_inputs("mnist_cnn", 4)
    got = run_c(out, x)
    (inp,), (outp,) = qm.graph.inputs, qm.graph.outputs
    want = dequantize_values(np.stack([run_int(qm, {inp.name: xi})[outp.name] for xi in x]),
                             qm.tensor_qparams[outp.name])
    np.testing.assert_array_equal(got, want)
    src = (out / "c" / "src" / "model.c").read_text()
    assert "mcuf_conv2d_s8(" in src and "mcuf_conv2d_s8w4(" in src and "mcuf_linear_s8w2(" in src


def test_packed_depthwise_weights_shrink_the_flash(tmp_path):
    """dsblock's depthwise / grouped convs run mcuf_dwconv2d_s8w4 / _s8w2 at int4 / int2, their weights one
    packed field stream (ceil(n * bits / 8) bytes, mcuf_dwconv.h), so they shrink with the group-1 ones."""
    res = {p: _compile("dsblock", p, "host", tmp_path) for p in ("int8", "int4", "int2")}
    flash = {p: r[1].flash_bytes for p, r in res.items()}
    graph = load_model(model_path("dsblock"))
    convs = [(graph.constants[n.inputs[1]].shape, int(n.attrs.get("group", 1)) if n.op == "Conv" else 0)
             for n in graph.nodes if n.op in ("Conv", "Gemm")]
    assert any(g > 1 for _, g in convs)

    def weight_bytes(bits: int) -> int:
        total = 0
        for shape, group in convs:
            oc, k = shape[0], int(np.prod(shape[1:]))
            if group > 1:
                total += oc * k if bits == 8 else -(-oc * k * bits // 8)
            elif group == 0 and bits == 8:  # Gemm, int8: plain [Out, In]
                total += oc * k
            else:
                total += 4 * -(-oc // 4) * k * bits // 8
        return total

    assert flash["int8"] - flash["int4"] == weight_bytes(8) - weight_bytes(4)
    assert flash["int8"] - flash["int2"] == weight_bytes(8) - weight_bytes(2)
    for p, func in (("int4", "mcuf_dwconv2d_s8w4("), ("int2", "mcuf_dwconv2d_s8w2(")):
        src = (res[p][0] / "c" / "src" / "model.c").read_text()
        assert func in src and "mcuf_dwconv2d_s8(" not in src
