"""ReLU forward/backward (portable C, cffi) against numpy: exact in both precisions, NaN kept,
guard bytes, in-place operation, finite differences of the gradient, error statuses."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.layer_kernels import Guarded, cptr, lib, suffix


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=["f32", "f16"])
@pytest.mark.parametrize("n", [1, 3, 7, 33, 1000])
def test_relu_forward_backward_exact(dtype, n):
    ffi, L = lib()
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    x[0] = 0.0
    gy = rng.standard_normal(n).astype(dtype)
    y = Guarded(ffi, n, dtype)
    gx = Guarded(ffi, n, dtype)
    sfx = suffix(dtype)
    assert getattr(L, f"mcuf_relu_{sfx}")(n, cptr(ffi, x), y.ptr) == 0
    assert getattr(L, f"mcuf_relu_grad_{sfx}")(n, cptr(ffi, x), cptr(ffi, gy), gx.ptr) == 0
    np.testing.assert_array_equal(y.value(), np.maximum(x, 0))
    np.testing.assert_array_equal(gx.value(), np.where(x > 0, gy, 0).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=["f32", "f16"])
def test_relu_in_place_and_nan(dtype):
    ffi, L = lib()
    x = np.array([-1.0, np.nan, 2.0, -np.inf, np.inf, 0.0], dtype)
    buf = x.copy()
    assert getattr(L, f"mcuf_relu_{suffix(dtype)}")(x.size, cptr(ffi, buf), cptr(ffi, buf)) == 0
    np.testing.assert_array_equal(buf, np.array([0, np.nan, 2, 0, np.inf, 0], dtype))
    g = np.arange(1, 7, dtype=dtype)
    assert getattr(L, f"mcuf_relu_grad_{suffix(dtype)}")(x.size, cptr(ffi, x), cptr(ffi, g), cptr(ffi, g)) == 0
    np.testing.assert_array_equal(g, np.array([0, 0, 3, 0, 5, 0], dtype))


def test_relu_grad_matches_finite_differences():
    ffi, L = lib()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(33).astype(np.float32)
    x = np.where(np.abs(x) < 0.1, 0.5, x).astype(np.float32)  # stay away from the kink
    r = rng.standard_normal(33).astype(np.float32)
    gx = np.empty(33, np.float32)
    assert L.mcuf_relu_grad_f32(33, cptr(ffi, x), cptr(ffi, r), cptr(ffi, gx)) == 0
    eps = 1e-2
    for i in range(33):
        ys = []
        for d in (eps, -eps):
            xv = x.copy()
            xv[i] += d
            y = np.empty(33, np.float32)
            L.mcuf_relu_f32(33, cptr(ffi, xv), cptr(ffi, y))
            ys.append(float(np.dot(y.astype(np.float64), r)))
        assert abs((ys[0] - ys[1]) / (2 * eps) - gx[i]) <= 1e-3


def test_relu_errors():
    ffi, L = lib()
    x = np.ones(4, np.float32)
    assert L.mcuf_relu_f32(0, cptr(ffi, x), cptr(ffi, x)) == L.MCUF_ERR_ARG
    assert L.mcuf_relu_f32(4, ffi.NULL, cptr(ffi, x)) == L.MCUF_ERR_ARG
    assert L.mcuf_relu_grad_f16(4, ffi.NULL, ffi.NULL, ffi.NULL) == L.MCUF_ERR_ARG
