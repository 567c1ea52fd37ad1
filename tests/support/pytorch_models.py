"""Shared by the host and QEMU tests of the PyTorch-exported models in tests/models/.

The models (and how they were produced) are described in tests/models/README.md. References come from
onnxruntime: the original FP32 model for fp32, the compile folder's `quantized.onnx` for int8.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from mcuforge.compile import CompileConfig, compile_model
from mcuforge.run.runner import run_folder

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
# (a) Conv+BN+ReLU+MaxPool CNN, (b) residual block + GlobalAveragePool, (c) depthwise-separable blocks.
TEST_MODELS = ("mnist_cnn", "resblock", "dsblock")
FP32_RTOL = 1e-4


def model_path(name: str) -> Path:
    return MODELS_DIR / f"{name}.onnx"


def input_shape(name: str) -> tuple[int, ...]:
    m = onnx.load(str(model_path(name)), load_external_data=False)
    return tuple(d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim)


def sample_inputs(name: str, n: int, seed: int = 1) -> np.ndarray:
    """`n` samples [n, *input_shape]: the shipped ones first, then seeded standard normal ones."""
    shipped = np.load(MODELS_DIR / f"{name}.input.npz")["x"].astype(np.float32)
    if n <= len(shipped):
        return shipped[:n]
    extra = np.random.default_rng(seed).standard_normal((n - len(shipped), *shipped.shape[1:])).astype(np.float32)
    return np.concatenate([shipped, extra])


def write_calib(path: Path, name: str, n: int = 32, seed: int = 1234) -> Path:
    """Calibration samples from a seeded RNG, distributed like the test inputs (standard normal)."""
    x = np.random.default_rng(seed).standard_normal((n, *input_shape(name))).astype(np.float32)
    np.savez(path, x=x)
    return path


def compile_for(name: str, precision: str, target: str, out: Path, calib: Path | None) -> Path:
    """Compile one model (no per-layer measurement: the tests only need outputs)."""
    compile_model(CompileConfig(model=model_path(name), out=out, target=target, calib=calib,
                                precision=precision, measure=False, quiet=True))
    return out


def run_c(out: Path, x: np.ndarray) -> np.ndarray:
    """The compiled library's output `y` for every sample of x [N, *input_shape]."""
    outputs, stats = run_folder(out, [{"x": xi} for xi in x])
    assert stats.samples == len(x)
    return outputs["y"]


def run_ort(model: Path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return np.stack([sess.run(["y"], {"x": xi})[0] for xi in x])


def output_scale(qdq_model: Path, output: str = "y") -> float:
    """Scale of the quantized graph output: the DequantizeLinear that produces `output`."""
    m = onnx.load(str(qdq_model))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in m.graph.node if n.op_type == "Constant"}
    for n in m.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] == output:
            s = inits.get(n.input[1], consts.get(n.input[1]))
            assert s is not None and s.size == 1, f"output scale of '{output}' is not a per-tensor constant"
            return float(s.reshape(-1)[0])
    raise AssertionError(f"{qdq_model}: no DequantizeLinear produces the output '{output}'")


def assert_fp32_close(got: np.ndarray, ref: np.ndarray) -> None:
    """Within 1e-4 relative of onnxruntime, relative to the tensor's magnitude (logits near zero
    would make an element-wise relative test meaningless)."""
    assert got.shape == ref.shape
    tol = FP32_RTOL * float(np.abs(ref).max())
    err = float(np.abs(got - ref).max())
    assert err <= tol, f"max |C - onnxruntime| = {err:.3g} > {tol:.3g} (1e-4 of max |ref| = {np.abs(ref).max():.3g})"


def assert_int8_matches(got: np.ndarray, ref: np.ndarray, scale: float) -> None:
    """Within one quantization step of the output tensor, and the same class on every sample."""
    assert got.shape == ref.shape
    err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    # A step is `scale`; the small slack only absorbs float32 rounding of dequantized values.
    steps = float(err.max()) / scale
    assert steps <= 1.0 + 1e-5, f"max |C - quantized.onnx| = {steps:.2f} quantization steps (scale {scale:.4g})"
    flat_g, flat_r = got.reshape(len(got), -1), ref.reshape(len(ref), -1)
    np.testing.assert_array_equal(flat_g.argmax(-1), flat_r.argmax(-1), err_msg="argmax differs")
