"""Depthwise conv kernels (portable C, through cffi) against float64 numpy references, with guard
bytes around every output, finite-difference checks of both gradients, and the error statuses."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.layer_kernels import (Guarded, cptr, lib_all_backends, dwconv_grads_ref, dwconv_ref, lib, max_rel_err, out_size, suffix,
                            tol)

# (C, H, W), (kh, kw), (sh, sw), (top, left, bottom, right)
CASES = [
    ((1, 1, 1), (1, 1), (1, 1), (0, 0, 0, 0)),
    ((3, 7, 7), (3, 3), (1, 1), (1, 1, 1, 1)),
    ((2, 7, 33), (3, 3), (2, 2), (1, 1, 1, 1)),
    ((3, 33, 3), (5, 3), (1, 1), (2, 1, 2, 1)),
    ((1, 3, 7), (3, 3), (1, 1), (0, 0, 0, 0)),
    ((3, 9, 8), (3, 3), (2, 1), (0, 1, 1, 1)),
    ((64, 25, 5), (3, 3), (1, 1), (1, 1, 1, 1)),  # DS-CNN depthwise layer
]
DTYPES = [(np.float32, 1), (np.float16, 0), (np.float16, 1)]  # (dtype, acc32)
IDS = [f"{c[0][0]}x{c[0][1]}x{c[0][2]}_k{c[1][0]}{c[1][1]}_s{c[2][0]}{c[2][1]}_p{''.join(map(str, c[3]))}" for c in CASES]


def make_params(ffi, shape, k, s, pads, acc32=1, accumulate_grad=0):
    C, H, W = shape
    return ffi.new("mcuf_dwconv2d_params *", dict(
        C=C, H=H, W=W, OH=out_size(H, k[0], s[0], pads[0], pads[2]), OW=out_size(W, k[1], s[1], pads[1], pads[3]),
        kh=k[0], kw=k[1], stride_h=s[0], stride_w=s[1], pad_top=pads[0], pad_left=pads[1], pad_bottom=pads[2],
        pad_right=pads[3], acc=acc32, accumulate_grad=accumulate_grad))


def data(shape, k, s, pads, dtype, seed=0):
    rng = np.random.default_rng(seed)
    C, H, W = shape
    OH, OW = out_size(H, k[0], s[0], pads[0], pads[2]), out_size(W, k[1], s[1], pads[1], pads[3])
    x = rng.standard_normal((C, H, W)).astype(dtype)
    w = rng.standard_normal((C, *k)).astype(dtype)
    b = rng.standard_normal(C).astype(dtype)
    gy = rng.standard_normal((C, OH, OW)).astype(dtype)
    return x, w, b, gy


@pytest.mark.parametrize("dtype,acc32", DTYPES, ids=["f32", "f16acc16", "f16acc32"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
def test_forward(case, dtype, acc32, with_bias):
    ffi, L = lib()
    shape, k, s, pads = case
    x, w, b, _ = data(shape, k, s, pads, dtype)
    p = make_params(ffi, shape, k, s, pads, acc32)
    ref = dwconv_ref(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64) if with_bias else None, s, pads)
    y = Guarded(ffi, ref.size, dtype)
    fn = getattr(L, f"mcuf_dwconv2d_{suffix(dtype)}")
    assert fn(p, cptr(ffi, x), cptr(ffi, w), cptr(ffi, b) if with_bias else ffi.NULL, y.ptr) == 0
    assert max_rel_err(y.value().reshape(ref.shape), ref) <= tol(dtype, bool(acc32), k[0] * k[1] + 1)


@pytest.mark.parametrize("dtype,acc32", DTYPES, ids=["f32", "f16acc16", "f16acc32"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("accumulate", [0, 1])
def test_gradients(case, dtype, acc32, accumulate):
    ffi, L = lib()
    shape, k, s, pads = case
    x, w, _, gy = data(shape, k, s, pads, dtype, seed=1)
    p = make_params(ffi, shape, k, s, pads, acc32, accumulate)
    gx_ref, gw_ref, gb_ref = dwconv_grads_ref(x.astype(np.float64), w.astype(np.float64), gy.astype(np.float64), s, pads)
    rng = np.random.default_rng(2)
    prev = [rng.standard_normal(a.shape).astype(dtype) for a in (gx_ref, gw_ref, gb_ref)]
    gx = Guarded(ffi, gx_ref.size, dtype, prev[0])
    gw = Guarded(ffi, gw_ref.size, dtype, prev[1])
    gb = Guarded(ffi, gb_ref.size, dtype, prev[2])
    sfx = suffix(dtype)
    assert getattr(L, f"mcuf_dwconv2d_grad_input_{sfx}")(p, cptr(ffi, gy), cptr(ffi, w), gx.ptr) == 0
    assert getattr(L, f"mcuf_dwconv2d_grad_weight_{sfx}")(p, cptr(ffi, x), cptr(ffi, gy), gw.ptr, gb.ptr) == 0
    plane = gy.shape[1] * gy.shape[2]
    for got, ref, before, terms in ((gx, gx_ref, prev[0], k[0] * k[1]), (gw, gw_ref, prev[1], plane),
                                    (gb, gb_ref, prev[2], plane)):
        want = ref + (before.astype(np.float64) if accumulate else 0)
        assert max_rel_err(got.value().reshape(want.shape), want) <= tol(dtype, bool(acc32), terms + 1)


@pytest.mark.parametrize("case", [CASES[1], CASES[2], CASES[5]], ids=[IDS[1], IDS[2], IDS[5]])
def test_gradients_match_finite_differences(case):
    """d/dx and d/dw of L = sum(r * conv(x, w)) by central differences of the C forward kernel (FP32;
    L is linear in each variable, so the difference quotient is exact up to FP32 rounding)."""
    ffi, L = lib()
    shape, k, s, pads = case
    x, w, b, r = data(shape, k, s, pads, np.float32, seed=3)
    p = make_params(ffi, shape, k, s, pads)
    n_out = r.size

    def loss(xv, wv):
        y = np.empty(n_out, np.float32)
        assert L.mcuf_dwconv2d_f32(p, cptr(ffi, xv), cptr(ffi, wv), cptr(ffi, b), cptr(ffi, y)) == 0
        return float(np.dot(y.astype(np.float64), r.ravel().astype(np.float64)))

    gx = np.empty(x.size, np.float32)
    gw = np.empty(w.size, np.float32)
    gb = np.empty(b.size, np.float32)
    assert L.mcuf_dwconv2d_grad_input_f32(p, cptr(ffi, r), cptr(ffi, w), cptr(ffi, gx)) == 0
    assert L.mcuf_dwconv2d_grad_weight_f32(p, cptr(ffi, x), cptr(ffi, r), cptr(ffi, gw), cptr(ffi, gb)) == 0
    eps = 0.25
    rng = np.random.default_rng(4)
    for idx in rng.choice(x.size, size=min(12, x.size), replace=False):
        xp, xm = x.copy().ravel(), x.copy().ravel()
        xp[idx] += eps
        xm[idx] -= eps
        fd = (loss(xp.reshape(x.shape), w) - loss(xm.reshape(x.shape), w)) / (2 * eps)
        assert abs(fd - gx[idx]) <= 1e-3 * max(1.0, abs(fd))
    for idx in range(w.size):
        wp, wm = w.copy().ravel(), w.copy().ravel()
        wp[idx] += eps
        wm[idx] -= eps
        fd = (loss(x, wp.reshape(w.shape)) - loss(x, wm.reshape(w.shape))) / (2 * eps)
        assert abs(fd - gw[idx]) <= 1e-3 * max(1.0, abs(fd))
    # bias: dL/db[c] = sum of r over channel c's plane, by differences too
    for c in range(b.size):
        bp, bm = b.copy(), b.copy()
        bp[c] += eps
        bm[c] -= eps
        y1, y2 = np.empty(n_out, np.float32), np.empty(n_out, np.float32)
        L.mcuf_dwconv2d_f32(p, cptr(ffi, x), cptr(ffi, w), cptr(ffi, bp), cptr(ffi, y1))
        L.mcuf_dwconv2d_f32(p, cptr(ffi, x), cptr(ffi, w), cptr(ffi, bm), cptr(ffi, y2))
        fd = float(np.dot((y1.astype(np.float64) - y2) / (2 * eps), r.ravel()))
        assert abs(fd - gb[c]) <= 1e-3 * max(1.0, abs(fd))


def test_error_statuses():
    ffi, L = lib()
    shape, k, s, pads = CASES[1]
    x, w, b, gy = data(shape, k, s, pads, np.float32)
    y = np.empty(gy.size, np.float32)
    args = (cptr(ffi, x), cptr(ffi, w), cptr(ffi, b), cptr(ffi, y))
    p = make_params(ffi, shape, k, s, pads)
    assert L.mcuf_dwconv2d_f32(p, *args) == 0
    assert L.mcuf_dwconv2d_f32(ffi.NULL, *args) == L.MCUF_ERR_ARG
    assert L.mcuf_dwconv2d_f32(p, ffi.NULL, *args[1:]) == L.MCUF_ERR_ARG
    assert L.mcuf_dwconv2d_grad_weight_f32(p, args[0], cptr(ffi, gy), ffi.NULL, ffi.NULL) == L.MCUF_ERR_ARG
    bad = make_params(ffi, shape, k, s, pads)
    bad.OH += 1
    assert L.mcuf_dwconv2d_f32(bad, *args) == L.MCUF_ERR_SHAPE
    bad = make_params(ffi, shape, k, s, pads)
    bad.stride_w = 0
    assert L.mcuf_dwconv2d_grad_input_f32(bad, cptr(ffi, gy), args[1], cptr(ffi, x.copy())) == L.MCUF_ERR_ARG
    bad = make_params(ffi, shape, k, s, pads)
    bad.pad_left = -1
    assert L.mcuf_dwconv2d_f32(bad, *args) == L.MCUF_ERR_ARG
    bad = make_params(ffi, (1, 2, 2), (5, 5), (1, 1), (0, 0, 0, 0))
    bad.OH = bad.OW = 1
    assert L.mcuf_dwconv2d_f32(bad, *args) == L.MCUF_ERR_SHAPE


ZFH_CASES = CASES + [
    ((2, 1, 1), (3, 3), (1, 1), (1, 1, 1, 1)),
    ((2, 2, 2), (3, 3), (1, 1), (1, 1, 1, 1)),
    ((3, 6, 9), (3, 3), (1, 1), (0, 1, 1, 0)),
    ((2, 5, 4), (3, 3), (1, 1), (1, 0, 0, 1)),
    ((1, 4, 33), (3, 3), (1, 1), (0, 0, 0, 0)),
]


@pytest.mark.parametrize("acc32", [0, 1], ids=["acc16", "acc32"])
@pytest.mark.parametrize("case", ZFH_CASES, ids=[str(i) for i in range(len(ZFH_CASES))])
def test_zfh_backend_matches_numpy_and_portable(case, acc32):
    """The register-window `_zfh` kernels (plain C, built for the host here) against numpy; forward and
    input gradient also equal (as values) to the portable code, which adds the same terms in the same
    order (the weight gradient of a tall plane sweeps column by column: another order)."""
    ffi, L = lib_all_backends()
    shape, k, s, pads = case
    x, w, b, gy = data(shape, k, s, pads, np.float16, seed=5)
    prev = np.random.default_rng(6).standard_normal(shape).astype(np.float16)
    p = make_params(ffi, shape, k, s, pads, acc32, accumulate_grad=1)
    y_ref = dwconv_ref(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), s, pads)
    gx_ref, gw_ref, gb_ref = dwconv_grads_ref(x.astype(np.float64), w.astype(np.float64), gy.astype(np.float64), s, pads)
    outs = {}
    for sfx in ("", "_zfh"):
        y, gx = Guarded(ffi, y_ref.size, np.float16), Guarded(ffi, gx_ref.size, np.float16, prev)
        gw, gb = Guarded(ffi, gw_ref.size, np.float16, np.zeros(gw_ref.size)), Guarded(ffi, gb_ref.size, np.float16, np.zeros(gb_ref.size))
        assert getattr(L, f"mcuf_dwconv2d_f16{sfx}")(p, cptr(ffi, x), cptr(ffi, w), cptr(ffi, b), y.ptr) == 0
        assert getattr(L, f"mcuf_dwconv2d_grad_input_f16{sfx}")(p, cptr(ffi, gy), cptr(ffi, w), gx.ptr) == 0
        assert getattr(L, f"mcuf_dwconv2d_grad_weight_f16{sfx}")(p, cptr(ffi, x), cptr(ffi, gy), gw.ptr, gb.ptr) == 0
        outs[sfx] = [t.value() for t in (y, gx, gw, gb)]
    kk, plane = 10, gy.shape[1] * gy.shape[2]
    refs = [(y_ref, kk), (gx_ref + prev.astype(np.float64), kk), (gw_ref, plane), (gb_ref, plane)]
    for i, (got, port, (ref, terms)) in enumerate(zip(outs["_zfh"], outs[""], refs)):
        assert max_rel_err(got, ref) <= tol(np.float16, bool(acc32), terms)
        if i < 2:  # forward and input gradient add the same terms in the same order
            np.testing.assert_array_equal(got.astype(np.float32), port.astype(np.float32))
