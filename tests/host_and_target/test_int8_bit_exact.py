"""The int8 C library of a whole model, bit for bit against the integer reference evaluator
(mcuforge.quantize.reference.run_int), on the PyTorch-exported test models, for the host and for rv32
under QEMU.

The QuantizedModel is rebuilt with the stages `compile` runs, with its arguments (load, the
uniform int8 plan, the same calibration file, mcuforge.quantize.stage.quantize_for_plan); all of them are
deterministic. That it is the model the compile used is checked, not assumed: its QDQ export must be
byte-identical to the compile folder's quantized.onnx. The C API returns floats: the graph output's int8
value dequantized, (float)(q - zp) * scale in float32. The test reads the int8 value back off it, compares
it with run_int's, and compares the float32 bit patterns with run_int's output dequantized the same way.
"""
from __future__ import annotations

import numpy as np
import pytest

from mcuforge.allocate.plan import plan_precisions
from mcuforge.core.precision import UNIFORM
from mcuforge.export.qdq import export_qdq
from mcuforge.frontend.pipeline import load_model
from mcuforge.frontend.samples import load_samples
from mcuforge.quantize.quantizer import dequantize_values, quantize_values
from mcuforge.quantize.stage import QuantizeOptions, quantize_for_plan
from mcuforge.quantize.reference import run_int

from tests.support.pytorch_models import TEST_MODELS, compile_for, model_path, run_c, sample_inputs, write_calib

TARGETS = ["host", pytest.param("rv32", marks=pytest.mark.qemu)]
N_SAMPLES = {"host": 6, "rv32": 2}


def quantized_model_of_compile(name: str, calib):
    """The QuantizedModel `compile --precision int8 --calib calib` builds (see mcuforge.compile)."""
    graph = load_model(model_path(name))
    plan = plan_precisions(graph, UNIFORM["int8"])
    samples, _ = load_samples(calib, graph)
    return quantize_for_plan(graph, plan, samples, QuantizeOptions(quiet=True)).model


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", TEST_MODELS)
def test_int8_library_equals_the_integer_reference(name, target, tmp_path):
    calib = write_calib(tmp_path / "calib.npz", name)
    out = compile_for(name, "int8", target, tmp_path / "out", calib)
    qm = quantized_model_of_compile(name, calib)
    export_qdq(qm, tmp_path / "mine.onnx")
    assert (tmp_path / "mine.onnx").read_bytes() == (out / "quantized.onnx").read_bytes(), \
        "the rebuilt QuantizedModel is not the one the compile used"

    (inp,), (outp,) = qm.graph.inputs, qm.graph.outputs
    qp = qm.tensor_qparams[outp.name]
    x = sample_inputs(name, N_SAMPLES[target])
    got = run_c(out, x)  # float32 [N, *output shape]
    want_q = np.stack([run_int(qm, {inp.name: xi})[outp.name] for xi in x])
    want = dequantize_values(want_q, qp)
    assert got.dtype == want.dtype == np.float32 and got.shape == want.shape

    got_q = quantize_values(got, qp)
    assert np.array_equal(dequantize_values(got_q, qp).view(np.uint32), got.view(np.uint32)), \
        "the C output is not on the output tensor's int8 grid"
    diff = got_q.astype(np.int32) - want_q.astype(np.int32)
    assert not diff.any(), (f"C differs from run_int on {np.count_nonzero(diff)} of {diff.size} outputs "
                            f"(max {np.abs(diff).max()} steps)")
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
