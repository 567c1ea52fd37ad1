"""Softmax + cross-entropy (portable C, cffi) against a float64 numpy reference: loss, gradient,
gradient scaling, stability for huge logits, finite differences, guard bytes, error statuses."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.layer_kernels import Guarded, cptr, lib, max_rel_err, suffix


def ref(z: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    z = z.astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    lse = np.log(s) + m
    loss = float(np.mean(lse[:, 0] - z[np.arange(len(z)), labels]))
    g = e / s
    g[np.arange(len(z)), labels] -= 1.0
    return loss, g / len(z)


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=["f32", "f16"])
@pytest.mark.parametrize("N,K", [(1, 1), (1, 3), (3, 7), (7, 33), (4, 12)])
@pytest.mark.parametrize("scale", [1.0, 1024.0])
def test_softmax_ce(dtype, N, K, scale):
    ffi, L = lib()
    rng = np.random.default_rng(N * 100 + K)
    z = (3 * rng.standard_normal((N, K))).astype(dtype)
    labels = rng.integers(0, K, N).astype(np.int32)
    p = ffi.new("mcuf_softmax_ce_params *", dict(N=N, K=K))
    loss = ffi.new("float *")
    g = Guarded(ffi, N * K, dtype)
    assert getattr(L, f"mcuf_softmax_ce_{suffix(dtype)}")(p, cptr(ffi, z), cptr(ffi, labels), scale, loss, g.ptr) == 0
    rl, rg = ref(z, labels)
    assert abs(loss[0] - rl) <= 1e-5 * max(1.0, abs(rl))  # FP32 arithmetic in both kernels
    # FP32: a few ulps of the FP32 exp/log; FP16: one rounding of each gradient element (2^-11)
    t = 1e-5 if dtype is np.float32 else 1e-3
    assert max_rel_err(g.value().astype(np.float64) / scale, rg) <= t


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=["f32", "f16"])
def test_softmax_ce_is_stable_for_large_logits(dtype):
    ffi, L = lib()
    big = 6e4 if dtype is np.float16 else 1e30
    z = np.array([[big, big * 0.5, -big], [0.0, -big, big]], dtype)
    labels = np.array([1, 2], np.int32)
    p = ffi.new("mcuf_softmax_ce_params *", dict(N=2, K=3))
    loss = ffi.new("float *")
    g = np.empty(6, dtype)
    assert getattr(L, f"mcuf_softmax_ce_{suffix(dtype)}")(p, cptr(ffi, z), cptr(ffi, labels), 1.0, loss, cptr(ffi, g)) == 0
    rl, rg = ref(z, labels)
    assert np.isfinite(loss[0]) and abs(loss[0] - rl) <= 1e-5 * abs(rl)
    assert np.all(np.isfinite(g)) and max_rel_err(g, rg) <= 1e-3


def test_softmax_ce_gradient_matches_finite_differences():
    ffi, L = lib()
    rng = np.random.default_rng(5)
    z = rng.standard_normal((3, 7)).astype(np.float32)
    labels = np.array([0, 6, 3], np.int32)
    p = ffi.new("mcuf_softmax_ce_params *", dict(N=3, K=7))
    loss = ffi.new("float *")
    g = np.empty(21, np.float32)
    assert L.mcuf_softmax_ce_f32(p, cptr(ffi, z), cptr(ffi, labels), 1.0, loss, cptr(ffi, g)) == 0
    eps = 1e-2
    for i in range(21):
        vals = []
        for d in (eps, -eps):
            zz = z.ravel().copy()
            zz[i] += d
            assert L.mcuf_softmax_ce_f32(p, cptr(ffi, zz), cptr(ffi, labels), 1.0, loss, ffi.NULL) == 0
            vals.append(loss[0])
        assert abs((vals[0] - vals[1]) / (2 * eps) - g[i]) <= 2e-4


def test_softmax_ce_in_place_and_errors():
    ffi, L = lib()
    z = np.array([[1.0, 2.0, 0.5]], np.float32)
    labels = np.array([2], np.int32)
    p = ffi.new("mcuf_softmax_ce_params *", dict(N=1, K=3))
    loss = ffi.new("float *")
    buf = z.copy()
    assert L.mcuf_softmax_ce_f32(p, cptr(ffi, buf), cptr(ffi, labels), 1.0, loss, cptr(ffi, buf)) == 0
    assert max_rel_err(buf, ref(z, labels)[1]) <= 1e-6
    assert L.mcuf_softmax_ce_f32(p, cptr(ffi, z), cptr(ffi, np.array([3], np.int32)), 1.0, loss, ffi.NULL) == L.MCUF_ERR_ARG
    assert L.mcuf_softmax_ce_f32(p, cptr(ffi, z), cptr(ffi, np.array([-1], np.int32)), 1.0, loss, ffi.NULL) == L.MCUF_ERR_ARG
    assert L.mcuf_softmax_ce_f32(p, cptr(ffi, z), cptr(ffi, labels), 1.0, ffi.NULL, ffi.NULL) == L.MCUF_ERR_ARG
    p.K = 0
    assert L.mcuf_softmax_ce_f16(p, cptr(ffi, z.astype(np.float16)), cptr(ffi, labels), 1.0, loss, ffi.NULL) == L.MCUF_ERR_ARG
