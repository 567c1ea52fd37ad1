"""`compile --weight-quantizer`: GPTQ / QuantEase / MSE reach the compiled model (no C compiler needed:
the accuracy is onnxruntime's on quantized.onnx, which the C library matches bit for bit through the
same kernels, tests/host_and_target/test_subbyte_weights.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from mcuforge.compile import CompileConfig, compile_model
from mcuforge.demo import DIGITS_MODEL, digits_split


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    x_train, _, x_test, y_test = digits_split()
    calib = tmp_path_factory.mktemp("calib") / "calib.npz"
    np.savez(calib, input=x_train[:256][:, None])
    return calib, x_test, y_test


def _accuracy(model: Path, x: np.ndarray, y: np.ndarray) -> float:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    pred = np.array([int(np.argmax(sess.run(None, {name: xi[None]})[0])) for xi in x])
    return float((pred == y).mean())


def _int_weights(model: Path) -> dict[str, np.ndarray]:
    m = onnx.load(str(model))
    return {i.name: numpy_helper.to_array(i).astype(np.int32) for i in m.graph.initializer
            if i.name.endswith("_quantized") and i.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.INT4)}


def test_gptq_and_quantease_rescue_two_bit_weights(digits, tmp_path):
    calib, x_test, y_test = digits
    acc, weights = {}, {}
    for method in ("rtn", "mse", "gptq", "quantease"):
        out = tmp_path / method
        compile_model(CompileConfig(model=DIGITS_MODEL, out=out, target="host", calib=calib, precision="int2",
                                    weight_quantizer=method, measure=False, quiet=True))
        acc[method] = _accuracy(out / "quantized.onnx", x_test, y_test)
        weights[method] = _int_weights(out / "quantized.onnx")
    # every 2-bit weight stays on the grid [-1, 1], whatever the method
    for method, ws in weights.items():
        assert ws and all(np.abs(w).max() <= 1 for w in ws.values()), method
    # RTN loses half the accuracy at 2 bits (FP32: 97.5%); the error-compensating methods get it back
    assert acc["rtn"] < 0.6
    assert acc["gptq"] > acc["rtn"] + 0.3 and acc["quantease"] > acc["rtn"] + 0.3, acc
    assert acc["mse"] > acc["rtn"], acc
    # report.md / allocation.json show where the error comes from: every integer layer's relative
    # output error, lower with GPTQ than with round to nearest
    errs = {m: {r["name"]: r["weight_error"] for r in json.loads((tmp_path / m / "allocation.json").read_text())
                ["layers"] if r["weights"]} for m in ("rtn", "gptq")}
    assert errs["rtn"].keys() == errs["gptq"].keys() and len(errs["rtn"]) == 4
    for name, e in errs["rtn"].items():
        assert 0 < errs["gptq"][name] < e < 1, (name, errs)
    assert "weight error" in (tmp_path / "gptq" / "report.md").read_text()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcuforge.cli", *args], capture_output=True, text=True)


def test_weight_quantizer_without_integer_layers_is_refused(tmp_path):
    proc = _cli("compile", str(DIGITS_MODEL), "--target", "host", "--precision", "fp32",
                "--weight-quantizer", "gptq", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--weight-quantizer gptq" in proc.stderr and "Traceback" not in proc.stderr


def test_smoothquant_rescales_weights_and_keeps_accuracy(digits, tmp_path):
    calib, x_test, y_test = digits
    res = {}
    for alpha in (None, 0.5):
        out = tmp_path / f"sq{alpha}"
        r = compile_model(CompileConfig(model=DIGITS_MODEL, out=out, target="host", calib=calib, precision="int8",
                                        smoothquant=alpha, measure=False, quiet=True))
        res[alpha] = (r, _accuracy(out / "quantized.onnx", x_test, y_test), _int_weights(out / "quantized.onnx"))
    smoothed = [n for n in res[0.5][0].notes if n.startswith("SmoothQuant")]
    assert smoothed and "layer(s)" in smoothed[0] and not smoothed[0].startswith("SmoothQuant (alpha 0.5): 0")
    changed = [k for k in res[None][2] if not np.array_equal(res[None][2][k], res[0.5][2].get(k))]
    assert changed, "SmoothQuant left every weight as it was"
    assert abs(res[0.5][1] - res[None][1]) <= 0.01  # the same function, requantized: about the same accuracy


@pytest.mark.parametrize("flags, words", [(("--smoothquant", "1.5"), "alpha must be in (0, 1]"),
                                           (("--precision", "fp16", "--smoothquant", "0.5"), "no int8 layer")])
def test_smoothquant_that_cannot_be_honoured_is_refused(tmp_path, flags, words):
    proc = _cli("compile", str(DIGITS_MODEL), "--target", "host", *flags, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr
