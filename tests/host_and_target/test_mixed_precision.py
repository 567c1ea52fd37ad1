"""Per-layer precision mixes on the PyTorch-exported models, on the host and under QEMU: the C library
matches onnxruntime on the same compile's quantized.onnx, which has QDQ exactly where the library
quantizes.

Mixes: the first and last weight layers in fp32 with an int8 middle, and an int8 backbone with an
fp16 head (the shape of on-device fine-tuning: a frozen int8 body feeding a trainable FP16 layer).
"""
from __future__ import annotations

import json
import re

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from mcuforge.compile import CompileConfig, compile_model

from tests.support.pytorch_models import TEST_MODELS, model_path, run_c, run_ort, sample_inputs, write_calib

N_SAMPLES = 4
QEMU = pytest.mark.qemu
# (model, first weight layer, last weight layer) as the front end names them
LAYERS = {
    "mnist_cnn": ("node_conv2d", "node_linear"),
    "resblock": ("/stem/stem.0/Conv", "/fc/Gemm"),
    "dsblock": ("node_conv2d", "node_linear"),
}
assert set(LAYERS) == set(TEST_MODELS)
# FP16 head: its input is rounded to FP16 (2^-11 relative), its weights too, it accumulates in FP32
# and its output is rounded to FP16 again: a few 2^-11 of the output's magnitude.
FLOAT_RTOL = {"fp32": 1e-5, "fp16": 4 * 2.0 ** -11}


def _allocation(tmp_path, model: str, mix: str) -> tuple:
    first, last = LAYERS[model]
    if mix == "fp32-ends":
        layers = [{"name": first, "weights": "fp32", "activations": "fp32"},
                  {"name": last, "weights": "fp32", "activations": "fp32"}]
        head = "fp32"
    else:
        layers = [{"name": last, "weights": "fp16", "activations": "fp16"}]
        head = "fp16"
    path = tmp_path / "allocation.json"
    path.write_text(json.dumps({"layers": layers}))
    return path, head, last


def _head_step_bound(qdq: onnx.ModelProto) -> float:
    """How far one quantization step of the head's int8 input moves an output: scale x max |weight|.
    onnxruntime requantizes with float multipliers, the C code in fixed point, so an int8 value may
    differ by one step; each such difference moves a float-head output by at most this much."""
    inits = {i.name: numpy_helper.to_array(i) for i in qdq.graph.initializer}
    gemm = [n for n in qdq.graph.node if n.op_type == "Gemm"][-1]
    dq = next(n for n in qdq.graph.node if n.op_type == "DequantizeLinear" and n.output[0] == gemm.input[0])
    return float(inits[dq.input[1]]) * float(np.abs(inits[gemm.input[1]]).max())


@pytest.mark.parametrize("target", ["host", pytest.param("rv32-zfh", marks=QEMU)])
@pytest.mark.parametrize("mix", ["fp32-ends", "fp16-head"])
@pytest.mark.parametrize("model", TEST_MODELS)
def test_mixed_precision_matches_its_quantized_onnx(model, mix, target, tmp_path):
    alloc, head, last = _allocation(tmp_path, model, mix)
    out = tmp_path / "out"
    compile_model(CompileConfig(model=model_path(model), out=out, target=target, precision="int8", allocation=alloc,
                                calib=write_calib(tmp_path / "calib.npz", model), measure=False, quiet=True))

    written = {r["name"]: r for r in json.loads((out / "allocation.json").read_text())["layers"]}
    assert (written[last]["weights"], written[last]["activations"]) == (head, head)
    assert sum(r["activations"] == "int8" for r in written.values()) >= 3, "the middle stays int8"

    qdq = onnx.load(str(out / "quantized.onnx"))
    gemm = [n for n in qdq.graph.node if n.op_type == "Gemm"][-1]
    # The float head reads real float weights, the int8 layers INT8 weights through DequantizeLinear.
    assert gemm.input[1] in {i.name for i in qdq.graph.initializer}
    assert any(i.data_type == onnx.TensorProto.INT8 for i in qdq.graph.initializer)

    x = sample_inputs(model, N_SAMPLES)
    got, ref = run_c(out, x), run_ort(out / "quantized.onnx", x)
    assert got.shape == ref.shape
    tol = FLOAT_RTOL[head] * float(np.abs(ref).max()) + 2 * _head_step_bound(qdq)
    err = float(np.abs(got - ref).max())
    assert err <= tol, f"max |C - quantized.onnx| = {err:.3g} > {tol:.3g}"
    np.testing.assert_array_equal(got.reshape(len(x), -1).argmax(-1), ref.reshape(len(x), -1).argmax(-1))


def test_int8_layers_between_fp32_ends_run_int8_kernels(tmp_path):
    """The C code quantizes once into the int8 part and dequantizes once out of it."""
    alloc, _, _ = _allocation(tmp_path, "mnist_cnn", "fp32-ends")
    out = tmp_path / "out"
    compile_model(CompileConfig(model=model_path("mnist_cnn"), out=out, target="host", precision="int8",
                                allocation=alloc, calib=write_calib(tmp_path / "calib.npz", "mnist_cnn"),
                                measure=False, quiet=True))
    src = (out / "c" / "src" / "model.c").read_text()
    calls = re.findall(r"MODEL_TRY\((mcuf_\w+)\(", src)
    assert calls.count("mcuf_quantize_f32_s8") == 1 and calls.count("mcuf_dequantize_s8_f32") == 1
    assert calls.index("mcuf_quantize_f32_s8") < calls.index("mcuf_conv2d_s8") < calls.index("mcuf_dequantize_s8_f32")
    assert calls[1] == "mcuf_conv2d_f32_3x3" and "mcuf_linear_f32" in calls
