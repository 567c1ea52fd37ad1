"""`mcuforge demo` end to end: the shipped digits CNN compiled int8 for rv32-zfh, the test split run under
QEMU. The C library's accuracy must equal onnxruntime's on quantized.onnx (within one image) and be
a real classifier's (> 0.9); references are onnxruntime's and the data set's labels."""
from __future__ import annotations

import pytest

from mcuforge.demo import run_demo

pytestmark = pytest.mark.qemu


def test_demo_c_accuracy_matches_onnxruntime_int8(tmp_path, capsys):
    r = run_demo(tmp_path, quiet=True)
    assert capsys.readouterr().out == ""  # quiet means quiet
    n = r["n_test"]
    assert n > 300
    assert abs(r["accuracy_c"] - r["accuracy_ort_int8"]) <= 1.0 / n + 1e-12
    assert r["accuracy_c"] > 0.9
    assert r["accuracy_ort_fp32"] > 0.9
    assert r["instructions_per_inference"] is not None and r["instructions_per_inference"] > 0  # counted by QEMU
    assert 0 < r["arena_lower_bound"] <= r["arena_bytes"]
    assert r["flash_bytes"] > 0
