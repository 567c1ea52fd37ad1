"""Conv2d (im2col + the target's best matmul: zfh on rv32-zfh, rvv on rv32-zvfh) under QEMU: one driver
build per target runs a table of layer geometries forward and both gradients, checked against numpy
(float64) with the tolerances of tests/support/matmul_kernels.py, and the guard elements around every output."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.matmul_kernels import tol
from mcuforge.bench.matmul import ConvCase, run_conv_cases
from mcuforge.core.targets import get_target

pytestmark = pytest.mark.qemu

GEOMETRIES = [
    dict(cin=3, h=7, w=5, cout=4, kh=3, kw=3, sh=1, sw=1, pads=(1, 1, 1, 1)),
    dict(cin=2, h=8, w=9, cout=3, kh=3, kw=3, sh=2, sw=2, pads=(1, 1, 1, 1)),
    dict(cin=5, h=4, w=6, cout=7, kh=1, kw=1),                       # pointwise path
    dict(cin=3, h=6, w=6, cout=5, kh=5, kw=3, sh=1, sw=2, pads=(2, 1, 2, 1)),
    dict(cin=16, h=8, w=8, cout=16, kh=3, kw=3, sh=1, sw=1, pads=(1, 1, 1, 1), accumulate_grad=1),
]


@pytest.mark.parametrize("target_name", ["rv32-zfh", "rv32-zvfh"])
def test_conv_matches_numpy(target_name):
    target = get_target(target_name)
    cases = [ConvCase(dt, acc, **g) for g in GEOMETRIES for dt, acc in (("f16", 0), ("f16", 1), ("f32", 1))]
    failures = []
    for r in run_conv_cases(target, cases):
        c = r.case
        if not r.guards_ok:
            failures.append(f"{c}: wrote outside an output")
        dt = np.float32 if c.dtype == "f32" else np.float16
        ckk, P = c.cin * c.kh * c.kw, c.ho * c.wo
        limits = {"out": tol(dt, c.acc, ckk + 1), "dw": tol(dt, c.acc, P + 1), "db": tol(dt, c.acc, P + 1),
                  # stride 1: one matmul with K = cout*kh*kw; else matmul_tn + col2im, which sums up to
                  # kh*kw terms in the element type after the matmul (see tests/host/test_conv_host.py)
                  "dx": ((1 + c.kh * c.kw) * 2.0 ** -11 * 1.01 if (dt is np.float16 and c.acc == 1)
                         else tol(dt, c.acc, c.cout * c.kh * c.kw + c.kh * c.kw))}
        for name, t in limits.items():
            e = r.rel_err(name)
            if not e <= t:
                failures.append(f"{c} {name}: rel err {e:.3g} > {t:.3g}")
    assert not failures, "\n".join(failures)


def _conv3x3_model(path, seed=0):
    """Conv 3x3 layers the direct FP32 kernel takes: cin 1 + Relu (strips; feeds a conv, so the Relu is
    applied by the conv), cin 3 -> 5 (odd) + Clip with asymmetric pads feeding a 2x2 max pool (the Clip
    moves into the pool) on an odd-sized map (floor), 5 -> 4 unpadded + LeakyRelu (not fusable: a
    separate step), then the matrix-vector Gemm (7 outputs: blocks 4 + 3)."""
    from onnx import helper as h

    from tests.support.small_models import save_model

    rng = np.random.default_rng(seed)
    inits = {"W1": rng.standard_normal((3, 1, 3, 3)) * 0.5, "B1": rng.standard_normal(3) * 0.1,
             "W2": rng.standard_normal((5, 3, 3, 3)) * 0.3, "B2": rng.standard_normal(5) * 0.1,
             "W3": rng.standard_normal((4, 5, 3, 3)) * 0.3, "B3": rng.standard_normal(4) * 0.1,
             "W4": rng.standard_normal((7, 96)) * 0.1, "B4": rng.standard_normal(7) * 0.1,
             "lo": np.array(-0.2), "hi": np.array(0.6)}
    nodes = [h.make_node("Conv", ["x", "W1", "B1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
             h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             h.make_node("Conv", ["r1", "W2", "B2"], ["c2"], name="conv2", pads=[2, 0, 1, 2], kernel_shape=[3, 3]),
             h.make_node("Clip", ["c2", "lo", "hi"], ["r2"], name="clip2"),
             h.make_node("MaxPool", ["r2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
             h.make_node("Conv", ["p2", "W3", "B3"], ["c3"], name="conv3", kernel_shape=[3, 3]),
             h.make_node("LeakyRelu", ["c3"], ["l3"], name="leaky3", alpha=0.1),
             h.make_node("Flatten", ["l3"], ["f3"], name="flat"),
             h.make_node("Gemm", ["f3", "W4", "B4"], ["y"], name="fc", transB=1)]
    save_model(path, "conv3x3", nodes, inits, [1, 1, 12, 17], [1, 7])


def test_direct_conv3x3_fp32_on_rv32(tmp_path):
    """The generated FP32 model calls mcuf_conv2d_f32_3x3 with Relu fused (no separate pass), the 2x2
    max pool applying the Clip of the conv before it, the matrix-vector linear, and matches
    onnxruntime on rv32."""
    import subprocess
    import sys

    import onnxruntime as ort

    _conv3x3_model(tmp_path / "m.onnx")
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "calib.npz", x=rng.standard_normal((4, 1, 1, 12, 17)).astype(np.float32))
    x = rng.standard_normal((3, 1, 1, 12, 17)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    out = tmp_path / "out"

    def cli(*a):
        r = subprocess.run([sys.executable, "-m", "mcuforge.cli", *a], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

    cli("compile", str(tmp_path / "m.onnx"), "--calib", str(tmp_path / "calib.npz"), "--target", "rv32",
        "--precision", "fp32", "--out", str(out), "--quiet")
    src = (out / "c" / "src" / "model.c").read_text()
    assert src.count("mcuf_conv2d_f32_3x3(") == 3
    assert src.count(".act = MCUF_ACT_RELU") == 1 and "mcuf_relu_f32(" not in src  # conv1's, in the conv
    # conv2's Clip runs in the pool: the only Clip params are the pool's
    assert src.count(".act = MCUF_ACT_CLIP") == 1 and "applies the Clip" in src
    assert "mcuf_maxpool2d_f32_2x2(" in src and "mcuf_linear_f32(" in src
    cli("run", str(out), "--input", str(tmp_path / "in.npz"), "--output", str(tmp_path / "y.npz"))
    y = np.load(tmp_path / "y.npz")["y"]
    s = ort.InferenceSession(str(tmp_path / "m.onnx"))
    ref = np.stack([s.run(None, {"x": xi})[0] for xi in x])
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
