"""`mcuforge compile` and `mcuforge run` end to end on the host, and their errors on bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from tests.support.small_models import samples, small_cnn, unsupported_model


def mcuforge(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcuforge.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    small_cnn(d / "cnn.onnx")
    np.savez(d / "calib.npz", x=samples(16, seed=2))
    np.savez(d / "in.npz", x=samples(5, seed=3))
    return d


def _ort(model: Path, x: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(str(model))
    return np.stack([s.run(None, {"x": xi})[0] for xi in x])


@pytest.mark.parametrize("precision,tol", [("fp32", 1e-5), ("fp16", 1e-2)])
def test_float_compile_and_run_match_onnxruntime(work, precision, tol):
    out = work / f"out_{precision}"
    p = mcuforge("compile", str(work / "cnn.onnx"), "--calib", str(work / "calib.npz"), "--target", "host",
                 "--out", str(out), "--precision", precision, "--quiet")
    assert p.returncode == 0, p.stderr
    r = mcuforge("run", str(out), "--input", str(work / "in.npz"), "--output", str(work / f"y_{precision}.npz"),
                 "--stats", str(work / f"s_{precision}.json"))
    assert r.returncode == 0, r.stderr
    y = np.load(work / f"y_{precision}.npz")["y"]
    ref = _ort(work / "cnn.onnx", np.load(work / "in.npz")["x"])
    assert y.shape == ref.shape == (5, 1, 10)
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol * np.abs(ref).max())
    stats = json.loads((work / f"s_{precision}.json").read_text())
    assert stats["target"] == "host" and stats["samples"] == 5 and stats["cost_per_inference"] is None
    alloc = json.loads((out / "allocation.json").read_text())
    assert alloc["precision"] == precision and alloc["totals"]["ram"] == stats["arena_bytes"]
    assert [l["name"] for l in alloc["layers"]] == ["conv1", "pool1", "flat", "fc"]  # relu fused into conv1
    assert alloc["totals"]["ram"] >= alloc["totals"]["ram_lower_bound"] > 0
    header = (out / "c" / "include" / "model.h").read_text()
    assert f"#define MODEL_ARENA_BYTES {alloc['totals']['ram']}u" in header


def test_int8_matches_quantized_onnx_within_one_step(work):
    out = work / "out_int8"
    p = mcuforge("compile", str(work / "cnn.onnx"), "--calib", str(work / "calib.npz"), "--target", "host",
                 "--out", str(out), "--precision", "int8", "--quiet")
    assert p.returncode == 0, p.stderr
    assert mcuforge("run", str(out), "--input", str(work / "in.npz"), "--output", str(work / "y8.npz")).returncode == 0
    y = np.load(work / "y8.npz")["y"]
    ref = _ort(out / "quantized.onnx", np.load(work / "in.npz")["x"])
    step = float(np.min(np.diff(np.unique(ref))))  # the output's quantization step, read off the reference
    assert np.abs(y - ref).max() <= step * 1.001
    assert (y.argmax(-1) == ref.argmax(-1)).all()


def test_generated_project_builds_with_cmake_and_example_runs(work, tmp_path):
    out = work / "out_fp32"
    if not out.exists():
        pytest.skip("depends on test_float_compile_and_run_match_onnxruntime")
    b = tmp_path / "b"
    assert subprocess.run(["cmake", "-S", str(out / "c"), "-B", str(b)], capture_output=True).returncode == 0
    p = subprocess.run(["cmake", "--build", str(b)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    ex = subprocess.run([str(b / "model_example")], capture_output=True, text=True)
    assert ex.returncode == 0 and ex.stdout.startswith("y:")
    ref = _ort(work / "cnn.onnx", np.full((1, 1, 1, 8, 8), 0.5, np.float32)).reshape(-1)
    got = np.array([float(v) for v in ex.stdout.split()[1:]])
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_unsupported_ops_listed_at_once_and_nothing_written(tmp_path):
    model = unsupported_model(tmp_path / "bad.onnx")
    out = tmp_path / "never"
    p = mcuforge("compile", str(model), "--target", "host", "--out", str(out), "--precision", "fp32")
    assert p.returncode != 0
    assert "einsum_node" in p.stderr and "topk_node" in p.stderr and "Traceback" not in p.stderr
    assert not out.exists() and not any(tmp_path.glob(".never*"))


def test_bad_calibration_file_names_the_input(work, tmp_path):
    np.savez(tmp_path / "wrong.npz", image=samples(4))
    p = mcuforge("compile", str(work / "cnn.onnx"), "--calib", str(tmp_path / "wrong.npz"), "--target", "host",
                 "--out", str(tmp_path / "o"), "--precision", "int8")
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "'x'" in p.stderr or "x" in p.stderr.split("error:")[1]
    assert not (tmp_path / "o").exists()


def test_failed_compile_keeps_the_previous_output(work, tmp_path):
    out = tmp_path / "keep"
    ok = mcuforge("compile", str(work / "cnn.onnx"), "--target", "host", "--out", str(out), "--precision", "fp32")
    assert ok.returncode == 0, ok.stderr
    before = (out / "c" / "src" / "model.c").read_text()
    bad = mcuforge("compile", str(work / "cnn.onnx"), "--target", "host", "--out", str(out), "--precision", "int8")
    assert bad.returncode != 0 and "--calib" in bad.stderr
    assert (out / "c" / "src" / "model.c").read_text() == before


def test_missing_model_and_bad_name_and_not_a_compile_folder(work, tmp_path):
    p = mcuforge("compile", str(tmp_path / "nope.onnx"), "--target", "host", "--out", str(tmp_path / "o"))
    assert p.returncode != 0 and "nope.onnx" in p.stderr and "does not exist" in p.stderr
    p = mcuforge("compile", str(work / "cnn.onnx"), "--target", "host", "--out", str(tmp_path / "o"),
                 "--precision", "fp32", "--name", "9lives")
    assert p.returncode != 0 and "--name '9lives'" in p.stderr
    p = mcuforge("run", str(tmp_path), "--input", str(work / "in.npz"), "--output", str(tmp_path / "y.npz"))
    assert p.returncode != 0 and "not a folder written by 'mcuforge compile'" in p.stderr


def test_generation_is_deterministic(work, tmp_path):
    outs = []
    for i in range(2):
        o = tmp_path / f"d{i}"
        assert mcuforge("compile", str(work / "cnn.onnx"), "--calib", str(work / "calib.npz"), "--target", "host",
                        "--out", str(o), "--precision", "int8", "--quiet").returncode == 0
        outs.append({p.relative_to(o): p.read_bytes() for p in (o / "c").rglob("*") if p.is_file()})
    strip = lambda b: b.replace(str(tmp_path / "d0").encode(), b"").replace(str(tmp_path / "d1").encode(), b"")
    assert outs[0].keys() == outs[1].keys()
    assert all(strip(outs[0][k]) == strip(outs[1][k]) for k in outs[0])
