"""Models exported by PyTorch (tests/models/) compiled for rv32 and run under QEMU: fp32 within 1e-4
relative of onnxruntime on the original model; int8 within one quantization step of onnxruntime on
quantized.onnx, argmax identical. Lean: one compile per model and precision, a few samples."""
from __future__ import annotations

import pytest

from tests.support.pytorch_models import (TEST_MODELS, assert_fp32_close, assert_int8_matches, compile_for,
                                          model_path, output_scale, run_c, run_ort, sample_inputs, write_calib)

pytestmark = pytest.mark.qemu

N_SAMPLES = 3


@pytest.mark.parametrize("name", TEST_MODELS)
def test_fp32_on_rv32_matches_onnxruntime(name, tmp_path):
    x = sample_inputs(name, N_SAMPLES)
    out = compile_for(name, "fp32", "rv32", tmp_path / "out", None)
    assert_fp32_close(run_c(out, x), run_ort(model_path(name), x))


@pytest.mark.parametrize("name", TEST_MODELS)
def test_int8_on_rv32_matches_quantized_onnx(name, tmp_path):
    x = sample_inputs(name, N_SAMPLES)
    out = compile_for(name, "int8", "rv32", tmp_path / "out", write_calib(tmp_path / "calib.npz", name))
    qdq = out / "quantized.onnx"
    assert_int8_matches(run_c(out, x), run_ort(qdq, x), output_scale(qdq))
