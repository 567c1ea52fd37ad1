"""compile + run under QEMU: int8 equals onnxruntime's QDQ model, costs are exact and measured per layer."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

from tests.support.small_models import samples, small_cnn

pytestmark = pytest.mark.qemu


def mcuforge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcuforge.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("target,precision", [("rv32", "int8"), ("rv32", "fp32"), ("rv32-zfh", "fp16"),
                                              ("rv32-zvfh", "fp16")])
def test_compile_run_on_target(tmp_path, target, precision):
    small_cnn(tmp_path / "cnn.onnx", seed=4)
    np.savez(tmp_path / "calib.npz", x=samples(16, seed=5))
    x = samples(4, seed=6)
    np.savez(tmp_path / "in.npz", x=x)
    out = tmp_path / "out"
    p = mcuforge("compile", str(tmp_path / "cnn.onnx"), "--calib", str(tmp_path / "calib.npz"), "--target", target,
                 "--out", str(out), "--precision", precision, "--quiet")
    assert p.returncode == 0, p.stderr
    stats = []
    for i in range(2):
        r = mcuforge("run", str(out), "--input", str(tmp_path / "in.npz"), "--output", str(tmp_path / "y.npz"),
                     "--stats", str(tmp_path / f"s{i}.json"))
        assert r.returncode == 0, r.stderr
        stats.append(json.loads((tmp_path / f"s{i}.json").read_text()))
    y = np.load(tmp_path / "y.npz")["y"]
    ref_model = out / "quantized.onnx" if precision == "int8" else tmp_path / "cnn.onnx"
    s = ort.InferenceSession(str(ref_model))
    ref = np.stack([s.run(None, {"x": xi})[0] for xi in x])
    if precision == "int8":
        step = float(np.min(np.diff(np.unique(ref))))
        assert np.abs(y - ref).max() <= step * 1.001
    else:
        tol = 1e-5 if precision == "fp32" else 1e-2
        np.testing.assert_allclose(y, ref, rtol=tol, atol=tol * np.abs(ref).max())
    assert (y.argmax(-1) == ref.argmax(-1)).all()
    # Retired instructions under -icount shift=0 are exact: the same figure on every run.
    assert stats[0]["cost_per_inference"] > 0 and stats[0] == stats[1]
    alloc = json.loads((out / "allocation.json").read_text())
    costs = {l["name"]: l["cost"] for l in alloc["layers"]}
    assert all(c > 0 for c in costs.values() if c is not None) and costs["conv1"] is not None
    assert costs["conv1"] > costs["flat"] if costs["flat"] is not None else True
    # The per-layer measurement brackets the whole inference (hooks add a few instructions each).
    assert 0.8 * stats[0]["cost_per_inference"] <= alloc["totals"]["cost"] <= 1.2 * stats[0]["cost_per_inference"]
    assert (out / "layer_costs.png").stat().st_size > 1000
