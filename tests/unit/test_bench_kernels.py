"""The pure-Python parts of mcuforge.bench.matmul and mcuforge.bench.inference (no C compiler): the conv
reference the QEMU tests and the benchmark trust, checked against a direct 7-deep loop, the backend
tables, the inference kernels' references and their record set (a fake driver run)."""
from __future__ import annotations

import numpy as np
import pytest

from mcuforge.bench import inference as bench_infer
from mcuforge.bench.inference import ACT_RELU, InferCase, infer_bench_cases, infer_operands, infer_reference
from mcuforge.bench.matmul import GUARD, SENTINEL32, ConvCase, backends_for, best_backend, conv_reference
from mcuforge.run.harness import RunResult
from mcuforge.core.targets import get_target


def direct_conv(c: ConvCase, x, w, b):
    out = np.zeros((c.cout, c.ho, c.wo))
    for co in range(c.cout):
        for oy in range(c.ho):
            for ox in range(c.wo):
                s = b[co]
                for ci in range(c.cin):
                    for ky in range(c.kh):
                        for kx in range(c.kw):
                            iy, ix = oy * c.sh - c.pads[0] + ky, ox * c.sw - c.pads[1] + kx
                            if 0 <= iy < c.h and 0 <= ix < c.w:
                                s += w[co, ci, ky, kx] * x[ci, iy, ix]
                out[co, oy, ox] = s
    return out


@pytest.mark.parametrize("c", [ConvCase("f32", 1, 2, 5, 6, 3, 3, 3, 2, 1, (1, 1, 1, 0)),
                               ConvCase("f32", 1, 1, 4, 4, 2, 1, 1, 1, 1, (0, 0, 0, 0)),
                               ConvCase("f32", 1, 3, 6, 5, 2, 5, 3, 1, 2, (2, 1, 2, 1))])
def test_conv_reference_matches_direct_loops(c):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(c.cin, c.h, c.w))
    w = rng.normal(size=(c.cout, c.cin, c.kh, c.kw))
    b = rng.normal(size=c.cout)
    dy = rng.normal(size=(c.cout, c.ho, c.wo))
    ref, scale = conv_reference(c, x.ravel(), w.ravel(), b, dy.ravel())
    assert np.allclose(ref["out"].reshape(c.cout, c.ho, c.wo), direct_conv(c, x, w, b))
    # gradients of L = sum(dy * conv(x)): linear in x and w, so one-hot probes give them exactly
    for flat in (0, x.size // 2, x.size - 1):
        e = np.zeros(x.size)
        e[flat] = 1.0
        d = direct_conv(c, e.reshape(x.shape), w, np.zeros(c.cout))
        assert np.isclose(ref["dx"][flat], np.sum(dy * d))
    for flat in (0, w.size - 1):
        e = np.zeros(w.size)
        e[flat] = 1.0
        d = direct_conv(c, x, e.reshape(w.shape), np.zeros(c.cout))
        assert np.isclose(ref["dw"].ravel()[flat], np.sum(dy * d))
    assert np.allclose(ref["db"], dy.reshape(c.cout, -1).sum(1))
    assert all(np.all(scale[k] >= np.abs(ref[k]) - 1e-12) for k in ("out", "dx", "dw", "db"))


def test_backend_tables():
    assert backends_for(get_target("rv32-zfh"), "f16") == ["c", "zfh"]
    assert backends_for(get_target("rv32-zvfh"), "f16") == ["c", "zfh", "rvv"]
    assert backends_for(get_target("rv32"), "f32") == ["c", "rvf"]
    assert best_backend(get_target("rv32-zvfh"), "f32") == "rvv"
    assert best_backend(get_target("host"), "f32") == "c"


# ------------------------------------------------------------------ FP32 inference kernels (bench_infer)

def test_infer_reference_matches_direct_loops():
    ops = infer_operands()
    x, w, b = (ops[k].astype(np.float64) for k in ("x", "w", "b"))
    c = InferCase("conv3x3", (2, 5, 6, 3, 1), ACT_RELU)
    cc = c.conv
    ref, scale = infer_reference(c, ops)
    direct = direct_conv(cc, x[:c.n_in].reshape(2, 5, 6), w[:3 * 2 * 9].reshape(3, 2, 3, 3), b[:3])
    assert np.allclose(ref, np.maximum(direct, 0).ravel())
    assert np.all(scale >= np.abs(ref) - 1e-12)
    ref, _ = infer_reference(InferCase("conv", c.dims), ops)
    assert np.allclose(ref, direct.ravel())
    p = InferCase("pool2x2", (2, 5, 4), ACT_RELU)  # odd H: the last row is dropped
    xs = x[:40].reshape(2, 5, 4)
    want = [[[max(0.0, xs[ch, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max()) for j in range(2)] for i in range(2)]
            for ch in range(2)]
    assert np.array_equal(infer_reference(p, ops)[0], np.ravel(want))
    lin = InferCase("linear", (7, 3))
    ref, scale = infer_reference(lin, ops)
    assert np.allclose(ref, [sum(w[o * 7 + k] * x[k] for k in range(7)) + b[o] for o in range(3)])
    assert np.all(scale >= np.abs(ref))


@pytest.mark.parametrize("target", ["rv32", "rv32-zfh", "rv32-zvfh"])
def test_infer_records_complete(monkeypatch, target):
    """The record-building path without QEMU: a fake run returns the float64 references rounded to FP32,
    so every record must come out complete, with the expected labels and a tiny error."""
    t = get_target(target)
    cases = infer_bench_cases()

    def fake_run(tgt, exe, inputs, timeout):
        assert inputs["cases"].shape == (len(cases), 8)
        outs = {"scratch": np.zeros(len(cases), np.int32)}
        for i, c in enumerate(cases):
            y = infer_reference(c, inputs)[0].astype(np.float32).view(np.uint32)
            g = np.full(GUARD, SENTINEL32, np.uint32)
            outs[f"y_{i}"] = np.concatenate([g, y, g])
        return RunResult(outs, {f"case{i}": 1000 + i for i in range(len(cases))}, "")

    monkeypatch.setattr(bench_infer, "run", fake_run)
    records = bench_infer.infer_bench_records(t, None)
    fields = {"kernel", "dtype", "acc", "backend", "shape", "macs", "instret", "mac_per_instr", "max_rel_err",
              "work", "scratch"}
    assert all(set(r) == fields and all(r[k] is not None for k in fields) for r in records)
    assert all(r["max_rel_err"] < 1e-6 for r in records)
    kinds = {(r["kernel"], r["backend"], r["shape"]) for r in records}
    best = best_backend(t, "f32")
    for shape in ("1x28x28-8-3x3p1 full", "8x14x14-16-3x3p1 full", "16x32x32-16-3x3p1 full"):
        assert ("conv2d_3x3", "c", shape + " relu") in kinds and ("conv2d_fwd", best, shape) in kinds
    for shape in ("8x28x28 2x2/2", "16x14x14 2x2/2"):
        assert ("maxpool2d_2x2", "c", shape + " relu") in kinds and ("maxpool2d", "c", shape) in kinds
    assert ("linear", "c", "1x784->10") in kinds
    assert len(records) == 11
