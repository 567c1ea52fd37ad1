"""Models exported by PyTorch (tests/models/: BatchNorm, residual Add, depthwise convs) compiled for the
host and for rv32 (run under QEMU): fp32 within 1e-4 relative of onnxruntime on the original model; int8
within one quantization step of onnxruntime on the exported quantized.onnx, argmax identical on every
sample. Under QEMU lean: one compile per model and precision, a few samples."""
from __future__ import annotations

import onnx
import pytest

from mcuforge.frontend.pipeline import load_model

from tests.support.pytorch_models import (TEST_MODELS, assert_fp32_close, assert_int8_matches, compile_for,
                                          model_path, output_scale, run_c, run_ort, sample_inputs, write_calib)

TARGETS = ["host", pytest.param("rv32", marks=pytest.mark.qemu)]
N_SAMPLES = {"host": 8, "rv32": 3}


@pytest.mark.parametrize("name", TEST_MODELS)
def test_batchnorm_is_in_the_file_and_folded_by_the_loader(name):
    # The export keeps BatchNormalization on purpose; the loader must fold every one into its conv.
    ops = [n.op_type for n in onnx.load(str(model_path(name))).graph.node]
    assert "BatchNormalization" in ops
    graph = load_model(model_path(name))
    assert not [n.name for n in graph.nodes if n.op in ("BatchNormalization", "Identity", "Dropout", "Relu")], \
        "BatchNorm folded, Identity/Dropout removed and ReLU fused"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", TEST_MODELS)
def test_fp32_matches_onnxruntime(name, target, tmp_path):
    x = sample_inputs(name, N_SAMPLES[target])
    out = compile_for(name, "fp32", target, tmp_path / "out", None)
    assert_fp32_close(run_c(out, x), run_ort(model_path(name), x))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", TEST_MODELS)
def test_int8_matches_quantized_onnx(name, target, tmp_path):
    x = sample_inputs(name, N_SAMPLES[target])
    out = compile_for(name, "int8", target, tmp_path / "out", write_calib(tmp_path / "calib.npz", name))
    qdq = out / "quantized.onnx"
    assert_int8_matches(run_c(out, x), run_ort(qdq, x), output_scale(qdq))
